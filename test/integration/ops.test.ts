// What an operator relies on: health and readiness, metrics on their own listener, running
// behind a prefix and a trusted proxy, time bounds on what clients send, graceful shutdown
// with a download in flight, degraded (not down) operation when Redis or the store goes
// away, the access log's sizes and request ids, and what the process says when it starts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";
import { answers, freePort, startRedis, tempDir, waitFor, type RedisService } from "../harness/services.js";

async function seedAcme(s: Stack): Promise<string> {
  // the account first: content already in the store under a name nobody holds is refused
  // to anyone but a server admin adopting it (issue 9, 2.12)
  const created = await s.cli(["org", "--create", "acme"]);
  assert.equal(created.code, 0, created.stderr);
  await s.seedConda({ channel: "acme", subdirs: ["linux-64"], packages: [{ name: "pub-lib", version: "1.0", subdir: "linux-64" }, { name: "priv-app", version: "1.0", subdir: "linux-64" }] });
  await s.cli(["package", "--private", "acme/priv-app"]);
  return lastLine((await s.cli(["auth", "--create", "--name", "ops", "--scopes", "conda:download", "--org", "acme"])).stdout);
}

describe("health, readiness and metrics", () => {
  let s: Stack;
  let token: string;
  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" }, { METRICS_PORT: "0" });
    token = await seedAcme(s);
  });
  after(() => s.stop());

  test("/healthz and /readyz", async () => {
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ok", parts: { store: null, cache: null } });
  });

  test("/metrics tells the build, whether the cache is up, and how late the event loop runs", async () => {
    const text = await (await fetch(`${s.gw.metricsUrl}/metrics`)).text();
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.ok(text.includes(`pkgate_build_info{version="${version}",node="${process.version}"} 1\n`), "build info");
    assert.match(text, /^pkgate_cache_up 1$/m);
    assert.match(text, /^# TYPE pkgate_event_loop_delay_seconds summary$/m);
    for (const q of ["0.5", "0.9", "0.99"]) assert.match(text, new RegExp(`^pkgate_event_loop_delay_seconds\\{quantile="${q}"\\} (\\d|NaN)`, "m"));
    assert.match(text, /^pkgate_event_loop_delay_seconds_count \d+$/m);
    assert.match(text, /^pkgate_event_loop_delay_max_seconds (\d|NaN)/m);
  });

  test("a stalled event loop shows in the next scrape's maximum", async () => {
    await fetch(`${s.gw.metricsUrl}/metrics`).then((r) => r.text()); // a fresh window
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 120;
    while (Date.now() < until); // the gateway runs in this process: its loop stalls too
    await new Promise((r) => setTimeout(r, 50));
    const text = await (await fetch(`${s.gw.metricsUrl}/metrics`)).text();
    const max = Number(/^pkgate_event_loop_delay_max_seconds (\S+)$/m.exec(text)?.[1]);
    assert.ok(max >= 0.08 && max < 5, `max ${max} s after a 120 ms stall`);
  });

  test("/metrics counts requests by route and status, bytes, token tiers and index views", async () => {
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/t/${token}/acme/linux-64/repodata.json`).then((r) => r.arrayBuffer());
    for (let i = 0; i < 2; i++) await fetch(`${s.url}/acme/linux-64/repodata.json`).then((r) => r.arrayBuffer());
    assert.ok(s.gw.metricsUrl, "METRICS_PORT set: a metrics listener");
    const text = await (await fetch(`${s.gw.metricsUrl}/metrics`)).text();
    assert.match(text, /pkgate_requests_total\{route="conda-index",status="200"\} 5/);
    assert.match(text, /pkgate_bytes_served_total\{route="conda-index"\} [1-9]\d*/);
    assert.match(text, /pkgate_request_duration_seconds_bucket\{route="conda-index",le="\+Inf"\} 5/);
    // the token was new: the CLI that made it put it into Redis, where the one cold lookup
    // found it; the rest were answered in process
    assert.match(text, /pkgate_token_lookups_total\{tier="shared"\} 1\n/);
    assert.match(text, /pkgate_token_lookups_total\{tier="store"\} 0\n/);
    assert.match(text, /pkgate_token_lookups_total\{tier="local"\} 2\n/);
    // the anonymous view was computed once, then served from memory
    assert.match(text, /pkgate_index_views_total\{source="computed"\} 1\n/);
    assert.match(text, /pkgate_index_views_total\{source="local"\} 1\n/);
    assert.ok(!text.includes(token));
  });

  test("metrics are served only on their own listener", async () => {
    const cases: [string, number][] = [
      [`${s.url}/metrics`, 404], // the public port never tells them
      [`${s.gw.metricsUrl}/metrics`, 200],
      [`${s.gw.metricsUrl}/metrics?x=1`, 200],
      [`${s.gw.metricsUrl}/`, 404],
      [`${s.gw.metricsUrl}/healthz`, 404],
      [`${s.gw.metricsUrl}/t/${token}/acme/linux-64/repodata.json`, 404],
    ];
    for (const [url, status] of cases) assert.equal((await fetch(url)).status, status, url.replace(token, "<token>"));
    const res = await fetch(`${s.gw.metricsUrl}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.equal(new URL(s.gw.metricsUrl!).hostname, "127.0.0.1", "loopback unless METRICS_HOST says otherwise");
  });

  test("without METRICS_PORT there is no metrics listener, and stop() closes it when there is one", async () => {
    const plain = await startStack({ store: "fs", cache: "memory" });
    const metered = await startStack({ store: "fs", cache: "memory" }, { METRICS_PORT: "0" });
    try {
      assert.equal(plain.gw.metricsUrl, null);
      assert.equal((await fetch(`${plain.url}/metrics`)).status, 404);
      assert.equal((await fetch(`${metered.gw.metricsUrl}/metrics`)).status, 200);
    } finally {
      await plain.stop();
      await metered.stop();
    }
    await assert.rejects(fetch(`${metered.gw.metricsUrl}/metrics`), "the metrics listener is closed with the gateway");
  });
});

