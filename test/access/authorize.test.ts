// authorize() as a specification: for every kind of caller, action and resource, the one
// answer pkgate gives, at every door. The rule (access/authorize.ts, ARCHITECTURE.md):
//   - public content stays public to any caller, whatever its token's scopes;
//   - what the caller's account could reach but the token's scopes do not cover: 403
//     insufficient_scope, naming the scope;
//   - anything else the caller may not see: exactly the answer a missing thing gets;
//   - anonymous callers never change anything: 401, whether the target exists or not.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ACTIONS, authorize, enforce, missing, scopesBeyond, type Action, type Decision, type Resource } from "../../src/access/authorize.js";
import { ANONYMOUS, type Account, type Principal } from "../../src/access/model.js";
import { permissionOn, visibility } from "../../src/access/policy.js";
import { GateError } from "../../src/errors.js";
import { P, acme, alice, bunker, free, mallory, vault, type Who } from "./world.js";

type Expect = "allow" | "allow as anonymous" | "401 auth_required" | "403 insufficient_scope" | "403 forbidden" | "404 missing";
/** An account, or the name of one that does not exist. */
type Target = Account | string;
/** null: a server-wide action, no account. */
type Row = [Who, Action, Target | null, string | null, Expect];

const C: Action = "conda:download";
const D: Action = "pypi:download";
const U: Action = "pypi:upload";

const kindOf = (action: Action): Resource["kind"] => (action.startsWith("org:") && action !== "org:create" ? "organization" : action.startsWith("user:") ? "user" : "channel");

function resourceOf(action: Action, target: Target | null, pkg: string | null): Resource {
  if (target === null) return { account: null };
  const account = typeof target === "string" ? null : target;
  const name = typeof target === "string" ? target : target.name;
  return { account, name, kind: kindOf(action), package: pkg };
}

const answer = (e: GateError) => ({ status: e.status, code: e.code, message: e.message, headers: e.headers });

function describeDecision(d: Decision, principal: Principal): string {
  if (d.allow) return d.as === principal ? "allow" : d.as === ANONYMOUS ? "allow as anonymous" : `allow as ${d.as.account}`;
  return `${d.error.status} ${d.error.code}${d.hidden ? " (hidden)" : ""}: ${d.error.message}`;
}

/** Check one decision against the rule's expectation. */
function check(who: Who, action: Action, target: Target | null, pkg: string | null, expected: Expect): void {
  const principal = P[who];
  const resource = resourceOf(action, target, pkg);
  const d = authorize(principal, action, resource);
  const shown = describeDecision(d, principal);
  switch (expected) {
    case "allow":
      assert.ok(d.allow, `expected allow, got ${shown}`);
      assert.equal(d.as, principal, "judged as itself");
      return;
    case "allow as anonymous":
      assert.ok(d.allow, `expected allow, got ${shown}`);
      assert.equal(d.as.account, null, "judged as anonymous");
      assert.deepEqual(d.as.scopes, []);
      return;
    case "401 auth_required":
      assert.ok(!d.allow, `expected 401, got ${shown}`);
      assert.equal(d.error.status, 401, shown);
      assert.equal(d.error.code, "auth_required", shown);
      assert.equal(d.hidden, false, shown);
      return;
    case "403 insufficient_scope":
      assert.ok(!d.allow, `expected 403 insufficient_scope, got ${shown}`);
      assert.equal(`${d.error.status} ${d.error.code}`, expected, shown);
      assert.ok(d.error.message.includes(ACTIONS[action].scope), `the message names the scope ${ACTIONS[action].scope}: ${d.error.message}`);
      assert.equal(d.hidden, false, shown);
      return;
    case "403 forbidden":
      assert.ok(!d.allow, `expected 403 forbidden, got ${shown}`);
      assert.equal(`${d.error.status} ${d.error.code}`, expected, shown);
      assert.equal(d.hidden, false, shown);
      return;
    case "404 missing": {
      assert.ok(!d.allow, `expected the missing answer, got ${shown}`);
      assert.equal(d.hidden, true, `hidden: the door must do a missing lookup's work (${shown})`);
      // exactly the answer for a thing that does not exist: missing(), and the decision on
      // the same names when the account does not exist
      assert.deepEqual(answer(d.error), answer(missing(principal, action, resource)), "the answer is missing()'s");
      const none = authorize(principal, action, { ...resource, account: null });
      assert.ok(!none.allow);
      assert.deepEqual(answer(d.error), answer(none.error), "the answer for an account that does not exist");
      assert.equal(d.error.status, 404);
      return;
    }
  }
}

