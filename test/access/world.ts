// The access tests' world: a few accounts that between them hold every case the access
// model knows (a user channel, an organization with groups of every shape, a channel with
// nothing public, one with nothing private, a user document carrying org fields it must not
// use), and the principals that act on them. Shared by policy.test.ts and authorize.test.ts.
import { ANONYMOUS, type Account, type Principal } from "../../src/access/model.js";

// alice: a user channel, public by default, one private package.
export const alice: Account = {
  name: "alice",
  kind: "user",
  createdAt: "2026-01-01T00:00:00Z",
  defaultPrivacy: "public",
  packages: { secret: "private", pub: "public" },
  revision: 1,
};
// acme: an organization, private by default; "open" is public. tool, lib, core: private.
export const acme: Account = {
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
export const vault: Account = {
  name: "vault",
  kind: "org",
  createdAt: "2026-01-01T00:00:00Z",
  admins: ["boss"],
  groups: [],
  defaultPrivacy: "private",
  packages: {},
  revision: 3,
};
// bunker: an organization with nothing public whose one group lists one package for vic.
export const bunker: Account = {
  ...vault,
  name: "bunker",
  groups: [{ name: "safe", permission: "read", packages: ["gold"], members: ["vic"] }],
  revision: 4,
};
// free: a user channel with nothing private.
export const free: Account = { name: "free", kind: "user", createdAt: "2026-01-01T00:00:00Z", defaultPrivacy: "public", packages: {}, revision: 2 };
// mallory: a user document that (wrongly) carries org fields; they must grant nothing.
export const mallory: Account = { ...alice, name: "mallory", admins: ["bob"], groups: [{ name: "g", permission: "admin", packages: "*", members: ["bob"] }] };

export const ALL = ["all"];
export const user = (name: string, scopes: string[] = ALL): Principal => ({
  token: { id: `id-${name}`, name: "t", expiresAt: "2027-01-01T00:00:00Z" },
  account: name,
  accountKind: "user",
  scopes,
});
export const orgToken = (name: string, scopes: string[] = ALL): Principal => ({ ...user(name, scopes), accountKind: "org" });
const serverAdmin = (name: string, scopes: string[] = ALL): Principal => ({ ...user(name, scopes), serverAdmin: true });
/** A web session (or the CLI's local verbs): the account's rights, no token, no scopes. */
const session = (name: string): Principal => ({ token: null, account: name, accountKind: "user", scopes: [] });

export const P = {
  anon: ANONYMOUS,
  alice: user("alice"),
  bob: user("bob"),
  acmeToken: orgToken("acme"),
  boss: user("boss"),
  rita: user("rita"), // readers: read on *
  wade: user("wade"), // writers: write on *
  dana: user("dana"), // devs: write on tool; both: admin on tool
  dora: user("dora"), // devs: write on tool
  vic: user("vic"), // viewers: read on tool, lib; bunker's safe: read on gold
  lia: user("lia"), // libfans + toolfans: read on lib and tool, through two groups
  olga: user("olga"), // openfans: read on open (already public)
  ritaAsOrg: orgToken("rita"), // an org named like a group member is not that member
  root: serverAdmin("root"), // a server admin: every right on every account
  aliceCondaOnly: user("alice", ["conda:download"]),
  alicePypiOnly: user("alice", ["pypi:download"]),
  aliceApiOnly: user("alice", ["api"]),
  aliceApiRead: user("alice", ["api:read"]),
  aliceUploadOnly: user("alice", ["pypi:upload"]),
  alicePypi: user("alice", ["pypi"]),
  aliceRepos: user("alice", ["repos"]),
  aliceConda: user("alice", ["conda"]),
  aliceSession: session("alice"),
  bobApiOnly: user("bob", ["api"]),
  bobPypiOnly: user("bob", ["pypi:download"]),
  bobUpload: user("bob", ["pypi:upload"]),
  bobCondaOnly: user("bob", ["conda:download"]),
  bossApiOnly: user("boss", ["api"]),
  bossApiRead: user("boss", ["api:read"]),
  bossModifyGroup: user("boss", ["api:modify-group"]),
  bossReposOnly: user("boss", ["repos"]),
  acmeTokenApiOnly: orgToken("acme", ["api"]),
  acmeTokenCondaOnly: orgToken("acme", ["conda:download"]),
  ritaPypiOnly: user("rita", ["pypi:download"]),
  vicPypiOnly: user("vic", ["pypi:download"]),
  rootCondaOnly: serverAdmin("root", ["conda:download"]),
  rootApiRead: serverAdmin("root", ["api:read"]),
};
export type Who = keyof typeof P;