describe("behind a prefix and a trusted proxy", () => {
  let s: Stack;
  let token: string;
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { BASE_PATH: "/conda", TRUST_PROXY: "127.0.0.1/32,10.0.0.0/8" });
    token = await seedAcme(s);
  });
  after(() => s.stop());

  test("conda's URL shape under BASE_PATH: /conda/t/<token>/<channel>/...", async () => {
    const res = await fetch(`${s.url}/conda/t/${token}/acme/linux-64/repodata.json`);
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${s.url}/t/${token}/acme/linux-64/repodata.json`)).status, 404);
  });

  test("health answers at the root, where probes ask whatever BASE_PATH is, and under the prefix", async () => {
    for (const path of ["/healthz", "/readyz", "/conda/healthz", "/conda/readyz"]) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal((await res.json()).status, "ok", path);
    }
  });

  test("X-Forwarded-For from a trusted proxy names the client in the log; the token is redacted under the prefix", async () => {
    await fetch(`${s.url}/conda/t/${token}/acme/linux-64/repodata.json`, { headers: { "x-forwarded-for": "203.0.113.7, 10.0.0.1" } }).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 50));
    const line = s.logs.map((l) => JSON.parse(l)).reverse().find((l) => l.msg === "request" && l.client === "203.0.113.7");
    assert.ok(line, "the forwarded client is logged");
    assert.match(line.path, /^\/conda\/t\/<id:[0-9a-f]{12}>\/acme/);
    assert.ok(!s.logs.join("\n").includes(token));
  });
});

describe("limits", () => {
  test("an over-long URL gets 400 and over-large headers 431, and the gateway keeps serving", async () => {
    const s = await startStack({ store: "fs", cache: "memory" });
    try {
      const long = await fetch(`${s.url}/acme/linux-64/${"a".repeat(3000)}.conda`);
      assert.equal(long.status, 400);
      const status = await new Promise<number>((resolve, reject) => {
        const u = new URL(s.url);
        const req = http.get({ host: u.hostname, port: u.port, path: "/healthz", headers: { "x-big": "b".repeat(64 * 1024) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
      });
      assert.equal(status, 431);
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    } finally {
      await s.stop();
    }
  });
});

/** A file big enough that a client that stops reading leaves the gateway unable to write. */
const BIG = 48 * 1024 * 1024;

/** Read a response at about `bytesPerSecond`; the bytes received and the status. */
function throttledGet(url: string, bytesPerSecond: number): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = 0;
    const req = http.get(url, { agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        const due = (received / bytesPerSecond) * 1000 - (Date.now() - started);
        if (due > 0) {
          res.pause();
          setTimeout(() => res.resume(), due);
        }
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, received }));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error(`cut after ${received} bytes`)));
    });
    req.on("error", reject);
  });
}

/** A raw connection: send `head`, then `drip` one byte every `everyMs` until the gateway
 * closes it or `giveUpMs` pass. When it closed (ms after the head), and what it answered. */
function slowRequest(url: string, head: string, everyMs: number, giveUpMs: number): Promise<{ closedAfter: number | null; answer: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let answer = "";
    let timer: NodeJS.Timeout | undefined;
    let started = 0;
    const finish = (closedAfter: number | null) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfter, answer });
    };
    const giveUp = setTimeout(() => finish(null), giveUpMs);
    socket.on("connect", () => {
      started = Date.now();
      socket.write(head);
      timer = setInterval(() => socket.write("x"), everyMs);
    });
    socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    socket.on("close", () => finish(Date.now() - started));
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
  });
}

describe("time bounds: BODY_TIMEOUT and IDLE_TIMEOUT (1 s each here)", () => {
  let s: Stack;
  const path = "/acme/linux-64/big-1.0-0.conda";
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { BODY_TIMEOUT: "1", IDLE_TIMEOUT: "1" });
    const created = await s.cli(["org", "--create", "acme"]);
    assert.equal(created.code, 0, created.stderr);
    // the gateway streams any artifact whose name parses: random bytes make it big for real
    await s.rt.store.put(path.slice(1), randomBytes(BIG));
  });
  after(() => s.stop());

  test("a body sent a byte every 250 ms is cut after BODY_TIMEOUT with 408", async () => {
    const head = "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    const { closedAfter, answer } = await slowRequest(s.url, head, 250, 8000);
    assert.ok(closedAfter !== null, "the connection is still open after 8 s");
    assert.ok(closedAfter < 4000, `closed after ${closedAfter} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  test("a client that stops reading a download is dropped after IDLE_TIMEOUT", async () => {
    const u = new URL(s.url);
    const socket = net.connect(Number(u.port), u.hostname);
    try {
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await new Promise((resolve) => socket.once("data", resolve));
      socket.pause(); // the kernel buffers fill, then the gateway has nowhere to write
      const deadline = Date.now() + 8000;
      let open = 1;
      while (open > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        open = await new Promise<number>((resolve, reject) => s.gw.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
      }
      assert.equal(open, 0, "the stalled connection is still open after 8 s");
    } finally {
      socket.destroy();
    }
  });

  test("a download that moves is never cut, however long it takes", async () => {
    // 48 MiB at 12 MiB/s: four seconds, four times BODY_TIMEOUT and IDLE_TIMEOUT
    const got = await throttledGet(s.url + path, 12 * 1024 * 1024);
    assert.deepEqual(got, { status: 200, received: BIG });
  });

  test("HEAD answers the head its GET gets: a 412 or 416 never carries the object's length", async () => {
    const cases: [Record<string, string>, number][] = [
      [{ range: `bytes=${BIG}-` }, 416],
      [{ "if-match": '"not-the-etag"' }, 412],
    ];
    for (const [headers, status] of cases) {
      const get = await fetch(s.url + path, { headers });
      const body = Buffer.from(await get.arrayBuffer());
      const head = await fetch(s.url + path, { method: "HEAD", headers });
      assert.deepEqual([get.status, head.status], [status, status]);
      assert.notEqual(head.headers.get("content-length"), String(BIG), JSON.stringify(headers));
      const length = head.headers.get("content-length");
      assert.ok(length === null || length === String(body.length), `HEAD says ${length}: the length of the GET's own body or nothing`);
      if (status === 416) assert.equal(head.headers.get("content-range"), `bytes */${BIG}`);
    }
  });
});

describe("X-Forwarded-For from anyone else is ignored", () => {
  test("an untrusted peer cannot choose its logged address (nor its rate-limit bucket)", async () => {
    const s = await startStack({ store: "fs", cache: "memory" });
    try {
      await fetch(`${s.url}/healthz`, { headers: { "x-forwarded-for": "198.51.100.1" } });
      await new Promise((r) => setTimeout(r, 50));
      const line = s.logs.map((l) => JSON.parse(l)).reverse().find((l) => l.msg === "request");
      assert.equal(line.client, "127.0.0.1");
    } finally {
      await s.stop();
    }
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM lets a download in flight finish and refuses new connections", async () => {
    const s = await startStack({ store: "fs", cache: "memory" });
    try {
      assert.equal((await s.cli(["org", "--create", "acme"])).code, 0);
      // the gateway streams any artifact whose name parses: random bytes make it big for real
      await s.rt.store.put("acme/linux-64/big-1.0-0.conda", randomBytes(48 * 1024 * 1024));
      const replica = await s.spawnReplica();
      const path = "/acme/linux-64/big-1.0-0.conda";
      const head = await fetch(replica.url + path, { method: "HEAD" });
      const size = Number(head.headers.get("content-length"));
      assert.equal(size, 48 * 1024 * 1024);
      const u = new URL(replica.url);
      let received = 0;
      let drain = () => undefined as void;
      const done = new Promise<{ status: number; received: number }>((resolve, reject) => {
        const req = http.get({ host: u.hostname, port: u.port, path, agent: false }, (res) => {
          res.pause();
          // read slowly: the shutdown starts while most of the body is still to come; then the
          // rest is read at full speed (at the slow pace 48 MiB would take longer than
          // SHUTDOWN_TIMEOUT on a busy machine, and the deadline would cut it, as it should)
          const timer = setInterval(() => {
            let chunk;
            if ((chunk = res.read()) !== null) received += chunk.length;
            res.read(0);
          }, 20);
          drain = () => {
            clearInterval(timer);
            // a 'readable' listener keeps the stream out of flowing mode: drop it first
            res.removeAllListeners("readable");
            res.on("data", (chunk: Buffer) => (received += chunk.length));
            res.resume();
          };
          res.on("readable", () => undefined);
          res.on("end", () => {
            clearInterval(timer);
            resolve({ status: res.statusCode ?? 0, received });
          });
          res.on("error", (e) => {
            clearInterval(timer);
            reject(e);
          });
        });
        req.on("error", reject);
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(received < size, "the download is still in flight");
      const stopped = replica.stop();
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(fetch(replica.url + "/healthz"), "new connections are refused once stopping");
      assert.ok(received < size, "the download was still in flight when the stop began");
      drain();
      const result = await done;
      assert.equal(result.status, 200);
      assert.equal(result.received, size, "the in-flight download finished whole");
      await stopped;
      assert.match(replica.output(), /"msg":"stopped"/);
    } finally {
      await s.stop();
    }
  });
});

describe("degraded, not down", () => {
  test("Redis unreachable at start: the gateway serves from the store, /readyz names the cache, and recovers by itself", async () => {
    const port = await freePort();
    const s = await startStack({ store: "fs", cache: "memory" }, { REDIS_URL: `redis://127.0.0.1:${port}` });
    let redis: RedisService | null = null;
    try {
      // the CLI needs Redis for its locks, so seed through a Redis that comes and goes
      redis = await startRedis({ port });
      const token = await seedAcme(s);
      await redis.stop();
      redis = null;
      const ready = await fetch(`${s.url}/readyz`);
      assert.equal(ready.status, 200, "still ready: the load balancer keeps it");
      const body = await ready.json();
      assert.equal(body.status, "degraded");
      assert.equal(body.parts.store, null);
      assert.match(body.parts.cache, new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} is unreachable \\(connection (refused|lost)\\)$`));
      const t0 = Date.now();
      const res = await fetch(`${s.url}/t/${token}/acme/linux-64/repodata.json`);
      assert.equal(res.status, 200, "still serving with Redis down");
      assert.ok(Date.now() - t0 < 3000, "no long hang on a dead Redis");
      redis = await startRedis({ port });
      const deadline = Date.now() + 10_000;
      let status = "";
      while (Date.now() < deadline && status !== "ok") {
        await new Promise((r) => setTimeout(r, 200));
        status = (await (await fetch(`${s.url}/readyz`)).json()).status;
      }
      assert.equal(status, "ok", "readyz says ok again when Redis returns");
      // unreachable at start (refused), then back; if the gateway reconnected while Redis was
      // up for the seeding, gone (lost) and back again: one line for each change, no more
      const said = s.logs.map((l) => JSON.parse(l)).filter((l) => l.level === "warn" && /^Redis at /.test(l.msg)).map((l) => l.msg.replace(/[\d.]+ s without/, "N s without"));
      const down = `Redis at 127.0.0.1:${port} is unreachable; serving without the shared cache`;
      const back = `Redis at 127.0.0.1:${port} is reachable again; the shared cache is back in use after N s without it`;
      const expected = said.length === 2 ? [`${down} (connection refused)`, back] : [`${down} (connection refused)`, back, `${down} (connection lost)`, back];
      assert.deepEqual(said, expected);
    } finally {
      await redis?.stop();
      await s.stop();
    }
  });

  test("Redis killed and restarted under a running gateway process: degraded, said once each way, never an outage", async () => {
    const password = `pw-${randomBytes(6).toString("hex")}`;
    const port = await freePort();
    let redis = await redisWithPassword(port, password);
    const s = await startStack({ store: "fs", cache: "memory" }, { REDIS_URL: `redis://:${password}@127.0.0.1:${port}/0` });
    let gw: GatewayProcess | null = null;
    try {
      const token = await seedAcme(s);
      gw = await gatewayProcess({ ...s.env, PORT: "0", METRICS_PORT: "0" });
      const listening = gw.listening;
      assert.ok(listening, gw.output());
      const url = String(listening.url);
      const metricsUrl = String(listening.metrics);
      const cacheUp = async () => Number(/^pkgate_cache_up (\d)$/m.exec(await (await fetch(metricsUrl)).text())?.[1]);
      const waitForCacheUp = async (want: number, ms: number) => {
        const deadline = Date.now() + ms;
        while ((await cacheUp()) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        return cacheUp();
      };
      assert.equal(await waitForCacheUp(1, 5000), 1);
      const repodata = await (await fetch(`${url}/t/${token}/acme/linux-64/repodata.json`)).json();
      const artifact = Object.keys(repodata["packages.conda"]).find((f) => f.startsWith("pub-lib-"));
      assert.ok(artifact);
      const artifactBytes = (await (await fetch(`${url}/acme/linux-64/${artifact}`)).arrayBuffer()).byteLength;

      await redis.kill();
      const killed = Date.now();
      assert.equal(await waitForCacheUp(0, 5000), 0, "pkgate_cache_up says 0");
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, "the replica stays in the load balancer");
      const body = await ready.json();
      assert.equal(body.status, "degraded");
      assert.equal(body.parts.store, null);
      assert.match(body.parts.cache, new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} is unreachable \\(`));
      assert.equal((await fetch(`${url}/t/${token}/acme/linux-64/repodata.json`)).status, 200, "indexes are served");
      const download = await fetch(`${url}/t/${token}/acme/linux-64/${artifact}`);
      assert.equal(download.status, 200, "downloads are served");
      assert.equal((await download.arrayBuffer()).byteLength, artifactBytes);
      // ioredis retries every 100 ms growing to 2 s: several attempts fail meanwhile
      await new Promise((r) => setTimeout(r, Math.max(0, killed + 3500 - Date.now())));
      const down = gw.lines().filter((l) => l.level === "warn" && /unreachable/.test(String(l.msg)));
      assert.deepEqual(
        down.map((l) => l.msg),
        [`Redis at 127.0.0.1:${port} is unreachable; serving without the shared cache (connection lost)`],
        "one line for the outage, not one per reconnection attempt",
      );
      assert.deepEqual(Object.keys(down[0]!).filter((k) => /err|stack/i.test(k)), [], "no error object, no stack");

      redis = await redisWithPassword(port, password);
      assert.equal(await waitForCacheUp(1, 10_000), 1, "pkgate_cache_up says 1 again");
      assert.equal((await (await fetch(`${url}/readyz`)).json()).status, "ok");
      await new Promise((r) => setTimeout(r, 400)); // the log is written in batches
      const said = gw.lines().filter((l) => l.level === "warn" && /^Redis at /.test(String(l.msg)));
      assert.equal(said.length, 2, JSON.stringify(said));
      assert.match(String(said[1]!.msg), new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} is reachable again; the shared cache is back in use after [\\d.]+ s without it$`));
      assert.equal(gw.exitCode(), null, "the process is alive");
      assert.equal(gw.stderr(), "", "ioredis printed nothing of its own");
      assert.deepEqual(gw.stdoutNotJson(), [], "every line on stdout is a JSON log line");
      assert.ok(!gw.output().includes(password), "the password never reaches the output");
      assert.match(String(listening.cache), new RegExp(`^shared: Redis at 127\\.0\\.0\\.1:${port}$`));
    } finally {
      await gw?.stop();
      await s.stop();
      await redis.kill();
    }
  });

  test("store unreachable: 503 with Retry-After, never a crash", async () => {
    const port = await freePort();
    const s = await startStack({ store: "fs", cache: "memory" }, { S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_ACCESS_KEY: "x", S3_SECRET_KEY: "y" });
    try {
      const res = await fetch(`${s.url}/acme/linux-64/repodata.json`);
      assert.equal(res.status, 503);
      assert.ok(res.headers.get("retry-after"));
      assert.match((await res.json()).message, /unavailable/);
      const ready = await fetch(`${s.url}/readyz`);
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.equal(body.status, "unavailable");
      assert.ok(body.parts.store);
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200, "alive all the same");
    } finally {
      await s.stop();
    }
  });

  test("a warn line written while serving a request carries its reqId", async () => {
    const port = await freePort();
    const s = await startStack({ store: "fs", cache: "memory" }, { S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_ACCESS_KEY: "x", S3_SECRET_KEY: "y" });
    try {
      const res = await fetch(`${s.url}/acme/linux-64/repodata.json`, { headers: { "x-request-id": "ops-warn-1" } });
      assert.equal(res.status, 503);
      await new Promise((r) => setTimeout(r, 50));
      const lines = s.logs.map((l) => JSON.parse(l)).filter((l) => l.level === "warn" || l.level === "error" || l.msg === "request");
      assert.ok(lines.some((l) => l.level === "warn"), "the outage is logged");
      for (const l of lines) assert.equal(l.reqId, "ops-warn-1", JSON.stringify(l));
    } finally {
      await s.stop();
    }
  });
});

describe("the access log", () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" });
    await seedAcme(s);
  });
  after(() => s.stop());

  test("logs the body size of every response: JSON answers and errors, redirects, HEAD, files", async () => {
    const cases: [string, string, number][] = [
      ["GET", "/healthz", 200],
      ["GET", "/readyz", 200],
      ["HEAD", "/healthz", 200],
      ["GET", "/api/openapi.json", 200],
      ["GET", "/api/no-such-endpoint", 404],
      ["GET", "/acme/linux-64/nope-1.0-0.conda", 404],
      ["GET", "/acme/simple", 301],
      ["PUT", "/acme/linux-64/repodata.json", 405],
      ["GET", "/acme/linux-64/repodata.json", 200],
    ];
    for (const [method, path, status] of cases) {
      const reqId = `bytes-${randomBytes(4).toString("hex")}`;
      const res = await fetch(`${s.url}${path}`, { method, redirect: "manual", headers: { "x-request-id": reqId } });
      const received = (await res.arrayBuffer()).byteLength;
      assert.equal(res.status, status, `${method} ${path}`);
      await new Promise((r) => setTimeout(r, 20));
      const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.reqId === reqId);
      assert.ok(line, `${method} ${path} is logged with its reqId`);
      assert.equal(line.bytes, received, `${method} ${path}: logged ${line.bytes}, sent ${received}`);
      if (method === "GET" && status !== 301) assert.ok(received > 0, `${method} ${path} has a body`);
    }
  });

  test("bytes served count JSON bodies too", async () => {
    const s2 = await startStack({ store: "fs", cache: "memory" }, { METRICS_PORT: "0" });
    try {
      const body = await (await fetch(`${s2.url}/healthz`)).arrayBuffer();
      const text = await (await fetch(`${s2.gw.metricsUrl}/metrics`)).text();
      assert.match(text, new RegExp(`^pkgate_bytes_served_total\\{route="health"\\} ${body.byteLength}$`, "m"));
    } finally {
      await s2.stop();
    }
  });
});