function table(rows: Row[]): void {
  for (const [who, action, target, pkg, expected] of rows) {
    const where = target === null ? "(server)" : typeof target === "string" ? `${target} (missing)/${pkg ?? "(channel)"}` : `${target.name}/${pkg ?? "(channel)"}`;
    test(`${who} ${action} ${where} → ${expected}`, () => check(who, action, target, pkg, expected));
  }
}

// ── downloads and uploads ───────────────────────────────────────────────────────────
describe("authorize: downloads and uploads, every principal kind and package kind", () => {
  describe("a channel that does not exist", () =>
    table([
      ["anon", C, "nochan", null, "404 missing"],
      ["anon", D, "nochan", "pkg", "404 missing"],
      ["alice", C, "nochan", "pkg", "404 missing"],
      ["alice", U, "nochan", "pkg", "404 missing"],
      ["alice", U, "nochan", null, "404 missing"],
      ["root", C, "nochan", null, "404 missing"],
      ["acmeToken", D, "nochan", null, "404 missing"],
    ]));

  describe("public content: any caller, whatever its token's scopes", () =>
    table([
      ["anon", C, alice, "pub", "allow"],
      ["anon", D, alice, "pub", "allow"],
      ["anon", C, alice, "unlisted", "allow"], // the channel's default: public
      ["anon", C, alice, null, "allow"],
      ["bob", C, alice, "pub", "allow"],
      ["alice", C, alice, "pub", "allow"],
      // the case: alice's own pypi:download token on her own public conda package
      ["alicePypiOnly", C, alice, "pub", "allow as anonymous"],
      ["alicePypiOnly", C, alice, null, "allow as anonymous"], // the index: the public view
      ["aliceApiOnly", C, alice, "pub", "allow as anonymous"],
      ["aliceUploadOnly", D, alice, "pub", "allow as anonymous"],
      ["aliceCondaOnly", D, alice, "pub", "allow as anonymous"],
      ["bobPypiOnly", C, alice, "pub", "allow as anonymous"],
      ["bobCondaOnly", D, free, "anything", "allow as anonymous"],
      ["acmeTokenApiOnly", C, acme, "open", "allow as anonymous"],
      ["acmeTokenApiOnly", C, acme, null, "allow as anonymous"],
      ["bossApiOnly", C, acme, null, "allow as anonymous"],
      ["ritaPypiOnly", C, acme, "open", "allow as anonymous"],
      ["ritaPypiOnly", C, acme, null, "allow as anonymous"],
      ["rootCondaOnly", D, alice, "pub", "allow as anonymous"],
      ["anon", C, acme, "open", "allow"],
      ["anon", C, acme, "Open", "allow"], // one privacy per normalized name
      ["anon", C, acme, null, "allow"], // served filtered
      ["bob", C, mallory, "pub", "allow"],
    ]));

  describe("private content on a user channel", () =>
    table([
      ["anon", C, alice, "secret", "404 missing"],
      ["anon", D, alice, "secret", "404 missing"],
      ["alice", C, alice, "secret", "allow"],
      ["alice", D, alice, "secret", "allow"],
      ["aliceSession", C, alice, "secret", "allow"], // no token, no scopes: the account's rights
      ["aliceConda", C, alice, "secret", "allow"],
      ["aliceCondaOnly", C, alice, "secret", "allow"],
      ["aliceRepos", C, alice, "secret", "allow"],
      ["aliceRepos", D, alice, "secret", "allow"],
      ["alicePypiOnly", D, alice, "secret", "allow"],
      ["alicePypi", D, alice, "secret", "allow"],
      // alice could reach it with the right scope: 403 naming the scope
      ["alicePypiOnly", C, alice, "secret", "403 insufficient_scope"],
      ["aliceCondaOnly", D, alice, "secret", "403 insufficient_scope"],
      ["aliceApiOnly", C, alice, "secret", "403 insufficient_scope"],
      ["aliceUploadOnly", D, alice, "secret", "403 insufficient_scope"], // upload does not imply download
      // bob could not reach it with any scope: it is not there
      ["bob", C, alice, "secret", "404 missing"],
      ["bobApiOnly", C, alice, "secret", "404 missing"],
      ["bobPypiOnly", C, alice, "secret", "404 missing"],
      ["bobCondaOnly", D, alice, "secret", "404 missing"],
      ["acmeToken", C, alice, "secret", "404 missing"],
      ["boss", C, alice, "secret", "404 missing"],
      ["root", C, alice, "secret", "allow"],
      ["rootCondaOnly", D, alice, "secret", "403 insufficient_scope"],
      // org fields on a user document grant nothing
      ["bob", C, mallory, "secret", "404 missing"],
    ]));

  describe("an organization's channel", () =>
    table([
      ["anon", C, acme, "tool", "404 missing"],
      ["anon", C, acme, "unlisted", "404 missing"], // the channel's default: private
      ["bob", C, acme, "tool", "404 missing"],
      ["acmeToken", C, acme, "tool", "allow"],
      ["acmeToken", D, acme, "core", "allow"],
      ["acmeTokenApiOnly", C, acme, "tool", "403 insufficient_scope"],
      ["acmeTokenCondaOnly", C, acme, "tool", "allow"],
      ["acmeTokenCondaOnly", D, acme, "tool", "403 insufficient_scope"],
      ["boss", C, acme, "core", "allow"],
      ["bossApiOnly", C, acme, "core", "403 insufficient_scope"],
      ["rita", C, acme, "core", "allow"],
      ["rita", D, acme, "lib", "allow"],
      ["ritaPypiOnly", C, acme, "core", "403 insufficient_scope"],
      ["ritaPypiOnly", D, acme, "core", "allow"],
      ["wade", C, acme, "core", "allow"],
      ["dora", C, acme, "tool", "allow"],
      ["dora", C, acme, "lib", "404 missing"],
      ["vic", C, acme, "lib", "allow"],
      ["vic", C, acme, "core", "404 missing"],
      ["lia", D, acme, "tool", "allow"],
      ["olga", C, acme, "tool", "404 missing"],
      ["ritaAsOrg", C, acme, "core", "404 missing"],
      ["dora", C, acme, null, "allow"],
      ["root", C, acme, "core", "allow"],
    ]));

  describe("a channel with nothing visible looks like a missing channel", () =>
    table([
      ["anon", C, vault, null, "404 missing"],
      ["anon", C, vault, "x", "404 missing"],
      ["bob", C, vault, null, "404 missing"],
      ["aliceApiOnly", C, vault, null, "404 missing"],
      ["acmeToken", D, vault, null, "404 missing"],
      ["boss", C, vault, null, "allow"],
      ["bossApiOnly", C, vault, null, "403 insufficient_scope"], // boss could reach it
      ["bossReposOnly", D, vault, "x", "allow"],
      ["root", C, vault, null, "allow"],
      ["rootCondaOnly", D, vault, null, "403 insufficient_scope"],
      // one listed package: the index is served, filtered, to the group's member
      ["vic", C, bunker, null, "allow"],
      ["vic", C, bunker, "gold", "allow"],
      ["vic", C, bunker, "lead", "404 missing"],
      ["vicPypiOnly", C, bunker, null, "403 insufficient_scope"],
      ["vicPypiOnly", C, bunker, "gold", "403 insufficient_scope"],
      ["vicPypiOnly", C, bunker, "lead", "404 missing"],
      ["vicPypiOnly", D, bunker, "gold", "allow"],
      ["bob", C, bunker, null, "404 missing"],
    ]));

  describe("uploads", () =>
    table([
      // anonymous: 401 whether the channel, or the package, exists or not
      ["anon", U, alice, "pub", "401 auth_required"],
      ["anon", U, alice, "new", "401 auth_required"],
      ["anon", U, alice, null, "401 auth_required"],
      ["anon", U, acme, "tool", "401 auth_required"],
      ["anon", U, vault, null, "401 auth_required"],
      ["anon", U, "nochan", null, "401 auth_required"],
      ["anon", U, "nochan", "pkg", "401 auth_required"],
      ["alice", U, alice, "new", "allow"],
      ["alice", U, alice, "secret", "allow"],
      ["alice", U, alice, null, "allow"],
      ["aliceSession", U, alice, "new", "allow"],
      ["aliceUploadOnly", U, alice, "new", "allow"],
      ["alicePypi", U, alice, "new", "allow"],
      ["aliceRepos", U, alice, "new", "allow"],
      ["alicePypiOnly", U, alice, "new", "403 insufficient_scope"],
      ["alicePypiOnly", U, alice, null, "403 insufficient_scope"],
      ["aliceCondaOnly", U, alice, "new", "403 insufficient_scope"],
      ["aliceApiOnly", U, alice, "new", "403 insufficient_scope"],
      // the channel's content is visible to bob: refused, the same for every name
      ["bob", U, alice, "pub", "403 forbidden"],
      ["bob", U, alice, "secret", "403 forbidden"], // same answer for a hidden package …
      ["bob", U, alice, "ghost", "403 forbidden"], // … as for one that does not exist
      ["bob", U, alice, null, "403 forbidden"],
      ["bobUpload", U, alice, "new", "403 forbidden"],
      ["bob", U, mallory, "pub", "403 forbidden"], // org fields on a user document grant nothing
      // a channel bob cannot see: it is not there
      ["bob", U, vault, null, "404 missing"],
      ["bob", U, vault, "x", "404 missing"],
      ["bobUpload", U, vault, "new", "404 missing"],
      ["acmeToken", U, acme, "new", "allow"],
      ["acmeTokenApiOnly", U, acme, "new", "403 insufficient_scope"],
      ["acmeToken", U, alice, "new", "403 forbidden"],
      ["boss", U, acme, "new", "allow"],
      ["bossApiOnly", U, vault, null, "403 insufficient_scope"],
      ["wade", U, acme, "core", "allow"],
      ["wade", U, acme, "new", "allow"],
      ["rita", U, acme, "core", "403 forbidden"], // read only
      ["rita", U, acme, null, "403 forbidden"],
      ["dora", U, acme, "tool", "allow"],
      ["dora", U, acme, "lib", "403 forbidden"],
      ["dora", U, acme, "new", "403 forbidden"],
      ["dana", U, acme, "tool", "allow"],
      ["vic", U, acme, "tool", "403 forbidden"],
      ["vic", U, acme, null, "403 forbidden"],
      ["olga", U, acme, null, "403 forbidden"],
      ["ritaAsOrg", U, acme, "new", "403 forbidden"],
      ["wade", U, acme, null, "allow"], // channel-wide write
      // before the package is known (the body is not read yet), write on some package is enough
      ["dora", U, acme, null, "allow"],
      ["vic", U, bunker, null, "403 forbidden"], // read on gold shows bunker's content, no write
      ["root", U, vault, "x", "allow"],
      ["rootCondaOnly", U, vault, "x", "403 insufficient_scope"],
    ]));

  test("denials carry a message that helps and names no secret", () => {
    const anon = authorize(P.anon, C, resourceOf(C, alice, "secret"));
    assert.ok(!anon.allow && /token/.test(anon.error.message), "anonymous callers learn that private packages need a token");
    const scope = authorize(P.alicePypiOnly, C, resourceOf(C, alice, "secret"));
    assert.ok(!scope.allow && /conda:download/.test(scope.error.message));
    const upload = authorize(P.bob, U, resourceOf(U, alice, "pub"));
    assert.ok(!upload.allow && /alice/.test(upload.error.message));
    const upload401 = authorize(P.anon, U, resourceOf(U, alice, "pub"));
    assert.ok(!upload401.allow && /token/.test(upload401.error.message));
  });

  test("a hidden package and a missing one get the same answer, word for word", () => {
    const pairs: [Who, Action, Account, string | null][] = [
      ["anon", C, alice, "secret"],
      ["bob", C, alice, "secret"],
      ["bobPypiOnly", C, alice, "secret"],
      ["anon", C, vault, null],
      ["bob", C, vault, null],
      ["bob", C, acme, "core"],
      ["vic", D, acme, "core"],
      ["bob", U, vault, null],
      ["bob", U, vault, "x"],
      ["bob", "channel:read", vault, null],
      ["bob", "package:write", vault, "x"],
      ["bob", "org:read", vault, null],
      ["bob", "org:modify-group", bunker, null],
    ];
    for (const [who, action, account, pkg] of pairs) {
      const hidden = authorize(P[who], action, resourceOf(action, account, pkg));
      const gone = authorize(P[who], action, resourceOf(action, account.name, pkg));
      assert.ok(!hidden.allow && !gone.allow, `${who} ${action} ${account.name}/${pkg}`);
      assert.deepEqual(answer(hidden.error), answer(gone.error), `${who} ${action} ${account.name}/${pkg}`);
      assert.equal(hidden.hidden, gone.hidden);
    }
  });
});

