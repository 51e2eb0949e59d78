// The control plane end to end: the /api and the `pkgate` command as its client, against
// real redis-server and s3rver, with two more gateway processes on the same Redis and
// bucket. An org with two admins and a read group on one private package; the member's
// token downloads that package and nothing else private; removing the member is enforced
// by the other replica within a second; tokens never exceed their creator; passwords are
// checked, hashed and rate-limited across replicas; parallel writes on both replicas lose
// nothing.
//
// Every test runs on its own (`--test-name-pattern`) as well as in any order: what several
// tests share (the users, the `acme` organization built with the CLI, logins) comes from
// memoized fixtures that any test calls, and a test that changes shared state either works
// on an organization or user of its own or puts the state back.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stat, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";
import type { BuiltChannel } from "../fixtures/conda-channel.js";
import { once, oncePer } from "../harness/once.js";

type Replica = Awaited<ReturnType<Stack["spawnReplica"]>>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PASSWORDS: Record<string, string> = {
  root: "root-password-1",
  alice: "alice-password-1",
  bob: "bob-password-1",
  carol: "carol-password-1",
  dave: "dave-password-1",
  erin: "erin-password-1",
  // frank changes his password, gina's is reset: nobody else logs in as them
  frank: "frank-password-1",
  gina: "gina-password-1",
};

