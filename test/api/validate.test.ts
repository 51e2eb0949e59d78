// Request validation as a table: each bad input gets a 400 naming the field; good input
// comes out typed and normalized. Passwords never appear in a message.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "../../src/api/validate.js";
import { GateError } from "../../src/errors.js";
import { LIFETIME_CEILING, TOKEN_NAME } from "../../src/access/names.js";

function refused(fn: () => unknown, message: RegExp, secret?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GateError);
    assert.equal(err.status, 400);
    assert.match(err.message, message);
    if (secret) assert.ok(!err.message.includes(secret), "the password is echoed");
    return true;
  });
}

describe("signup", () => {
  const ok = { username: "alice", email: "a@example.org", password: "seven77" };
  test("a valid body", () => assert.deepEqual(v.signup(ok), { ...ok, serverAdmin: false, adopt: false }));
  test("adopting a store folder is asked for explicitly", () => assert.deepEqual(v.signup({ ...ok, adopt: true }), { ...ok, serverAdmin: false, adopt: true }));
  const bad: [unknown, RegExp][] = [
    [null, /"username" is required/],
    [[], /JSON object/],
    ["alice", /JSON object/],
    [{ ...ok, password: "six666" }, /password: it must have at least 7 characters/],
    [{ ...ok, password: 1234567 }, /"password" must be a string/],
    [{ ...ok, password: "x".repeat(2000) }, /password: it must have at most/],
    [{ ...ok, username: "Alice" }, /invalid username/],
    [{ ...ok, username: "t" }, /invalid username/],
    [{ ...ok, username: "a/b" }, /invalid username/],
    // what the published pattern used to accept and the server refused
    [{ ...ok, username: "a..b" }, /invalid username/],
    [{ ...ok, username: "api" }, /invalid username/],
    [{ ...ok, username: "simple" }, /invalid username/],
    [{ ...ok, username: "a." }, /invalid username/],
    [{ ...ok, username: ".a" }, /invalid username/],
    [{ ...ok, username: "a".repeat(65) }, /invalid username/],
    [{ ...ok, adopt: "yes" }, /"adopt" must be true or false/],
    [{ ...ok, email: "no-at-sign" }, /invalid email/],
    [{ ...ok, admin: true }, /unknown field "admin"/],
    [{ ...ok, serverAdmin: "yes" }, /serverAdmin/],
  ];
  for (const [body, message] of bad) test(JSON.stringify(body).slice(0, 60), () => refused(() => v.signup(body), message, "six666"));
});

describe("organizations", () => {
  test("a name, adopt false unless asked", () => {
    assert.deepEqual(v.orgCreate({ name: "acme" }), { name: "acme", adopt: false });
    assert.deepEqual(v.orgCreate({ name: "acme", adopt: true }), { name: "acme", adopt: true });
  });
  const bad: [unknown, RegExp][] = [
    [{}, /"name" is required/],
    [{ name: "metrics" }, /invalid name/],
    [{ name: "acme.tokens." }, /invalid name/],
    [{ name: "acme", adopt: 1 }, /"adopt" must be true or false/],
    [{ name: "acme", admins: [] }, /unknown field "admins"/],
  ];
  for (const [body, message] of bad) test(JSON.stringify(body), () => refused(() => v.orgCreate(body), message));
});

describe("package names (PyPI and conda)", () => {
  const cases: [string, string][] = [
    ["Foo_Bar", "foo-bar"],
    ["numpy", "numpy"],
    // conda's own packages start with '_' (PEP 508 refuses them, conda does not)
    ["_openmp_mutex", "-openmp-mutex"],
    ["__glibc", "-glibc"],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => assert.equal(v.packageName(input), want));
  for (const bad of ["", "-bad", ".hidden", "a/b", "naïve", "x".repeat(201)]) {
    test(`${JSON.stringify(bad.slice(0, 20))} refused`, () => refused(() => v.packageName(bad), /invalid package/));
  }
});

describe("groups", () => {
  test("packages are normalized, deduplicated and sorted", () => {
    assert.deepEqual(v.groupCreate({ name: "devs", permission: "write", packages: ["Foo_Bar", "foo-bar", "baz"] }), { name: "devs", permission: "write", packages: ["baz", "foo-bar"] });
  });
  test("packages default to every package", () => assert.deepEqual(v.groupCreate({ name: "all", permission: "read" }).packages, "*"));
  const bad: [() => unknown, RegExp][] = [
    [() => v.groupCreate({ name: "devs" }), /"permission" is required/],
    [() => v.groupCreate({ name: "devs", permission: "owner" }), /invalid permission/],
    [() => v.groupCreate({ name: "Devs!", permission: "read" }), /invalid name/],
    [() => v.groupCreate({ name: "devs", permission: "read", packages: "lib" }), /invalid packages/],
    [() => v.groupCreate({ name: "devs", permission: "read", packages: ["ok", "-bad"] }), /invalid packages\[1\]/],
    [() => v.groupCreate({ name: "devs", permission: "read", packages: [3] }), /packages\[0\]: must be a string/],
    [() => v.groupPatch({}), /nothing to change/],
  ];
  for (const [fn, message] of bad) test(String(message), () => refused(fn, message));
});

