// Large local files to a real Node response (http/file-body.ts through send.ts): whole
// bodies and ranges byte for byte, HEAD, a client that leaves (its descriptor closed, its
// buffers given back), and the read size that grows for a fast client and shrinks for a slow one.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { createServer, get as httpGet, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import { FsStore } from "../../src/store/fs.js";
import { ObjectSource } from "../../src/http/objects.js";
import { nodeFetch, send, sendObject } from "../../src/http/send.js";
import { BUDGET, fileBodyMemory, MAX_READ, MIN_READ, nextReadSize, START_READ, writeFileBody, writeFileRanges } from "../../src/http/file-body.js";
import { keptRanges } from "../../src/conda/index-view.js";
import { assembleView, viewSize } from "../../src/conda/repodata.js";
import { openSync, fstatSync } from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tempDir, type TempDir } from "../harness/services.js";
import { fetchRaw } from "../harness/raw-http.js";

const SIZE = 5 * 1024 * 1024 + 123;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const openFds = () => readdirSync("/proc/self/fd").length;
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

/** A client that takes the first bytes of `url`, stops reading, then leaves: afterwards the
 * server has closed the body's descriptor and given every buffer back. */
async function leaveMidBody(url: string): Promise<void> {
    await until("earlier responses done", () => fileBodyMemory().held === 0);
    const fds = openFds();
    await new Promise<void>((resolve, reject) => {
      const req = httpGet(url, (res) => {
        res.once("data", () => {
          res.pause(); // the server fills the socket, then waits
          setTimeout(() => (req.destroy(), resolve()), 100);
        });
      });
      req.on("error", () => undefined);
      req.on("close", () => resolve());
      setTimeout(() => reject(new Error("no data")), 5000);
    });
    await until("descriptor closed and buffers back", () => openFds() <= fds && fileBodyMemory().held === 0);
}

describe("large file bodies", () => {
  let dir: TempDir;
  let data: Buffer;
  let server: Server;
  let url: string;
  before(async () => {
    dir = await tempDir();
    const store = new FsStore(dir.path);
    data = randomBytes(SIZE);
    await store.put("c/linux-64/big-1.0-0.conda", data);
    const objects = new ObjectSource(store);
    const app = new Hono();
    app.on(["GET", "HEAD"], "/*", async (c) => (await sendObject(c, objects, c.req.path.slice(1), { contentType: "application/octet-stream", cacheControl: "private, max-age=60" })) ?? c.text("no", 404));
    server = createServer(getRequestListener(nodeFetch(app.fetch)));
    url = `${await listen(server)}/c/linux-64/big-1.0-0.conda`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dir.remove();
  });

  test("the whole body, byte for byte", async () => {
    const { res, body } = await fetchRaw(url);
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers["content-length"]), SIZE);
    assert.equal(sha(body), sha(data));
  });

  const ranges: [string, number, number][] = [
    ["across many reads", 300_000, 4_500_000],
    ["one byte", 1_048_576, 1_048_576],
    ["to the end", 262_145, SIZE - 1],
  ];
  for (const [what, start, end] of ranges) {
    test(`Range ${what}: 206 with exactly those bytes`, async () => {
      const { res, body } = await fetchRaw(url, { range: `bytes=${start}-${end}` });
      assert.equal(res.statusCode, 206);
      assert.equal(res.headers["content-range"], `bytes ${start}-${end}/${SIZE}`);
      assert.equal(sha(body), sha(data.subarray(start, end + 1)));
    });
  }

  test("HEAD: the length, no body, no descriptor left open", async () => {
    const fds = openFds();
    const { res, body } = await fetchRaw(url, {}, "HEAD");
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers["content-length"]), SIZE);
    assert.equal(body.length, 0);
    await until("the descriptor closed", () => openFds() <= fds);
  });

  test("a client that leaves mid-body: the descriptor is closed and every buffer given back", async () => {
    await leaveMidBody(url);
  });
});

