// The access levels as a specification: what each principal's account may do on which
// package, what an index shows it, and which principals share a filtered view. Whether a
// request is allowed (levels, scopes, and the answer when it is not) is authorize()'s, and
// is specified in authorize.test.ts over the same world (world.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bestRoleOn, permissionOn, privacyOf, visibility, type Level } from "../../src/access/policy.js";
import type { Account } from "../../src/access/model.js";
import { P, acme, alice, bunker, free, mallory, vault, type Who } from "./world.js";

// ── permissionOn ──────────────────────────────────────────────────────────────────────
describe("permissionOn: what each principal's account may do", () => {
  const table: [Who, Account, string | null, Level][] = [
    // a user channel: its owner is admin, everyone reads what is public
    ["anon", alice, "pub", "read"],
    ["anon", alice, "unlisted", "read"], // default privacy: public
    ["anon", alice, "constructor", "read"], // names of Object.prototype members are plain names
    ["anon", alice, "__proto__", "read"],
    ["anon", alice, "toString", "read"],
    ["anon", acme, "constructor", "none"],
    ["anon", alice, "secret", "none"],
    ["anon", alice, null, "read"],
    ["alice", alice, "secret", "admin"],
    ["alice", alice, "pub", "admin"],
    ["alice", alice, null, "admin"],
    ["aliceApiOnly", alice, "secret", "admin"], // scopes do not change permission
    ["bob", alice, "pub", "read"],
    ["bob", alice, "secret", "none"],
    ["acmeToken", alice, "secret", "none"],
    ["boss", alice, "secret", "none"],
    // org fields on a user document grant nothing
    ["bob", mallory, "secret", "none"],
    ["bob", mallory, null, "read"],
    // an org channel
    ["anon", acme, "open", "read"],
    ["anon", acme, "tool", "none"],
    ["anon", acme, "unlisted", "none"], // default privacy: private
    ["anon", acme, null, "read"], // "open" is public, so the index is served (filtered)
    ["bob", acme, "tool", "none"],
    ["alice", acme, "open", "read"],
    ["acmeToken", acme, "tool", "admin"], // an org's own token
    ["acmeToken", acme, null, "admin"],
    ["boss", acme, "core", "admin"], // org admin
    ["boss", acme, null, "admin"],
    ["rita", acme, "core", "read"], // group read on "*"
    ["rita", acme, "open", "read"],
    ["rita", acme, null, "read"],
    ["wade", acme, "core", "write"], // group write on "*"
    ["wade", acme, "open", "write"],
    ["wade", acme, null, "write"],
    ["dora", acme, "tool", "write"], // group write on a listed package
    ["dora", acme, "lib", "none"],
    ["dora", acme, "open", "read"],
    ["dora", acme, null, "read"], // sees some packages; no role over the whole channel
    ["dana", acme, "tool", "admin"], // the highest of her groups wins
    ["vic", acme, "tool", "read"],
    ["vic", acme, "lib", "read"],
    ["vic", acme, "core", "none"],
    ["lia", acme, "lib", "read"],
    ["lia", acme, "tool", "read"],
    ["olga", acme, "open", "read"],
    ["olga", acme, "tool", "none"],
    ["ritaAsOrg", acme, "core", "none"],
    // nothing public, no role → nothing
    ["anon", vault, null, "none"],
    ["bob", vault, null, "none"],
    ["rita", vault, "x", "none"],
    ["boss", vault, "x", "admin"],
    ["boss", vault, null, "admin"],
    // a group listing a package of a channel with nothing public: the index is served (filtered)
    ["vic", bunker, null, "read"],
    ["vic", bunker, "gold", "read"],
    ["vic", bunker, "lead", "none"],
    ["bob", bunker, null, "none"],
    // a server admin has every right on every account
    ["root", alice, "secret", "admin"],
    ["root", acme, "core", "admin"],
    ["root", vault, null, "admin"],
    ["rootCondaOnly", vault, "x", "admin"], // scopes do not change permission
    // a session (no token) has its account's rights
    ["aliceSession", alice, "secret", "admin"],
    ["aliceSession", acme, "tool", "none"],
  ];
  for (const [who, account, pkg, expected] of table) {
    test(`${who} on ${account.name}/${pkg ?? "(channel)"} → ${expected}`, () =>
      assert.equal(permissionOn(P[who], account, pkg), expected));
  }
});

describe("privacyOf: a package's own setting, else the channel's default", () => {
  const table: [Account, string, "public" | "private"][] = [
    [alice, "secret", "private"],
    [alice, "pub", "public"],
    [alice, "unlisted", "public"],
    [acme, "open", "public"],
    [acme, "Open", "public"], // one privacy per normalized name
    [acme, "unlisted", "private"],
    [acme, "constructor", "private"],
    [alice, "__proto__", "public"],
  ];
  for (const [account, pkg, expected] of table) {
    test(`${account.name}/${pkg} is ${expected}`, () => assert.equal(privacyOf(account, pkg), expected));
  }
});

