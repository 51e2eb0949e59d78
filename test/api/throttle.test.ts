// The password throttle: per account and per address, Retry-After counted from the oldest
// attempt still held, right passwords given back, and — against the in-process cache and a
// real redis-server — a burst of any size checking at most the limit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SIGNUP_LIMIT, PasswordThrottle, SignupThrottle, type PasswordAttempt } from "../../src/api/throttle.js";
import { AuthFailures } from "../../src/http/auth-failures.js";
import { loadConfig } from "../../src/config.js";
import type { Cache } from "../../src/cache/cache.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { RedisCache } from "../../src/cache/redis.js";
import { GateError } from "../../src/errors.js";
import { startRedis, type RedisService } from "../harness/services.js";

/** "ok" when admitted (a wrong password: nothing given back), else "<status> <retry-after>". */
async function wrong(t: PasswordThrottle, account: string, address: string): Promise<string> {
  try {
    await t.attempt(account, address);
    return "ok";
  } catch (err) {
    assert.ok(err instanceof GateError);
    return `${err.status} ${err.headers["retry-after"]}`;
  }
}

function clocked(limits = { perAccount: 3, perAddress: 5, windowSeconds: 60 }) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  return { clock, t: new PasswordThrottle(new MemoryCache({ now }), limits, now) };
}

describe("PasswordThrottle", () => {
  test("limits per account and per address, with Retry-After from the oldest attempt", async () => {
    const { clock, t } = clocked();
    for (let i = 0; i < 3; i++) assert.equal(await wrong(t, "Alice", "10.0.0.1"), "ok");
    clock.now += 10_000;
    const steps: [string, string, string][] = [
      ["alice", "10.0.0.9", "429 50"], // the account, from anywhere, case-insensitively
      ["bob", "10.0.0.1", "ok"], // the address had 3 of 5
      ["carol", "10.0.0.1", "ok"], // 5 of 5
      ["dave", "10.0.0.1", "429 50"],
      ["dave", "10.0.0.2", "ok"],
    ];
    for (const [acct, addr, want] of steps) assert.equal(await wrong(t, acct, addr), want, `${acct} ${addr}`);
  });

  test("the window closes for each attempt on its own", async () => {
    const { clock, t } = clocked();
    assert.equal(await wrong(t, "alice", "10.0.0.1"), "ok");
    clock.now += 30_000;
    assert.equal(await wrong(t, "alice", "10.0.0.2"), "ok");
    assert.equal(await wrong(t, "alice", "10.0.0.3"), "ok");
    assert.equal(await wrong(t, "alice", "10.0.0.4"), "429 30");
    clock.now += 30_001; // the first attempt's window is over, the others' are not
    assert.equal(await wrong(t, "alice", "10.0.0.4"), "ok");
    assert.equal(await wrong(t, "alice", "10.0.0.5"), "429 30");
  });

  test("a right password gives its attempt back", async () => {
    const { t } = clocked();
    for (let i = 0; i < 20; i++) await (await t.attempt("alice", `10.0.0.${i % 2}`)).succeeded();
    for (let i = 0; i < 3; i++) assert.equal(await wrong(t, "alice", "10.0.0.1"), "ok");
    assert.match(await wrong(t, "alice", "10.0.0.1"), /^429 /);
  });

  test("an attempt refused by one limit takes nothing from the other", async () => {
    const { t } = clocked();
    for (let i = 0; i < 5; i++) assert.equal(await wrong(t, `ghost-${i}`, "10.0.0.1"), "ok");
    for (let i = 0; i < 10; i++) assert.match(await wrong(t, "erin", "10.0.0.1"), /^429 /);
    for (let i = 0; i < 3; i++) assert.equal(await wrong(t, "erin", "10.0.0.2"), "ok", "erin's account slots are untouched");
  });
});

/** 100 logins at once, the right password among them: how many passwords got checked. */
async function burst(cache: Cache, account: string): Promise<{ checked: number; statuses: Map<number, number> }> {
  const t = new PasswordThrottle(cache, { perAccount: 5, perAddress: 1000, windowSeconds: 60 });
  let checked = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      let status: number;
      try {
        const attempt: PasswordAttempt = await t.attempt(account, `10.9.0.${i % 4}`);
        checked++;
        await new Promise((r) => setTimeout(r, 5)); // the scrypt check takes its time
        if (i === 57) {
          await attempt.succeeded();
          status = 201;
        } else status = 401;
      } catch (err) {
        assert.ok(err instanceof GateError, String(err));
        status = err.status;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
  );
  return { checked, statuses };
}

describe("SignupThrottle", () => {
  const admit = async (t: SignupThrottle, client: string): Promise<string> => {
    try {
      await t.admit(client);
      return "ok";
    } catch (err) {
      assert.ok(err instanceof GateError);
      return `${err.status} ${err.headers["retry-after"]} ${err.message}`;
    }
  };

  test("SIGNUP_LIMIT per address and hour: 429 with Retry-After at the window's end; the next window starts afresh", async () => {
    const clock = { now: 3600_000 * 10 + 600_000 }; // ten minutes into a window
    const now = () => clock.now;
    const cache = new MemoryCache({ now });
    const t = new SignupThrottle(cache, 2, { now });
    assert.deepEqual([await admit(t, "a"), await admit(t, "a"), await admit(t, "b")], ["ok", "ok", "ok"]);
    assert.equal(await admit(t, "a"), "429 3000 too many sign-ups from this address; retry in 3000 s");
    // the budget of unknown tokens has counters of its own in the same cache
    await new AuthFailures(1, { cache, now }).charge("a");
    clock.now += 3000_000;
    assert.equal(await admit(t, "a"), "ok");
  });

  test("SIGNUP_LIMIT: 10 unless set; a whole number of at least 1", () => {
    assert.equal(DEFAULT_SIGNUP_LIMIT, 10);
    assert.equal(loadConfig({}).web.signupLimit, 10);
    assert.equal(loadConfig({ SIGNUP_LIMIT: "50" }).web.signupLimit, 50);
    assert.throws(() => loadConfig({ SIGNUP_LIMIT: "0" }), /SIGNUP_LIMIT must be between 1 and 1000000/);
    assert.throws(() => loadConfig({ SIGNUP_LIMIT: "ten" }), /SIGNUP_LIMIT must be a whole number/);
  });
});

describe("a burst of 100 parallel logins checks at most perAccount passwords", () => {
  let redis: RedisService;
  let shared: RedisCache;
  before(async () => {
    redis = await startRedis();
    shared = new RedisCache(redis.url);
  });
  after(async () => {
    await shared.close();
    await redis.stop();
  });

  test("in-process cache", async () => {
    const { checked, statuses } = await burst(new MemoryCache(), "alice");
    assert.ok(checked >= 1 && checked <= 5, `${checked} passwords checked`);
    assert.equal(statuses.get(429), 100 - checked);
  });

  test("redis, one client per replica (three replicas)", async () => {
    const replicas = [shared, new RedisCache(redis.url), new RedisCache(redis.url)];
    try {
      let checked = 0;
      const results = await Promise.all(replicas.map((c) => burst(c, "bob")));
      for (const r of results) checked += r.checked;
      assert.ok(checked >= 1 && checked <= 5, `${checked} passwords checked`);
    } finally {
      await Promise.all(replicas.slice(1).map((c) => c.close()));
    }
  });
});
