// The access policy as a specification: who may do what on which package, what an index
// shows each principal, and which principals share a filtered view.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { permissionOn, decide, visibility, type Action, type Level, type DownloadAction } from "../../src/access/policy.js";
import { ANONYMOUS, type Account, type Principal } from "../../src/access/model.js";

// ── the world ─────────────────────────────────────────────────────────────────────────
// alice: a user channel, public by default, one private package.
const alice: Account = {
  name: "alice",
  kind: "user",
  createdAt: "2026-01-01T00:00:00Z",
  defaultPrivacy: "public",
  packages: { secret: "private", pub: "public" },
  revision: 1,
};
// acme: an organization, private by default; "open" is public. tool, lib, core: private.
const acme: Account = {
  name: "acme",
  kind: "org",
  createdAt: "2026-01-01T00:00:00Z",
  admins: ["boss"],
  groups: [
    { name: "readers", permission: "read", packages: "*", members: ["rita"] },
    { name: "writers", permission: "write", packages: "*", members: ["wade"] },
    { name: "devs", permission: "write", packages: ["tool"], members: ["dana", "dora"] },
    { name: "viewers", permission: "read", packages: ["tool", "lib"], members: ["vic"] },
    { name: "libfans", permission: "read", packages: ["lib"], members: ["lia"] },
    { name: "toolfans", permission: "read", packages: ["tool"], members: ["lia"] },
    { name: "openfans", permission: "read", packages: ["open"], members: ["olga"] },
    { name: "both", permission: "admin", packages: ["tool"], members: ["dana"] },
  ],
  defaultPrivacy: "private",
  packages: { open: "public", tool: "private" },
  revision: 7,
};
// vault: an organization with nothing public.
const vault: Account = {
  name: "vault",
  kind: "org",
  createdAt: "2026-01-01T00:00:00Z",
  admins: ["boss"],
  groups: [],
  defaultPrivacy: "private",
  packages: {},
  revision: 3,
};
// free: a user channel with nothing private.
const free: Account = { name: "free", kind: "user", createdAt: "2026-01-01T00:00:00Z", defaultPrivacy: "public", packages: {}, revision: 2 };
// mallory: a user document that (wrongly) carries org fields; they must grant nothing.
const mallory: Account = { ...alice, name: "mallory", admins: ["bob"], groups: [{ name: "g", permission: "admin", packages: "*", members: ["bob"] }] };

const ALL = ["all"];
const user = (name: string, scopes: string[] = ALL): Principal => ({
  token: { id: `id-${name}`, name: "t", expiresAt: "2027-01-01T00:00:00Z" },
  account: name,
  accountKind: "user",
  scopes,
});
const orgToken = (name: string, scopes: string[] = ALL): Principal => ({ ...user(name, scopes), accountKind: "org" });

const P = {
  anon: ANONYMOUS,
  alice: user("alice"),
  bob: user("bob"),
  acmeToken: orgToken("acme"),
  boss: user("boss"),
  rita: user("rita"), // readers: read on *
  wade: user("wade"), // writers: write on *
  dana: user("dana"), // devs: write on tool; both: admin on tool
  dora: user("dora"), // devs: write on tool
  vic: user("vic"), // viewers: read on tool, lib
  lia: user("lia"), // libfans + toolfans: read on lib and tool, through two groups
  olga: user("olga"), // openfans: read on open (already public)
  ritaAsOrg: orgToken("rita"), // an org named like a group member is not that member
  aliceCondaOnly: user("alice", ["conda:download"]),
  alicePypiOnly: user("alice", ["pypi:download"]),
  aliceApiOnly: user("alice", ["api"]),
  aliceUploadOnly: user("alice", ["pypi:upload"]),
  alicePypi: user("alice", ["pypi"]),
  aliceRepos: user("alice", ["repos"]),
  aliceConda: user("alice", ["conda"]),
  bobApiOnly: user("bob", ["api"]),
  bobUpload: user("bob", ["pypi:upload"]),
  acmeTokenApiOnly: orgToken("acme", ["api"]),
  ritaPypiOnly: user("rita", ["pypi:download"]),
};
type Who = keyof typeof P;

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
  ];
  for (const [who, account, pkg, expected] of table) {
    test(`${who} on ${account.name}/${pkg ?? "(channel)"} → ${expected}`, () =>
      assert.equal(permissionOn(P[who], account, pkg), expected));
  }
});

