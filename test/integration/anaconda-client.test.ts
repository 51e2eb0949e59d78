// anaconda-client against pkgate (issue #12), with the requests the client really sends, read
// in anaconda-client 1.16 (github.com/anaconda/anaconda-client):
//   - binstar_client/__init__.py: every request carries `x-binstar-api-version`,
//     `User-Agent: Anaconda-Client/<v> (+https://anaconda.org)`, JSON content type and accept,
//     and `Authorization: token <T>` once logged in; check_server is `HEAD <api url>` (200);
//     _authenticate POSTs /authentications with Basic auth and {scopes, note, note_url,
//     hostname, user, max-age, strength, fail-if-exists}, reads `token` of a 200;
//     remove_authentication DELETEs /authentications[/name/N | /org/O/name/N] and allows only
//     201; _check_response prints the JSON `error` of a refusal;
//   - commands/login.py: the note is `binstar_client:<site>:<user>@<host>`, fail-if-exists true,
//     scopes None; a 400 there makes the client prompt (try_replace_token);
//   - commands/authorizations.py: `auth --create` sends scopes as a list, the --name as note,
//     -o as user, fail-if-exists true (with the user's password again, legacy flow);
//     `auth --list` reads id, application, remote_addr, hostname, expires, scopes;
//   - commands/whoami.py + utils/pprint.py: GET /user → `login`, `created_at`; 401 → "Anonymous User";
//   - tests/test_login.py, tests/test_authorizations.py, tests/urlmock.py: the mock server's
//     rules (HEAD / → 200, POST /authentications → {"token"}, DELETE …/name/… → 201).
// Then conda's side: after that login conda asks /conda/t/<token>/<channel>/… (see
// src/http/target.ts); rattler's solver resolves a private package there.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { hashPassword } from "../../src/auth/password.js";
import { DEFAULT_SCOPES, SCOPES } from "../../src/auth/scopes.js";
import { inProcessGateway, type InProcessGateway } from "../harness/inproc.js";
import { startStack, type Stack } from "../harness/gateway.js";
import { CLIENT } from "../harness/anaconda-client.js";

const BASE = "http://gate.test";
const PASSWORD = "correct horse battery";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** `anaconda login` (legacy flow, as with --username/--password) from `host`. */
const loginBody = (user: string, host: string) => ({
  scopes: null,
  note: `binstar_client:pkgate:${user}@${host}`,
  note_url: "https://gate.test/api",
  hostname: host,
  user: null,
  "max-age": null,
  strength: "strong",
  "fail-if-exists": true,
});
/** `anaconda auth --create --name N --scopes S [-o ORG]`. */
const createBody = (name: string, scopes: string[], org: string | null = null) => ({
  scopes,
  note: name,
  note_url: "http://anaconda.org",
  hostname: "host1",
  user: org,
  "max-age": null,
  strength: "strong",
  "fail-if-exists": true,
});

