// The control plane end to end: the /api and the `pkgate` command as its client, against
// real redis-server and s3rver, with two more gateway processes on the same Redis and
// bucket. An org with two admins and a read group on one private package; the member's
// token downloads that package and nothing else private; removing the member is enforced
// by the other replica within a second; tokens never exceed their creator; passwords are
// checked, hashed and rate-limited across replicas; parallel writes on both replicas lose
// nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stat, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";
import type { BuiltChannel } from "../fixtures/conda-channel.js";

type Replica = Awaited<ReturnType<Stack["spawnReplica"]>>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PASSWORDS: Record<string, string> = {
  root: "root-password-1",
  alice: "alice-password-1",
  bob: "bob-password-1",
  carol: "carol-password-1",
  dave: "dave-password-1",
  erin: "erin-password-1",
};

describe("the API and the CLI on s3 + redis, with two replicas", () => {
  let s: Stack;
  let a: Replica;
  let b: Replica;
  let built: BuiltChannel;
  const config = join(tmpdir(), `pkgate-login-${randomBytes(6).toString("hex")}.json`);
  const secrets: string[] = Object.values(PASSWORDS);
  const tokens: Record<string, string> = {};

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

  async function loginAs(user: string, from: Replica | Stack = s): Promise<string> {
    const res = await api("POST", "/login", { basic: `${user}:${PASSWORDS[user]}`, body: { hostname: "test" }, from, as: `10.9.${user.length}.1` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    secrets.push(res.body.token);
    return res.body.token as string;
  }

  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" }, { TRUST_PROXY: "127.0.0.1", PKGATE_CONFIG: config, SIGNUP: "open" });
    built = await s.seedConda({
      channel: "acme",
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64" },
        { name: "priv-a", version: "1.0", subdir: "linux-64" },
        { name: "priv-b", version: "1.0", subdir: "linux-64" },
      ],
    });
    // bootstrap as an ops team does: the first server admin through the local CLI
    const root = await s.cli(["user", "--create", "root", "--email", "root@example.org", "--admin"], `${PASSWORDS.root}\n`);
    assert.equal(root.code, 0, root.stderr);
    [a, b] = await Promise.all([s.spawnReplica(), s.spawnReplica()]);
  });

  after(async () => {
    await rm(config, { force: true });
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
    const cli = await s.cli(["user", "--create", "shorty", "--email", "s@example.org", "--site", a.url], "abc123\n");
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /at least 7 characters/);
    assert.equal((await api("GET", "/users/shorty", { token: await loginAs("root") })).status, 404);
    for (const user of ["alice", "bob", "carol", "dave", "erin"]) {
      const res = await api("POST", "/users", { body: { username: user, email: `${user}@example.org`, password: PASSWORDS[user] }, from: user.length % 2 ? a : b });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.passwordHash, undefined);
    }
  });

  test("pkgate login stores site and token in a 0600 file; whoami reads it", async () => {
    const login = await s.cli(["login", "--site", a.url, "--username", "alice"], `${PASSWORDS.alice}\n`);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /logged in to .* as alice/);
    const st = await stat(config);
    assert.equal(st.mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(config, "utf8"));
    assert.equal(saved.site, a.url);
    assert.match(saved.token, /^pkg-[A-Za-z0-9]{40}$/);
    secrets.push(saved.token);
    tokens.alice = saved.token;
    assert.ok(!login.stdout.includes(saved.token), "login never prints the token");
    const who = await s.cli(["whoami", "--json"]);
    assert.equal(who.code, 0, who.stderr);
    const me = JSON.parse(who.stdout);
    assert.equal(me.name, "alice");
    assert.deepEqual(me.token.scopes, ["all"]);
    assert.match(me.token.name, /^login-/);
    const wrong = await s.cli(["login", "--site", b.url, "--username", "alice"], "not-her-password\n");
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong user name or password/);
    assert.equal(JSON.parse(await readFile(config, "utf8")).token, saved.token, "a failed login keeps the stored one");
  });

  test("an org with two admins and a read group on one private package, built with the CLI", async () => {
    const steps: string[][] = [
      ["org", "--create", "acme"],
      ["org", "acme", "--add-admin", "bob"],
      ["package", "--private", "acme/priv-a"],
      ["package", "--private", "acme/priv-b"],
      ["group", "--create", "acme/readers", "--permission", "read", "--packages", "priv-a"],
      ["group", "acme/readers", "--add-member", "carol"],
    ];
    for (const args of steps) {
      const r = await s.cli(args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    }
    const org = JSON.parse((await s.cli(["org", "acme", "--json"])).stdout);
    assert.deepEqual(org.admins, ["alice", "bob"]);
    assert.deepEqual(org.groups, [{ name: "readers", permission: "read", packages: ["priv-a"], members: ["carol"] }]);
    const human = await s.cli(["group", "--list", "acme"]);
    assert.match(human.stdout, /readers\tread on priv-a\tmembers: carol/);
    // --local still acts on the store directly, as before any login
    const local = await s.cli(["channel", "--show", "acme", "--local", "--json"]);
    assert.equal(local.code, 0, local.stderr);
    assert.deepEqual(JSON.parse(local.stdout).packages, { "priv-a": "private", "priv-b": "private" });
  });

  test("the member's token downloads that package and not the other private one", async () => {
    const carol = await loginAs("carol", b);
    const made = await api("POST", "/tokens", { token: carol, body: { name: "laptop", scopes: "conda:download" }, from: b });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    tokens.carol = made.body.token as string;
    secrets.push(made.body.token);
    const url = (name: string) => `/acme/${built.packages.find((p) => p.name === name)!.url}`;
    for (const r of [a, b]) {
      assert.equal((await fetch(`${r.url}/t/${tokens.carol}${url("priv-a")}`)).status, 200);
      assert.equal((await fetch(`${r.url}/t/${tokens.carol}${url("priv-b")}`)).status, 404);
      const rd = await (await fetch(`${r.url}/t/${tokens.carol}/acme/linux-64/repodata.json`)).json();
      assert.deepEqual(Object.values(rd["packages.conda"] as Record<string, { name: string }>).map((p) => p.name).sort(), ["priv-a", "pub-lib"]);
    }
  });

  test("removing the member makes their token fail on the other replica within 1 s", async () => {
    const path = `/t/${tokens.carol}/acme/${built.packages.find((p) => p.name === "priv-a")!.url}`;
    // warm both replicas' in-process copies of the org document
    for (let i = 0; i < 2; i++) for (const r of [a, b]) assert.equal((await fetch(r.url + path, { method: "HEAD" })).status, 200);
    const res = await api("DELETE", "/orgs/acme/groups/readers/members/carol", { token: tokens.alice, from: a });
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
    // and back, for what follows
    assert.equal((await api("PUT", "/orgs/acme/groups/readers/members/carol", { token: tokens.alice, from: b })).status, 200);
  });

  test("the last admin cannot leave; with two, one may", async () => {
    const bob = await loginAs("bob", a);
    assert.equal((await api("DELETE", "/orgs/acme/admins/alice", { token: bob, from: b })).status, 200);
    const last = await api("DELETE", "/orgs/acme/admins/bob", { token: bob, from: a });
    assert.equal(last.status, 409);
    assert.match(last.body.message, /last admin/);
    // alice is no admin now: she may not manage acme
    assert.equal((await api("POST", "/orgs/acme/groups", { token: tokens.alice, body: { name: "x", permission: "read" } })).status, 403);
    const back = await api("PUT", "/orgs/acme/admins/alice", { token: bob, from: b });
    assert.deepEqual(back.body.admins, ["bob", "alice"]);
  });

  test("a token never holds more than its creator may do or the token that creates it", async () => {
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
      ["a read member for the org", carol, "/orgs/acme/tokens", "conda:download", 403, /only admins of acme/],
      ["an outsider for the org", dave, "/orgs/acme/tokens", "conda:download", 403, /only admins/],
      ["a user for another user", dave, "/users/carol/tokens", "conda:download", 403, /only carol/],
      ["an api:read token, anything", readOnly, "/tokens", "conda:download", 403, /api:write scope/],
      ["an api:write token asking for all", writer, "/tokens", "all", 403, /beyond this token's scopes/],
      ["an api:write token asking for pypi:upload", writer, "/tokens", "pypi:upload", 403, /pypi:upload is beyond/],
      ["an api:write token asking for api (modify-group)", writer, "/tokens", "api", 403, /beyond/],
      ["an api:write token, within its scopes", writer, "/tokens", "conda:download api:read", 201, null],
      ["an org admin for the org", tokens.alice!, "/orgs/acme/tokens", "all", 201, null],
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
    assert.equal((await api("PUT", "/orgs/acme/groups/readers/members/dave", { token: readOnly })).status, 403);
    const noGroup = (await mk(tokens.alice!, "/tokens", "api:write")).body.token as string;
    const refused = await api("PUT", "/orgs/acme/groups/readers/members/dave", { token: noGroup });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /api:modify-group/);
    // the same through the CLI: the refusal is printed, no token is
    const cli = await s.cli(["auth", "--create", "--name", "x", "--scopes", "conda", "--org", "acme", "--site", b.url]);
    assert.equal(cli.code, 1, "the stored login is for replica a: against b the CLI is anonymous");
    assert.match(cli.stderr, /needs a token/);
  });

  test("wrong passwords are rate-limited per account, across replicas", async () => {
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
    assert.equal((await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: b, as: "10.1.0.2" })).status, 201);
  });

  test("wrong passwords are rate-limited per address, whatever the account", async () => {
    const guesses = Array.from({ length: 20 }, (_, i) => api("POST", "/login", { basic: `ghost-${i}:guess-${i}-xx`, from: i % 2 ? a : b, as: "10.2.0.1" }));
    for (const res of await Promise.all(guesses)) assert.equal(res.status, 401);
    const blocked = await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: a, as: "10.2.0.1" });
    assert.equal(blocked.status, 429);
    assert.match(blocked.body.message, /this address/);
    assert.ok(Number(blocked.headers.get("retry-after")) > 0);
    assert.equal((await api("POST", "/login", { basic: `dave:${PASSWORDS.dave}`, from: b, as: "10.2.0.2" })).status, 201);
  });

  test("password change needs the current password; a server admin resets", async () => {
    const dave = await loginAs("dave");
    const cases: [Json, number][] = [
      [{ password: "short" }, 400],
      [{ password: "new-password-2" }, 400],
      [{ password: "new-password-2", currentPassword: "not-it-at-all" }, 403],
      [{ password: "new-password-2", currentPassword: PASSWORDS.dave }, 204],
    ];
    for (const [body, status] of cases) assert.equal((await api("PUT", "/users/dave/password", { token: dave, body })).status, status, JSON.stringify(body));
    secrets.push("new-password-2");
    PASSWORDS.dave = "new-password-2";
    await loginAs("dave");
    assert.equal((await api("PUT", "/users/carol/password", { token: dave, body: { password: "hijacked-1" } })).status, 403);
    const root = await loginAs("root");
    assert.equal((await api("PUT", "/users/dave/password", { token: root, body: { password: "reset-by-root" } })).status, 204);
    PASSWORDS.dave = "reset-by-root";
    secrets.push("reset-by-root");
    await loginAs("dave");
  });

  test("20 parallel member adds and 10 token creations split across both replicas lose nothing", async () => {
    const users = Array.from({ length: 20 }, (_, i) => `member-${i}`);
    await Promise.all(users.map((name) => s.rt.catalog.createAccount({ name, kind: "user", email: `${name}@example.org` })));
    const adds = await Promise.all(users.map((u, i) => api("PUT", `/orgs/acme/groups/readers/members/${u}`, { token: tokens.alice, from: i % 2 ? a : b })));
    for (const r of adds) assert.equal(r.status, 200, JSON.stringify(r.body));
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => api("POST", "/orgs/acme/tokens", { token: tokens.alice, body: { name: `par-${i}`, scopes: "conda:download" }, from: i % 2 ? a : b })));
    for (const r of made) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      secrets.push(r.body.token);
    }
    const group = await api("GET", "/orgs/acme/groups/readers", { token: tokens.alice, from: b });
    assert.deepEqual([...group.body.members].sort(), [...users, "carol"].sort());
    const list = await api("GET", "/orgs/acme/tokens", { token: tokens.alice, from: a });
    for (let i = 0; i < 10; i++) assert.ok((list.body as Json[]).some((t: Json) => t.name === `par-${i}`), `par-${i} listed`);
    for (const t of list.body as Json[]) assert.equal(t.token, undefined, "listings never carry the secret");
  });

  test("remote CLI: tokens, privacy, and logout revokes the stored token", async () => {
    const created = await s.cli(["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "acme"]);
    assert.equal(created.code, 0, created.stderr);
    const ci = lastLine(created.stdout);
    secrets.push(ci);
    assert.equal((await fetch(`${b.url}/t/${ci}/acme/${built.packages.find((p) => p.name === "priv-b")!.url}`)).status, 200);
    const listed = await s.cli(["auth", "--list", "--org", "acme"]);
    assert.match(listed.stdout, /^ci\t/m);
    assert.ok(!listed.stdout.includes(ci));
    assert.equal((await s.cli(["auth", "--remove", "ci", "--org", "acme"])).code, 0);
    assert.equal((await s.cli(["package", "--public", "acme/priv-b"])).code, 0);
    assert.equal((await fetch(`${b.url}/acme/${built.packages.find((p) => p.name === "priv-b")!.url}`, { method: "HEAD" })).status, 200);
    const dup = await s.cli(["group", "--create", "acme/readers", "--permission", "read"]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const out = await s.cli(["logout"]);
    assert.equal(out.code, 0, out.stderr);
    await assert.rejects(stat(config), /ENOENT/);
    assert.equal((await api("GET", "/user", { token: tokens.alice })).status, 401);
    const who = await s.cli(["whoami"]);
    assert.equal(who.code, 2);
    assert.match(who.stderr, /not logged in/);
  });

  test("without a login the same verbs act on the store, and the API sees the result", async () => {
    const steps: [string[], RegExp][] = [
      [["group", "--create", "acme/ops", "--permission", "write", "--packages", "*"], /ops\twrite on all packages/],
      [["group", "acme/ops", "--add-member", "dave"], /members: dave/],
      [["group", "--update", "acme/ops", "--packages", "priv-a Priv_B"], /write on priv-a priv-b/],
      [["org", "acme", "--remove-admin", "alice"], /admins: bob$/m],
      [["user", "--reset", "erin"], /password of erin reset/],
    ];
    for (const [args, out] of steps) {
      const r = await s.cli(args, "erin-new-password\n");
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, out, args.join(" "));
    }
    secrets.push("erin-new-password");
    const last = await s.cli(["org", "acme", "--remove-admin", "bob"]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /last admin/);
    const bob = await loginAs("bob", b);
    const org = await api("GET", "/orgs/acme", { token: bob, from: b });
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
