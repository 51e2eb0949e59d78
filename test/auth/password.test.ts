// Password hashing (scrypt) and the password rule.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, verifyPassword, validatePassword } from "../../src/auth/password.js";
import { GateError } from "../../src/errors.js";

describe("hashPassword / verifyPassword", () => {
  test("encodes scrypt$N$r$p$salt$hash with N=2^15, r=8, p=1, a 16-byte salt", async () => {
    const encoded = await hashPassword("correct horse");
    const m = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/.exec(encoded);
    assert.ok(m, encoded);
    assert.equal(Buffer.from(m[1]!, "base64").length, 16);
    assert.equal(Buffer.from(m[2]!, "base64").length, 32);
    assert.ok(!encoded.includes("correct horse"));
  });

  test("the same password gets a new salt each time", async () => {
    const [a, b] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    assert.notEqual(a, b);
  });

  test("verifies the right password and only it", async () => {
    const encoded = await hashPassword("pässwört 1");
    const table: [string, boolean][] = [
      ["pässwört 1", true],
      ["pa\u0308sswo\u0308rt 1", true], // the same text in decomposed form (NFC-normalized)
      ["pässwört 2", false],
      ["Pässwört 1", false],
      ["", false],
      ["pässwört 1 ", false],
    ];
    for (const [pw, expected] of table) assert.equal(await verifyPassword(pw, encoded), expected, JSON.stringify(pw));
  });

  test("a malformed or hostile stored value never matches and never throws", async () => {
    const good = await hashPassword("password1");
    const [, N, r, p, salt, hash] = good.split("$") as [string, string, string, string, string, string];
    const table: [string, string][] = [
      ["empty", ""],
      ["other scheme", `bcrypt$${N}$${r}$${p}$${salt}$${hash}`],
      ["missing part", `scrypt$${N}$${r}$${p}$${salt}`],
      ["extra part", `${good}$x`],
      ["N not a power of two", `scrypt$30000$${r}$${p}$${salt}$${hash}`],
      ["N huge (memory bomb)", `scrypt$16777216$${r}$${p}$${salt}$${hash}`],
      ["r huge", `scrypt$${N}$1000$${p}$${salt}$${hash}`],
      ["p zero", `scrypt$${N}$${r}$0$${salt}$${hash}`],
      ["N not a number", `scrypt$abc$${r}$${p}$${salt}$${hash}`],
      ["salt not base64", `scrypt$${N}$${r}$${p}$!!!$${hash}`],
      ["hash too short", `scrypt$${N}$${r}$${p}$${salt}$AAAA`],
    ];
    for (const [name, encoded] of table) assert.equal(await verifyPassword("password1", encoded), false, name);
    assert.equal(await verifyPassword("password1", good), true);
  });

  test("reads the cost from the stored value, so a cheaper or dearer old hash still verifies", async () => {
    const { scryptSync } = await import("node:crypto");
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync("legacy", salt, 32, { N: 1024, r: 8, p: 1 });
    const encoded = `scrypt$1024$8$1$${salt.toString("base64")}$${key.toString("base64")}`;
    assert.equal(await verifyPassword("legacy", encoded), true);
    assert.equal(await verifyPassword("legacx", encoded), false);
  });
});

describe("validatePassword", () => {
  const table: [string, string, RegExp | null][] = [
    ["seven characters", "abcdefg", null],
    ["long", "a long passphrase with spaces", null],
    ["six characters", "abcdef", /at least 7/],
    ["empty", "", /at least 7/],
    ["seven code points, more UTF-16 units", "😀😀😀😀😀😀😀", null],
    ["four emoji (8 UTF-16 units, 4 characters)", "😀😀😀😀", /at least 7/],
    ["too long", "a".repeat(1025), /at most 1024/],
  ];
  for (const [name, pw, error] of table) {
    test(`${name} → ${error ? "refused" : "accepted"}`, () => {
      if (!error) return assert.doesNotThrow(() => validatePassword(pw));
      assert.throws(
        () => validatePassword(pw),
        (err: unknown) => err instanceof GateError && err.status === 400 && error.test(err.message) && (pw === "" || !err.message.includes(pw)),
      );
    });
  }
});
