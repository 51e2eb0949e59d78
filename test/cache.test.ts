// Both Cache adapters against the one contract (MemoryCache in-process, RedisCache on a real
// redis-server), then what only one adapter has: the memory bound and LRU order, and Redis
// outages — fail fast while it is down, recover by itself when it is back.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { MemoryCache } from "../src/cache/memory.js";
import { RedisCache } from "../src/cache/redis.js";
import { CacheUnavailable } from "../src/cache/cache.js";
import { startRedis, freePort, type RedisService } from "./harness/services.js";
import { cacheContract, nextMessage, sleep } from "./cache.contract.js";

cacheContract("memory", async () => {
  const cache = new MemoryCache();
  return { cache, stop: () => cache.close() };
});

let shared: RedisService | undefined;
after(async () => {
  await shared?.stop();
});

cacheContract("redis", async () => {
  shared = await startRedis();
  const cache = new RedisCache(shared.url);
  return { cache, stop: () => cache.close() };
});

cacheContract("redis with a key prefix", async () => {
  shared ??= await startRedis();
  const cache = new RedisCache(shared.url, { keyPrefix: "tenant-a:" });
  return { cache, stop: () => cache.close() };
});

describe("MemoryCache", () => {
  test("holds at most maxBytes, dropping the least recently used entries first", async () => {
    // each entry weighs 1 (key) + 40 (value) bytes
    const cache = new MemoryCache({ maxBytes: 100 });
    try {
      const v = "x".repeat(40);
      await cache.set("a", v, 60);
      await cache.set("b", v, 60);
      await cache.get("a"); // a is now more recent than b
      await cache.set("c", v, 60);
      assert.equal(await cache.get("b"), null, "b was least recently used");
      assert.ok(await cache.get("a"));
      assert.ok(await cache.get("c"));
      assert.ok(cache.size <= 100);
    } finally {
      await cache.close();
    }
  });

  test("a value larger than the whole cache is not kept, and does not evict the rest", async () => {
    const cache = new MemoryCache({ maxBytes: 100 });
    try {
      await cache.set("small", "1", 60);
      await cache.set("huge", Buffer.alloc(200), 60);
      assert.equal(await cache.get("huge"), null);
      assert.equal((await cache.get("small"))?.toString(), "1");
    } finally {
      await cache.close();
    }
  });

  test("size accounts for overwrites, deletes and expiry", async () => {
    let now = 1_000_000;
    const cache = new MemoryCache({ now: () => now });
    try {
      const cases: [string, () => Promise<unknown>, number][] = [
        ["set", () => cache.set("k", "12345", 10), 6],
        ["overwrite", () => cache.set("k", "1", 10), 2],
        ["second key", () => cache.set("kk", "123", 10), 2 + 5],
        ["del", () => cache.del("k"), 5],
        ["expired read", async () => ((now += 11_000), cache.get("kk")), 0],
      ];
      for (const [name, step, size] of cases) {
        await step();
        assert.equal(cache.size, size, name);
      }
    } finally {
      await cache.close();
    }
  });

  test("publish delivers asynchronously, never inside the publisher's call", async () => {
    const cache = new MemoryCache();
    try {
      let heard = false;
      await cache.subscribe("c", () => (heard = true));
      const p = cache.publish("c", "m");
      assert.equal(heard, false);
      await p;
      await sleep(10);
      assert.equal(heard, true);
    } finally {
      await cache.close();
    }
  });
});

