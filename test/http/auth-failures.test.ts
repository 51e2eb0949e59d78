// The budget of store reads of unknown tokens (http/auth-failures.ts) and what a token
// lookup charges to it (Catalog.findToken with a budget, over the tiers of cache/tiered.ts):
//   - an address may charge AUTH_FAILURE_LIMIT reads a window; a read that found a live token
//     is given back; past the limit: 429 with Retry-After up to the window's end, no token;
//   - the count is shared through the Cache (two gateways, one budget), and kept in process
//     when the cache fails;
//   - only a store read of a hash that no tier holds and that is not known is charged: a
//     cache hit, or the read of a known token (live or revoked), never asks the budget, so a
//     spent budget never refuses them; a read refused to one caller is not refused to another
//     that asked for the same hash at the same time.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AuthFailures } from "../../src/http/auth-failures.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { CacheUnavailable, type Cache } from "../../src/cache/cache.js";
import { Catalog, type TokenLookupBudget } from "../../src/access/catalog.js";
import { FsStore } from "../../src/store/fs.js";
import { GateError } from "../../src/errors.js";
import { generateToken, hashToken } from "../../src/auth/token.js";
import { tempDir, type TempDir } from "../harness/services.js";

const WINDOW = 60;
/** 10 s into a window. */
const T0 = 1_000_000 * WINDOW * 1000 + 10_000;

/** A Cache whose every call fails, as a Redis that is down. */
const downCache = new Proxy({ kind: "redis" } as Cache, {
  get: (target, prop) => (prop === "kind" ? target.kind : () => Promise.reject(new CacheUnavailable("redis is down"))),
});

/** A Cache that counts its calls. */
function counted(inner: Cache): { cache: Cache; calls: () => number } {
  let n = 0;
  const cache = new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { cache, calls: () => n };
}

/** Charge `n` times; the outcome of each: "ok" or the refusal's Retry-After. */
async function charges(f: AuthFailures, client: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await f.charge(client);
      out.push("ok");
    } catch (err) {
      assert.ok(err instanceof GateError && err.status === 429, String(err));
      assert.match(err.message, /^too many requests with unknown tokens from this address; retry in \d+ s$/);
      out.push(err.headers["retry-after"]!);
    }
  }
  return out;
}

describe("the budget of store reads of unknown tokens", () => {
  const clock = { now: T0 };
  const now = () => clock.now;

  for (const [name, make] of [
    ["shared cache", () => new MemoryCache({ now })],
    ["cache down: counted in process", () => downCache],
  ] as const) {
    test(`${name}: 3 reads a window, then 429 until the window ends; other addresses and the next window start afresh`, async () => {
      clock.now = T0;
      const f = new AuthFailures(3, { cache: make(), windowSeconds: WINDOW, now });
      assert.deepEqual(await charges(f, "10.0.0.1", 5), ["ok", "ok", "ok", "50", "50"]);
      assert.deepEqual(await charges(f, "10.0.0.2", 1), ["ok"]);
      clock.now = T0 + 49_500;
      assert.deepEqual(await charges(f, "10.0.0.1", 1), ["1"]);
      clock.now = T0 + 50_000;
      assert.deepEqual(await charges(f, "10.0.0.1", 4), ["ok", "ok", "ok", "60"]);
    });

    test(`${name}: a read that found a live token is given back`, async () => {
      clock.now = T0;
      const f = new AuthFailures(3, { cache: make(), windowSeconds: WINDOW, now });
      for (let i = 0; i < 5; i++) (await f.charge("10.0.0.1")).refund();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(await charges(f, "10.0.0.1", 4), ["ok", "ok", "ok", "50"]);
    });
  }

  test("two gateways on one cache share an address's budget", async () => {
    clock.now = T0;
    const cache = new MemoryCache({ now });
    const [a, b] = [new AuthFailures(4, { cache, windowSeconds: WINDOW, now }), new AuthFailures(4, { cache, windowSeconds: WINDOW, now })];
    assert.deepEqual([...(await charges(a, "10.0.0.1", 2)), ...(await charges(b, "10.0.0.1", 2)), ...(await charges(a, "10.0.0.1", 1)), ...(await charges(b, "10.0.0.1", 1))], ["ok", "ok", "ok", "ok", "50", "50"]);
  });

  test("a spent address is refused without asking the cache again for the rest of the window", async () => {
    clock.now = T0;
    const { cache, calls } = counted(new MemoryCache({ now }));
    const f = new AuthFailures(2, { cache, windowSeconds: WINDOW, now });
    await charges(f, "10.0.0.1", 3);
    const before = calls();
    assert.deepEqual(await charges(f, "10.0.0.1", 100), Array(100).fill("50"));
    assert.equal(calls(), before);
  });

  test("limits below 1 are refused", () => {
    for (const n of [0, -1, 1.5]) assert.throws(() => new AuthFailures(n), RangeError);
  });
});