describe("anaconda-client's account and token requests", () => {
  let dir = "";
  let store: FsStore;
  let gw: InProcessGateway;

  const ask = async (method: string, path: string, opts: { token?: string; auth?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? CLIENT) };
    if (opts.token) headers.authorization = `token ${opts.token}`;
    if (opts.auth) headers.authorization = opts.auth;
    const res = await gw.app.request(new Request(`${BASE}/api${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) }));
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : null };
  };
  const login = async (user: string, host = "host1") => {
    const r = await ask("POST", "/authentications", { auth: basic(user, PASSWORD), body: loginBody(user, host) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json!.token as string;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pkgate-anaconda-"));
    store = new FsStore(dir);
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
    const passwordHash = await hashPassword(PASSWORD);
    for (const name of ["jdoe", "mia"]) await catalog.createAccount({ name, kind: "user", passwordHash });
    await catalog.createAccount({ name: "acme", kind: "org", admins: ["jdoe"] });
    await catalog.close();
    await cache.close();
    gw = inProcessGateway(store);
  });
  after(async () => {
    await gw.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("check_server: HEAD of the API URL answers 200; authentication-type is password", async () => {
    assert.equal((await ask("HEAD", "")).status, 200);
    assert.deepEqual(await ask("GET", "/authentication-type"), { status: 200, json: { authentication_type: "password" } });
  });

  test("auth --list-scopes: every scope, in the token guide's words (the same the Tokens page shows)", async () => {
    const r = await ask("GET", "/scopes");
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json!).sort(), [...SCOPES].sort());
    assert.equal(r.json!["conda:download"], "Provides download permissions for private packages in conda repositories");
    assert.equal(r.json!["api:modify-group"], "Provides manage permissions to groups via the API");
  });

  test("login: Basic auth → 200 {token}; whoami reads login and created_at, pkgate's fields stay", async () => {
    const token = await login("jdoe");
    const me = await ask("GET", "/user", { token });
    assert.equal(me.status, 200);
    assert.equal(me.json!.login, "jdoe");
    assert.ok(!Number.isNaN(Date.parse(me.json!.created_at)));
    assert.equal(me.json!.user_type, "user");
    // pkgate's own answer is still all there
    assert.equal(me.json!.name, "jdoe");
    assert.equal(me.json!.kind, "user");
    assert.deepEqual(me.json!.token.scopes, ["all"]);
  });

  test("a second login from the same host (fail-if-exists: true) is no refusal: 200, and the previous token is replaced", async () => {
    const first = await login("jdoe", "laptop");
    const second = await login("jdoe", "laptop");
    assert.notEqual(first, second);
    assert.equal((await ask("GET", "/user", { token: first })).status, 401, "the replaced token is revoked");
    assert.equal((await ask("GET", "/user", { token: second })).status, 200);
    const other = await login("jdoe", "desktop");
    assert.equal((await ask("GET", "/user", { token: second })).status, 200, "another host's login keeps its own");
    assert.equal((await ask("GET", "/user", { token: other })).status, 200);
  });

  test("a wrong password: 401 with words in `error`; a Bearer login says what the client falls back on", async () => {
    const r = await ask("POST", "/authentications", { auth: basic("jdoe", "wrong password"), body: loginBody("jdoe", "h") });
    assert.equal(r.status, 401);
    assert.equal(r.json!.error, "wrong user name or password");
    assert.equal(r.json!.code, "bad_credentials");
    const bearer = await ask("POST", "/authentications", { auth: "Bearer some-anaconda-com-token", body: loginBody("jdoe", "h") });
    assert.equal(bearer.status, 401);
    assert.equal(bearer.json!.error, "Bearer token authentication is not enabled"); // login.py's fallback signal
  });

  test("whoami without a login: 401 (the client prints 'Anonymous User')", async () => {
    const r = await ask("GET", "/user");
    assert.equal(r.status, 401);
    assert.match(r.json!.error, /token|log/);
  });

  test("auth --create: 200 {token} with the scopes asked; the same name again is a 409 that says what to do", async () => {
    const r = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("ci", ["repos", "conda:download"]) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.match(r.json!.token, /^pkg-/);
    assert.deepEqual(r.json!.scopes, ["repos", "conda:download"]);
    const again = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("ci", ["all"]) });
    assert.equal(again.status, 409);
    assert.match(again.json!.error, /already exists.*anaconda auth -r ci/);
    // the client's own spelling `repo`, and no scope at all: pkgate's default (downloads only)
    const repo = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("binstar_token:host1", ["repo"]) });
    assert.deepEqual(repo.json!.scopes, ["repos"]);
    const none = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("noscope", []) });
    assert.deepEqual(none.json!.scopes, [...DEFAULT_SCOPES]);
    const bad = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("bad", ["nonsense"]) });
    assert.equal(bad.status, 400);
    assert.match(bad.json!.error, /unknown scope "nonsense"/);
  });

  test("auth --list shows application, expires and scopes; auth -r answers 201, then 404 in words", async () => {
    const token = await login("jdoe", "lister");
    await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("doomed", ["conda:download"]) });
    const list = await ask("GET", "/authentications", { token });
    assert.equal(list.status, 200);
    const doomed = (list.json as unknown as Record<string, any>[]).find((a) => a.application === "doomed")!;
    assert.deepEqual(doomed.scopes, ["conda:download"]);
    assert.ok(!Number.isNaN(Date.parse(doomed.expires)));
    assert.ok("remote_addr" in doomed && "hostname" in doomed && "id" in doomed);
    assert.ok(!JSON.stringify(list.json).includes("pkg-"), "no secret in the list");
    assert.equal((await ask("DELETE", "/authentications/name/doomed", { token })).status, 201);
    const gone = await ask("DELETE", "/authentications/name/doomed", { token });
    assert.equal(gone.status, 404);
    assert.match(gone.json!.error, /no token named "doomed"/);
  });

  test("an organization's token: auth --create -o acme by its admin, auth -r NAME -o acme answers 201; others may not", async () => {
    const created = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: createBody("acme-ci", ["conda:download", "api:read"], "acme") });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal((await ask("GET", "/user", { token: created.json!.token })).json!.login, "acme");
    const byMia = await ask("POST", "/authentications", { auth: basic("mia", PASSWORD), body: createBody("mine", ["all"], "acme") });
    assert.ok([403, 404].includes(byMia.status), `mia: ${byMia.status}`);
    assert.equal(typeof byMia.json!.error, "string");
    const miaToken = await login("mia");
    assert.ok([403, 404].includes((await ask("DELETE", "/authentications/org/acme/name/acme-ci", { token: miaToken })).status));
    const token = await login("jdoe", "org-admin");
    assert.equal((await ask("DELETE", "/authentications/org/acme/name/acme-ci", { token })).status, 201);
    assert.equal((await ask("GET", "/user", { token: created.json!.token })).status, 401);
  });

  test("logout: DELETE /authentications revokes the calling token, 201", async () => {
    const token = await login("jdoe", "leaving");
    assert.equal((await ask("DELETE", "/authentications", { token })).status, 201);
    assert.equal((await ask("GET", "/user", { token })).status, 401);
    // the client ignores a 401 here (an already invalid token) and removes its file
    assert.equal((await ask("DELETE", "/authentications", { token })).status, 401);
  });

  test("GET /user/{login}: a visible account's login and user_type; what one may not see does not exist", async () => {
    const token = await login("jdoe", "lookup");
    assert.deepEqual(
      { ...(await ask("GET", "/user/acme", { token })).json, created_at: undefined },
      { login: "acme", user_type: "org", name: "acme", created_at: undefined },
    );
    const ghost = await ask("GET", "/user/ghost", { token });
    assert.equal(ghost.status, 404);
    assert.equal(typeof ghost.json!.error, "string");
    assert.notEqual(ghost.json!.error, "not_found");
  });

  test("pkgate's own clients keep their answers: login 201, errors with the code in `error`", async () => {
    const plain = { "content-type": "application/json" };
    const r = await ask("POST", "/login", { auth: basic("jdoe", PASSWORD), headers: plain, body: {} });
    assert.equal(r.status, 201);
    const anon = await ask("GET", "/user", { headers: plain });
    assert.deepEqual([anon.status, anon.json!.error], [401, "auth_required"]);
  });
});

describe("conda's URL after `anaconda login`: /conda/t/<token>/<channel> (rattler's solver)", () => {
  let s: Stack;
  let token: string;

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open" });
    const signup = await fetch(`${s.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "jdoe", email: "jdoe@example.org", password: PASSWORD }) });
    assert.equal(signup.status, 201, await signup.text());
    await s.seedConda({
      channel: "jdoe",
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64" },
        { name: "secret-lib", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0"] },
      ],
    });
    assert.equal((await s.cli(["package", "--private", "jdoe/secret-lib"])).code, 0);
    const res = await fetch(`${s.url}/api/authentications`, { method: "POST", headers: { ...CLIENT, authorization: basic("jdoe", PASSWORD) }, body: JSON.stringify(loginBody("jdoe", "ci")) });
    assert.equal(res.status, 200);
    token = ((await res.json()) as { token: string }).token;
  });
  after(async () => {
    assert.ok(!s.logs.join("\n").includes(token), "the token appeared in the logs");
    await s.stop();
  });

  for (const [shape, url] of [
    ["conda's /conda/t/<token>/jdoe", (t: string) => `${s.url}/conda/t/${t}/jdoe`],
    ["mamba's /t/<token>/conda/jdoe", (t: string) => `${s.url}/t/${t}/conda/jdoe`],
  ] as const) {
    test(`${shape}: the private package resolves, and its files download`, async () => {
      const solved = await simpleSolve(["secret-lib"], [url(token)], ["linux-64", "noarch"], undefined);
      assert.deepEqual(solved.map((r) => r.packageName).sort(), ["pub-lib", "secret-lib"]);
      for (const rec of solved) assert.equal((await fetch(rec.url)).status, 200);
    });
  }

  test("/conda/jdoe without the token: the private package does not exist", async () => {
    await assert.rejects(simpleSolve(["secret-lib"], [`${s.url}/conda/jdoe`], ["linux-64", "noarch"], undefined), /secret-lib|cannot be (installed|solved)|no candidates|not find/i);
    assert.equal((await simpleSolve(["pub-lib"], [`${s.url}/conda/jdoe`], ["linux-64", "noarch"], undefined)).length, 1);
  });
});