describe("the API and the CLI on s3 + redis, with two replicas", () => {
  let s: Stack;
  let a: Replica;
  let b: Replica;
  const run = randomBytes(6).toString("hex");
  /** Each login of the CLI has a file of its own; this one never exists: no login. */
  const configPath = (name: string) => join(tmpdir(), `pkgate-login-${run}-${name}.json`);
  const NO_LOGIN = configPath("none");
  const configs = new Set<string>();
  const secrets: string[] = Object.values(PASSWORDS);

  /** One API call; `from` picks the replica, `as` the X-Forwarded-For address (the
   * gateways trust 127.0.0.1 as a proxy, so each test can be its own client). */
  async function api(method: string, path: string, opts: { token?: string; body?: unknown; basic?: string; from?: Replica | Stack; as?: string } = {}) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.basic) headers.authorization = `Basic ${Buffer.from(opts.basic).toString("base64")}`;
    if (opts.as) headers["x-forwarded-for"] = opts.as;
    const res = await fetch(`${(opts.from ?? s).url}/api${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json, headers: res.headers };
  }

  /** The CLI with the login stored in `config` (none by default: it then acts on the store,
   * or on `--site` anonymously). The stack's environment is what the CLI reads. */
  async function cli(args: string[], stdin = "", config: string = NO_LOGIN) {
    configs.add(config);
    s.env.PKGATE_CONFIG = config;
    try {
      return await s.cli(args, stdin);
    } finally {
      s.env.PKGATE_CONFIG = NO_LOGIN;
    }
  }

  async function loginAs(user: string, from: Replica | Stack = s): Promise<string> {
    const res = await api("POST", "/login", { basic: `${user}:${PASSWORDS[user]}`, body: { hostname: "test" }, from, as: `10.9.${user.length}.1` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    secrets.push(res.body.token);
    return res.body.token as string;
  }

  // ---- fixtures: shared state, made once by whichever test asks first -------------------

  /** Every user of PASSWORDS but root, signed up through the API on both replicas. */
  const ensureUsers = once(async () => {
    for (const user of Object.keys(PASSWORDS).filter((u) => u !== "root")) {
      const res = await api("POST", "/users", { body: { username: user, email: `${user}@example.org`, password: PASSWORDS[user] }, from: user.length % 2 ? a : b });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.passwordHash, undefined);
    }
  });

  /** A login token of `user` (one per user, for tests that only use it). */
  const tokenOf = oncePer(async (user: string) => {
    await ensureUsers();
    return loginAs(user);
  });

  /** The CLI logged in as alice on replica a: the config file's path. */
  const aliceCli = once(async () => cliLogin("alice", "alice"));

  async function cliLogin(user: string, name: string): Promise<string> {
    await ensureUsers();
    const config = configPath(name);
    const login = await cli(["login", "--site", a.url, "--username", user], `${PASSWORDS[user]}\n`, config);
    assert.equal(login.code, 0, login.stderr);
    secrets.push(JSON.parse(await readFile(config, "utf8")).token);
    return config;
  }

  /** The organization acme, built with the CLI as alice, then its channel published:
   * admins alice and bob; pub-lib public, priv-a and priv-b private; the group readers (read
   * on priv-a) with carol. Tests that change it put it back. */
  const ensureAcme = once(async (): Promise<BuiltChannel> => {
    const config = await aliceCli();
    // the account first: a store folder with content and no account is a server admin's to adopt
    const org = await cli(["org", "--create", "acme"], "", config);
    assert.equal(org.code, 0, org.stderr);
    const built = await s.seedConda({
      channel: "acme",
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64" },
        { name: "priv-a", version: "1.0", subdir: "linux-64" },
        { name: "priv-b", version: "1.0", subdir: "linux-64" },
      ],
    });
    const steps: string[][] = [
      ["org", "acme", "--add-admin", "bob"],
      ["package", "--private", "acme/priv-a"],
      ["package", "--private", "acme/priv-b"],
      ["group", "--create", "acme/readers", "--permission", "read", "--packages", "priv-a"],
      ["group", "acme/readers", "--add-member", "carol"],
    ];
    for (const args of steps) {
      const r = await cli(args, "", config);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    }
    return built;
  });

  /** carol's `laptop` token (conda:download), made from replica b. */
  const carolDownloadToken = once(async () => {
    await ensureAcme();
    const carol = await loginAs("carol", b);
    const made = await api("POST", "/tokens", { token: carol, body: { name: "laptop", scopes: "conda:download" }, from: b });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    secrets.push(made.body.token);
    return made.body.token as string;
  });

  /** An organization of one test's own, created by alice through the API, with these
   * further admins. */
  async function ownOrg(name: string, admins: string[] = []): Promise<void> {
    const alice = await tokenOf("alice");
    const made = await api("POST", "/orgs", { token: alice, body: { name } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    for (const user of admins) assert.equal((await api("PUT", `/orgs/${name}/admins/${user}`, { token: alice })).status, 200);
  }

  /** The path of one of acme's packages. */
  const url = async (name: string) => `/acme/${(await ensureAcme()).packages.find((p) => p.name === name)!.url}`;

  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" }, { TRUST_PROXY: "127.0.0.1", PKGATE_CONFIG: NO_LOGIN, SIGNUP: "open" });
    // bootstrap as an ops team does: the first server admin through the local CLI
    const root = await s.cli(["user", "--create", "root", "--email", "root@example.org", "--admin"], `${PASSWORDS.root}\n`);
    assert.equal(root.code, 0, root.stderr);
    [a, b] = await Promise.all([s.spawnReplica(), s.spawnReplica()]);
  });

  after(async () => {
    for (const config of configs) await rm(config, { force: true });
    if (!s) return;
    const everything = [s.logs.join("\n"), a?.output() ?? "", b?.output() ?? ""].join("\n");
    for (const secret of secrets) assert.ok(!everything.includes(secret), "a token or password appeared in a log");
    await s.stop();
  });

  test("sign-up validates each field and refuses passwords under 7 characters", async () => {
    const cases: [Json, number, RegExp][] = [
      [{ username: "shorty", email: "s@example.org", password: "abc123" }, 400, /password.*at least 7/],
      [{ username: "shorty", email: "s@example.org", password: "ab" }, 400, /password/],
      [{ username: "Bad Name", email: "s@example.org", password: "long-enough" }, 400, /username/],
      [{ username: "api", email: "s@example.org", password: "long-enough" }, 400, /username/],
      [{ username: "shorty", email: "nope", password: "long-enough" }, 400, /email/],
      [{ username: "shorty", email: "s@example.org" }, 400, /"password" is required/],
      [{ username: "shorty", email: "s@example.org", password: "long-enough", role: "x" }, 400, /unknown field "role"/],
      [{ username: "root", email: "s@example.org", password: "long-enough" }, 409, /taken/],
      [{ username: "shorty", email: "s@example.org", password: "long-enough", serverAdmin: true }, 401, /token/],
    ];
    for (const [body, status, message] of cases) {
      const res = await api("POST", "/users", { body });
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(res.body.message, message);
      assert.ok(!JSON.stringify(res.body).includes("abc123"), "the password is never echoed");
    }
    // the CLI says the same, and creates nothing
    const viaCli = await cli(["user", "--create", "shorty", "--email", "s@example.org", "--site", a.url], "abc123\n");
    assert.equal(viaCli.code, 1);
    assert.match(viaCli.stderr, /at least 7 characters/);
    assert.equal((await api("GET", "/users/shorty", { token: await loginAs("root") })).status, 404);
    // valid sign-ups on either replica: 201, and the answer never carries the hash
    await ensureUsers();
  });

  test("pkgate login stores site and token in a 0600 file; whoami reads it", async () => {
    await ensureUsers();
    const config = configPath("login-test");
    const login = await cli(["login", "--site", a.url, "--username", "alice"], `${PASSWORDS.alice}\n`, config);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /logged in to .* as alice/);
    const st = await stat(config);
    assert.equal(st.mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(config, "utf8"));
    assert.equal(saved.site, a.url);
    assert.match(saved.token, /^pkg-[A-Za-z0-9]{40}$/);
    secrets.push(saved.token);
    assert.ok(!login.stdout.includes(saved.token), "login never prints the token");
    const who = await cli(["whoami", "--json"], "", config);
    assert.equal(who.code, 0, who.stderr);
    const me = JSON.parse(who.stdout);
    assert.equal(me.name, "alice");
    assert.deepEqual(me.token.scopes, ["all"]);
    assert.match(me.token.name, /^login-/);
    const wrong = await cli(["login", "--site", b.url, "--username", "alice"], "not-her-password\n", config);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong user name or password/);
    assert.equal(JSON.parse(await readFile(config, "utf8")).token, saved.token, "a failed login keeps the stored one");
  });

  test("an org with two admins and a read group on one private package, built with the CLI", async () => {
    await ensureAcme();
    const config = await aliceCli();
    const org = JSON.parse((await cli(["org", "acme", "--json"], "", config)).stdout);
    assert.deepEqual(org.admins, ["alice", "bob"]);
    assert.deepEqual(org.groups, [{ name: "readers", permission: "read", packages: ["priv-a"], members: ["carol"] }]);
    const human = await cli(["group", "--list", "acme"], "", config);
    assert.match(human.stdout, /readers\tread on priv-a\tmembers: carol/);
    // --local still acts on the store directly, as before any login
    const local = await cli(["channel", "--show", "acme", "--local", "--json"], "", config);
    assert.equal(local.code, 0, local.stderr);
    assert.deepEqual(JSON.parse(local.stdout).packages, { "priv-a": "private", "priv-b": "private" });
  });

  test("the member's token downloads that package and not the other private one", async () => {
    const carol = await carolDownloadToken();
    for (const r of [a, b]) {
      assert.equal((await fetch(`${r.url}/t/${carol}${await url("priv-a")}`)).status, 200);
      assert.equal((await fetch(`${r.url}/t/${carol}${await url("priv-b")}`)).status, 404);
      const rd = await (await fetch(`${r.url}/t/${carol}/acme/linux-64/repodata.json`)).json();
      assert.deepEqual(Object.values(rd["packages.conda"] as Record<string, { name: string }>).map((p) => p.name).sort(), ["priv-a", "pub-lib"]);
    }
  });

  test("removing the member makes their token fail on the other replica within 1 s", async () => {
    const carol = await carolDownloadToken();
    const alice = await tokenOf("alice");
    const path = `/t/${carol}${await url("priv-a")}`;
    // warm both replicas' in-process copies of the org document
    for (let i = 0; i < 2; i++) for (const r of [a, b]) assert.equal((await fetch(r.url + path, { method: "HEAD" })).status, 200);
    const res = await api("DELETE", "/orgs/acme/groups/readers/members/carol", { token: alice, from: a });
    try {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.members, []);
      const removedAt = Date.now();
      let status = 0;
      while (Date.now() - removedAt < 1000) {
        status = (await fetch(b.url + path, { method: "HEAD" })).status;
        if (status === 404) break;
      }
      assert.equal(status, 404, "replica b still served the package a second after the removal");
      assert.equal((await fetch(a.url + path, { method: "HEAD" })).status, 404);
    } finally {
      // and back: acme is shared
      assert.equal((await api("PUT", "/orgs/acme/groups/readers/members/carol", { token: alice, from: b })).status, 200);
    }
  });

  test("the last admin cannot leave; with two, one may", async () => {
    await ownOrg("lastco", ["bob"]);
    const alice = await tokenOf("alice");
    const bob = await loginAs("bob", a);
    assert.equal((await api("DELETE", "/orgs/lastco/admins/alice", { token: bob, from: b })).status, 200);
    const last = await api("DELETE", "/orgs/lastco/admins/bob", { token: bob, from: a });
    assert.equal(last.status, 409);
    assert.match(last.body.message, /last admin/);
    // alice is no admin now: she may not manage lastco (whose content she sees: 403)
    const refused = await api("POST", "/orgs/lastco/groups", { token: alice, body: { name: "x", permission: "read" } });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /alice is not an admin of lastco/);
    const back = await api("PUT", "/orgs/lastco/admins/alice", { token: bob, from: b });
    assert.deepEqual(back.body.admins, ["bob", "alice"]);
  });

  test("a token never holds more than its creator may do or the token that creates it", async () => {
    await ensureAcme();
    const carol = await loginAs("carol");
    const dave = await loginAs("dave");
    const mk = async (token: string, path: string, scopes: string, name = `t-${randomBytes(3).toString("hex")}`) => {
      const res = await api("POST", path, { token, body: { name, scopes } });
      if (res.body?.token) secrets.push(res.body.token);
      return res;
    };
    const readOnly = (await mk(carol, "/tokens", "api:read")).body.token as string;
    const writer = (await mk(carol, "/tokens", "api:write conda:download")).body.token as string;
    const cases: [string, string, string, string, number, RegExp | null][] = [
      // who, token, path, scopes → status
      ["a read member for the org", carol, "/orgs/acme/tokens", "conda:download", 403, /carol may not manage the tokens of acme/],
      ["an outsider for the org", dave, "/orgs/acme/tokens", "conda:download", 403, /dave may not manage the tokens of acme/],
      ["a user for another user", dave, "/users/carol/tokens", "conda:download", 403, /dave may not manage the tokens of carol/],
      ["an api:read token, anything", readOnly, "/tokens", "conda:download", 403, /api:write scope/],
      ["an api:write token asking for all", writer, "/tokens", "all", 403, /beyond this token's scopes/],
      ["an api:write token asking for pypi:upload", writer, "/tokens", "pypi:upload", 403, /pypi:upload is beyond/],
      ["an api:write token asking for api (modify-group)", writer, "/tokens", "api", 403, /beyond/],
      ["an api:write token, within its scopes", writer, "/tokens", "conda:download api:read", 201, null],
      ["an org admin for the org", await tokenOf("alice"), "/orgs/acme/tokens", "all", 201, null],
      ["the server admin for a user", await loginAs("root"), "/users/carol/tokens", "conda:download", 201, null],
      ["unknown scope", carol, "/tokens", "conda:everything", 400, /unknown scope/],
    ];
    for (const [who, token, path, scopes, status, message] of cases) {
      const res = await mk(token, path, scopes);
      assert.equal(res.status, status, `${who}: ${JSON.stringify(res.body)}`);
      if (message) assert.match(res.body.message, message, who);
    }
    // scope checks on other operations: api:read reads, api:write without modify-group cannot touch groups
    assert.equal((await api("GET", "/user", { token: readOnly })).status, 200);
    // carol is no admin of acme (whose content she sees): 403, whatever the token's scopes
    const notAdmin = await api("PUT", "/orgs/acme/groups/readers/members/dave", { token: readOnly });
    assert.equal(notAdmin.status, 403);
    assert.match(notAdmin.body.message, /carol is not an admin of acme/);
    const noGroup = (await mk(await tokenOf("alice"), "/tokens", "api:write")).body.token as string;
    const refused = await api("PUT", "/orgs/acme/groups/readers/members/dave", { token: noGroup });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /api:modify-group/);
    // the same through the CLI: the refusal is printed, no token is
    const viaCli = await cli(["auth", "--create", "--name", "x", "--scopes", "conda", "--org", "acme", "--site", b.url], "", await aliceCli());
    assert.equal(viaCli.code, 1, "the stored login is for replica a: against b the CLI is anonymous");
    assert.match(viaCli.stderr, /needs a token/);
  });

  test("wrong passwords are rate-limited per account, across replicas", async () => {
    await ensureUsers();
    for (let i = 0; i < 5; i++) {
      const res = await api("POST", "/login", { basic: "erin:wrong-password", from: i % 2 ? a : b, as: "10.1.0.1" });
      assert.equal(res.status, 401);
    }
    // the right password from another address: the account is locked for the window
    const locked = await api("POST", "/login", { basic: `erin:${PASSWORDS.erin}`, from: a, as: "10.1.0.2" });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get("retry-after")) > 0);
    assert.match(locked.body.message, /this account/);
    // another account from the same address is not affected
    const dave = await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: b, as: "10.1.0.2" });
    assert.equal(dave.status, 201);
    secrets.push(dave.body.token);
  });

  test("wrong passwords are rate-limited per address, whatever the account", async () => {
    await ensureUsers();
    const guesses = Array.from({ length: 20 }, (_, i) => api("POST", "/login", { basic: `ghost-${i}:guess-${i}-xx`, from: i % 2 ? a : b, as: "10.2.0.1" }));
    for (const res of await Promise.all(guesses)) assert.equal(res.status, 401);
    const blocked = await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: a, as: "10.2.0.1" });
    assert.equal(blocked.status, 429);
    assert.match(blocked.body.message, /this address/);
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    const dave = await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: b, as: "10.2.0.2" });
    assert.equal(dave.status, 201);
    secrets.push(dave.body.token);
  });

  test("password change needs the current password; a server admin resets", async () => {
    const frank = await tokenOf("frank");
    const cases: [Json, number][] = [
      [{ password: "short" }, 400],
      [{ password: "new-password-2" }, 400],
      [{ password: "new-password-2", currentPassword: "not-it-at-all" }, 403],
      [{ password: "new-password-2", currentPassword: PASSWORDS.frank }, 204],
    ];
    for (const [body, status] of cases) assert.equal((await api("PUT", "/users/frank/password", { token: frank, body })).status, status, JSON.stringify(body));
    secrets.push("new-password-2");
    PASSWORDS.frank = "new-password-2";
    await loginAs("frank");
    assert.equal((await api("PUT", "/users/carol/password", { token: frank, body: { password: "hijacked-1" } })).status, 403);
    const root = await loginAs("root");
    assert.equal((await api("PUT", "/users/frank/password", { token: root, body: { password: "reset-by-root" } })).status, 204);
    PASSWORDS.frank = "reset-by-root";
    secrets.push("reset-by-root");
    await loginAs("frank");
  });

  test("20 parallel member adds and 10 token creations split across both replicas lose nothing", async () => {
    await ownOrg("parco");
    const alice = await tokenOf("alice");
    const readers = await api("POST", "/orgs/parco/groups", { token: alice, body: { name: "readers", permission: "read", packages: ["priv-a"] } });
    assert.equal(readers.status, 201, JSON.stringify(readers.body));
    assert.equal((await api("PUT", "/orgs/parco/groups/readers/members/carol", { token: alice })).status, 200);
    const users = Array.from({ length: 20 }, (_, i) => `member-${i}`);
    await Promise.all(users.map((name) => s.rt.catalog.createAccount({ name, kind: "user", email: `${name}@example.org` })));
    const adds = await Promise.all(users.map((u, i) => api("PUT", `/orgs/parco/groups/readers/members/${u}`, { token: alice, from: i % 2 ? a : b })));
    for (const r of adds) assert.equal(r.status, 200, JSON.stringify(r.body));
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => api("POST", "/orgs/parco/tokens", { token: alice, body: { name: `par-${i}`, scopes: "conda:download" }, from: i % 2 ? a : b })));
    for (const r of made) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      secrets.push(r.body.token);
    }
    const group = await api("GET", "/orgs/parco/groups/readers", { token: alice, from: b });
    assert.deepEqual([...group.body.members].sort(), [...users, "carol"].sort());
    const list = await api("GET", "/orgs/parco/tokens", { token: alice, from: a });
    for (let i = 0; i < 10; i++) assert.ok((list.body as Json[]).some((t: Json) => t.name === `par-${i}`), `par-${i} listed`);
    for (const t of list.body as Json[]) assert.equal(t.token, undefined, "listings never carry the secret");
  });

  test("remote CLI: tokens, privacy, and logout revokes the stored token", async () => {
    await ensureAcme();
    // a login of this test's own: logging out revokes it
    const config = await cliLogin("alice", "remote-cli");
    const stored = JSON.parse(await readFile(config, "utf8")).token as string;
    const created = await cli(["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "acme"], "", config);
    assert.equal(created.code, 0, created.stderr);
    const ci = lastLine(created.stdout);
    secrets.push(ci);
    assert.equal((await fetch(`${b.url}/t/${ci}${await url("priv-b")}`)).status, 200);
    const listed = await cli(["auth", "--list", "--org", "acme"], "", config);
    assert.match(listed.stdout, /^ci\t/m);
    assert.ok(!listed.stdout.includes(ci));
    assert.equal((await cli(["auth", "--remove", "ci", "--org", "acme"], "", config)).code, 0);
    assert.equal((await cli(["package", "--public", "acme/priv-b"], "", config)).code, 0);
    try {
      assert.equal((await fetch(`${b.url}${await url("priv-b")}`, { method: "HEAD" })).status, 200);
    } finally {
      // and back: acme is shared
      assert.equal((await cli(["package", "--private", "acme/priv-b"], "", config)).code, 0);
    }
    const dup = await cli(["group", "--create", "acme/readers", "--permission", "read"], "", config);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const out = await cli(["logout"], "", config);
    assert.equal(out.code, 0, out.stderr);
    await assert.rejects(stat(config), /ENOENT/);
    assert.equal((await api("GET", "/user", { token: stored })).status, 401);
    const who = await cli(["whoami"], "", config);
    assert.equal(who.code, 2);
    assert.match(who.stderr, /not logged in/);
  });

  test("without a login the same verbs act on the store, and the API sees the result", async () => {
    await ownOrg("umbrella", ["bob"]);
    const steps: [string[], RegExp][] = [
      [["group", "--create", "umbrella/ops", "--permission", "write", "--packages", "*"], /ops\twrite on all packages/],
      [["group", "umbrella/ops", "--add-member", "dave"], /members: dave/],
      [["group", "--update", "umbrella/ops", "--packages", "priv-a Priv_B"], /write on priv-a priv-b/],
      [["org", "umbrella", "--remove-admin", "alice"], /admins: bob$/m],
      [["user", "--reset", "gina"], /password of gina reset/],
    ];
    for (const [args, out] of steps) {
      const r = await cli(args, "gina-new-password\n");
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, out, args.join(" "));
    }
    secrets.push("gina-new-password");
    const last = await cli(["org", "umbrella", "--remove-admin", "bob"]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /last admin/);
    const bob = await loginAs("bob", b);
    const org = await api("GET", "/orgs/umbrella", { token: bob, from: b });
    assert.deepEqual(org.body.admins, ["bob"]);
    assert.deepEqual(org.body.groups.find((g: Json) => g.name === "ops"), { name: "ops", permission: "write", packages: ["priv-a", "priv-b"], members: ["dave"] });
  });
});

describe("sign-up closed by default (SIGNUP=admin)", () => {
  test("anyone is refused; a server admin creates the user", async () => {
    const s = await startStack({ store: "fs", cache: "memory" });
    try {
      const post = (body: unknown, token?: string) =>
        fetch(`${s.url}/api/users`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const anon = await post({ username: "mallory", email: "m@example.org", password: "long-enough" });
      assert.equal(anon.status, 401);
      assert.equal(await s.rt.catalog.getAccount("mallory"), null, "nothing was created");
      assert.equal((await s.cli(["user", "--create", "root", "--email", "root@example.org", "--admin"], "root-password\n")).code, 0);
      const login = await fetch(`${s.url}/api/login`, { method: "POST", headers: { authorization: `Basic ${Buffer.from("root:root-password").toString("base64")}`, "content-type": "application/json" }, body: "{}" });
      assert.equal(login.status, 201);
      const { token } = (await login.json()) as { token: string };
      assert.equal((await post({ username: "alice", email: "a@example.org", password: "long-enough" }, token)).status, 201);
      const user = await s.cli(["user", "--create", "bob", "--email", "b@example.org"], "bob-password\n");
      const bobLogin = await fetch(`${s.url}/api/login`, { method: "POST", headers: { authorization: `Basic ${Buffer.from("bob:bob-password").toString("base64")}`, "content-type": "application/json" }, body: "{}" });
      assert.equal(user.code, 0);
      const bob = ((await bobLogin.json()) as { token: string }).token;
      const byUser = await post({ username: "carol", email: "c@example.org", password: "long-enough" }, bob);
      assert.equal(byUser.status, 403);
      assert.match(((await byUser.json()) as { message: string }).message, /sign-up is closed/);
    } finally {
      await s.stop();
    }
  });
});
