// The Cache contract: one suite every Cache adapter must pass (memory and redis). Each test
// works under its own key namespace, so adapters backed by a shared server need no flush.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Cache } from "../src/cache/cache.js";

export interface CacheFixture {
  cache: Cache;
  stop(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first message that arrives, rejects after timeoutMs. */
export function nextMessage(cache: Cache, channel: string, timeoutMs = 2000): Promise<{ message: Promise<string>; unsubscribe: () => Promise<void> }> {
  return new Promise((resolveSub, rejectSub) => {
    let resolveMsg!: (m: string) => void;
    let rejectMsg!: (e: Error) => void;
    const message = new Promise<string>((res, rej) => {
      resolveMsg = res;
      rejectMsg = rej;
    });
    const timer = setTimeout(() => rejectMsg(new Error(`no message on ${channel} within ${timeoutMs} ms`)), timeoutMs);
    message.catch(() => undefined).finally(() => clearTimeout(timer));
    cache
      .subscribe(channel, (m) => resolveMsg(m))
      .then((unsubscribe) => resolveSub({ message, unsubscribe }), rejectSub);
  });
}

export function cacheContract(name: string, make: () => Promise<CacheFixture>): void {
  describe(`Cache contract: ${name}`, () => {
    let cache: Cache;
    let fixture: CacheFixture;
    let n = 0;
    const run = randomBytes(4).toString("hex");
    /** A key (or channel) no other test or run uses. */
    const fresh = (what: string) => `contract:${run}:${++n}:${what}`;

    before(async () => {
      fixture = await make();
      cache = fixture.cache;
    });
    after(async () => {
      await fixture?.stop();
    });

    test("ping answers", async () => {
      await cache.ping();
    });

    test("a missing key is null, not an error", async () => {
      assert.equal(await cache.get(fresh("missing")), null);
    });

    describe("set then get returns the same bytes", () => {
      const cases: { name: string; value: Buffer | string; want: Buffer }[] = [
        { name: "text", value: "hello", want: Buffer.from("hello") },
        { name: "unicode text", value: "ünïcødé ✓", want: Buffer.from("ünïcødé ✓") },
        { name: "empty", value: "", want: Buffer.alloc(0) },
        { name: "binary, every byte value", value: Buffer.from(Array.from({ length: 256 }, (_, i) => i)), want: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
        { name: "JSON", value: JSON.stringify({ v: { scopes: ["conda"] } }), want: Buffer.from('{"v":{"scopes":["conda"]}}') },
      ];
      for (const c of cases) {
        test(c.name, async () => {
          const key = fresh("set");
          await cache.set(key, c.value, 60);
          const got = await cache.get(key);
          assert.ok(Buffer.isBuffer(got), "get returns a Buffer");
          assert.deepEqual(got, c.want);
        });
      }
    });

    test("set overwrites the previous value", async () => {
      const key = fresh("overwrite");
      await cache.set(key, "one", 60);
      await cache.set(key, "two", 60);
      assert.equal((await cache.get(key))?.toString(), "two");
    });

    test("the cache keeps its own copy of a value", async () => {
      const key = fresh("copy");
      const buf = Buffer.from("original");
      await cache.set(key, buf, 60);
      buf.write("MUTATED!");
      assert.equal((await cache.get(key))?.toString(), "original");
    });

    test("a value expires after its ttl", async () => {
      const key = fresh("ttl");
      await cache.set(key, "short-lived", 0.3);
      assert.equal((await cache.get(key))?.toString(), "short-lived");
      await sleep(450);
      assert.equal(await cache.get(key), null);
    });

    test("a ttl that is not positive is refused", async () => {
      for (const ttl of [0, -1, Number.NaN]) {
        await assert.rejects(cache.set(fresh("bad-ttl"), "x", ttl), RangeError, String(ttl));
      }
    });

    test("del removes several keys at once; missing keys and no keys are fine", async () => {
      const [a, b, c] = [fresh("del-a"), fresh("del-b"), fresh("del-c")];
      await cache.set(a, "1", 60);
      await cache.set(b, "2", 60);
      await cache.set(c, "3", 60);
      await cache.del(a, b, fresh("del-never"));
      assert.equal(await cache.get(a), null);
      assert.equal(await cache.get(b), null);
      assert.equal((await cache.get(c))?.toString(), "3");
      await cache.del();
    });

    test("incr counts from 1 and get reads the counter", async () => {
      const key = fresh("incr");
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(await cache.incr(key, 60));
      assert.deepEqual(seen, [1, 2, 3, 4, 5]);
      assert.equal((await cache.get(key))?.toString(), "5");
    });

    test("incr's window starts at the first increment and is not extended by later ones", async () => {
      const key = fresh("window");
      assert.equal(await cache.incr(key, 0.5), 1);
      await sleep(300);
      assert.equal(await cache.incr(key, 0.5), 2);
      await sleep(350); // 650 ms after the first increment: the window has closed
      assert.equal(await cache.incr(key, 0.5), 1);
    });

    test("concurrent increments are all counted", async () => {
      const key = fresh("concurrent");
      const results = await Promise.all(Array.from({ length: 50 }, () => cache.incr(key, 60)));
      assert.deepEqual([...results].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
    });

    test("tryLock is exclusive until released", async () => {
      const key = fresh("lock");
      const release = await cache.tryLock(key, 10_000);
      assert.ok(release, "the first caller gets the lock");
      assert.equal(await cache.tryLock(key, 10_000), null, "a second caller does not");
      await release();
      const again = await cache.tryLock(key, 10_000);
      assert.ok(again, "free again after release");
      await again();
    });

    test("of many concurrent tryLock calls exactly one wins", async () => {
      const key = fresh("race");
      const results = await Promise.all(Array.from({ length: 20 }, () => cache.tryLock(key, 10_000)));
      const winners = results.filter((r) => r !== null);
      assert.equal(winners.length, 1);
      await winners[0]!();
    });

    test("a lock expires after its ttl, and a stale release does not free the new holder's lock", async () => {
      const key = fresh("expiry");
      const first = await cache.tryLock(key, 200);
      assert.ok(first);
      await sleep(300);
      const second = await cache.tryLock(key, 10_000);
      assert.ok(second, "taken again after expiry");
      await first(); // the first holder wakes up late and releases
      assert.equal(await cache.tryLock(key, 10_000), null, "the second holder still has it");
      await second();
    });

    test("publish reaches every subscriber of the channel, and only of that channel", async () => {
      const channel = fresh("chan");
      const a = await nextMessage(cache, channel);
      const b = await nextMessage(cache, channel);
      let other = 0;
      const offOther = await cache.subscribe(fresh("other-chan"), () => other++);
      await cache.publish(channel, "token-revoked:abc");
      assert.equal(await a.message, "token-revoked:abc");
      assert.equal(await b.message, "token-revoked:abc");
      assert.equal(other, 0);
      await Promise.all([a.unsubscribe(), b.unsubscribe(), offOther()]);
    });

    test("after unsubscribe a handler hears nothing more, while other subscribers still do", async () => {
      const channel = fresh("unsub");
      const heard: string[] = [];
      const off = await cache.subscribe(channel, (m) => heard.push(m));
      await cache.publish(channel, "1");
      const deadline = Date.now() + 2000;
      while (heard.length === 0 && Date.now() < deadline) await sleep(10);
      assert.deepEqual(heard, ["1"]);
      await off();
      // The other subscriber is the barrier: once it has "2", the first would have had it too.
      const witness = await nextMessage(cache, channel);
      await cache.publish(channel, "2");
      assert.equal(await witness.message, "2");
      await sleep(50);
      assert.deepEqual(heard, ["1"]);
      await witness.unsubscribe();
      await off(); // a second unsubscribe is harmless
    });

    test("a subscriber that throws does not stop the others", async () => {
      const channel = fresh("throws");
      const offBad = await cache.subscribe(channel, () => {
        throw new Error("subscriber bug");
      });
      const good = await nextMessage(cache, channel);
      await cache.publish(channel, "still delivered");
      assert.equal(await good.message, "still delivered");
      await offBad();
      await good.unsubscribe();
    });
  });
}
