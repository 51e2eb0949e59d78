// RedisCache says when Redis becomes unusable and when it is back: once per change, in an
// operator's words (never ioredis's, never the URL's password), whatever happens in between
// (reconnection attempts every 100 ms to 2 s, commands timing out).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisCache, type AvailabilityChange } from "../src/cache/redis.js";
import { CacheUnavailable } from "../src/cache/cache.js";
import { freePort, startRedis, type RedisService } from "./harness/services.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(50);
  }
}

/** What a listener heard, with the outage's length left out (it varies). */
function heard(cache: RedisCache): { changes: Omit<AvailabilityChange, "downMs">[]; off: () => void } {
  const changes: Omit<AvailabilityChange, "downMs">[] = [];
  const off = cache.onAvailability((c) => changes.push(c.up ? { up: true } : c));
  return { changes, off };
}

describe("RedisCache availability", () => {
  const closing: (RedisCache | RedisService)[] = [];
  after(async () => {
    for (const c of closing) await (c instanceof RedisCache ? c.close() : c.stop());
  });

  test("unreachable from the start: said once with its cause, also to a listener that comes later", async () => {
    const port = await freePort();
    const cache = new RedisCache(`redis://:s3cret-pass@127.0.0.1:${port}/0`);
    closing.push(cache);
    await sleep(1500); // several connection attempts
    const { changes } = heard(cache);
    await sleep(1000);
    assert.deepEqual(changes, [{ up: false, cause: "connection refused" }]);
    assert.equal(cache.healthy, false);
    const problem = `Redis at 127.0.0.1:${port} is unreachable (connection refused)`;
    await assert.rejects(cache.ping(), (err: unknown) => err instanceof CacheUnavailable && err.message === problem);
    await assert.rejects(cache.get("k"), (err: unknown) => err instanceof CacheUnavailable && err.message === problem);
  });

  test("killed and restarted: down once (connection lost), back once", async () => {
    let redis = await startRedis();
    const cache = new RedisCache(redis.url);
    closing.push(cache);
    await until(() => cache.healthy);
    const { changes } = heard(cache);
    await redis.stop();
    await sleep(1500);
    assert.deepEqual(changes, [{ up: false, cause: "connection lost" }]);
    redis = await startRedis({ port: redis.port });
    closing.push(redis);
    await until(() => cache.healthy);
    assert.deepEqual(changes, [{ up: false, cause: "connection lost" }, { up: true }]);
    await cache.ping();
  });

  test("a Redis that stops answering: down at the first command without an answer, up at the first answered", async () => {
    const redis = await startRedis();
    closing.push(redis);
    const cache = new RedisCache(redis.url, { commandTimeoutMs: 300 });
    closing.push(cache);
    await cache.set("k", "v", 60);
    const { changes } = heard(cache);
    redis.freeze();
    try {
      const problem = `Redis at 127.0.0.1:${redis.port} is unreachable (no answer within 300 ms)`;
      for (let i = 0; i < 3; i++) await assert.rejects(cache.get("k"), (err: unknown) => err instanceof CacheUnavailable && err.message === problem);
      assert.deepEqual(changes, [{ up: false, cause: "no answer within 300 ms" }]);
      assert.equal(cache.healthy, false);
    } finally {
      redis.thaw();
    }
    await until(async () => (await cache.get("k").catch(() => null))?.toString() === "v");
    assert.deepEqual(changes, [{ up: false, cause: "no answer within 300 ms" }, { up: true }]);
    assert.equal(cache.healthy, true);
  });

  test("close() is not an outage", async () => {
    const redis = await startRedis();
    closing.push(redis);
    const cache = new RedisCache(redis.url);
    await until(() => cache.healthy);
    const { changes } = heard(cache);
    await cache.close();
    await sleep(300);
    assert.deepEqual(changes, []);
  });
});