describe("what a token lookup charges to the budget", () => {
  let dir: TempDir;
  let store: FsStore;
  let live = "";
  let revoked = "";

  /** A budget that records its charges, refunds and refusals; `spent` refuses every charge. */
  function budget(spent = false) {
    const seen = { charged: 0, refunded: 0, refused: 0 };
    const b: TokenLookupBudget = {
      async charge() {
        if (spent) {
          seen.refused++;
          throw new GateError("rate_limited", "spent");
        }
        seen.charged++;
        return { refund: () => void seen.refunded++ };
      },
    };
    return { b, seen };
  }

  /** A gateway's catalog that just started: its own (empty) cache over the store. */
  const fresh = (cache: Cache = new MemoryCache()) => new Catalog(store, cache, { localTtlSeconds: 5 });

  before(async () => {
    dir = await tempDir("pkgate-budget-");
    store = new FsStore(join(dir.path, "data"));
    const writer = fresh();
    await writer.createAccount({ name: "acme", kind: "org" });
    live = (await writer.createToken({ account: "acme", name: "ci", scopes: ["conda"] })).token;
    revoked = (await writer.createToken({ account: "acme", name: "old", scopes: ["conda"] })).token;
    await writer.revokeToken("acme", "old");
    await writer.close();
  });
  after(async () => {
    await store.close();
    await dir.remove();
  });

  test("an unknown hash is charged once, then answered from the cache for free", async () => {
    const c = fresh();
    const { b, seen } = budget();
    const hash = hashToken(generateToken());
    assert.equal(await c.findToken(hash, b), null);
    assert.equal(await c.findToken(hash, b), null);
    assert.deepEqual(seen, { charged: 1, refunded: 0, refused: 0 });
  });

  test("a live token nobody knew is charged and given back, then known: a spent budget does not refuse it", async () => {
    const cache = new MemoryCache();
    const { b, seen } = budget();
    assert.equal((await fresh(cache).findToken(hashToken(live), b))?.name, "ci");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, { charged: 1, refunded: 1, refused: 0 });
    // another catalog on the same cache (its in-process tier empty, as after a generation move)
    const spent = budget(true);
    assert.equal((await fresh(cache).findToken(hashToken(live), spent.b))?.name, "ci");
    assert.deepEqual(spent.seen, { charged: 0, refunded: 0, refused: 0 });
  });

  test("a revoked token is charged at its first read, not given back, then known: never refused", async () => {
    const cache = new MemoryCache();
    const { b, seen } = budget();
    assert.ok((await fresh(cache).findToken(hashToken(revoked), b))?.revokedAt);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, { charged: 1, refunded: 0, refused: 0 });
    assert.ok((await fresh(cache).findToken(hashToken(revoked), budget(true).b))?.revokedAt);
  });

  test("a spent budget refuses the store read of an unknown hash", async () => {
    const { b, seen } = budget(true);
    await assert.rejects(fresh().findToken(hashToken(generateToken()), b), /spent/);
    assert.equal(seen.refused, 1);
  });

  test("a token created here is known at once, however spent the budget", async () => {
    const cache = new MemoryCache();
    const c = fresh(cache);
    const { token } = await c.createToken({ account: "acme", name: "ci-new", scopes: ["conda"] });
    assert.equal((await fresh(cache).findToken(hashToken(token), budget(true).b))?.name, "ci-new");
    await c.close();
  });

  test("a read refused to the caller that started it is not refused to another asking for the same hash meanwhile", async () => {
    const c = fresh();
    const hash = hashToken(live);
    const spent = budget(true);
    const ok = budget();
    const [first, second] = await Promise.allSettled([c.findToken(hash, spent.b), c.findToken(hash, ok.b)]);
    assert.equal(first.status, "rejected");
    assert.equal(second.status === "fulfilled" && second.value?.name, "ci");
    assert.equal(ok.seen.charged, 1);
  });

  test("without a budget nothing is counted (the CLI, tools)", async () => {
    assert.equal(await fresh().findToken(hashToken(generateToken())), null);
  });
});
