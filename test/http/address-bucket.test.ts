// The key every per-address limit counts a client under (src/http/address-bucket.ts): a table
// of named cases, then properties over generated addresses written every way IPv6 allows.
// An IPv6 client is its /64, whatever notation; IPv4 is its address, mapped or not.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isIP } from "node:net";
import fc from "fast-check";
import { addressBucket } from "../../src/http/address-bucket.js";

const RUNS = 2000;

describe("addressBucket: cases", () => {
  const cases: [string, string][] = [
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:cb00:7107", "203.0.113.7"],
    ["0:0:0:0:0:ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    // an IPv4 client's address carried in IPv6: that IPv4 client, never one bucket for all
    ["64:ff9b::203.0.113.7", "203.0.113.7"],
    ["64:ff9b::198.51.100.9", "198.51.100.9"],
    ["::203.0.113.7", "203.0.113.7"],
    ["::ffff:0:203.0.113.7", "203.0.113.7"],
    ["2002:cb00:7107::1", "203.0.113.7"],
    ["2002:cb00:7107:ffff:1:2:3:4", "203.0.113.7"],
    ["2001:0:4136:e378:8000:63bf:34ff:8ef8", "203.0.113.7"],
    ["2001:0:4136:e378:8000:63bf:39cc:9bf6", "198.51.100.9"],
    // not an address: itself (the CLI's "local", a request without a peer)
    ["unknown", "unknown"],
    ["local", "local"],
    ["2001:db8::1/64", "2001:db8::1/64"],
    ["", ""],
  ];
  for (const [address, bucket] of cases) test(`${JSON.stringify(address)} → ${bucket}`, () => assert.equal(addressBucket(address), bucket));
});

// ---- generators ------------------------------------------------------------------------------

const group = fc.integer({ min: 0, max: 0xffff });
const groups8 = fc.array(group, { minLength: 8, maxLength: 8 });

/** One IPv6 address written one of the ways it may be: full, leading zeros, upper case,
 * the longest run of zero groups (or another) collapsed to ::, a dotted IPv4 tail. */
const writings = fc.record({ pad: fc.boolean(), upper: fc.boolean(), collapse: fc.nat(), dotted: fc.boolean() });
function write(g: number[], how: { pad: boolean; upper: boolean; collapse: number; dotted: boolean }): string {
  let parts = g.map((n) => (how.pad ? n.toString(16).padStart(4, "0") : n.toString(16)));
  if (how.dotted) parts = [...parts.slice(0, 6), `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`];
  // runs of zero groups that may become "::" (never inside the dotted tail)
  const runs: [number, number][] = [];
  const limit = parts.length;
  for (let i = 0; i < limit; ) {
    if (g[i] === 0 && !(how.dotted && i >= 6)) {
      let j = i;
      while (j < limit && g[j] === 0 && !(how.dotted && j >= 6)) j++;
      runs.push([i, j]);
      i = j;
    } else i++;
  }
  let text: string;
  if (runs.length > 0 && how.collapse % (runs.length + 1) !== runs.length) {
    const [a, b] = runs[how.collapse % (runs.length + 1)]!;
    text = `${parts.slice(0, a).join(":")}::${parts.slice(b).join(":")}`;
  } else text = parts.join(":");
  return how.upper ? text.toUpperCase() : text;
}
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
/** An IPv6 address that stands for an IPv4 client (mapped, translated, compatible, NAT64,
 * 6to4, Teredo): counted as that client, not by its /64. */
const carriesIPv4 = (g: number[]) =>
  (g.slice(0, 4).every((n) => n === 0) && ((g[4] === 0 && g[5] === 0xffff) || (g[4] === 0xffff && g[5] === 0) || (g[4] === 0 && g[5] === 0 && g[6]! >= 0x100))) ||
  (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((n) => n === 0)) ||
  g[0] === 0x2002 ||
  (g[0] === 0x2001 && g[1] === 0);

describe("addressBucket: properties", () => {
  test("the generator writes valid IPv6 addresses", () => {
    fc.assert(fc.property(groups8, writings, (g, how) => isIP(write(g, how)) === 6), { numRuns: RUNS });
  });

  test("two IPv6 addresses share a bucket exactly when their first 64 bits are equal, however written", () => {
    const pair = fc.tuple(groups8, groups8, fc.boolean()).map(([a, b, samePrefix]) => [a, samePrefix ? [...a.slice(0, 4), ...b.slice(4)] : b] as const);
    fc.assert(
      fc.property(pair, writings, writings, ([a, b], howA, howB) => {
        if (carriesIPv4(a) || carriesIPv4(b)) return;
        const same = a.slice(0, 4).every((n, i) => n === b[i]);
        assert.equal(addressBucket(write(a, howA)) === addressBucket(write(b, howB)), same, `${write(a, howA)} / ${write(b, howB)}`);
      }),
      { numRuns: RUNS },
    );
  });

  test("an IPv6 bucket is its /64 in shortest groups; the rest of the address never shows", () => {
    fc.assert(
      fc.property(groups8, writings, (g, how) => {
        if (carriesIPv4(g)) return;
        assert.equal(addressBucket(write(g, how)), `${g.slice(0, 4).map((n) => n.toString(16)).join(":")}::/64`);
      }),
      { numRuns: RUNS },
    );
  });

  test("IPv4: its own bucket, the same mapped into IPv6 however written; never an IPv6 bucket", () => {
    fc.assert(
      fc.property(ipv4, writings, (v4, how) => {
        const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
        const mapped = write([0, 0, 0, 0, 0, 0xffff, (a << 8) | b, (c << 8) | d], how);
        assert.equal(addressBucket(v4), v4);
        assert.equal(addressBucket(mapped), v4, mapped);
        assert.ok(!addressBucket(v4).includes(":"));
      }),
      { numRuns: RUNS },
    );
  });

  test("an IPv4 client behind NAT64, 6to4 or Teredo is that IPv4 client, whatever else the address holds", () => {
    fc.assert(
      fc.property(ipv4, groups8, writings, (v4, rest, how) => {
        const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
        const hi = (a << 8) | b;
        const lo = (c << 8) | d;
        for (const g of [
          [0x64, 0xff9b, 0, 0, 0, 0, hi, lo],
          [0x2002, hi, lo, ...rest.slice(3)],
          [0x2001, 0, ...rest.slice(2, 6), hi ^ 0xffff, lo ^ 0xffff],
        ]) assert.equal(addressBucket(write(g, how)), v4, write(g, how));
      }),
      { numRuns: RUNS },
    );
  });

  test("idempotent, and whatever is not an address passes through", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), ipv4, fc.tuple(groups8, writings).map(([g, how]) => write(g, how))), (s) => {
        const once = addressBucket(s);
        assert.equal(addressBucket(once), once);
        if (isIP(s.split("%")[0]!) === 0) assert.equal(once, s);
      }),
      { numRuns: RUNS },
    );
  });
});
