// The gate's GET and HEAD under /t/ run directly on Node (http/direct.ts) rather than through
// Hono's router and adapter: the same steps, so the same answers. Two listeners over one set
// of dependencies, one direct and one all through Hono, get the same requests (every kind of
// answer the gate gives: bodies, 304, HEAD, ranges, 412, 416, hidden and missing, refused
// tokens, redirects, a store outage), and must answer them byte for byte alike: status,
// reason, headers (but the date and the request id) and body, and log them alike.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { FsStore } from "../../src/store/fs.js";
import { StoreUnavailable, type Store } from "../../src/store/store.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { ViewCache } from "../../src/cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "../../src/http/objects.js";
import { Metrics } from "../../src/metrics.js";
import { createLogger } from "../../src/log.js";
import { loadConfig } from "../../src/config.js";
import { appDeps } from "../../src/server.js";
import { nodeListener } from "../../src/app.js";
import { tempDir, type TempDir } from "../harness/services.js";
import { fetchRaw } from "../harness/raw-http.js";

interface Answer {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function ask(base: string, path: string, method: string, headers: Record<string, string>): Promise<Answer> {
  const { res, body } = await fetchRaw(`${base}${path}`, { connection: "close", ...headers }, method);
  const { date: _d, "x-request-id": _r, ...rest } = res.headers;
  return { status: res.statusCode!, reason: res.statusMessage!, headers: rest, body: body.toString("latin1") };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const REPODATA = {
  info: { subdir: "linux-64" },
  packages: {},
  "packages.conda": {
    "pub-1.0-0.conda": { name: "pub", version: "1.0", build: "0", build_number: 0, depends: [], subdir: "linux-64" },
    "priv-1.0-0.conda": { name: "priv", version: "1.0", build: "0", build_number: 0, depends: [], subdir: "linux-64" },
  },
};

describe("the gate's GET and HEAD, directly on Node and through Hono", () => {
  let dir: TempDir;
  let down = false;
  let direct: { server: Server; url: string };
  let hono: { server: Server; url: string };
  const lines: Record<string, unknown>[] = [];
  let acme = "";
  let eve = "";

  before(async () => {
    dir = await tempDir();
    const fs = new FsStore(dir.path);
    // a store that fails like an unreachable one while `down`
    const store = new Proxy(fs, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function" || prop === "constructor") return value;
        return (...args: unknown[]) => {
          if (down) return Promise.reject(new StoreUnavailable("fs store: read failed (EIO)"));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    await fs.put("acme/linux-64/repodata.json", Buffer.from(JSON.stringify(REPODATA)));
    await fs.put("acme/linux-64/pub-1.0-0.conda", Buffer.alloc(3000, 7));
    await fs.put("acme/linux-64/priv-1.0-0.conda", Buffer.alloc(2000, 9));
    await fs.put("acme/simple/pub/index.html", Buffer.from("<html></html>"));
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 60 });
    await catalog.createAccount({ name: "acme", kind: "org", adopt: true });
    await catalog.updateAccount("acme", (a) => {
      a.packages["priv"] = "private";
    });
    await catalog.createAccount({ name: "eve", kind: "user" });
    acme = (await catalog.createToken({ account: "acme", name: "ci", scopes: ["conda:download", "pypi:download"] })).token;
    eve = (await catalog.createToken({ account: "eve", name: "mine", scopes: ["conda:download"] })).token;
    const views = new ViewCache(cache, { maxLocalBytes: 16 * 1024 * 1024, maxSharedBytes: 1024 * 1024, sharedTtlSeconds: 3600 });
    const objects = new ObjectSource(store, { ...DEFAULT_HOT });
    const logger = createLogger(
      "info",
      new Writable({
        write(chunk, _e, cb) {
          for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    );
    const deps = appDeps({ store, cache, catalog, objects, views, logger, metrics: new Metrics() }, loadConfig({ AUTH_FAILURE_LIMIT: "1000" }));
    const start = async (opts: { direct?: boolean }) => {
      const server = createServer(nodeListener(deps, opts).listener);
      return { server, url: await listen(server) };
    };
    direct = await start({});
    hono = await start({ direct: false });
  });
  after(async () => {
    for (const s of [direct, hono]) {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
    await dir.remove();
  });

  /** The same request to both; their answers and their access-log lines must agree. */
  async function same(what: string, path: string, method = "GET", headers: Record<string, string> = {}): Promise<Answer> {
    // Hono first: the object cache it warms is warm for the direct listener too, and the
    // other order is checked by asking everything twice
    const seen = lines.length;
    const viaHono = await ask(hono.url, path, method, headers);
    const viaDirect = await ask(direct.url, path, method, headers);
    assert.deepEqual(viaDirect, viaHono, what);
    // each request's access line is written when its response closes
    const deadline = Date.now() + 2000;
    while (lines.filter((l) => l.msg === "request").length < lines.slice(0, seen).filter((l) => l.msg === "request").length + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const logged = lines
      .slice(seen)
      .filter((l) => l.msg === "request")
      .map(({ reqId: _r, ms: _m, time: _t, aborted: _a, ...rest }) => rest);
    // none at all for what the adapter refuses before any route runs (a Host that is none)
    assert.ok(logged.length === 2 || logged.length === 0, `${what}: two access lines, or none`);
    if (logged.length === 2) assert.deepEqual(logged[1], logged[0], `${what}: the access lines`);
    return viaDirect;
  }

  const cases = (): [string, string, string?, Record<string, string>?][] => [
    ["an index", `/t/${acme}/acme/linux-64/repodata.json`],
    ["an index, HEAD", `/t/${acme}/acme/linux-64/repodata.json`, "HEAD"],
    ["an artifact", `/t/${acme}/acme/linux-64/priv-1.0-0.conda`],
    ["an artifact, HEAD", `/t/${acme}/acme/linux-64/priv-1.0-0.conda`, "HEAD"],
    ["a range", `/t/${acme}/acme/linux-64/pub-1.0-0.conda`, "GET", { range: "bytes=10-99" }],
    ["a range past the end", `/t/${acme}/acme/linux-64/pub-1.0-0.conda`, "GET", { range: "bytes=9999-" }],
    ["If-Match that fails", `/t/${acme}/acme/linux-64/pub-1.0-0.conda`, "GET", { "if-match": '"nope"' }],
    ["a missing file", `/t/${acme}/acme/linux-64/none-1.0-0.conda`],
    ["a missing file, HEAD", `/t/${acme}/acme/linux-64/none-1.0-0.conda`, "HEAD"],
    ["a hidden file", `/t/${eve}/acme/linux-64/priv-1.0-0.conda`],
    ["a hidden file's index", `/t/${eve}/acme/linux-64/repodata.json`],
    ["a channel nobody owns", `/t/${acme}/nobody/linux-64/repodata.json`],
    ["a token nobody has", `/t/${acme.slice(0, -4)}zzzz/acme/linux-64/repodata.json`],
    ["a malformed token", `/t/a_b/acme/linux-64/repodata.json`],
    ["a dot segment", `/t/${acme}/acme/%2e%2e/acme/linux-64/repodata.json`],
    ["PEP 503 redirect", `/t/${acme}/acme/simple/Pub`],
    ["a query and headers that are logged", `/t/${acme}/acme/linux-64/repodata.json?x=1`, "GET", { referer: "https://example.com/", "user-agent": "conda/24.1", "x-request-id": "abc-1" }],
    // refused by the adapter before Hono sees them: the direct path hands them over
    ["a Host that is none", `/t/${acme}/acme/linux-64/repodata.json`, "GET", { host: "a/b@c" }],
    ["a backslash", `/t/${acme}/acme\\linux-64/repodata.json`],
  ];

  test("every kind of answer, byte for byte alike", async () => {
    const statuses: number[] = [];
    for (const [what, path, method, headers] of cases()) statuses.push((await same(what, path, method, headers)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 206, 416, 412, 404, 404, 404, 200, 404, 403, 400, 400, 301, 200, 400, 400]);
    // and once more with every cache warm
    for (const [what, path, method, headers] of cases()) await same(`${what} (warm)`, path, method, headers);
  });

  test("a revalidation: 304 with the same validators", async () => {
    const first = await same("the index", `/t/${acme}/acme/linux-64/repodata.json`);
    const etag = first.headers.etag as string;
    assert.ok(etag);
    const r = await same("its revalidation", `/t/${acme}/acme/linux-64/repodata.json`, "GET", { "if-none-match": etag });
    assert.equal(r.status, 304);
  });

  test("a store outage: the same 503", async () => {
    down = true;
    try {
      const r = await same("a cold file in an outage", `/t/${acme}/acme/linux-64/none-2.0-0.conda`);
      assert.equal(r.status, 503);
    } finally {
      down = false;
    }
  });

  test("only GET and HEAD under /t/ take the direct path; the rest is Hono's, as before", async () => {
    const post = await same("a POST under /t/", `/t/${acme}/acme/linux-64/repodata.json`, "POST");
    assert.equal(post.status >= 400, true);
    await same("a PUT", `/t/${acme}/acme/linux-64/repodata.json`, "PUT");
    await same("a path without a token", `/acme/linux-64/repodata.json`);
    await same("the API", `/api/user`, "GET", { authorization: `Bearer ${acme}` });
  });
});
