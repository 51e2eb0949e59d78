// A change written by a process that does not share the gateway's Redis (a `pkgate` CLI run
// without REDIS_URL, a restored bucket) reaches a Redis-backed gateway within TOKEN_CACHE_TTL:
// the store's catalog generation moves, and the gateway stops trusting what it and Redis hold.
// Real redis-server, fs store, the gateway over HTTP.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../../src/config.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { hashToken } from "../../src/auth/token.js";
import { startStack, type Stack } from "../harness/gateway.js";

const TTL_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("changes by a process without Redis reach a Redis-backed gateway within TOKEN_CACHE_TTL", () => {
  let s: Stack;
  /** The CLI's view: the same DATA_DIR, no REDIS_URL. */
  let cli: Runtime;
  before(async () => {
    s = await startStack({ store: "fs", cache: "redis" }, { TOKEN_CACHE_TTL: String(TTL_SECONDS) });
    cli = await createRuntime(loadConfig({ DATA_DIR: s.env.DATA_DIR, TOKEN_CACHE_TTL: String(TTL_SECONDS) }));
    assert.equal(cli.cache.kind, "memory");
    assert.equal(s.rt.cache.kind, "redis");
    await cli.catalog.createAccount({ name: "alice", kind: "user", email: "alice@example.org" });
    await cli.catalog.createAccount({ name: "acme", kind: "org", admins: ["alice"] });
  });
  after(async () => {
    await cli?.close();
    await s?.stop();
  });

  const whoami = (token: string) => fetch(`${s.url}/api/user`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => (await r.arrayBuffer(), r.status));

  test("a token revoked by the CLI is refused by the gateway within TOKEN_CACHE_TTL", async () => {
    const { token } = await cli.catalog.createToken({ account: "alice", name: "laptop", scopes: ["api"] });
    // used for a while: cached in the gateway's process and in Redis (600 s there)
    for (let i = 0; i < 5; i++) {
      assert.equal(await whoami(token), 200);
      await sleep(100);
    }
    await cli.catalog.revokeToken("alice", "laptop");
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 10_000) {
      status = await whoami(token);
      if (status === 200) await sleep(50);
    }
    const took = Date.now() - revokedAt;
    assert.equal(status, 401, "refused in the end");
    assert.ok(took <= TTL_SECONDS * 1000, `refused after ${took} ms, TOKEN_CACHE_TTL is ${TTL_SECONDS} s`);
  });

  test("replicas sharing Redis hear of a change at once: the announcement carries the new generation", async () => {
    const writer = await createRuntime(loadConfig({ DATA_DIR: s.env.DATA_DIR, REDIS_URL: s.env.REDIS_URL, TOKEN_CACHE_TTL: String(TTL_SECONDS) }));
    try {
      await s.rt.catalog.getAccount("acme");
      // the gateway looks at the store's generation now, and not again for a second
      await sleep(1100);
      await s.rt.catalog.getAccount("acme");
      await writer.catalog.setPackagePrivacy("acme", "heard", "private");
      const wrote = Date.now();
      while ((await s.rt.catalog.getAccount("acme"))?.packages.heard !== "private") {
        assert.ok(Date.now() - wrote < 500, "seen before the next look at the generation");
        await sleep(10);
      }
    } finally {
      await writer.close();
    }
  });

  test("a restored (older) catalog is noticed by the gateway, and by a replica that only has Redis's copies", async () => {
    const data = s.env.DATA_DIR!;
    const backup = join(data, "..", "catalog-backup");
    await cli.catalog.setPackagePrivacy("acme", "lib", "public");
    await cp(join(data, ".pkgate"), backup, { recursive: true });
    // after the backup: lib made private; the gateway (and so Redis) learns it
    await cli.catalog.setPackagePrivacy("acme", "lib", "private");
    const deadline = Date.now() + TTL_SECONDS * 1000;
    while ((await s.rt.catalog.getAccount("acme"))?.packages.lib !== "private") {
      assert.ok(Date.now() < deadline, "the gateway saw the change");
      await sleep(50);
    }
    // the bucket is restored from the backup
    await rm(join(data, ".pkgate"), { recursive: true });
    await cp(backup, join(data, ".pkgate"), { recursive: true });
    const restoredAt = Date.now();
    while ((await s.rt.catalog.getAccount("acme"))?.packages.lib !== "public") {
      assert.ok(Date.now() - restoredAt <= TTL_SECONDS * 1000, "the gateway noticed the restore within TOKEN_CACHE_TTL");
      await sleep(50);
    }
    // a replica starting now, on the same Redis: the newer copy Redis may still hold belongs
    // to the old generation and is not trusted
    const replica = await createRuntime(loadConfig({ DATA_DIR: data, REDIS_URL: s.env.REDIS_URL, TOKEN_CACHE_TTL: String(TTL_SECONDS) }));
    try {
      assert.equal((await replica.catalog.getAccount("acme"))?.packages.lib, "public");
    } finally {
      await replica.close();
    }
  });

  test("a token created after the backup stops working once the backup is restored", async () => {
    const data = s.env.DATA_DIR!;
    const backup = join(data, "..", "catalog-backup-2");
    await cp(join(data, ".pkgate"), backup, { recursive: true });
    const { token } = await cli.catalog.createToken({ account: "alice", name: "after-backup", scopes: ["api"] });
    assert.equal(await whoami(token), 200);
    assert.ok(await s.rt.catalog.findToken(hashToken(token)));
    await rm(join(data, ".pkgate"), { recursive: true });
    await cp(backup, join(data, ".pkgate"), { recursive: true });
    const restoredAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - restoredAt < 10_000) {
      status = await whoami(token);
      if (status === 200) await sleep(50);
    }
    assert.equal(status, 401);
    assert.ok(Date.now() - restoredAt <= TTL_SECONDS * 1000);
  });
});
