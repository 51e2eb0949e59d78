// The one access rule at the API's doors, end to end against the real stacks (issue 9,
// findings 2.1, 2.2, 2.6, 2.12, 2.13): whoever may not see an account's content gets, for
// anything of it, exactly what a missing thing gets (status, body, headers); whoever sees the
// content but may not act gets a 403 that says nothing about which names exist; members see
// only their own groups; a token never outlives the token that makes it nor TOKEN_MAX_AGE;
// nobody takes over a store folder by creating an account under its name, except a server
// admin on purpose.
//
// Every test runs on its own (`--test-name-pattern`) or in any order: the users,
// organizations and tokens it needs come from memoized fixtures.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, startStack, type Stack } from "../harness/gateway.js";
import { once, oncePer } from "../harness/once.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One answer as a client sees it; `headers` without those that differ on every request. */
interface Answer {
  status: number;
  text: string;
  body: Json | null;
  headers: Record<string, string>;
}

const PER_REQUEST_HEADERS = new Set(["date", "x-request-id"]);
const TOKEN_MAX_AGE = 86400;

const passwordOf = (user: string) => `${user}-password-1`;

/** Two answers are the same when status, headers (but date and x-request-id) and body are,
 * once the names that the request itself spelled are put in common (`names`: pairs of equal
 * length, so content-length must agree too). */
function assertSame(actual: Answer, expected: Answer, label: string, names: [string, string][] = []): void {
  let text = actual.text;
  for (const [from, to] of names) text = text.split(from).join(to);
  assert.equal(actual.status, expected.status, `${label}: status (${actual.text} vs ${expected.text})`);
  assert.equal(text, expected.text, `${label}: body`);
  assert.deepEqual(actual.headers, expected.headers, `${label}: headers`);
}