describe("starting the process", () => {
  test("the start line names the socket's real address and a URL to open, apart", async () => {
    const dir = await tempDir();
    const gw = await gatewayProcess({ PORT: "0", HOST: "0.0.0.0", DATA_DIR: join(dir.path, "data") });
    try {
      const line = gw.listening;
      assert.ok(line, gw.output());
      const port = Number(/:(\d+)$/.exec(String(line.address))?.[1]);
      assert.equal(line.address, `0.0.0.0:${port}`, "where the socket listens: every IPv4 interface");
      assert.equal(line.url, `http://127.0.0.1:${port}`, "a URL a human on this machine can open");
      assert.equal((await fetch(`${line.url}/healthz`)).status, 200);
      const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
      assert.equal(line.version, version);
      assert.equal(line.cache, "in-process (no REDIS_URL)");
      assert.equal(line.metrics, "off (set METRICS_PORT)");
    } finally {
      await gw.stop();
      await dir.remove();
    }
  });

  test("under BASE_PATH the start line's URL to open is the prefix's (the root answers 404 there)", async () => {
    const dir = await tempDir();
    const gw = await gatewayProcess({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: join(dir.path, "data"), BASE_PATH: "/pkgs" });
    try {
      const line = gw.listening;
      assert.ok(line, gw.output());
      const port = Number(/:(\d+)$/.exec(String(line.address))?.[1]);
      assert.equal(line.url, `http://127.0.0.1:${port}/pkgs/`);
      assert.equal(line.basePath, "/pkgs");
      const page = await fetch(String(line.url), { headers: { accept: "text/html" } });
      assert.equal(page.status, 200, "the start page");
      assert.equal((await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: "text/html" } })).status, 404, "what the URL was");
    } finally {
      await gw.stop();
      await dir.remove();
    }
  });

  test("DATA_DIR is created at start, parents included, so a channel can be copied in at once", async () => {
    const dir = await tempDir();
    const dataDir = join(dir.path, "not", "there", "yet");
    const gw = await gatewayProcess({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir });
    try {
      assert.ok(gw.listening, gw.output());
      assert.ok(existsSync(dataDir) && statSync(dataDir).isDirectory());
      assert.equal((await fetch(`${gw.listening.url}/readyz`)).status, 200);
    } finally {
      await gw.stop();
      await dir.remove();
    }
  });

  test("a DATA_DIR that cannot be created stops the start with a message that says so", async () => {
    const dir = await tempDir();
    writeFileSync(join(dir.path, "a-file"), "");
    const dataDir = join(dir.path, "a-file", "data");
    const gw = await gatewayProcess({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir });
    try {
      assert.equal(gw.listening, null, "it does not start");
      assert.equal(await gw.exited, 1);
      assert.equal(
        gw.stderr().trim(),
        `pkgate: failed to start: DATA_DIR ${dataDir} cannot be created (a file stands where a directory should be): create it, or set DATA_DIR to a directory this user may write`,
      );
    } finally {
      await gw.stop();
      await dir.remove();
    }
  });
  test("a port already in use, or a HOST that is no address, stops the start naming the variable to change", async () => {
    const dir = await tempDir();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    const cases: [Record<string, string>, string][] = [
      // Node's own words were "listen EADDRINUSE: address already in use 127.0.0.1:PORT"
      [{ PORT: String(port), HOST: "127.0.0.1" }, `pkgate: failed to start: PORT ${port} on HOST 127.0.0.1: the port is already in use (another pkgate or another server listens there): stop it, or set PORT to a free port`],
      [{ PORT: "0", HOST: "127.0.0.1", METRICS_PORT: String(port) }, `pkgate: failed to start: METRICS_PORT ${port} on METRICS_HOST 127.0.0.1: the port is already in use (another pkgate or another server listens there): stop it, or set METRICS_PORT to a free port`],
      // and "getaddrinfo ENOTFOUND no-such-host.invalid"
      [{ PORT: "0", HOST: "no-such-host.invalid" }, `pkgate: failed to start: PORT 0 on HOST no-such-host.invalid: host name not found: set HOST to an address of this machine, or 0.0.0.0 for every IPv4 interface`],
      // and "listen EADDRNOTAVAIL: address not available 192.0.2.1" (TEST-NET-1, no machine's)
      [{ PORT: "0", HOST: "192.0.2.1" }, `pkgate: failed to start: PORT 0 on HOST 192.0.2.1: not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for every IPv4 interface`],
    ];
    try {
      for (const [env, message] of cases) {
        const gw = await gatewayProcess({ DATA_DIR: join(dir.path, "data"), ...env });
        try {
          assert.equal(gw.listening, null, "it does not start");
          assert.equal(await gw.exited, 1);
          assert.equal(gw.stderr().trim(), message);
        } finally {
          await gw.stop();
        }
      }
    } finally {
      taken.close();
      await dir.remove();
    }
  });
});

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;