// ── the view an index is served as ──────────────────────────────────────────────────
describe("index views: authorize() says who the index is served as, visibility() what it lists", () => {
  const names = ["open", "tool", "lib", "core", "unlisted"];
  const view = (who: Who, account: Account, action: Action) => {
    const d = authorize(P[who], action, resourceOf(action, account, null));
    assert.ok(d.allow, `${who} ${action} ${account.name}`);
    return visibility(d.as, account);
  };
  const rows: [Who, Account, Action, "all" | string[]][] = [
    ["alicePypiOnly", alice, D, "all"],
    ["alicePypiOnly", alice, C, names], // the public view: no "secret"
    ["acmeToken", acme, C, "all"],
    ["acmeTokenApiOnly", acme, C, ["open"]],
    ["ritaPypiOnly", acme, C, ["open"]],
    ["ritaPypiOnly", acme, D, "all"],
    ["wade", acme, D, "all"],
    ["dora", acme, C, ["open", "tool"]],
    ["root", vault, C, "all"],
    ["rootCondaOnly", acme, D, ["open"]],
  ];
  for (const [who, account, action, expected] of rows) {
    test(`${who} on ${account.name} (${action}) sees ${expected === "all" ? "everything" : expected.join(", ")}`, () => {
      const v = view(who, account, action);
      if (expected === "all") return assert.equal(v.all, true);
      assert.ok(!v.all);
      if (!v.all) assert.deepEqual(names.filter(v.visible), expected);
      if (!v.all && account === alice) assert.equal(v.visible("secret"), false);
    });
  }

  test("a token without the scope shares the anonymous view's key", () => {
    assert.equal(view("acmeTokenApiOnly", acme, C).key, view("anon", acme, C).key);
    assert.equal(view("ritaPypiOnly", acme, C).key, view("anon", acme, C).key);
    assert.notEqual(view("ritaPypiOnly", acme, C).key, view("ritaPypiOnly", acme, D).key);
  });
});