for (const kind of MATRIX) {
  describe(`the access rule at the API, ${kind.store} + ${kind.cache}`, () => {
    let s: Stack;
    /** Every token an answer carried: none may reach the gateway's log. */
    const secrets = new Set<string>();

    async function call(method: string, path: string, opts: { token?: string; body?: unknown; basic?: string } = {}): Promise<Answer> {
      const headers: Record<string, string> = {};
      if (opts.body !== undefined) headers["content-type"] = "application/json";
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic).toString("base64")}`;
      const res = await fetch(`${s.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      const kept: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        if (!PER_REQUEST_HEADERS.has(name)) kept[name] = value;
      });
      let body: Json | null = null;
      try {
        body = text ? (JSON.parse(text) as Json) : null;
      } catch {
        // an index page: compared as text
      }
      if (typeof body?.token === "string") secrets.add(body.token);
      return { status: res.status, text, body, headers: kept };
    }

    const api = (method: string, path: string, opts: { token?: string; body?: unknown; basic?: string } = {}) => call(method, `/api${path}`, opts);

    async function ok(answer: Promise<Answer>, status: number, what: string): Promise<Json> {
      const a = await answer;
      // a 5xx is the gateway's to explain: its warnings and errors go with the failure
      const why = a.status >= 500 ? `\n${s.logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-5).join("\n")}` : "";
      assert.equal(a.status, status, `${what}: ${a.text}${why}`);
      return a.body ?? {};
    }

    async function login(user: string, maxAgeSeconds?: number): Promise<Answer> {
      return api("POST", "/login", { basic: `${user}:${passwordOf(user)}`, body: maxAgeSeconds === undefined ? {} : { maxAgeSeconds } });
    }

    // ---- fixtures ------------------------------------------------------------------------

    /** A user signed up through the API (sign-up is open on these stacks). */
    const ensureUser = oncePer(async (user: string) => {
      await ok(api("POST", "/users", { body: { username: user, email: `${user}@example.org`, password: passwordOf(user) } }), 201, `sign-up of ${user}`);
    });

    /** A login token of the user (root: the server admin made in `before`). */
    const tokenOf = oncePer(async (user: string) => {
      if (user !== "root") await ensureUser(user);
      return (await ok(login(user), 201, `login of ${user}`)).token as string;
    });

    /** A token of `user` with only these scopes. */
    const scopedToken = oncePer(async (key: string) => {
      const [user, scopes] = key.split("|") as [string, string];
      const made = await ok(api("POST", "/tokens", { token: await tokenOf(user), body: { name: `only ${scopes.replace(/:/g, "-")}`, scopes } }), 201, `token of ${user}`);
      return made.token as string;
    });

    /** An organization of alice's: packages private by default, then each setting and group. */
    async function makeOrg(name: string, packages: Record<string, "public" | "private">, groups: { name: string; permission: string; packages: string[] | "*"; members: string[] }[]) {
      const alice = await tokenOf("alice");
      await ok(api("POST", "/orgs", { token: alice, body: { name } }), 201, `org ${name}`);
      await ok(api("PATCH", `/channels/${name}`, { token: alice, body: { defaultPrivacy: "private" } }), 200, `${name} private by default`);
      for (const [pkg, privacy] of Object.entries(packages)) await ok(api("PUT", `/channels/${name}/packages/${pkg}`, { token: alice, body: { privacy } }), 200, `${name}/${pkg} ${privacy}`);
      for (const g of groups) {
        await ok(api("POST", `/orgs/${name}/groups`, { token: alice, body: { name: g.name, permission: g.permission, packages: g.packages } }), 201, `group ${g.name}`);
        for (const member of g.members) {
          await ensureUser(member);
          await ok(api("PUT", `/orgs/${name}/groups/${g.name}/members/${member}`, { token: alice }), 200, `${member} in ${g.name}`);
        }
      }
    }

    // package names of one length, so that answers naming them have one length too
    const PUBLIC = "pub-pkg-1";
    const HIDDEN = "hid-pkg-1";
    const MISSING = "mis-pkg-1";

    /** shop: its content is visible to everyone (one public package). mia reads only the
     * public package, ned reads the hidden one, wes writes everything, kim administers the
     * public package only. */
    const ensureShop = once(() =>
      makeOrg("shop", { [PUBLIC]: "public", [HIDDEN]: "private" }, [
        { name: "pub", permission: "read", packages: [PUBLIC], members: ["mia"] },
        { name: "hid", permission: "read", packages: [HIDDEN], members: ["ned"] },
        { name: "all-writers", permission: "write", packages: "*", members: ["wes"] },
        { name: "pub-admins", permission: "admin", packages: [PUBLIC], members: ["kim"] },
      ]),
    );

    /** vault: private by default, nothing public, no store content: to anyone but its
     * admins it must look exactly like `ghost`, which does not exist. */
    const ensureVault = once(() => makeOrg("vault", { [HIDDEN]: "private" }, [{ name: "readers", permission: "read", packages: [HIDDEN], members: [] }]));
    const GHOST = "ghost";

    /** quiet: a user whose channel is private by default, with nothing public; `nouser` does
     * not exist (same length). */
    const ensureQuiet = once(async () => {
      await ok(api("PATCH", "/channels/quiet", { token: await tokenOf("quiet"), body: { defaultPrivacy: "private" } }), 200, "quiet private");
    });

    before(async () => {
      s = await startStack(kind, { SIGNUP: "open", TOKEN_MAX_AGE: String(TOKEN_MAX_AGE) });
      const root = await s.cli(["user", "--create", "root", "--email", "root@example.org", "--admin"], `${passwordOf("root")}\n`);
      assert.equal(root.code, 0, root.stderr);
    });

    after(async () => {
      if (!s) return;
      const logs = s.logs.join("\n");
      await s.stop();
      for (const secret of secrets) assert.ok(!logs.includes(secret), "a token appeared in the gateway's log");
    });

    // ---- 2.1 ------------------------------------------------------------------------------

    test("package privacy: whoever may not manage the package gets one answer for hidden, missing and public names", async () => {
      await ensureShop();
      const methods: [string, unknown][] = [
        ["GET", undefined],
        ["PUT", { privacy: "private" }],
        ["DELETE", undefined],
      ];
      // the content of shop is visible to each of these (a public package): 403, naming nothing
      const seeing: [string, string][] = [
        ["dave", await tokenOf("dave")],
        ["dave", await scopedToken("dave|conda:download")],
        ["mia", await tokenOf("mia")],
        ["ned", await tokenOf("ned")],
        ["wes", await tokenOf("wes")],
      ];
      for (const [who, token] of seeing) {
        for (const [method, body] of methods) {
          const label = `${method} by ${who}`;
          const hidden = await api(method, `/channels/shop/packages/${HIDDEN}`, { token, body });
          assert.equal(hidden.status, 403, `${label}: ${hidden.text}`);
          assert.deepEqual(hidden.body, { error: "forbidden", message: `${who} may not manage package privacy in shop` }, label);
          assertSame(await api(method, `/channels/shop/packages/${MISSING}`, { token, body }), hidden, `${label}, missing vs hidden`);
          assertSame(await api(method, `/channels/shop/packages/${PUBLIC}`, { token, body }), hidden, `${label}, public vs hidden`);
        }
      }
      // kim administers the public package only: hidden and missing names get her one 403
      const kim = await tokenOf("kim");
      for (const [method, body] of methods) {
        const hidden = await api(method, `/channels/shop/packages/${HIDDEN}`, { token: kim, body });
        assert.deepEqual([hidden.status, hidden.body], [403, { error: "forbidden", message: "kim may not manage package privacy in shop" }], `${method} by kim`);
        assertSame(await api(method, `/channels/shop/packages/${MISSING}`, { token: kim, body }), hidden, `${method} by kim, missing vs hidden`);
      }

      // vault's content is visible to none of these: the answer of a missing channel
      await ensureVault();
      const blind: [string, string][] = [
        ["dave", await tokenOf("dave")],
        ["dave (conda:download)", await scopedToken("dave|conda:download")],
        ["mia", await tokenOf("mia")],
      ];
      for (const [who, token] of blind) {
        for (const [method, body] of methods) {
          const label = `${method} on vault by ${who}`;
          const missingChannel = await api(method, `/channels/${GHOST}/packages/${HIDDEN}`, { token, body });
          assert.equal(missingChannel.status, 404, `${label}: ${missingChannel.text}`);
          assert.equal(missingChannel.body?.error, "not_found");
          for (const pkg of [HIDDEN, MISSING]) {
            const answer = await api(method, `/channels/vault/packages/${pkg}`, { token, body });
            assertSame(answer, missingChannel, `${label}, ${pkg} vs a missing channel`, [["vault", GHOST], [pkg, HIDDEN]]);
          }
        }
      }

      // nothing above changed anything
      const alice = await tokenOf("alice");
      const now = await Promise.all([HIDDEN, MISSING, PUBLIC].map((p) => ok(api("GET", `/channels/shop/packages/${p}`, { token: alice }), 200, `GET ${p} by alice`)));
      assert.deepEqual(
        now.map((v) => [v.package, v.privacy, v.own]),
        [
          [HIDDEN, "private", "private"],
          [MISSING, "private", null],
          [PUBLIC, "public", "public"],
        ],
      );
    });

    test("package privacy: admins of the package read and change it; a token without the api scopes is told which scope", async () => {
      await ensureShop();
      const alice = await tokenOf("alice");
      assert.deepEqual(await ok(api("GET", `/channels/shop/packages/${HIDDEN}`, { token: alice }), 200, "alice GET hidden"), { channel: "shop", package: HIDDEN, privacy: "private", own: "private" });
      const made = await ok(api("PUT", `/channels/shop/packages/${MISSING}`, { token: alice, body: { privacy: "public" } }), 200, "alice PUT missing");
      assert.deepEqual([made.privacy, made.own], ["public", "public"]);
      const cleared = await ok(api("DELETE", `/channels/shop/packages/${MISSING}`, { token: alice }), 200, "alice DELETE missing");
      assert.deepEqual([cleared.privacy, cleared.own], ["private", null]);
      // the server admin too
      assert.equal((await ok(api("GET", `/channels/shop/packages/${HIDDEN}`, { token: await tokenOf("root") }), 200, "root GET hidden")).privacy, "private");

      // kim: admin of the public package through her group
      const kim = await tokenOf("kim");
      assert.equal((await ok(api("GET", `/channels/shop/packages/${PUBLIC}`, { token: kim }), 200, "kim GET")).privacy, "public");
      try {
        assert.equal((await ok(api("PUT", `/channels/shop/packages/${PUBLIC}`, { token: kim, body: { privacy: "private" } }), 200, "kim PUT")).privacy, "private");
        assert.deepEqual((await ok(api("DELETE", `/channels/shop/packages/${PUBLIC}`, { token: kim }), 200, "kim DELETE")).own, null);
      } finally {
        await ok(api("PUT", `/channels/shop/packages/${PUBLIC}`, { token: alice, body: { privacy: "public" } }), 200, "shop's public package back");
      }

      // alice's account may manage every name; a conda:download token of hers may not: 403
      // naming the scope, the same for every name
      const narrow = await scopedToken("alice|conda:download");
      for (const [method, body, scope] of [
        ["GET", undefined, "api:read"],
        ["PUT", { privacy: "private" }, "api:write"],
        ["DELETE", undefined, "api:write"],
      ] as const) {
        const hidden = await api(method, `/channels/shop/packages/${HIDDEN}`, { token: narrow, body });
        assert.equal(hidden.status, 403, `${method}: ${hidden.text}`);
        assert.match(hidden.body?.message, new RegExp(`does not have the ${scope} scope`));
        assertSame(await api(method, `/channels/shop/packages/${MISSING}`, { token: narrow, body }), hidden, `${method} with a narrow token, missing vs hidden`);
        assertSame(await api(method, `/channels/shop/packages/${PUBLIC}`, { token: narrow, body }), hidden, `${method} with a narrow token, public vs hidden`);
      }
    });

    // ---- 2.2 ------------------------------------------------------------------------------

    test("groups: admins see every group; a member sees only their own groups, and no other group is there", async () => {
      await ensureShop();
      const all = [
        { name: "pub", permission: "read", packages: [PUBLIC], members: ["mia"] },
        { name: "hid", permission: "read", packages: [HIDDEN], members: ["ned"] },
        { name: "all-writers", permission: "write", packages: "*", members: ["wes"] },
        { name: "pub-admins", permission: "admin", packages: [PUBLIC], members: ["kim"] },
      ];
      for (const admin of ["alice", "root"]) {
        const token = await tokenOf(admin);
        assert.deepEqual((await ok(api("GET", "/orgs/shop", { token }), 200, `org for ${admin}`)).groups, all, admin);
        assert.deepEqual(await ok(api("GET", "/orgs/shop/groups", { token }), 200, `groups for ${admin}`), all, admin);
        assert.deepEqual(await ok(api("GET", "/orgs/shop/groups/hid", { token }), 200, `hid for ${admin}`), all[1], admin);
      }

      const members: [string, Json][] = [
        ["mia", all[0]!],
        ["ned", all[1]!],
        ["wes", all[2]!],
        ["kim", all[3]!],
      ];
      for (const [who, own] of members) {
        const token = await tokenOf(who);
        const org = await ok(api("GET", "/orgs/shop", { token }), 200, `org for ${who}`);
        assert.deepEqual(org.groups, [own], who);
        assert.deepEqual(await ok(api("GET", "/orgs/shop/groups", { token }), 200, `groups for ${who}`), [own], who);
        assert.deepEqual(await ok(api("GET", `/orgs/shop/groups/${own.name}`, { token }), 200, `own group of ${who}`), own, who);
        for (const other of all.filter((g) => g.name !== own.name)) {
          const text = JSON.stringify(org);
          assert.ok(!text.includes(`"${other.name}"`), `${who} sees the group ${other.name}`);
          // a group they are not in answers as one that does not exist
          const absent = "x".repeat(other.name.length);
          const notIn = await api("GET", `/orgs/shop/groups/${other.name}`, { token });
          assert.equal(notIn.status, 404, `${who}, group ${other.name}: ${notIn.text}`);
          assert.match(notIn.body?.message, /no group/);
          assertSame(notIn, await api("GET", `/orgs/shop/groups/${absent}`, { token }), `${who}, group ${other.name} vs a missing group`, [[other.name, absent]]);
        }
      }
      // mia may read only the public package: no other package name reaches her
      const mia = await tokenOf("mia");
      for (const path of ["/orgs/shop", "/orgs/shop/groups", "/orgs/shop/groups/pub"]) {
        assert.ok(!(await api("GET", path, { token: mia })).text.includes(HIDDEN), `${path} names a package mia may not see`);
      }

      // an outsider sees shop's content (a public package) but is no member: 403 for the
      // organization and for any group, existing or not
      const dave = await tokenOf("dave");
      const refused = await api("GET", "/orgs/shop", { token: dave });
      assert.deepEqual([refused.status, refused.body], [403, { error: "forbidden", message: "dave is not a member of shop" }]);
      assertSame(await api("GET", "/orgs/shop/groups", { token: dave }), refused, "dave, groups");
      assertSame(await api("GET", "/orgs/shop/groups/hid", { token: dave }), refused, "dave, group hid");
      assertSame(await api("GET", "/orgs/shop/groups/xyz", { token: dave }), refused, "dave, a missing group");
    });

    // ---- 2.13 -----------------------------------------------------------------------------

    test("enumeration: an account whose content the caller may not see answers as a missing one, at the API and the index doors", async () => {
      await Promise.all([ensureVault(), ensureQuiet()]);
      const dave = await tokenOf("dave");
      const org = (name: string) => `no such organization: ${name}`;
      const channel = (name: string) => `no such channel: ${name}`;
      const user = (name: string) => `no such user: ${name}`;
      const routes: [string, (x: string) => string, unknown, ((x: string) => string) | null][] = [
        ["GET", (x) => `/orgs/${x}`, undefined, org],
        ["GET", (x) => `/orgs/${x}/groups`, undefined, org],
        ["GET", (x) => `/orgs/${x}/groups/readers`, undefined, org],
        ["POST", (x) => `/orgs/${x}/groups`, { name: "mine", permission: "read" }, org],
        ["PUT", (x) => `/orgs/${x}/groups/readers/members/dave`, undefined, org],
        ["PUT", (x) => `/orgs/${x}/admins/dave`, undefined, org],
        ["GET", (x) => `/orgs/${x}/tokens`, undefined, org],
        ["POST", (x) => `/orgs/${x}/tokens`, { name: "mine", scopes: "conda:download" }, org],
        ["GET", (x) => `/channels/${x}`, undefined, channel],
        ["PATCH", (x) => `/channels/${x}`, { defaultPrivacy: "public" }, channel],
        // the package routes answer what they answer for a missing channel
        ["GET", (x) => `/channels/${x}/packages/${HIDDEN}`, undefined, null],
        ["PUT", (x) => `/channels/${x}/packages/${HIDDEN}`, { privacy: "public" }, null],
        ["DELETE", (x) => `/channels/${x}/packages/${HIDDEN}`, undefined, null],
      ];
      for (const [method, path, body, message] of routes) {
        const label = `${method} ${path("vault")} by dave`;
        const missing = await api(method, path(GHOST), { token: dave, body });
        assert.equal(missing.status, 404, `${label}: ${missing.text}`);
        assert.equal(missing.body?.error, "not_found", label);
        if (message) assert.equal(missing.body?.message, message(GHOST), label);
        assertSame(await api(method, path("vault"), { token: dave, body }), missing, `${label} vs ${GHOST}`, [["vault", GHOST]]);
      }
      // a user's channel the same: quiet exists, nouser does not
      const userRoutes: [string, (x: string) => string, unknown][] = [
        ["GET", (x) => `/users/${x}`, undefined],
        ["GET", (x) => `/users/${x}/tokens`, undefined],
        ["POST", (x) => `/users/${x}/tokens`, { name: "mine", scopes: "conda:download" }],
        ["GET", (x) => `/channels/${x}`, undefined],
      ];
      for (const [method, path, body] of userRoutes) {
        const label = `${method} ${path("quiet")} by dave`;
        const missing = await api(method, path("nouse"), { token: dave, body });
        assert.equal(missing.status, 404, `${label}: ${missing.text}`);
        assert.equal(missing.body?.message, path("x").startsWith("/channels") ? channel("nouse") : user("nouse"), label);
        assertSame(await api(method, path("quiet"), { token: dave, body }), missing, `${label} vs nouse`, [["quiet", "nouse"]]);
      }
      // anonymous callers: the API wants a token either way
      for (const path of ["/orgs/vault", "/channels/vault", `/channels/vault/packages/${HIDDEN}`]) {
        assertSame(await api("GET", path), await api("GET", path.replace("vault", GHOST)), `anonymous ${path}`, [["vault", GHOST]]);
      }
      // the index doors: PyPI's root and conda's repodata, anonymous and with dave's token
      for (const door of ["/{c}/simple/", "/{c}/noarch/repodata.json", `/t/${dave}/{c}/simple/`, `/t/${dave}/{c}/noarch/repodata.json`]) {
        const label = door.replace(dave, "<dave>");
        const missing = await call("GET", door.replace("{c}", GHOST));
        assert.equal(missing.status, 404, `${label}: ${missing.text}`);
        assertSame(await call("GET", door.replace("{c}", "vault")), missing, `${label}: vault vs ${GHOST}`, [["vault", GHOST]]);
      }
    });

    // ---- 2.6 ------------------------------------------------------------------------------

    test("token lifetimes: a token that expires in 60 s cannot make one that outlives it; TOKEN_MAX_AGE caps logins and tokens", async () => {
      await ensureShop();
      const short = await ok(login("alice", 60), 201, "a 60 s login");
      const parentExpiry = Date.parse(short.expiresAt);
      assert.ok(parentExpiry <= Date.now() + 60_000, `the 60 s login expires at ${short.expiresAt}`);
      for (const path of ["/tokens", "/orgs/shop/tokens"]) {
        const longer = await api("POST", path, { token: short.token, body: { name: "longer", scopes: "conda:download", maxAgeSeconds: 3600 } });
        assert.equal(longer.status, 400, `${path}: ${longer.text}`);
        assert.match(longer.body?.message, /outlive/);
        assert.ok(longer.body?.message.includes(short.expiresAt), `${path}: the refusal says until when (${short.expiresAt}): ${longer.body?.message}`);
        const listed = await ok(api("GET", path, { token: await tokenOf("alice") }), 200, `${path} listed`);
        assert.ok(!(listed as Json[]).some((t) => t.name === "longer"), `${path}: the refused token was made anyway`);
      }
      // without a lifetime, or with one within it: the new token expires no later
      for (const [name, maxAgeSeconds] of [
        ["bounded", undefined],
        ["within", 30],
      ] as const) {
        const made = await ok(api("POST", "/tokens", { token: short.token, body: { name, scopes: "conda:download", ...(maxAgeSeconds ? { maxAgeSeconds } : {}) } }), 201, name);
        assert.ok(Date.parse(made.expiresAt) <= parentExpiry, `${name} expires ${made.expiresAt}, after its parent (${short.expiresAt})`);
      }

      // the server's maximum: logins and tokens alike
      const tooLong = await login("alice", TOKEN_MAX_AGE + 1);
      assert.equal(tooLong.status, 400, tooLong.text);
      assert.match(tooLong.body?.message, new RegExp(`${TOKEN_MAX_AGE}`));
      assert.equal((await login("alice", 10 * 365 * 24 * 3600)).status, 400);
      const longest = await ok(login("alice", TOKEN_MAX_AGE), 201, "a login of TOKEN_MAX_AGE");
      assert.ok(Date.parse(longest.expiresAt) <= Date.now() + TOKEN_MAX_AGE * 1000);
      const plain = await ok(login("alice"), 201, "a login without maxAgeSeconds");
      assert.ok(Date.parse(plain.expiresAt) <= Date.now() + TOKEN_MAX_AGE * 1000, `a login expires ${plain.expiresAt}, beyond TOKEN_MAX_AGE`);
      const beyond = await api("POST", "/tokens", { token: plain.token, body: { name: "beyond", scopes: "conda:download", maxAgeSeconds: TOKEN_MAX_AGE + 1 } });
      assert.equal(beyond.status, 400, beyond.text);
      const capped = await ok(api("POST", "/tokens", { token: longest.token, body: { name: "capped", scopes: "conda:download" } }), 201, "a token without maxAgeSeconds");
      assert.ok(Date.parse(capped.expiresAt) <= Date.now() + TOKEN_MAX_AGE * 1000, `a token expires ${capped.expiresAt}, beyond TOKEN_MAX_AGE`);
    });

    // ---- 2.12 -----------------------------------------------------------------------------

    test("store folders without an account: nobody signs up or creates an org over them; a server admin adopts them on purpose", async () => {
      for (const channel of ["orphan-u", "orphan-o"]) await s.seedConda({ channel, packages: [{ name: `${channel}-pkg`, version: "1.0" }] });
      const dave = await tokenOf("dave");
      const signup = (username: string, extra: Json = {}) => ({ username, email: `${username}@example.org`, password: passwordOf(username), ...extra });
      const taken = (a: Answer, name: string, label: string) => {
        assert.equal(a.status, 409, `${label}: ${a.text}`);
        assert.equal(a.body?.error, "conflict", label);
        assert.match(a.body?.message, new RegExp(`store already holds content under ${name}/`), label);
        assert.match(a.body?.message, /adopt/, label);
      };
      // open sign-up, and any user creating an organization: 409 saying why
      taken(await api("POST", "/users", { body: signup("orphan-u") }), "orphan-u", "sign-up");
      taken(await api("POST", "/users", { body: signup("orphan-o"), token: dave }), "orphan-o", "sign-up by a user");
      taken(await api("POST", "/orgs", { token: dave, body: { name: "orphan-o" } }), "orphan-o", "org by a user");
      taken(await api("POST", "/orgs", { token: dave, body: { name: "orphan-u" } }), "orphan-u", "org by a user");
      // adopting is a server admin's: a user is refused (403), an anonymous caller asked for a token (401)
      for (const [label, answer] of [
        ["sign-up with adopt by a user", await api("POST", "/users", { token: dave, body: signup("orphan-u", { adopt: true }) })],
        ["org with adopt by a user", await api("POST", "/orgs", { token: dave, body: { name: "orphan-o", adopt: true } })],
      ] as const) {
        assert.equal(answer.status, 403, `${label}: ${answer.text}`);
        assert.match(answer.body?.message, /server admin/, label);
      }
      assert.equal((await api("POST", "/users", { body: signup("orphan-u", { adopt: true }) })).status, 401);
      // nothing was created
      const root = await tokenOf("root");
      assert.equal((await api("GET", "/users/orphan-u", { token: root })).status, 404);
      assert.equal((await api("GET", "/orgs/orphan-o", { token: root })).status, 404);
      // a name without content is not affected
      assert.equal((await api("POST", "/orgs", { token: dave, body: { name: "fresh-org" } })).status, 201);

      // the server admin adopts: the user's channel is the folder's content
      const user = await ok(api("POST", "/users", { token: root, body: signup("orphan-u", { adopt: true }) }), 201, "adopting a user");
      assert.equal(user.name, "orphan-u");
      await ok(login("orphan-u"), 201, "the adopted user logs in");
      const rd = await call("GET", "/orphan-u/noarch/repodata.json");
      assert.equal(rd.status, 200, rd.text);
      assert.deepEqual(Object.values((rd.body?.["packages.conda"] ?? {}) as Record<string, { name: string }>).map((p) => p.name), ["orphan-u-pkg"]);
      const org = await ok(api("POST", "/orgs", { token: root, body: { name: "orphan-o", adopt: true } }), 201, "adopting an org");
      assert.deepEqual([org.name, org.admins], ["orphan-o", ["root"]]);
      // and once the account exists, the name is taken as any other
      assert.match((await api("POST", "/users", { body: signup("orphan-u") })).body?.message, /taken/);
    });
  });
}
