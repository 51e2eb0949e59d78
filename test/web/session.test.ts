// The session cookie and the keys it is sealed with: what opens and what does not (another
// key, one changed character, an idle hour, anything that is not a session), when it is
// renewed, that the token inside cannot be read, and that replicas sharing a store share one
// generated key.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateToken } from "../../src/auth/token.js";
import { ANONYMOUS, type Principal } from "../../src/access/model.js";
import { authorize, scopesBeyond } from "../../src/access/authorize.js";
import { loginTokenName } from "../../src/api/validate.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { isSessionToken, openSession, sealSession, sessionTokenName, SESSION_IDLE_SECONDS, RENEW_BELOW_SECONDS } from "../../src/web/session.js";
import { deriveKeys, masterSecret, keyring, SESSION_KEY_OBJECT } from "../../src/web/keys.js";
import { sessionPrincipal } from "../../src/web/visitor.js";

const keyA = deriveKeys(new Uint8Array(32).fill(1));
const keyB = deriveKeys(new Uint8Array(32).fill(2));
const T0 = Date.parse("2026-11-02T09:00:00Z");
const minutes = (n: number) => n * 60_000;

describe("session cookie", () => {
  const token = generateToken();

  test("opens with its key, holding its token, until it has been idle an hour", async () => {
    const cookie = await sealSession(keyA.session, token, T0);
    const cases: [string, number, "open" | "renew" | "closed"][] = [
      ["just sealed", 0, "open"],
      ["14 minutes on", minutes(14), "open"],
      ["16 minutes on: renewed", minutes(16), "renew"],
      ["59 minutes on", minutes(59), "renew"],
      ["an idle hour", minutes(60) + 1000, "closed"],
    ];
    assert.equal(SESSION_IDLE_SECONDS - RENEW_BELOW_SECONDS, 15 * 60);
    for (const [what, after, want] of cases) {
      const opened = await openSession(keyA.session, cookie, T0 + after);
      const got = opened === null ? "closed" : opened.renew ? "renew" : "open";
      assert.equal(got, want, what);
      if (opened) assert.equal(opened.token, token, what);
    }
  });

  test("refused: another key, any character changed, not a session at all", async () => {
    const cookie = await sealSession(keyA.session, token, T0);
    assert.equal(await openSession(keyB.session, cookie, T0), null, "another key");
    for (let i = 0; i < cookie.length; i += 7) {
      const c = cookie[i] === "A" ? "B" : "A";
      const altered = cookie.slice(0, i) + c + cookie.slice(i + 1);
      if (altered === cookie) continue;
      assert.equal(await openSession(keyA.session, altered, T0), null, `character ${i} changed`);
    }
    for (const junk of [undefined, "", "x", "a.b.c.d.e", token, cookie + cookie, "é".repeat(2000)]) {
      assert.equal(await openSession(keyA.session, junk, T0), null, String(junk).slice(0, 20));
    }
  });

  test("the token inside cannot be read from the cookie", async () => {
    const cookie = await sealSession(keyA.session, token, T0);
    const decoded = cookie.split(".").map((part) => Buffer.from(part, "base64url").toString("latin1")).join("");
    assert.ok(!cookie.includes(token) && !decoded.includes(token) && !decoded.includes(token.slice(4, 20)));
  });

  test("a session's token is a login token named from the host 'web'; others are not sessions", () => {
    const name = sessionTokenName(new Date(T0), "a1b2c3");
    assert.equal(name, loginTokenName("web", new Date(T0), "a1b2c3"));
    assert.ok(isSessionToken(name));
    for (const other of [loginTokenName("laptop", new Date(T0), "a1b2c3"), loginTokenName(undefined, new Date(T0), "x"), "web", "ci-builds"]) assert.ok(!isSessionToken(other), other);
  });
});

describe("a session's principal", () => {
  const identified: Principal = { token: { id: "abc", name: "login-web-x", expiresAt: new Date(T0 + minutes(60)).toISOString() }, account: "alice", accountKind: "user", scopes: [] };
  const principal = sessionPrincipal(identified);

  test("acts with its account's rights: no token bound (scopes, expiry) on what it may create", () => {
    assert.equal(principal.token, null);
    assert.equal(principal.account, "alice");
    assert.deepEqual(scopesBeyond(principal, ["all"]), []);
    assert.deepEqual(scopesBeyond(identified, ["conda:download"]), ["conda:download"], "the token itself holds nothing");
  });

  test("and nothing more: another account's tokens stay out of reach", () => {
    const bob = { name: "bob", kind: "user" as const, createdAt: "", defaultPrivacy: "public" as const, packages: {}, revision: 1 };
    const d = authorize(principal, "tokens:write", { account: bob, name: "bob", kind: "channel" });
    assert.equal(d.allow, false);
    assert.ok(authorize(principal, "tokens:write", { account: { ...bob, name: "alice" }, name: "alice" }).allow);
    assert.equal(authorize(ANONYMOUS, "tokens:read", { account: bob, name: "bob" }).allow, false);
  });
});

describe("session keys", () => {
  test("two purposes, two unrelated keys; one master, the same keys", () => {
    const master = new Uint8Array(32).fill(7);
    const a = deriveKeys(master);
    const b = deriveKeys(new Uint8Array(master));
    assert.deepEqual(a, b);
    assert.notDeepEqual(Buffer.from(a.session), a.csrf);
    assert.equal(a.session.length, 32);
  });

  test("SESSION_SECRET when set; otherwise one key generated into the store that every replica reads", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pkgate-web-keys-"));
    try {
      const store = new FsStore(dir);
      const configured = await masterSecret(store, new MemoryCache(), "s".repeat(40));
      assert.equal(Buffer.from(configured).toString(), "s".repeat(40));
      assert.equal(await store.get(SESSION_KEY_OBJECT), null, "nothing is written when the secret is configured");
      // replicas with caches of their own, starting at once
      const masters = await Promise.all(Array.from({ length: 6 }, () => masterSecret(store, new MemoryCache(), null)));
      for (const m of masters) assert.deepEqual(m, masters[0]);
      assert.equal(masters[0]!.length, 32);
      const restarted = await masterSecret(new FsStore(dir), new MemoryCache(), null);
      assert.deepEqual(restarted, masters[0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the keyring loads once, and again after a failure", async () => {
    let loads = 0;
    let fail = true;
    const ring = keyring(async () => {
      loads++;
      if (fail) throw new Error("store down");
      return new Uint8Array(32);
    });
    await assert.rejects(ring(), /store down/);
    fail = false;
    await ring();
    await ring();
    assert.equal(loads, 2);
  });
});
