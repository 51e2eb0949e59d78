// The password throttle over the in-process cache with a clock we move: per account and
// per address, Retry-After counted from the first wrong password, and the window closing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PasswordThrottle } from "../../src/api/throttle.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { GateError } from "../../src/errors.js";

async function status(p: Promise<void>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    assert.ok(err instanceof GateError);
    return `${err.status} ${err.headers["retry-after"]}`;
  }
}

test("limits per account and per address, with Retry-After", async () => {
  let now = 1_000_000;
  const t = new PasswordThrottle(new MemoryCache(), { perAccount: 3, perAddress: 5, windowSeconds: 60 }, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(await status(t.check("Alice", "10.0.0.1")), "ok");
    await t.fail("Alice", "10.0.0.1");
  }
  now += 10_000;
  const steps: [string, string, string][] = [
    ["alice", "10.0.0.9", "429 50"], // the account, from anywhere, case-insensitively
    ["bob", "10.0.0.1", "ok"], // the address has 3 of 5
  ];
  for (const [acct, addr, want] of steps) assert.equal(await status(t.check(acct, addr)), want, `${acct} ${addr}`);
  await t.fail("bob", "10.0.0.1");
  await t.fail("carol", "10.0.0.1");
  assert.equal(await status(t.check("dave", "10.0.0.1")), "429 50");
  assert.equal(await status(t.check("dave", "10.0.0.2")), "ok");
});
