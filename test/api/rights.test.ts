// Who may do what through the API, as a table: scopes a new token may hold, who may issue
// tokens for whom, who manages an organization.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { canManage, isMemberOf, needsOf, scopesBeyond, tokenIssueRefusal, type Actor } from "../../src/api/rights.js";
import type { Account } from "../../src/access/model.js";

const user = (name: string, extra: Partial<Account> = {}): Account => ({ name, kind: "user", createdAt: "", defaultPrivacy: "public", packages: {}, revision: 1, ...extra });
const acme: Account = {
  name: "acme",
  kind: "org",
  createdAt: "",
  admins: ["boss"],
  groups: [
    { name: "readers", permission: "read", packages: ["lib"], members: ["rita"] },
    { name: "owners", permission: "admin", packages: "*", members: ["olga"] },
    { name: "writers", permission: "write", packages: "*", members: ["wade"] },
  ],
  defaultPrivacy: "private",
  packages: {},
  revision: 3,
};

function actor(account: Account, scopes: string[] = ["all"]): Actor {
  return {
    principal: { token: { id: "x", name: "t", expiresAt: "" }, account: account.name, accountKind: account.kind, scopes },
    account,
  };
}

describe("needsOf: the leaves a scope reaches", () => {
  const cases: [string, string[]][] = [
    ["all", ["conda:download", "pypi:download", "pypi:upload", "api:read", "api:write", "api:modify-group"]],
    ["repos", ["conda:download", "pypi:download", "pypi:upload"]],
    ["api", ["api:read", "api:write", "api:modify-group"]],
    ["api:write", ["api:read", "api:write"]],
    ["conda", ["conda:download"]],
    ["bogus", []],
  ];
  for (const [scope, needs] of cases) test(scope, () => assert.deepEqual(needsOf(scope).sort(), needs.sort()));
});

describe("scopesBeyond: a token never holds more than the token creating it", () => {
  const cases: [string[], string[], string[]][] = [
    // creator's scopes, requested, refused
    [["all"], ["all"], []],
    [["all"], ["conda:download", "api"], []],
    [["api:read"], ["all"], ["all"]],
    [["api:write", "conda:download"], ["all"], ["all"]],
    [["api:write", "conda:download"], ["conda", "api:read"], []],
    [["api:write", "conda:download"], ["pypi:download", "api:write"], ["pypi:download"]],
    [["api:write"], ["api"], ["api"]],
    [["repos", "api"], ["pypi:upload", "api:modify-group"], []],
    [["pypi"], ["repos"], ["repos"]],
  ];
  for (const [creator, requested, refused] of cases) {
    test(`${creator.join(" ")} → ${requested.join(" ")}`, () => assert.deepEqual(scopesBeyond(creator, requested), refused));
  }
});

describe("tokenIssueRefusal: for whom a caller may issue tokens", () => {
  const root = user("root", { serverAdmin: true });
  const cases: [string, Actor, Account, string[], RegExp | null][] = [
    ["a user for itself", actor(user("rita")), user("rita"), ["all"], null],
    ["a read member for the org", actor(user("rita")), acme, ["conda:download"], /only admins of acme/],
    ["a write member for the org", actor(user("wade")), acme, ["conda:download"], /only admins/],
    ["an org admin for the org", actor(user("boss")), acme, ["all"], null],
    ["an admin-group member for the org", actor(user("olga")), acme, ["repos"], null],
    ["the org's own token for the org", actor(acme, ["api:write", "conda:download"]), acme, ["conda:download"], null],
    ["the org's own token beyond its scopes", actor(acme, ["api:write", "conda:download"]), acme, ["pypi:upload"], /beyond/],
    ["an org admin beyond its token", actor(user("boss"), ["api:write"]), acme, ["conda:download"], /conda:download is beyond/],
    ["a user for another user", actor(user("rita")), user("wade"), ["conda:download"], /only wade/],
    ["a server admin for another user", actor(root), user("wade"), ["conda:download"], null],
    ["a server admin for any org", actor(root), acme, ["all"], null],
  ];
  for (const [what, who, target, scopes, refusal] of cases) {
    test(what, () => {
      const got = tokenIssueRefusal(who, target, scopes);
      if (refusal === null) assert.equal(got, null);
      else assert.match(got ?? "", refusal);
    });
  }
});

describe("managing and reading an organization", () => {
  const cases: [string, Actor, boolean, boolean][] = [
    // who, manages, member
    ["an admin", actor(user("boss")), true, true],
    ["an admin-group member", actor(user("olga")), true, true],
    ["a write member", actor(user("wade")), false, true],
    ["a read member of listed packages", actor(user("rita")), false, true],
    ["an outsider", actor(user("zed")), false, false],
    ["the org's token", actor(acme), true, true],
    ["a server admin", actor(user("root", { serverAdmin: true })), true, true],
  ];
  for (const [who, a, manages, member] of cases) {
    test(who, () => {
      assert.equal(canManage(a, acme), manages);
      assert.equal(isMemberOf(a, acme), member);
    });
  }
});