// ── decide ───────────────────────────────────────────────────────────────────────────
describe("decide: every principal kind, package kind and action", () => {
  type Expect = "allow" | "401 auth_required" | "403 insufficient_scope" | "403 forbidden" | "404 not_found";
  const C: Action = "conda:download";
  const D: Action = "pypi:download";
  const U: Action = "pypi:upload";
  const table: [Who, Action, Account | null, string | null, Expect][] = [
    // channel does not exist
    ["anon", C, null, null, "404 not_found"],
    ["alice", C, null, "pkg", "404 not_found"],
    ["alice", U, null, "pkg", "404 not_found"],
    // public packages: everyone, whatever the token's scopes
    ["anon", C, alice, "pub", "allow"],
    ["anon", D, alice, "pub", "allow"],
    ["anon", C, alice, null, "allow"],
    ["bob", C, alice, "pub", "allow"],
    ["aliceApiOnly", C, alice, "pub", "allow"],
    ["alicePypiOnly", C, alice, "pub", "allow"],
    ["acmeTokenApiOnly", C, acme, "open", "allow"],
    ["acmeTokenApiOnly", C, acme, null, "allow"], // served as the anonymous (public) view
    ["anon", C, acme, "open", "allow"],
    ["anon", C, acme, null, "allow"],
    // private packages on a user channel
    ["anon", C, alice, "secret", "404 not_found"],
    ["anon", D, alice, "secret", "404 not_found"],
    ["alice", C, alice, "secret", "allow"],
    ["alice", D, alice, "secret", "allow"],
    ["aliceConda", C, alice, "secret", "allow"],
    ["aliceCondaOnly", C, alice, "secret", "allow"],
    ["aliceRepos", C, alice, "secret", "allow"],
    ["aliceRepos", D, alice, "secret", "allow"],
    ["alicePypiOnly", D, alice, "secret", "allow"],
    ["alicePypi", D, alice, "secret", "allow"],
    ["alicePypiOnly", C, alice, "secret", "403 insufficient_scope"], // could read it with the right scope
    ["aliceCondaOnly", D, alice, "secret", "403 insufficient_scope"],
    ["aliceApiOnly", C, alice, "secret", "403 insufficient_scope"],
    ["aliceUploadOnly", D, alice, "secret", "403 insufficient_scope"], // upload does not imply download
    ["bob", C, alice, "secret", "404 not_found"], // could not read it anyway: not leaked
    ["bobApiOnly", C, alice, "secret", "404 not_found"],
    ["acmeToken", C, alice, "secret", "404 not_found"],
    // an org channel
    ["anon", C, acme, "tool", "404 not_found"],
    ["bob", C, acme, "tool", "404 not_found"],
    ["acmeToken", C, acme, "tool", "allow"],
    ["acmeToken", D, acme, "core", "allow"],
    ["acmeTokenApiOnly", C, acme, "tool", "403 insufficient_scope"],
    ["boss", C, acme, "core", "allow"],
    ["rita", C, acme, "core", "allow"],
    ["rita", D, acme, "lib", "allow"],
    ["ritaPypiOnly", C, acme, "core", "403 insufficient_scope"],
    ["ritaPypiOnly", D, acme, "core", "allow"],
    ["wade", C, acme, "core", "allow"],
    ["dora", C, acme, "tool", "allow"],
    ["dora", C, acme, "lib", "404 not_found"],
    ["vic", C, acme, "lib", "allow"],
    ["vic", C, acme, "core", "404 not_found"],
    ["olga", C, acme, "tool", "404 not_found"],
    ["ritaAsOrg", C, acme, "core", "404 not_found"],
    ["dora", C, acme, null, "allow"],
    // a channel with nothing visible looks like a missing channel
    ["anon", C, vault, null, "404 not_found"],
    ["bob", C, vault, null, "404 not_found"],
    ["boss", C, vault, null, "allow"],
    // uploads
    ["anon", U, alice, "pub", "401 auth_required"],
    ["anon", U, alice, "new", "401 auth_required"],
    ["alice", U, alice, "new", "allow"],
    ["alice", U, alice, "secret", "allow"],
    ["aliceUploadOnly", U, alice, "new", "allow"],
    ["alicePypi", U, alice, "new", "allow"],
    ["aliceRepos", U, alice, "new", "allow"],
    ["alicePypiOnly", U, alice, "new", "403 insufficient_scope"],
    ["aliceCondaOnly", U, alice, "new", "403 insufficient_scope"],
    ["aliceApiOnly", U, alice, "new", "403 insufficient_scope"],
    ["bob", U, alice, "pub", "403 forbidden"],
    ["bob", U, alice, "secret", "403 forbidden"], // same answer for a hidden package …
    ["bob", U, alice, "ghost", "403 forbidden"], // … as for one that does not exist
    ["bobUpload", U, alice, "new", "403 forbidden"],
    ["acmeToken", U, acme, "new", "allow"],
    ["acmeTokenApiOnly", U, acme, "new", "403 insufficient_scope"],
    ["boss", U, acme, "new", "allow"],
    ["wade", U, acme, "core", "allow"],
    ["wade", U, acme, "new", "allow"],
    ["rita", U, acme, "core", "403 forbidden"], // read only
    ["dora", U, acme, "tool", "allow"],
    ["dora", U, acme, "lib", "403 forbidden"],
    ["dora", U, acme, "new", "403 forbidden"],
    ["dana", U, acme, "tool", "allow"],
    ["vic", U, acme, "tool", "403 forbidden"],
    ["wade", U, acme, null, "allow"], // channel-wide write
    ["dora", U, acme, null, "403 forbidden"], // listed write is not channel-wide
  ];
  for (const [who, action, account, pkg, expected] of table) {
    test(`${who} ${action} ${account?.name ?? "(missing)"}/${pkg ?? "(channel)"} → ${expected}`, () => {
      const d = decide(P[who], action, account, pkg);
      const got = d.allow ? "allow" : `${d.status} ${d.code}`;
      assert.equal(got, expected, d.allow ? "" : d.message);
    });
  }

  test("a hidden package and a missing one get the same answer, word for word", () => {
    const pairs: [Who, Account, string | null][] = [
      ["anon", alice, "secret"],
      ["bob", alice, "secret"],
      ["anon", vault, null],
      ["bob", vault, null],
      ["bob", acme, "core"],
    ];
    for (const [who, account, pkg] of pairs) {
      const hidden = decide(P[who], "conda:download", account, pkg);
      const missing = decide(P[who], "conda:download", null, pkg);
      assert.deepEqual(hidden, missing, `${who} ${account.name}/${pkg}`);
    }
  });

  test("denials carry a message that helps and names no secret", () => {
    const anon = decide(P.anon, "conda:download", alice, "secret");
    assert.ok(!anon.allow && /token/.test(anon.message));
    const scope = decide(P.alicePypiOnly, "conda:download", alice, "secret");
    assert.ok(!scope.allow && /conda:download/.test(scope.message));
    const upload = decide(P.bob, "pypi:upload", alice, "pub");
    assert.ok(!upload.allow && /alice/.test(upload.message));
  });
});

