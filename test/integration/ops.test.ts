// What an operator relies on: health and readiness, metrics, running behind a prefix and a
// trusted proxy, graceful shutdown with a download in flight, and degraded (not down)
// operation when Redis or the store goes away.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";
import { freePort, startRedis, type RedisService } from "../harness/services.js";

async function seedAcme(s: Stack): Promise<string> {
  await s.seedConda({ channel: "acme", subdirs: ["linux-64"], packages: [{ name: "pub-lib", version: "1.0", subdir: "linux-64" }, { name: "priv-app", version: "1.0", subdir: "linux-64" }] });
  await s.cli(["org", "--create", "acme"]);
  await s.cli(["package", "--private", "acme/priv-app"]);
  return lastLine((await s.cli(["auth", "--create", "--name", "ops", "--scopes", "conda:download", "--org", "acme"])).stdout);
}

describe("health, readiness and metrics", () => {
  let s: Stack;
  let token: string;
  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" });
    token = await seedAcme(s);
  });
  after(() => s.stop());

  test("/healthz and /readyz", async () => {
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual((await ready.json()).parts, { store: null, cache: null });
  });

  test("/metrics counts requests by route and status, bytes, token tiers and index views", async () => {
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/t/${token}/acme/linux-64/repodata.json`).then((r) => r.arrayBuffer());
    for (let i = 0; i < 2; i++) await fetch(`${s.url}/acme/linux-64/repodata.json`).then((r) => r.arrayBuffer());
    const text = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(text, /pkgate_requests_total\{route="conda-index",status="200"\} 5/);
    assert.match(text, /pkgate_bytes_served_total\{route="conda-index"\} [1-9]\d*/);
    assert.match(text, /pkgate_request_duration_seconds_bucket\{route="conda-index",le="\+Inf"\} 5/);
    // one cold lookup reached the store, the rest were answered in process
    assert.match(text, /pkgate_token_lookups_total\{tier="store"\} 1\n/);
    assert.match(text, /pkgate_token_lookups_total\{tier="local"\} 2\n/);
    // the anonymous view was computed once, then served from memory
    assert.match(text, /pkgate_index_views_total\{source="computed"\} 1\n/);
    assert.match(text, /pkgate_index_views_total\{source="local"\} 1\n/);
    assert.ok(!text.includes(token));
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
    assert.equal((await fetch(`${s.url}/conda/healthz`)).status, 200);
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
      // the gateway streams any artifact whose name parses: random bytes make it big for real
      await s.rt.store.put("acme/linux-64/big-1.0-0.conda", randomBytes(48 * 1024 * 1024));
      await s.cli(["org", "--create", "acme"]);
      const replica = await s.spawnReplica();
      const path = "/acme/linux-64/big-1.0-0.conda";
      const head = await fetch(replica.url + path, { method: "HEAD" });
      const size = Number(head.headers.get("content-length"));
      assert.equal(size, 48 * 1024 * 1024);
      const u = new URL(replica.url);
      let received = 0;
      const done = new Promise<{ status: number; received: number }>((resolve, reject) => {
        const req = http.get({ host: u.hostname, port: u.port, path, agent: false }, (res) => {
          res.pause();
          // read slowly: the shutdown starts while most of the body is still to come
          const timer = setInterval(() => {
            let chunk;
            if ((chunk = res.read()) !== null) received += chunk.length;
            res.read(0);
          }, 20);
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
      assert.equal(ready.status, 503);
      const parts = (await ready.json()).parts;
      assert.equal(parts.store, null);
      assert.ok(parts.cache, "readyz says the cache failed");
      const t0 = Date.now();
      const res = await fetch(`${s.url}/t/${token}/acme/linux-64/repodata.json`);
      assert.equal(res.status, 200, "still serving with Redis down");
      assert.ok(Date.now() - t0 < 3000, "no long hang on a dead Redis");
      redis = await startRedis({ port });
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await fetch(`${s.url}/readyz`)).status;
      }
      assert.equal(status, 200, "readyz recovers when Redis returns");
    } finally {
      await redis?.stop();
      await s.stop();
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
      assert.ok((await ready.json()).parts.store);
      assert.equal((await fetch(`${s.url}/healthz`)).status, 200, "alive all the same");
    } finally {
      await s.stop();
    }
  });
});