describe("RedisCache", () => {
  test("two key prefixes on one Redis see neither each other's keys nor channels", async () => {
    shared ??= await startRedis();
    const a = new RedisCache(shared.url, { keyPrefix: "iso-a:" });
    const b = new RedisCache(shared.url, { keyPrefix: "iso-b:" });
    try {
      await a.set("k", "from-a", 60);
      assert.equal(await b.get("k"), null);
      let bHeard = 0;
      const offB = await b.subscribe("events", () => bHeard++);
      const aSub = await nextMessage(a, "events");
      await a.publish("events", "hello");
      assert.equal(await aSub.message, "hello");
      await sleep(50);
      assert.equal(bHeard, 0);
      await offB();
      await aSub.unsubscribe();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("an unreachable Redis is CacheUnavailable at once, and the password never shows", async () => {
    const port = await freePort(); // nothing listens there
    const cache = new RedisCache(`redis://:s3cret-pass@127.0.0.1:${port}`);
    try {
      const started = Date.now();
      const ops: [string, () => Promise<unknown>][] = [
        ["get", () => cache.get("k")],
        ["set", () => cache.set("k", "v", 1)],
        ["incr", () => cache.incr("k", 1)],
        ["tryLock", () => cache.tryLock("k", 1000)],
        ["publish", () => cache.publish("c", "m")],
        ["ping", () => cache.ping()],
      ];
      for (const [name, op] of ops) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof CacheUnavailable, `${name}: ${String(err)}`);
          assert.ok(!err.message.includes("s3cret-pass"), `${name} leaks the password: ${err.message}`);
          return true;
        });
      }
      assert.ok(Date.now() - started < 2000, "all failed within 2 s");
      assert.equal(cache.healthy, false);
      // Subscribing while Redis is down registers the handler instead of failing.
      const off = await cache.subscribe("c", () => undefined);
      await off();
    } finally {
      await cache.close();
    }
  });

  test("a Redis that stops answering is CacheUnavailable within 2 s, and fine once it answers again", async () => {
    const redis = await startRedis();
    const cache = new RedisCache(redis.url);
    try {
      await cache.set("k", "v", 60);
      redis.freeze();
      const started = Date.now();
      await assert.rejects(cache.get("k"), CacheUnavailable);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
      redis.thaw();
      const deadline = Date.now() + 10_000;
      let value: Buffer | null = null;
      while (Date.now() < deadline) {
        value = await cache.get("k").catch(() => null);
        if (value) break;
        await sleep(100);
      }
      assert.equal(value?.toString(), "v");
    } finally {
      redis.thaw();
      await cache.close();
      await redis.stop();
    }
  });

  describe("when redis-server stops and comes back on the same port", () => {
    let redis: RedisService;
    let cache: RedisCache;
    let publisher: RedisCache;
    const heard: string[] = [];

    before(async () => {
      redis = await startRedis();
      cache = new RedisCache(redis.url);
      publisher = new RedisCache(redis.url);
      await cache.subscribe("catalog-events", (m) => heard.push(m));
      await cache.set("before", "1", 60);
    });
    after(async () => {
      await cache?.close();
      await publisher?.close();
      await redis?.stop();
    });

    test("while it is down, get fails with CacheUnavailable within 2 s instead of hanging", async () => {
      assert.equal(cache.healthy, true);
      await redis.stop();
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        await assert.rejects(cache.get("before"), CacheUnavailable);
        assert.ok(Date.now() - started < 2000, `attempt ${i} took ${Date.now() - started} ms`);
      }
      assert.equal(cache.healthy, false);
    });

    test("after a restart, commands work again without anyone reconnecting", async () => {
      redis = await startRedis({ port: redis.port });
      const deadline = Date.now() + 10_000;
      let value: Buffer | null | undefined;
      while (Date.now() < deadline) {
        try {
          await cache.set("after", "2", 60);
          value = await cache.get("after");
          break;
        } catch (err) {
          assert.ok(err instanceof CacheUnavailable);
          await sleep(100);
        }
      }
      assert.equal(value?.toString(), "2");
      assert.equal(cache.healthy, true);
      // scripts are gone with the old server's memory; they are loaded again
      assert.equal(await cache.incr("counter", 60), 1);
      const release = await cache.tryLock("lock", 1000);
      assert.ok(release);
      await release();
      // the old server's data is gone (no persistence): it was a cache
      assert.equal(await cache.get("before"), null);
    });

    test("subscriptions resume: a message published by another client arrives", async () => {
      const deadline = Date.now() + 10_000;
      while (!heard.includes("revoked:t1") && Date.now() < deadline) {
        await publisher.publish("catalog-events", "revoked:t1").catch(() => undefined);
        await sleep(100);
      }
      assert.ok(heard.includes("revoked:t1"), `heard ${JSON.stringify(heard)}`);
    });
  });
});