// ── visibility ───────────────────────────────────────────────────────────────────────
describe("visibility: what an index lists for each principal", () => {
  const names = ["open", "tool", "lib", "core", "unlisted"];
  const table: [Who, Account, DownloadAction, "all" | string[]][] = [
    ["anon", free, "conda:download", "all"], // nothing private: the stored index as is
    ["bob", free, "conda:download", "all"],
    ["anon", alice, "conda:download", ["open", "tool", "lib", "core", "unlisted"].filter((n) => n !== "secret")],
    ["alice", alice, "conda:download", "all"],
    ["alicePypiOnly", alice, "pypi:download", "all"],
    ["anon", acme, "conda:download", ["open"]],
    ["bob", acme, "conda:download", ["open"]],
    ["olga", acme, "conda:download", ["open"]],
    ["acmeToken", acme, "conda:download", "all"],
    ["acmeTokenApiOnly", acme, "conda:download", ["open"]],
    ["boss", acme, "conda:download", "all"],
    ["rita", acme, "conda:download", "all"],
    ["ritaPypiOnly", acme, "conda:download", ["open"]],
    ["ritaPypiOnly", acme, "pypi:download", "all"],
    ["wade", acme, "pypi:download", "all"],
    ["dora", acme, "conda:download", ["open", "tool"]],
    ["vic", acme, "conda:download", ["open", "tool", "lib"]],
    ["lia", acme, "conda:download", ["open", "tool", "lib"]],
    ["ritaAsOrg", acme, "conda:download", ["open"]],
    ["anon", vault, "conda:download", []],
    ["boss", vault, "conda:download", "all"],
  ];
  for (const [who, account, action, expected] of table) {
    test(`${who} on ${account.name} (${action}) sees ${expected === "all" ? "everything" : expected.join(", ") || "nothing"}`, () => {
      const v = visibility(P[who], account, action);
      if (expected === "all") return assert.equal(v.all, true);
      assert.equal(v.all, false);
      if (v.all) return;
      assert.deepEqual(names.filter(v.visible), expected);
      if (account === alice) {
        assert.equal(v.visible("secret"), false);
        assert.equal(v.visible("pub"), true);
      }
    });
  }

  const key = (who: Who, account: Account, action: DownloadAction = "conda:download") => visibility(P[who], account, action).key;

  test("principals with the same readable set share a key", () => {
    const same: [Who, Who, Account][] = [
      ["anon", "bob", acme],
      ["anon", "olga", acme], // a group listing only public packages adds nothing
      ["anon", "acmeTokenApiOnly", acme], // a token without the scope sees the public view
      ["anon", "ritaAsOrg", acme],
      ["dana", "dora", acme], // same group
      ["vic", "lia", acme], // same packages through different groups
      ["boss", "acmeToken", acme],
      ["rita", "wade", acme],
      ["anon", "bob", alice],
      ["anon", "alice", free],
    ];
    for (const [a, b, account] of same) assert.equal(key(a, account), key(b, account), `${a} ~ ${b} on ${account.name}`);
  });

  test("principals with different readable sets get different keys", () => {
    const keys = new Set([key("anon", acme), key("dora", acme), key("vic", acme), key("boss", acme)]);
    assert.equal(keys.size, 4);
    assert.notEqual(key("anon", alice), key("alice", alice));
    assert.notEqual(key("ritaPypiOnly", acme, "conda:download"), key("ritaPypiOnly", acme, "pypi:download"));
  });

  test("the key changes with the account's revision", () => {
    const next = { ...acme, revision: acme.revision + 1 };
    for (const who of ["anon", "dora", "boss"] as Who[]) assert.notEqual(key(who, acme), key(who, next), who);
  });

  test("keys are short, stable strings that name no package", () => {
    assert.equal(key("dora", acme), key("dora", acme));
    for (const who of ["anon", "dora", "vic", "boss"] as Who[]) {
      const k = key(who, acme);
      assert.ok(k.length <= 40, k);
      assert.ok(!/tool|lib/.test(k), k);
    }
  });
});
