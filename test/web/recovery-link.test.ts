// The reset link as a specification: a code opens within its 24 hours and not after, only
// under the key it was made with, never altered; it stays good while the account is as it
// was, and dies when the password hash or the address of record changes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Account } from "../../src/access/model.js";
import { deriveKeys } from "../../src/web/keys.js";
import { fingerprintMatches, mailRecovery, openResetCode, resetKeys, RESET_LINK_SECONDS, sealResetCode } from "../../src/web/recovery.js";
import { DEFAULT_WEB_CONFIG } from "../../src/web/web.js";

const keys = resetKeys(deriveKeys(new Uint8Array(32).fill(7)));
const otherKeys = resetKeys(deriveKeys(new Uint8Array(32).fill(8)));
const T0 = Date.parse("2026-11-30T12:00:00Z");
const ada: Account = { name: "ada", kind: "user", createdAt: "2026-01-01T00:00:00.000Z", email: "ada@example.com", passwordHash: "scrypt$32768$8$1$c2FsdA==$aGFzaA==", defaultPrivacy: "public", packages: {}, revision: 3 };

describe("reset codes", () => {
  test("open within their time, under their key, unaltered", async () => {
    const code = await sealResetCode(keys, ada, T0);
    const cases: [string, string, typeof keys, number, string][] = [
      ["at once", code, keys, T0, "ok"],
      ["a second before its end", code, keys, T0 + RESET_LINK_SECONDS * 1000 - 1000, "ok"],
      ["at its end", code, keys, T0 + RESET_LINK_SECONDS * 1000, "expired"],
      ["another server's key", code, otherKeys, T0, "invalid"],
      ["cut short", code.slice(0, -2), keys, T0, "invalid"],
      ["a JWT without a signature", `${code.split(".").slice(0, 2).join(".")}.`, keys, T0, "invalid"],
      ["nothing", "", keys, T0, "invalid"],
      ["far too long", "a".repeat(2000), keys, T0, "invalid"],
    ];
    for (const [what, c, k, now, want] of cases) {
      const opened = await openResetCode(k, c, now);
      assert.equal(opened.ok ? "ok" : opened.why, want, what);
      if (opened.ok) assert.equal(opened.user, "ada");
    }
  });

  test("are bound to the account as it was: one password change or address change later, dead", async () => {
    const opened = await openResetCode(keys, await sealResetCode(keys, ada, T0), T0);
    assert.ok(opened.ok);
    const accounts: [string, Account, boolean][] = [
      ["unchanged (another revision: a privacy change)", { ...ada, revision: 9, defaultPrivacy: "private" }, true],
      ["a new password (a new salt, so a new hash, even for the same password)", { ...ada, passwordHash: "scrypt$32768$8$1$b3RoZXI=$aGFzaA==" }, false],
      ["a new address", { ...ada, email: "ada@new.example" }, false],
      ["another account of the same name", { ...ada, createdAt: "2026-06-01T00:00:00.000Z" }, false],
    ];
    for (const [what, account, live] of accounts) assert.equal(fingerprintMatches(keys, account, opened.fingerprint), live, what);
  });
});

test("what this server can mail: usernames with SMTP_URL, reset links with PUBLIC_URL too", () => {
  const table: [string | null, string | null, { username: boolean; password: boolean }][] = [
    [null, null, { username: false, password: false }],
    [null, "https://pk.example.com", { username: false, password: false }],
    ["smtp://mail:25", null, { username: true, password: false }],
    ["smtp://mail:25", "https://pk.example.com", { username: true, password: true }],
  ];
  for (const [smtpUrl, publicUrl, want] of table) assert.deepEqual(mailRecovery({ ...DEFAULT_WEB_CONFIG, smtpUrl, publicUrl }), want, `${smtpUrl} ${publicUrl}`);
});