// ── the API's actions ────────────────────────────────────────────────────────────────
describe("authorize: the API's actions, for every kind of caller", () => {
  describe("channel:read / channel:write (admins of the whole channel)", () =>
    table([
      ["alice", "channel:read", alice, null, "allow"],
      ["alice", "channel:write", alice, null, "allow"],
      ["aliceSession", "channel:write", alice, null, "allow"],
      ["aliceApiRead", "channel:read", alice, null, "allow"],
      ["aliceApiRead", "channel:write", alice, null, "403 insufficient_scope"],
      ["aliceApiOnly", "channel:write", alice, null, "allow"],
      ["aliceCondaOnly", "channel:read", alice, null, "403 insufficient_scope"],
      ["bob", "channel:read", alice, null, "403 forbidden"], // alice's content is visible to bob
      ["bobCondaOnly", "channel:read", alice, null, "403 forbidden"],
      ["bob", "channel:read", vault, null, "404 missing"],
      ["bob", "channel:write", vault, null, "404 missing"],
      ["bob", "channel:read", "nochan", null, "404 missing"],
      ["anon", "channel:read", alice, null, "404 missing"],
      ["anon", "channel:write", alice, null, "401 auth_required"],
      ["anon", "channel:write", "nochan", null, "401 auth_required"],
      ["boss", "channel:read", acme, null, "allow"],
      ["boss", "channel:read", alice, null, "403 forbidden"],
      ["rita", "channel:read", acme, null, "403 forbidden"], // read on * is not admin
      ["wade", "channel:write", acme, null, "403 forbidden"],
      ["dana", "channel:write", acme, null, "403 forbidden"], // admin on tool only
      ["acmeToken", "channel:write", acme, null, "allow"],
      ["acmeTokenCondaOnly", "channel:read", acme, null, "403 insufficient_scope"],
      ["acmeToken", "channel:read", vault, null, "404 missing"],
      ["ritaAsOrg", "channel:read", acme, null, "403 forbidden"],
      ["vic", "channel:read", bunker, null, "403 forbidden"], // vic sees gold
      ["bob", "channel:read", bunker, null, "404 missing"],
      ["root", "channel:write", vault, null, "allow"],
      ["rootCondaOnly", "channel:read", vault, null, "403 insufficient_scope"],
      ["root", "channel:read", "nochan", null, "404 missing"],
    ]));

  describe("package:read / package:write (admin on the package)", () =>
    table([
      ["alice", "package:read", alice, "secret", "allow"],
      ["alice", "package:write", alice, "ghost", "allow"],
      ["aliceApiRead", "package:write", alice, "secret", "403 insufficient_scope"],
      ["dana", "package:write", acme, "tool", "allow"], // admin on tool through a group
      ["dana", "package:write", acme, "core", "403 forbidden"],
      ["dana", "package:read", acme, "ghost", "403 forbidden"],
      ["bob", "package:read", alice, "secret", "403 forbidden"],
      ["bob", "package:read", alice, "ghost", "403 forbidden"],
      ["bob", "package:read", alice, "pub", "403 forbidden"],
      ["bob", "package:read", acme, "tool", "403 forbidden"],
      ["bob", "package:read", vault, "x", "404 missing"],
      ["bob", "package:write", vault, "x", "404 missing"],
      ["vic", "package:read", acme, "core", "403 forbidden"], // hidden from vic
      ["vic", "package:read", acme, "tool", "403 forbidden"], // visible to vic, not managed
      ["anon", "package:read", alice, "secret", "404 missing"],
      ["anon", "package:read", alice, "pub", "404 missing"],
      ["anon", "package:write", alice, "pub", "401 auth_required"],
      ["anon", "package:write", "nochan", "pkg", "401 auth_required"],
      ["acmeToken", "package:write", acme, "core", "allow"],
      ["acmeTokenCondaOnly", "package:read", acme, "core", "403 insufficient_scope"],
      ["bossApiRead", "package:read", acme, "core", "allow"],
      ["root", "package:write", vault, "x", "allow"],
      ["rootApiRead", "package:write", vault, "x", "403 insufficient_scope"],
      ["root", "package:read", "nochan", "x", "404 missing"],
    ]));

  test("to anyone who may not manage them, hidden, missing and public package names get one answer", () => {
    const names: [Target, string[]][] = [
      [alice, ["secret", "ghost", "pub"]],
      [acme, ["core", "tool", "ghost", "open"]],
      [vault, ["x", "ghost"]],
      [bunker, ["gold", "lead"]],
      ["nochan", ["x", "ghost"]],
    ];
    const callers: Who[] = ["anon", "bob", "bobApiOnly", "bobCondaOnly", "vic", "vicPypiOnly", "olga", "rita", "wade", "dora", "lia", "ritaAsOrg", "acmeToken", "acmeTokenCondaOnly", "boss"];
    let compared = 0;
    for (const action of ["package:read", "package:write"] as Action[]) {
      for (const [target, pkgs] of names) {
        for (const who of callers) {
          // a caller with admin on one of the names may tell them apart: that is its right
          if (typeof target !== "string" && pkgs.some((n) => permissionOn(P[who], target, n) === "admin")) continue;
          const answers = pkgs.map((pkg) => {
            const d = authorize(P[who], action, resourceOf(action, target, pkg));
            assert.ok(!d.allow, `${who} ${action} ${typeof target === "string" ? target : target.name}/${pkg} is allowed`);
            return JSON.stringify({ ...answer(d.error), message: d.error.message.split(pkg).join("<name>"), hidden: d.hidden });
          });
          const where = `${who} ${action} ${typeof target === "string" ? target : target.name}`;
          for (const a of answers) assert.equal(a, answers[0], `${where}: ${pkgs.join(", ")}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 100, `${compared} comparisons`);
  });

  describe("org:read (members and admins) and org:modify-group (admins)", () =>
    table([
      ["boss", "org:read", acme, null, "allow"],
      ["bossApiRead", "org:read", acme, null, "allow"],
      ["rita", "org:read", acme, null, "allow"], // a member through a group on *
      ["olga", "org:read", acme, null, "allow"], // a member through a group listing a package
      ["vic", "org:read", acme, null, "allow"],
      ["vic", "org:read", bunker, null, "allow"],
      ["vicPypiOnly", "org:read", bunker, null, "403 insufficient_scope"],
      ["acmeToken", "org:read", acme, null, "allow"],
      ["acmeTokenCondaOnly", "org:read", acme, null, "403 insufficient_scope"],
      ["bob", "org:read", acme, null, "403 forbidden"], // acme's content is visible to bob
      ["ritaAsOrg", "org:read", acme, null, "403 forbidden"], // an org named like a member is not that member
      ["bob", "org:read", vault, null, "404 missing"],
      ["bob", "org:read", bunker, null, "404 missing"],
      ["bob", "org:read", "nochan", null, "404 missing"],
      ["anon", "org:read", acme, null, "404 missing"],
      ["bob", "org:read", mallory, null, "403 forbidden"], // org fields on a user document grant nothing
      ["root", "org:read", vault, null, "allow"],
      ["rootCondaOnly", "org:read", vault, null, "403 insufficient_scope"],
      ["boss", "org:modify-group", acme, null, "allow"],
      ["bossApiOnly", "org:modify-group", acme, null, "allow"],
      ["bossModifyGroup", "org:modify-group", acme, null, "allow"],
      ["bossApiRead", "org:modify-group", acme, null, "403 insufficient_scope"],
      ["rita", "org:modify-group", acme, null, "403 forbidden"],
      ["dana", "org:modify-group", acme, null, "403 forbidden"],
      ["vic", "org:modify-group", bunker, null, "403 forbidden"],
      ["bob", "org:modify-group", vault, null, "404 missing"],
      ["bob", "org:modify-group", "nochan", null, "404 missing"],
      ["anon", "org:modify-group", acme, null, "401 auth_required"],
      ["anon", "org:modify-group", "nochan", null, "401 auth_required"],
      ["acmeToken", "org:modify-group", acme, null, "allow"],
      ["root", "org:modify-group", vault, null, "allow"],
    ]));

  describe("tokens:read / tokens:write (the account, an organization's admins, server admins)", () =>
    table([
      ["alice", "tokens:read", alice, null, "allow"],
      ["alice", "tokens:write", alice, null, "allow"],
      ["aliceApiRead", "tokens:write", alice, null, "403 insufficient_scope"],
      ["aliceCondaOnly", "tokens:read", alice, null, "403 insufficient_scope"],
      ["bob", "tokens:read", alice, null, "403 forbidden"],
      ["bob", "tokens:read", vault, null, "404 missing"],
      ["anon", "tokens:read", alice, null, "404 missing"],
      ["anon", "tokens:write", alice, null, "401 auth_required"],
      ["boss", "tokens:write", acme, null, "allow"],
      ["rita", "tokens:read", acme, null, "403 forbidden"],
      ["wade", "tokens:write", acme, null, "403 forbidden"],
      ["acmeToken", "tokens:read", acme, null, "allow"],
      ["acmeToken", "tokens:read", alice, null, "403 forbidden"],
      ["root", "tokens:write", alice, null, "allow"],
      ["rootApiRead", "tokens:write", alice, null, "403 insufficient_scope"],
    ]));

  describe("user:read / user:write (the user and server admins)", () =>
    table([
      ["alice", "user:read", alice, null, "allow"],
      ["alice", "user:write", alice, null, "allow"],
      ["aliceSession", "user:write", alice, null, "allow"],
      ["aliceApiRead", "user:write", alice, null, "403 insufficient_scope"],
      ["alice", "user:read", free, null, "403 forbidden"],
      ["bob", "user:write", alice, null, "403 forbidden"],
      ["acmeToken", "user:read", alice, null, "403 forbidden"],
      ["anon", "user:read", alice, null, "404 missing"],
      ["anon", "user:write", alice, null, "401 auth_required"],
      ["root", "user:write", alice, null, "allow"],
      ["rootApiRead", "user:write", alice, null, "403 insufficient_scope"],
      ["root", "user:read", "nobody", null, "404 missing"],
    ]));

  describe("org:create (users) and server:admin (server admins)", () =>
    table([
      ["alice", "org:create", null, null, "allow"],
      ["aliceSession", "org:create", null, null, "allow"],
      ["aliceApiRead", "org:create", null, null, "403 insufficient_scope"],
      ["aliceCondaOnly", "org:create", null, null, "403 insufficient_scope"],
      ["acmeToken", "org:create", null, null, "403 forbidden"], // organizations are created by users
      ["anon", "org:create", null, null, "401 auth_required"],
      ["root", "org:create", null, null, "allow"],
      ["root", "server:admin", null, null, "allow"],
      ["rootApiRead", "server:admin", null, null, "403 insufficient_scope"],
      ["alice", "server:admin", null, null, "403 forbidden"],
      ["aliceApiRead", "server:admin", null, null, "403 forbidden"],
      ["boss", "server:admin", null, null, "403 forbidden"],
      ["acmeToken", "server:admin", null, null, "403 forbidden"],
      ["anon", "server:admin", null, null, "401 auth_required"],
    ]));
});

describe("enforce and the bounds of new tokens", () => {
  test("enforce returns the principal to judge as, or throws the refusal", () => {
    assert.equal(enforce(authorize(P.alicePypiOnly, C, resourceOf(C, alice, "pub"))).account, null);
    assert.equal(enforce(authorize(P.alice, C, resourceOf(C, alice, "secret"))), P.alice);
    assert.throws(() => enforce(authorize(P.bob, C, resourceOf(C, alice, "secret"))), (e: unknown) => e instanceof GateError && e.status === 404);
  });

  const rows: [Who, string[], string[]][] = [
    ["alice", ["all"], []],
    ["aliceSession", ["all"], []], // a session creates what its account may
    ["aliceApiOnly", ["api:read", "api:write"], []],
    ["aliceApiOnly", ["conda:download"], ["conda:download"]],
    ["aliceApiOnly", ["all"], ["all"]],
    ["aliceApiRead", ["api"], ["api"]],
    ["aliceRepos", ["conda", "pypi:upload"], []],
    ["aliceCondaOnly", ["repos"], ["repos"]],
  ];
  for (const [who, requested, beyond] of rows) {
    test(`${who} creating ${requested.join(" ")} goes beyond by [${beyond.join(" ")}]`, () => assert.deepEqual(scopesBeyond(P[who], requested), beyond));
  }
});