describe("tokens", () => {
  const cases: [unknown, unknown][] = [
    [{ name: "ci", scopes: "conda:download pypi:download" }, { name: "ci", scopes: ["conda:download", "pypi:download"] }],
    [{ name: "ci", scopes: ["api", "conda"], maxAgeSeconds: 60 }, { name: "ci", scopes: ["conda", "api"], maxAgeSeconds: 60 }],
  ];
  for (const [body, want] of cases) test(JSON.stringify(body), () => assert.deepEqual(v.tokenCreate(body), want));
  const bad: [unknown, RegExp][] = [
    [{ scopes: "all" }, /"name" is required/],
    [{ name: "ci" }, /"scopes" is required/],
    [{ name: "ci", scopes: "conda:everything" }, /invalid scopes: unknown scope/],
    [{ name: "ci", scopes: [1] }, /invalid scopes/],
    [{ name: "-ci", scopes: "all" }, /invalid name/],
    [{ name: "ci", scopes: "all", maxAgeSeconds: 0 }, /maxAgeSeconds/],
    [{ name: "ci", scopes: "all", maxAgeSeconds: 1.5 }, /maxAgeSeconds/],
    [{ name: "ci", scopes: "all", maxAgeSeconds: "60" }, /maxAgeSeconds/],
    [{ name: "ci", scopes: "all", maxAgeSeconds: LIFETIME_CEILING + 1 }, /maxAgeSeconds/],
    [{ name: "x".repeat(65), scopes: "all" }, /invalid name/],
  ];
  for (const [body, message] of bad) test(JSON.stringify(body).slice(0, 80), () => refused(() => v.tokenCreate(body), message));
  test("any lifetime up to the ceiling passes here; TOKEN_MAX_AGE and the parent's expiry are tokenExpiry()'s", () => {
    assert.equal(v.tokenCreate({ name: "ci", scopes: "all", maxAgeSeconds: LIFETIME_CEILING }).maxAgeSeconds, LIFETIME_CEILING);
    assert.equal(v.login({ maxAgeSeconds: LIFETIME_CEILING }).maxAgeSeconds, LIFETIME_CEILING);
    refused(() => v.login({ maxAgeSeconds: LIFETIME_CEILING + 1 }), /maxAgeSeconds/);
  });
});

describe("privacy, passwords, login", () => {
  test("privacy", () => {
    assert.equal(v.privacy({ privacy: "private" }, "privacy"), "private");
    refused(() => v.privacy({ privacy: "secret" }, "privacy"), /invalid privacy/);
    refused(() => v.privacy({ defaultPrivacy: "public" }, "privacy"), /unknown field "defaultPrivacy"/);
  });
  test("password change", () => {
    assert.deepEqual(v.passwordChange({ password: "long-enough" }), { password: "long-enough" });
    refused(() => v.passwordChange({ password: "short", currentPassword: "old-one" }), /at least 7/, "short");
  });
  test("login body and token name", () => {
    assert.deepEqual(v.login({ hostname: "my laptop/../x" }), { hostname: "my-laptop-..-x" });
    assert.deepEqual(v.login(undefined), {});
    const name = v.loginTokenName("h".repeat(30), new Date("2026-01-02T03:04:05.678Z"), "abc123");
    assert.equal(name, `login-${"h".repeat(30)}-20260102T030405678Z-abc123`);
    assert.ok(name.length <= 64);
    assert.ok(TOKEN_NAME.test(name), name);
  });
  test("a login token's name follows the token name rule, whatever the hostname sent", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), fc.date({ noInvalidDate: true, min: new Date(0), max: new Date("9999-12-31") }), fc.stringMatching(/^[0-9a-f]{6}$/), (hostname, now, nonce) => {
        const name = v.loginTokenName(v.login({ hostname }).hostname, now, nonce);
        assert.ok(TOKEN_NAME.test(name), JSON.stringify(name));
      }),
      { numRuns: 2000 },
    );
  });
});