describe("a cut view written by file-body (writeFileRanges through send)", () => {
  let dir: TempDir;
  let data: Buffer;
  let view: Buffer;
  let server: Server;
  let url: string;
  const size = 6 * 1024 * 1024 + 77;
  // cuts of every shape: at the very start, a byte, a few bytes apart, many small ones inside one
  // read, one longer than the largest read, and one to the very end
  const cuts: number[] = [0, 10, 5000, 5001, 5003, 5010];
  for (let at = 200_000; at < 1_200_000; at += 997) cuts.push(at, at + 31);
  cuts.push(2_000_000, 2_000_000 + 3 * MAX_READ + 5, size - 1000, size);
  before(async () => {
    dir = await tempDir();
    data = randomBytes(size);
    view = assembleView(data, cuts);
    const file = `${dir.path}/index.json`;
    await new FsStore(dir.path).put("index.json", data);
    const app = new Hono();
    app.get("/view", (c) =>
      send(
        c,
        {
          kind: "stream",
          info: { size: viewSize(size, cuts), etag: "v" },
          open: () => Promise.reject(new Error("a local view is written by file-body")),
          openRanges: async (range) => ({ fd: openSync(file, "r"), ranges: keptRanges(size, cuts, range?.start ?? 0, range?.end ?? view.length - 1) }),
        },
        { contentType: "application/json", cacheControl: "private, max-age=0" },
      ),
    );
    server = createServer(getRequestListener(nodeFetch(app.fetch)));
    url = `${await listen(server)}/view`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dir.remove();
  });

  test("the whole view: byte for byte the filtered bytes", async () => {
    const fds = openFds();
    const { res, body } = await fetchRaw(url);
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers["content-length"]), view.length);
    assert.equal(sha(body), sha(view));
    await until("the descriptor closed", () => openFds() <= fds);
  });

  const ranges: [string, number, number][] = [
    ["inside one kept range", 100, 4000],
    ["across the small cuts", 150_000, 1_300_000],
    ["across the long cut", 1_900_000, 2_200_000],
    ["one byte", 5001, 5001],
    ["to the end", 3_000_000, 0],
  ];
  for (const [what, start, end] of ranges) {
    test(`Range ${what}: 206 with exactly those bytes of the view`, async () => {
      const last = end || view.length - 1;
      const { res, body } = await fetchRaw(url, { range: `bytes=${start}-${last}` });
      assert.equal(res.statusCode, 206);
      assert.equal(res.headers["content-range"], `bytes ${start}-${last}/${view.length}`);
      assert.equal(sha(body), sha(view.subarray(start, last + 1)));
    });
  }

  test("a client that leaves mid-view: the descriptor is closed and every buffer given back", async () => {
    await leaveMidBody(url);
  });

  test("one read serves many kept ranges: the cuts between them are read past, not read apart", async () => {
    const ranges = keptRanges(size, cuts, 0, view.length - 1);
    const reads: number[] = [];
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-length": view.length });
      writeFileRanges(res, openSync(`${dir.path}/index.json`, "r"), ranges, (n) => reads.push(n));
    });
    try {
      const { body } = await fetchRaw(await listen(server));
      assert.equal(sha(body), sha(view));
      // ~1,000 ranges in 6 MB: even at MIN_READ (~100 reads) far fewer reads than ranges
      assert.ok(ranges.length / 2 > 1000 && reads.length * 5 < ranges.length / 2, `${reads.length} reads for ${ranges.length / 2} ranges`);
      assert.equal(reads.reduce((a, b) => a + b, 0), view.length, "each read reports the view's bytes it holds");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("the read size adapts", () => {
  let dir: TempDir;
  let file: string;
  before(async () => {
    dir = await tempDir();
    file = `${dir.path}/f.bin`;
    await new FsStore(dir.path).put("f.bin", randomBytes(24 * 1024 * 1024));
  });
  after(() => dir.remove());

  /** A server whose one response reports each read size. */
  async function serve(sizes: number[]): Promise<{ url: string; server: Server }> {
    const server = createServer((_req, res) => {
      const fd = openSync(file, "r");
      const size = fstatSync(fd).size;
      res.writeHead(200, { "content-length": size });
      writeFileBody(res, fd, 0, size, (n) => sizes.push(n));
    });
    return { url: await listen(server), server };
  }

  test("a client that drains fast gets reads of MAX_READ", async () => {
    const sizes: number[] = [];
    const { url, server } = await serve(sizes);
    try {
      // curl in its own process: a client as fast as this machine's loopback
      const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{size_download}", url]);
      assert.equal(Number(stdout), 24 * 1024 * 1024);
      assert.equal(Math.max(...sizes), MAX_READ, `read sizes: ${sizes.join(" ")}`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("the rule: about 16 ms of the client's bytes per read, a power of two from MIN_READ to MAX_READ", () => {
    const MBps = (mb: number) => (mb * 1e6) / 1000; // bytes per millisecond
    assert.equal(nextReadSize(START_READ, MBps(1.3), 0), MIN_READ, "1.3 MB/s (a slow link): the smallest reads");
    assert.equal(nextReadSize(START_READ, MBps(2000), 0), MAX_READ, "2 GB/s (loopback): the largest");
    assert.equal(nextReadSize(MIN_READ, MBps(20), 0), 256 * 1024, "20 MB/s: 320 KB wanted, 256 KiB read");
    assert.equal(nextReadSize(MAX_READ, MBps(40), 0), MAX_READ, "a dip to no less than half keeps the size");
    assert.equal(nextReadSize(MAX_READ, MBps(20), 0), 256 * 1024, "a drop below half shrinks it");
    assert.equal(nextReadSize(START_READ, MBps(2000), BUDGET - 200 * 1024), START_READ, "no growth past what the budget has left");
    assert.equal(nextReadSize(MAX_READ, MBps(60), BUDGET + 1), MIN_READ, "over the budget a large buffer gives way");
    assert.equal(nextReadSize(MAX_READ, 0, 0), MIN_READ, "a client that takes nothing: the smallest");
  });

  test("a client that reads slowly holds a few buffers, never more, and gives them back", async () => {
    const sizes: number[] = [];
    const { url, server } = await serve(sizes);
    let most = 0;
    try {
      await new Promise<void>((resolve) => {
        const req = httpGet(url, (res) => {
          // about 1.3 MB/s: 64 KiB every 50 ms, for 2 seconds
          res.on("data", () => {
            most = Math.max(most, fileBodyMemory().held);
            res.pause();
            setTimeout(() => res.resume(), 50);
          });
          setTimeout(() => (req.destroy(), resolve()), 2000);
        });
        req.on("error", () => undefined);
      });
      // one read ahead and what the socket has not confirmed: whatever the sizes the rule chose
      // on a machine this busy, a slow client never holds more than a few reads
      assert.ok(sizes.length > 4, `read sizes: ${sizes.join(" ")}`);
      assert.ok(most <= 3 * MAX_READ, `held ${most} bytes; read sizes: ${sizes.join(" ")}`);
      assert.ok(sizes.length < (24 * 1024 * 1024) / MIN_READ, "the file was not read ahead of the client");
    } finally {
      server.closeAllConnections();
      server.close();
    }
    await until("buffers back", () => fileBodyMemory().held === 0);
  });
});
