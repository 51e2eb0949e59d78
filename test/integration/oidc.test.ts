// Trusted publishing (issue #14): a local OIDC issuer started here (jose signs its ID tokens,
// node:http serves its discovery document and key set) stands for GitHub Actions. An account's
// admin registers a publisher through the API; the ID token is exchanged at uv's endpoints
// (GET /_/oidc/audience, POST /_/oidc/mint-token, the request shapes of uv-publish's
// trusted_publishing/pypi.rs, as uv is not on this machine) and at POST /api/oidc/mint-token;
// twine uploads a wheel and the API a conda package with the minted tokens. Then each refusal
// one by one, each saying which check failed; a removed publisher's tokens stop working; and
// with Redis, one ID token is exchanged once across two gateway processes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastLine, startStack, type Stack } from "../harness/gateway.js";
import { githubClaims, startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { buildCondaChannel, type BuiltChannel } from "../fixtures/conda-channel.js";
import { runCliProcess } from "../harness/cli-process.js";

const CLIENT_ENV = { TWINE_NON_INTERACTIVE: "1", PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", NO_COLOR: "1" };

function twine(url: string, token: string, file: string, home: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("/usr/bin/twine", ["upload", "--disable-progress-bar", "--non-interactive", "--repository-url", url, "-u", "__token__", "-p", token, file], { env: { ...process.env, ...CLIENT_ENV, HOME: home }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

/** uv's exchange, as uv-publish sends it: GET <host>/_/oidc/audience, then POST
 * <host>/_/oidc/mint-token with a JSON body {"token": ...}. */
async function uvExchange(base: string, idToken: string): Promise<Response> {
  return fetch(`${base}/_/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json", accept: "*/*" }, body: JSON.stringify({ token: idToken }) });
}

let issuer: OidcIssuer;
let stranger: OidcIssuer;
let work: string;
let conda: BuiltChannel;

before(async () => {
  [issuer, stranger] = await Promise.all([startOidcIssuer(), startOidcIssuer()]);
  work = await mkdtemp(join(tmpdir(), "pkgate-oidc-"));
  conda = await buildCondaChannel(join(work, "fixture"), { channel: "acme", packages: [
      { name: "acme-lib", version: "1.0", subdir: "noarch", format: ".conda" },
      { name: "acme-secret", version: "1.0", subdir: "noarch", format: ".conda" },
      { name: "acme-lib", version: "2.0", subdir: "noarch", format: ".conda" },
    ],
  });
});
after(async () => {
  await Promise.all([issuer.stop(), stranger.stop()]);
  await rm(work, { recursive: true, force: true });
});

describe("trusted publishing (fs + memory)", () => {
  let s: Stack;
  let admin: string;
  const minted: string[] = [];
  const api = (path: string, init: RequestInit = {}, token = admin) =>
    fetch(`${s.url}/api${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) } });
  const register = (body: Record<string, unknown>) => api("/channels/acme/publishers", { method: "POST", body: JSON.stringify(body) });
  const release = { name: "release", issuer: "", kind: "github", claims: { repository: "acme/lib", workflow: "release.yml" }, scopes: ["pypi:upload", "conda"], packages: ["acme-lib"] };

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { OIDC_ISSUERS: issuer.url, OIDC_JWKS_REFRESH: "1" });
    assert.equal((await s.cli(["org", "--create", "acme"])).code, 0);
    const r = await s.cli(["auth", "--create", "--name", "admin", "--scopes", "api", "--org", "acme"]);
    assert.equal(r.code, 0, r.stderr);
    admin = lastLine(r.stdout);
    release.issuer = issuer.url;
  });
  after(async () => {
    const logs = s.logs.join("\n");
    for (const t of minted) assert.ok(!logs.includes(t), "a minted token appeared in the logs");
    await s.stop();
  });

  test("an admin registers a publisher; bad registrations are refused saying why; a download token may not", async () => {
    const res = await register(release);
    assert.equal(res.status, 201, await res.clone().text());
    const p = await res.json();
    assert.deepEqual([p.name, p.kind, p.issuer, p.claims, p.scopes, p.packages, p.createdBy], ["release", "github", issuer.url, release.claims, ["pypi:upload", "conda"], ["acme-lib"], "acme"]);
    const listed = await (await api("/channels/acme/publishers")).json();
    assert.deepEqual(listed.map((x: { name: string }) => x.name), ["release"]);

    const refusals: [Record<string, unknown>, number, RegExp][] = [
      [release, 409, /already exists/],
      [{ ...release, name: "x", issuer: "https://evil.example" }, 400, /not allowed on this server; OIDC_ISSUERS allows/],
      [{ ...release, name: "x", claims: { repository: "acme/lib" } }, 400, /github needs repository and workflow/],
      [{ ...release, name: "x", claims: { ...release.claims, workflow: "../x" } }, 400, /claims.workflow/],
      [{ ...release, name: "x", scopes: ["all"] }, 400, /invalid scopes/],
      [{ ...release, name: "x", packages: undefined }, 400, /invalid packages/],
    ];
    for (const [body, status, message] of refusals) {
      const r = await register(body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match((await r.json()).message, message);
    }
    const dl = lastLine((await s.cli(["auth", "--create", "--name", "dl", "--scopes", "conda:download", "--org", "acme"])).stdout);
    const denied = await api("/channels/acme/publishers", { method: "POST", body: JSON.stringify({ ...release, name: "y" }) }, dl);
    assert.equal(denied.status, 403);
    assert.match((await denied.json()).message, /api:write/);
  });

  test("uv's exchange: the audience, then an ID token for the token; twine uploads with it, only its packages", async () => {
    const aud = await fetch(`${s.url}/_/oidc/audience`);
    assert.equal(aud.status, 200);
    assert.deepEqual(await aud.json(), { audience: "pkgate" });

    const claims = githubClaims("acme/lib", "release.yml", { run_id: "4242", run_attempt: "2" });
    const res = await uvExchange(s.url, await issuer.sign(claims));
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.token, /^pkg-[A-Za-z0-9]{40}$/);
    minted.push(body.token);
    assert.equal(body.name, "oidc:release:4242.2");
    // 15 minutes by default
    const lifetime = body.expires - Date.now() / 1000;
    assert.ok(lifetime > 890 && lifetime <= 900, String(lifetime));

    // in the account's token list, by name, with its scopes, packages and publisher
    const tokens = await (await api("/orgs/acme/tokens")).json();
    const listed = tokens.find((t: { name: string }) => t.name === "oidc:release:4242.2");
    assert.deepEqual([listed.scopes, listed.packages, listed.publisher], [["pypi:upload", "conda"], ["acme-lib"], "release"]);
    assert.ok(s.logs.some((l) => l.includes('"trusted publisher minted a token"') && l.includes('"tokenName":"oidc:release:4242.2"')));

    const wheel = join(work, wheelFilename("acme-lib", "1.0"));
    await writeFile(wheel, buildWheel({ name: "acme-lib", version: "1.0" }));
    const up = await twine(`${s.url}/acme/`, body.token, wheel, work);
    assert.equal(up.code, 0, up.out);
    assert.ok(s.logs.some((l) => l.includes('"msg":"request"') && l.includes('"method":"POST"') && l.includes('"tokenName":"oidc:release:4242.2"')), "the upload's log line names the token");
    const other = join(work, wheelFilename("acme-other", "1.0"));
    await writeFile(other, buildWheel({ name: "acme-other", version: "1.0" }));
    const refused = await twine(`${s.url}/acme/`, body.token, other, work);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /403/);
    assert.match(refused.out, /acts only on the packages acme-lib/);

    // a second exchange in the same run gets the next name
    const again = await (await uvExchange(s.url, await issuer.sign(claims))).json();
    minted.push(again.token);
    assert.equal(again.name, "oidc:release:4242.2-2");
  });

  test("a conda package uploads with a token minted at /api/oidc/mint-token for the channel; it sees only its packages of a private channel", async () => {
    assert.equal((await api("/channels/acme", { method: "PATCH", body: JSON.stringify({ defaultPrivacy: "private" }) })).status, 200);
    const full = { token: lastLine((await s.cli(["auth", "--create", "--name", "conda-all", "--scopes", "conda", "--org", "acme"])).stdout) };
    minted.push(full.token);
    const secret = conda.packages.find((p) => p.filename.startsWith("acme-secret"))!;
    const put = await fetch(`${s.url}/api/channels/acme/conda?filename=${secret.filename}`, { method: "POST", headers: { authorization: `Bearer ${full.token}`, "content-type": "application/octet-stream" }, body: new Uint8Array(await readFile(secret.path)) });
    assert.equal(put.status, 201, await put.text());

    const res = await fetch(`${s.url}/api/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: await issuer.sign(githubClaims("acme/lib", "release.yml")), channel: "acme" }) });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    minted.push(body.token);
    const pkg = conda.packages.find((p) => p.filename.startsWith("acme-lib-1.0"))!;
    const up = await fetch(`${s.url}/api/channels/acme/conda?filename=${pkg.filename}`, { method: "POST", headers: { authorization: `Bearer ${body.token}`, "content-type": "application/octet-stream" }, body: new Uint8Array(await readFile(pkg.path)) });
    assert.equal(up.status, 201, await up.text());
    const listed = async (token: string) => Object.keys((await (await fetch(`${s.url}/acme/noarch/repodata.json`, { headers: { authorization: `Bearer ${token}` } })).json())["packages.conda"]).sort();
    assert.deepEqual(await listed(full.token), [pkg.filename, secret.filename]);
    assert.deepEqual(await listed(body.token), [pkg.filename]);
    const hidden = await fetch(`${s.url}/acme/noarch/${secret.filename}`, { headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(hidden.status, 403);
    assert.match((await hidden.json()).message, /acts only on the packages acme-lib, not on "acme-secret"/);
    assert.equal((await fetch(`${s.url}/acme/noarch/${pkg.filename}`, { headers: { authorization: `Bearer ${body.token}` } })).status, 200);
    // pkgate upload with the minted token, as a CI step runs it
    const next = conda.packages.find((p) => p.filename.startsWith("acme-lib-2.0"))!;
    const config = join(work, "minted.json");
    await writeFile(config, JSON.stringify({ site: s.url, token: body.token }), { mode: 0o600 });
    const cli = await runCliProcess(["upload", next.path, "--channel", "acme"], { env: { PKGATE_CONFIG: config, DATA_DIR: join(work, "no-store") } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, `uploaded acme/noarch/${next.filename} (label main)\n`);
    assert.deepEqual(await listed(body.token), [pkg.filename, next.filename].sort());
    // naming another channel: only that channel's publishers, and it has none
    const elsewhere = await fetch(`${s.url}/api/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: await issuer.sign(githubClaims("acme/lib", "release.yml")), channel: "other" }) });
    assert.equal(elsewhere.status, 403);
    assert.match((await elsewhere.json()).message, /^no trusted publisher matches this ID token \(issuer http:\/\/127\.0\.0\.1:\d+, channel other\)\. The token says: repository "acme\/lib"/);
  });

  test("each refusal says which check failed", async () => {
    const good = githubClaims("acme/lib", "release.yml");
    const replayed = await issuer.sign(good);
    assert.equal((await uvExchange(s.url, replayed)).status, 200);
    const cases: [string, string, number, RegExp][] = [
      ["wrong audience", await issuer.sign(good, { audience: "pypi" }), 401, /audience is "pypi", this server's is "pkgate"/],
      ["expired", await issuer.sign(good, { expiresIn: -120, issuedAt: -600 }), 401, /expired at/],
      ["not yet valid", await issuer.sign(good, { notBefore: 600 }), 401, /not valid yet/],
      ["issued in the future", await issuer.sign(good, { issuedAt: 600, expiresIn: 900 }), 401, /issued in the future/],
      ["too old", await issuer.sign(good, { issuedAt: -7200, expiresIn: 600 }), 401, /issued more than 3600 seconds ago/],
      ["replay", replayed, 401, /already exchanged/],
      ["another repository", await issuer.sign(githubClaims("acme/fork", "release.yml")), 403, /no trusted publisher matches this ID token .*The token says: repository "acme\/fork"/],
      ["another workflow", await issuer.sign(githubClaims("acme/lib", "ci.yml")), 403, /no trusted publisher matches this ID token .*The token says: repository "acme\/lib", workflow "acme\/lib\/\.github\/workflows\/ci\.yml@refs\/heads\/main"/],
      ["an issuer not allowed", await stranger.sign(good), 401, /issuer "http:\/\/127\.0\.0\.1:\d+" is not allowed on this server/],
      ["an issuer named but signed by another", await stranger.sign(good, { issuer: issuer.url }), 401, /key .* that its issuer does not publish/],
      ["not a JWT", "abc.def", 401, /not a signed JWT/],
    ];
    for (const [what, token, status, message] of cases) {
      const res = await uvExchange(s.url, token);
      const body = await res.json();
      assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.match(body.message, message, what);
      assert.equal(body.token, undefined);
    }
    const empty = await fetch(`${s.url}/_/oidc/mint-token`, { method: "POST", body: "{}" });
    assert.equal(empty.status, 400);
  });

  test("a refusal names no account and no publisher's settings, only what the token says; an account's admin who names it sees why its publishers do not match", async () => {
    // a private organization trusts a workflow of the same repository
    assert.equal((await s.cli(["org", "--create", "hidden-org"])).code, 0);
    const hiddenAdmin = lastLine((await s.cli(["auth", "--create", "--name", "admin", "--scopes", "api", "--org", "hidden-org"])).stdout);
    const hidden = { name: "deploy-secret", issuer: issuer.url, kind: "github", claims: { repository: "acme/lib", workflow: "deploy-hidden.yml", environment: "prod-hidden" }, scopes: ["conda"], packages: "*" };
    assert.equal((await api("/channels/hidden-org/publishers", { method: "POST", body: JSON.stringify(hidden) }, hiddenAdmin)).status, 201);

    // an attacker who can run any workflow of acme/lib (a pull request's, say)
    const attack = await issuer.sign(githubClaims("acme/lib", "ci.yml", { environment: "staging" }));
    const mint = (channel: string | undefined, token?: string) =>
      fetch(`${s.url}/api/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ token: attack, ...(channel ? { channel } : {}) }) });
    const secrets = ["hidden-org", "deploy-secret", "deploy-hidden", "prod-hidden", "acme/release", "release.yml"];
    const told = async (res: Response) => {
      assert.equal(res.status, 403);
      return (await res.json()).message as string;
    };
    const anonymous = await told(await uvExchange(s.url, attack));
    assert.match(anonymous, /^no trusted publisher matches this ID token \(issuer http:\/\/127\.0\.0\.1:\d+\)\. The token says: repository "acme\/lib", workflow "acme\/lib\/\.github\/workflows\/ci\.yml@refs\/heads\/main", environment "staging", ref "refs\/heads\/main", repository_owner_id "1234", repository_id "5678"; a GitHub publisher matches when it names this repository and workflow file/);
    for (const secret of secrets) assert.ok(!anonymous.includes(secret), `the refusal names ${secret}: ${anonymous}`);
    // naming the hidden account, anonymously or as another account's admin, is naming a missing one
    const missing = await told(await mint("no-such-org"));
    for (const [channel, token] of [["hidden-org", undefined], ["hidden-org", admin]] as const) {
      const message = await told(await mint(channel, token));
      assert.equal(message, missing.replace("channel no-such-org", "channel hidden-org"));
      for (const secret of secrets.slice(1)) assert.ok(!message.includes(secret), `the refusal names ${secret}: ${message}`);
    }
    // acme's admin naming acme: why acme's publishers do not match, and nothing of the other
    const acme = await told(await mint("acme", admin));
    assert.match(acme, /The publishers of acme: release: the workflow is "acme\/lib\/\.github\/workflows\/ci\.yml@refs\/heads\/main".*, the publisher's is "\.github\/workflows\/release\.yml"\.$/);
    for (const secret of secrets.slice(0, 4)) assert.ok(!acme.includes(secret), `the refusal names ${secret}: ${acme}`);
    // and hidden-org's own admin sees its own
    assert.match(await told(await mint("hidden-org", hiddenAdmin)), /The publishers of hidden-org: deploy-secret: the workflow is .*ci\.yml.*deploy-hidden\.yml/);
    assert.equal((await api("/channels/hidden-org/publishers/deploy-secret", { method: "DELETE" }, hiddenAdmin)).status, 200);
  });

  test("a GitHub publisher keeps the repository ids of its first exchange: the same name with other ids is refused; ids given at registration count from the start", async () => {
    const tofu = { ...release, name: "tofu", claims: { repository: "acme/tofu", workflow: "release.yml" }, scopes: ["conda"] };
    assert.equal((await register(tofu)).status, 201);
    const stored = async (name: string) => ((await (await api("/channels/acme/publishers")).json()) as { name: string; claims: Record<string, string>; idsRecordedAt?: string }[]).find((p) => p.name === name)!;
    assert.equal((await stored("tofu")).idsRecordedAt, undefined);
    const first = await uvExchange(s.url, await issuer.sign(githubClaims("acme/tofu", "release.yml")));
    assert.equal(first.status, 200, await first.clone().text());
    minted.push((await first.json()).token);
    const recorded = await stored("tofu");
    assert.deepEqual(recorded.claims, { repository: "acme/tofu", workflow: "release.yml", repository_owner_id: "1234", repository_id: "5678" });
    assert.ok(Date.parse(recorded.idsRecordedAt!) > Date.now() - 60_000);

    // acme/tofu deleted, and made again by someone else under the same name: other ids
    const impostor = await issuer.sign(githubClaims("acme/tofu", "release.yml", { repository_owner_id: "999", repository_id: "4242" }));
    const refused = await uvExchange(s.url, impostor);
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).message, /The token says: repository "acme\/tofu", .*repository_owner_id "999", repository_id "4242"; .*ids that differ mean another repository of that name, deleted and made again or under a renamed owner; if the repository really moved, the publisher is removed and added again/);
    const why = await api("/oidc/mint-token", { method: "POST", body: JSON.stringify({ token: impostor, channel: "acme" }) });
    assert.match((await why.json()).message, /The publishers of acme: tofu: repository_owner_id is "999", the publisher's is "1234" \(recorded at its first exchange, \d{4}-\d\d-\d\d\): another repository of that name \(deleted and made again, or its owner renamed\); if the repository really moved, remove the publisher and add it again/);
    const again = await uvExchange(s.url, await issuer.sign(githubClaims("acme/tofu", "release.yml")));
    assert.equal(again.status, 200);
    minted.push((await again.json()).token);

    // the owner's id given at registration: checked from the first exchange; the repository's recorded then
    const fixed = { ...tofu, name: "fixed", claims: { repository: "acme/fixed", workflow: "release.yml", repository_owner_id: "42" } };
    assert.equal((await register(fixed)).status, 201);
    const wrong = await api("/oidc/mint-token", { method: "POST", body: JSON.stringify({ token: await issuer.sign(githubClaims("acme/fixed", "release.yml")), channel: "acme" }) });
    assert.equal(wrong.status, 403);
    assert.match((await wrong.json()).message, /fixed: repository_owner_id is "1234", the publisher's is "42": another repository/);
    const right = await uvExchange(s.url, await issuer.sign(githubClaims("acme/fixed", "release.yml", { repository_owner_id: "42" })));
    assert.equal(right.status, 200, await right.clone().text());
    minted.push((await right.json()).token);
    assert.deepEqual((await stored("fixed")).claims, { ...fixed.claims, repository_id: "5678" });
    const bad = await register({ ...fixed, name: "bad-id", claims: { ...fixed.claims, repository_owner_id: "acme" } });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /invalid claims.repository_owner_id: GitHub's number/);
    for (const name of ["tofu", "fixed"]) assert.equal((await api(`/channels/acme/publishers/${name}`, { method: "DELETE" })).status, 200);
  });

  test("the first exchange records the ids into every publisher of the account it matches, not only the one it picks: a less specific one left without ids would take another repository of that name", async () => {
    const prod = { ...release, name: "shadow-prod", claims: { repository: "acme/shadow", workflow: "release.yml", environment: "prod" }, scopes: ["conda"] };
    const any = { ...prod, name: "shadow-any", claims: { repository: "acme/shadow", workflow: "release.yml" } };
    for (const p of [prod, any]) assert.equal((await register(p)).status, 201);
    // the owner's release job (environment prod) matches both; the more specific one is picked
    const first = await uvExchange(s.url, await issuer.sign(githubClaims("acme/shadow", "release.yml", { environment: "prod" })));
    assert.equal(first.status, 200, await first.clone().text());
    minted.push((await first.json()).token);
    const listed = (await (await api("/channels/acme/publishers")).json()) as { name: string; claims: Record<string, string> }[];
    for (const name of ["shadow-prod", "shadow-any"]) assert.equal(listed.find((p) => p.name === name)!.claims.repository_id, "5678", `${name} has the repository's ids`);
    // acme/shadow deleted and made again by someone else, who names an environment prod or none
    for (const extra of [{ environment: "prod" }, {}]) {
      const impostor = await uvExchange(s.url, await issuer.sign(githubClaims("acme/shadow", "release.yml", { repository_owner_id: "999", repository_id: "4242", ...extra })));
      assert.equal(impostor.status, 403, await impostor.clone().text());
    }
    for (const p of [prod, any]) assert.equal((await api(`/channels/acme/publishers/${p.name}`, { method: "DELETE" })).status, 200);
  });

  test("an ID token issued before its publisher was added records no ids: a spent one replayed into a publisher added again after the repository moved is refused and leaves it open to the moved repository", async () => {
    const moved = { ...release, name: "moved", claims: { repository: "acme/moved", workflow: "release.yml" }, scopes: ["conda"] };
    assert.equal((await register(moved)).status, 201);
    // a job's ID token from two minutes ago, exchanged once (the old repository, ids 1234/5678)
    const old = await issuer.sign(githubClaims("acme/moved", "release.yml"), { issuedAt: -120 });
    const spent = await uvExchange(s.url, old);
    assert.equal(spent.status, 200, await spent.clone().text());
    minted.push((await spent.json()).token);
    // the repository moved (other ids): its owner removes the publisher and adds it again
    assert.equal((await api("/channels/acme/publishers/moved", { method: "DELETE" })).status, 200);
    assert.equal((await register(moved)).status, 201);
    // whoever holds the spent token replays it: refused, and it records nothing
    const replayed = await uvExchange(s.url, old);
    assert.equal(replayed.status, 401);
    assert.match((await replayed.json()).message, /already exchanged/);
    const stored = ((await (await api("/channels/acme/publishers")).json()) as { name: string; claims: Record<string, string> }[]).find((p) => p.name === "moved")!;
    assert.deepEqual(stored.claims, moved.claims, "the replayed token's ids were recorded");
    // the moved repository's first job mints, and its ids are the ones recorded
    const fresh = await uvExchange(s.url, await issuer.sign(githubClaims("acme/moved", "release.yml", { repository_owner_id: "77", repository_id: "88" })));
    assert.equal(fresh.status, 200, await fresh.clone().text());
    minted.push((await fresh.json()).token);
    assert.equal((await api("/channels/acme/publishers/moved", { method: "DELETE" })).status, 200);
  });

  test("a rotated key: the new key is fetched once, the old one is refused, unknown key ids cost one fetch per period", async () => {
    const old = issuer.current;
    const fresh = await issuer.newKey();
    issuer.publish([fresh]);
    await new Promise((r) => setTimeout(r, 1100));
    const before = issuer.jwksFetches();
    const ok = await uvExchange(s.url, await issuer.sign(githubClaims("acme/lib", "release.yml")));
    assert.equal(ok.status, 200, await ok.clone().text());
    minted.push((await ok.json()).token);
    assert.equal(issuer.jwksFetches(), before + 1);
    const stale = await uvExchange(s.url, await issuer.sign(githubClaims("acme/lib", "release.yml"), { key: old }));
    assert.equal(stale.status, 401);
    assert.match((await stale.json()).message, new RegExp(`signed with a key \\(kid "${old.kid}"\\) that its issuer does not publish`));
    // a burst of made-up key ids within the refresh period: at most one more fetch
    const burst = await Promise.all(Array.from({ length: 20 }, async (_, i) => uvExchange(s.url, await issuer.sign(githubClaims("acme/lib", "release.yml"), { key: { ...old, kid: `made-up-${i}` } }))));
    assert.ok(burst.every((r) => r.status === 401));
    assert.ok(issuer.jwksFetches() <= before + 2, `${issuer.jwksFetches() - before} fetches`);
  });

  test("a removed publisher mints nothing more and its tokens are refused", async () => {
    const res = await uvExchange(s.url, await issuer.sign(githubClaims("acme/lib", "release.yml")));
    const { token } = await res.json();
    minted.push(token);
    assert.equal((await fetch(`${s.url}/acme/noarch/repodata.json`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const del = await api("/channels/acme/publishers/release", { method: "DELETE" });
    assert.equal(del.status, 200);
    const used = await fetch(`${s.url}/acme/noarch/repodata.json`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(used.status, 401);
    assert.match((await used.json()).message, /trusted publisher "release" was removed/);
    const none = await uvExchange(s.url, await issuer.sign(githubClaims("acme/lib", "release.yml")));
    assert.equal(none.status, 403);
    assert.match((await none.json()).message, /no trusted publisher matches this ID token/);
    assert.equal((await api("/channels/acme/publishers/release", { method: "DELETE" })).status, 404);
    // registered again under the same name: the old publisher's tokens stay refused
    assert.equal((await register(release)).status, 201);
    assert.equal((await fetch(`${s.url}/acme/noarch/repodata.json`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    assert.equal((await api("/channels/acme/publishers/release", { method: "DELETE" })).status, 200);
  });

  test("pkgate publisher add, list and remove, on the store and on a gateway; a GitLab job's token", async () => {
    const add = await s.cli(["publisher", "add", "acme/gl", "--issuer", issuer.url, "--kind", "gitlab", "--claims", "project_path=Acme/Lib ci_config_path=.gitlab-ci.yml", "--scopes", "conda", "--packages", "*"]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^added trusted publisher acme\/gl\ngl\tgitlab http:\/\/127\.0\.0\.1:\d+\tproject_path=Acme\/Lib ci_config_path=\.gitlab-ci\.yml\tscopes conda\tpackages \*\n$/);
    const gitlab = { sub: "project_path:acme/lib:ref_type:branch:ref:main", project_path: "acme/lib", ci_config_ref_uri: "gitlab.example/acme/lib//.gitlab-ci.yml@refs/heads/main", pipeline_id: "77", job_id: "88", ref: "main" };
    // the CLI wrote to the store beside the gateway (no shared cache here): the gateway sees
    // the change when it next looks at the catalog's generation, within a second
    let res = await uvExchange(s.url, await issuer.sign(gitlab));
    for (let tries = 0; res.status === 403 && tries < 30; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await uvExchange(s.url, await issuer.sign(gitlab));
    }
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    minted.push(body.token);
    assert.equal(body.name, "oidc:gl:77.88");
    const otherToken = await issuer.sign({ ...gitlab, ci_config_ref_uri: "gitlab.example/acme/lib//other.yml@refs/heads/main" });
    const other = await uvExchange(s.url, otherToken);
    assert.match((await other.json()).message, /The token says: project_path "acme\/lib", ci_config_ref_uri ".*other\.yml@refs\/heads\/main"/);
    // the account's admin, naming the channel: why its publisher does not match
    const told = await api("/oidc/mint-token", { method: "POST", body: JSON.stringify({ token: otherToken, channel: "acme" }) });
    assert.match((await told.json()).message, /The publishers of acme: gl: ci_config_ref_uri is .*other\.yml.*the publisher's CI file is "\.gitlab-ci\.yml"/);

    const login = join(work, "login.json");
    await writeFile(login, JSON.stringify({ site: s.url, token: admin, username: "acme" }), { mode: 0o600 });
    const remote = (args: string[]) => runCliProcess(args, { env: { PKGATE_CONFIG: login, DATA_DIR: join(work, "no-store") } });
    const listed = await remote(["publisher", "list", "acme", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((p: { name: string }) => p.name), ["gl"]);
    const removed = await remote(["publisher", "remove", "acme/gl"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, "removed trusted publisher acme/gl; its tokens are refused from now on\n");
    assert.equal((await s.cli(["publisher", "list", "acme"])).stdout, "no trusted publishers for acme\n");
    const usage = await s.cli(["publisher", "add", "acme/x", "--scopes", "conda"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /add needs --claims/);
  });
});

describe("trusted publishing across replicas (s3 + redis)", () => {
  let s: Stack;
  let admin: string;
  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" }, { OIDC_ISSUERS: issuer.url, OIDC_AUDIENCE: "pkgate.example" });
    assert.equal((await s.cli(["org", "--create", "acme"])).code, 0);
    admin = lastLine((await s.cli(["auth", "--create", "--name", "admin", "--scopes", "api", "--org", "acme"])).stdout);
    const res = await fetch(`${s.url}/api/channels/acme/publishers`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", issuer: issuer.url, kind: "github", claims: { repository: "acme/lib", workflow: "release.yml", environment: "pypi" }, scopes: ["pypi:upload"], packages: "*" }),
    });
    assert.equal(res.status, 201, await res.text());
  });
  after(() => s.stop());

  test("two first exchanges at once on two gateways, with other repository ids: one records its ids, the other is refused", async () => {
    const res = await fetch(`${s.url}/api/channels/acme/publishers`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "race", issuer: issuer.url, kind: "github", claims: { repository: "acme/race", workflow: "release.yml" }, scopes: ["conda"], packages: "*" }),
    });
    assert.equal(res.status, 201, await res.text());
    const replica = await s.spawnReplica();
    try {
      const sign = (owner: string) => issuer.sign(githubClaims("acme/race", "release.yml", { repository_owner_id: owner, repository_id: `${owner}0` }), { audience: "pkgate.example" });
      // a 503 (the lock's Redis call timed out on a loaded machine: "retry later") is retried
      // as a client would; what is asserted is that of the two, one wins and one is refused
      const exchange = async (base: string, owner: string): Promise<Response> => {
        for (let i = 0; ; i++) {
          const r = await uvExchange(base, await sign(owner));
          if (r.status !== 503 || i === 4) return r;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      };
      const [a, b] = await Promise.all([exchange(s.url, "1111"), exchange(replica.url, "2222")]);
      assert.deepEqual([a.status, b.status].sort(), [200, 403], `${await a.clone().text()} ${await b.clone().text()} ${replica.output()}`);
      const winner = a.status === 200 ? "1111" : "2222";
      const listed = (await (await fetch(`${replica.url}/api/channels/acme/publishers`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { name: string; claims: Record<string, string> }[];
      const race = listed.find((p) => p.name === "race")!;
      assert.deepEqual([race.claims.repository_owner_id, race.claims.repository_id], [winner, `${winner}0`]);
      // the loser stays refused on either gateway; the winner goes on
      const loser = winner === "1111" ? "2222" : "1111";
      for (const url of [s.url, replica.url]) assert.equal((await uvExchange(url, await sign(loser))).status, 403);
      assert.equal((await uvExchange(replica.url, await sign(winner))).status, 200);
    } finally {
      await replica.stop();
    }
  });

  test("one ID token is exchanged once across two gateways; the configured audience is asked for", async () => {
    const replica = await s.spawnReplica();
    try {
      assert.deepEqual(await (await fetch(`${replica.url}/_/oidc/audience`)).json(), { audience: "pkgate.example" });
      const noEnvToken = await issuer.sign(githubClaims("acme/lib", "release.yml"), { audience: "pkgate.example" });
      const noEnv = await uvExchange(s.url, noEnvToken);
      assert.equal(noEnv.status, 403);
      assert.match((await noEnv.json()).message, /The token says: .*environment none/);
      const told = await fetch(`${replica.url}/api/oidc/mint-token`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify({ token: noEnvToken, channel: "acme" }) });
      assert.match((await told.json()).message, /The publishers of acme: ci: environment is missing, the publisher's is "pypi"/);
      const token = await issuer.sign(githubClaims("acme/lib", "release.yml", { environment: "PyPI" }), { audience: "pkgate.example" });
      const answers = await Promise.all([uvExchange(s.url, token), uvExchange(replica.url, token), uvExchange(s.url, token), uvExchange(replica.url, token)]);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 401, 401, 401], replica.output());
      for (const r of answers) if (r.status === 401) assert.match((await r.json()).message, /already exchanged/);
    } finally {
      await replica.stop();
    }
  });
});

describe("trusted publishing under BASE_PATH", () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { OIDC_ISSUERS: issuer.url, BASE_PATH: "/pkg" });
  });
  after(() => s.stop());

  test("uv's endpoints answer at the host's root, where uv asks, and under BASE_PATH", async () => {
    const origin = new URL(s.url).origin;
    for (const base of [origin, `${origin}/pkg`]) {
      const aud = await fetch(`${base}/_/oidc/audience`);
      assert.equal(aud.status, 200, base);
      assert.deepEqual(await aud.json(), { audience: "pkgate" });
      // no publisher yet: a refusal that says so, from the exchange itself
      const res = await uvExchange(base, await issuer.sign(githubClaims("acme/lib", "release.yml")));
      assert.equal(res.status, 403, base);
      assert.match((await res.json()).message, /no trusted publisher matches this ID token/);
    }
    assert.equal((await fetch(`${origin}/pkg/api/oidc/audience`)).status, 200);
    assert.equal((await fetch(`${origin}/_/oidc/other`)).status, 404);
  });
});