type LogLine = Record<string, unknown>;

interface GatewayProcess {
  /** The start line, or null when the process exited first. */
  listening: LogLine | null;
  exited: Promise<number | null>;
  exitCode(): number | null;
  /** Every JSON line on standard output so far. */
  lines(): LogLine[];
  stdoutNotJson(): string[];
  stderr(): string;
  output(): string;
  stop(): Promise<void>;
}

/** `node src/main.ts` with this environment, as an operator runs it; resolves once it has
 * said it listens, or has exited. */
async function gatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const rows = () => stdout.split("\n").filter(Boolean);
  const lines = () => rows().flatMap((r) => (r.startsWith("{") ? [JSON.parse(r) as LogLine] : []));
  const deadline = Date.now() + 20_000;
  let listening: LogLine | null = null;
  let gone = false;
  void exited.then(() => (gone = true));
  while (!listening && !gone && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    listening = lines().find((l) => l.msg === "listening") ?? null;
  }
  if (!listening && !gone) child.kill("SIGKILL");
  if (gone) await exited;
  return {
    listening,
    exited,
    exitCode: () => child.exitCode,
    lines,
    stdoutNotJson: () => rows().filter((r) => !r.startsWith("{")),
    stderr: () => stderr,
    output: () => stdout + stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A redis-server that wants a password; kill() ends it with SIGKILL, as a crash or the OOM
 * killer would. */
async function redisWithPassword(port: number, password: string): Promise<{ kill(): Promise<void> }> {
  const dir = await tempDir("pkgate-redis-");
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.path, "--requirepass", password], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await dir.remove();
  };
  process.once("exit", () => child.kill("SIGKILL"));
  // up once it refuses an unauthenticated PING
  try {
    await waitFor("redis-server with a password", () => answers(port, "PING\r\n", "-NOAUTH"), child, 10_000, () => "");
  } catch (err) {
    await kill();
    throw err;
  }
  return { kill };
}