describe("bestRoleOn: what an upload whose package is not known yet is judged on", () => {
  const table: [Who, Account, Level][] = [
    ["anon", acme, "none"],
    ["bob", acme, "none"],
    ["boss", acme, "admin"],
    ["acmeToken", acme, "admin"],
    ["wade", acme, "write"], // write on *
    ["dora", acme, "write"], // write on a listed package counts here
    ["dana", acme, "admin"],
    ["vic", acme, "read"],
    ["olga", acme, "read"],
    ["rita", acme, "read"],
    ["ritaAsOrg", acme, "none"],
    ["bob", mallory, "none"], // org fields on a user document grant nothing
    ["alice", alice, "admin"],
    ["root", vault, "admin"],
  ];
  for (const [who, account, expected] of table) {
    test(`${who} on ${account.name} → ${expected}`, () => assert.equal(bestRoleOn(P[who], account), expected));
  }
});

// ── visibility ───────────────────────────────────────────────────────────────────────
// visibility() takes the principal authorize() judged the request as (`as`): a token whose
// scopes do not cover a download is judged as anonymous there (see authorize.test.ts).
// Here `as` is given directly.
describe("visibility: what an index lists for the principal it is served as", () => {
  const names = ["open", "tool", "lib", "core", "unlisted"];
  const table: [Who, Account, "all" | string[]][] = [
    ["anon", free, "all"], // nothing private: the stored index as is
    ["bob", free, "all"],
    ["anon", alice, names],
    ["alice", alice, "all"],
    ["alicePypiOnly", alice, "all"], // scopes are authorize()'s business, not visibility's
    ["anon", acme, ["open"]],
    ["bob", acme, ["open"]],
    ["olga", acme, ["open"]],
    ["acmeToken", acme, "all"],
    ["boss", acme, "all"],
    ["rita", acme, "all"],
    ["wade", acme, "all"],
    ["dora", acme, ["open", "tool"]],
    ["vic", acme, ["open", "tool", "lib"]],
    ["lia", acme, ["open", "tool", "lib"]],
    ["ritaAsOrg", acme, ["open"]],
    ["anon", vault, []],
    ["boss", vault, "all"],
    ["root", acme, "all"],
    ["root", vault, "all"],
    ["bob", mallory, ["open", "tool", "lib", "core", "unlisted"]], // org fields grant nothing
    ["aliceSession", alice, "all"],
  ];
  for (const [who, account, expected] of table) {
    test(`${who} on ${account.name} sees ${expected === "all" ? "everything" : expected.join(", ") || "nothing"}`, () => {
      const v = visibility(P[who], account);
      if (expected === "all") return assert.equal(v.all, true);
      assert.equal(v.all, false);
      if (v.all) return;
      assert.deepEqual(names.filter(v.visible), expected);
      if (account === alice || account === mallory) {
        assert.equal(v.visible("secret"), false);
        assert.equal(v.visible("pub"), true);
      }
    });
  }

  test("vic sees bunker's listed package and nothing else", () => {
    const v = visibility(P.vic, bunker);
    assert.ok(!v.all && v.visible("gold") && !v.visible("lead"));
  });

  const key = (who: Who, account: Account) => visibility(P[who], account).key;

  test("principals with the same readable set share a key", () => {
    const same: [Who, Who, Account][] = [
      ["anon", "bob", acme],
      ["anon", "olga", acme], // a group listing only public packages adds nothing
      ["anon", "ritaAsOrg", acme],
      ["dana", "dora", acme], // same group
      ["vic", "lia", acme], // same packages through different groups
      ["boss", "acmeToken", acme],
      ["rita", "wade", acme],
      ["boss", "root", acme],
      ["anon", "bob", alice],
      ["anon", "alice", free],
    ];
    for (const [a, b, account] of same) assert.equal(key(a, account), key(b, account), `${a} ~ ${b} on ${account.name}`);
  });

  test("principals with different readable sets get different keys", () => {
    const keys = new Set([key("anon", acme), key("dora", acme), key("vic", acme), key("boss", acme)]);
    assert.equal(keys.size, 4);
    assert.notEqual(key("anon", alice), key("alice", alice));
  });

  test("the key follows the account document's content, not its revision (a restored bucket reuses revisions)", () => {
    const changed = { ...acme, packages: { ...acme.packages, open: "private" as const } };
    const sameContentLater = { ...acme, revision: acme.revision + 1 };
    const otherContentSameRevision = { ...changed, revision: acme.revision };
    for (const who of ["anon", "dora", "boss"] as Who[]) {
      assert.notEqual(key(who, acme), visibility(P[who], changed).key, who);
      assert.equal(key(who, acme), visibility(P[who], sameContentLater).key, who);
      assert.notEqual(key(who, acme), visibility(P[who], otherContentSameRevision).key, who);
    }
  });

  test("keys are short, stable strings that name no package", () => {
    assert.equal(key("dora", acme), key("dora", acme));
    for (const who of ["anon", "dora", "vic", "boss"] as Who[]) {
      const k = key(who, acme);
      assert.ok(k.length <= 64, k);
      assert.ok(!/tool|lib/.test(k), k);
    }
  });
});
