// Trusted publishers as data (oidc/publisher.ts): which registrations are accepted, and for
// each kind which ID-token claims match and what the refusal says; the OIDC_* configuration;
// and the verifier's replay memory on a real Redis, up and down.
import { after, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { identityOf, idsToRecord, kindOf, mintedTokenName, mismatch, noPublisher, publisherInput, registeredIdentity, runOf } from "../../src/oidc/publisher.js";
import { loadConfig, GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER } from "../../src/config.js";
import { packageList } from "../../src/api/validate.js";
import { IdTokenVerifier, type VerifiedIdToken } from "../../src/oidc/verify.js";
import { RedisCache } from "../../src/cache/redis.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { startRedis } from "../harness/services.js";
import { startOidcIssuer } from "../harness/oidc-issuer.js";
import { GateError } from "../../src/errors.js";

const GH = { kind: "github" as const, claims: { repository: "Acme/Lib", workflow: "release.yml" } };
const gh = (extra: Record<string, unknown> = {}) => ({
  repository: "acme/lib",
  job_workflow_ref: "acme/lib/.github/workflows/release.yml@refs/heads/main",
  workflow_ref: "acme/lib/.github/workflows/release.yml@refs/heads/main",
  ref: "refs/heads/main",
  ...extra,
});

describe("claims matching", () => {
  const table: [string, { kind: "github" | "gitlab" | "oidc"; claims: Record<string, string>; idsRecordedAt?: string }, Record<string, unknown>, RegExp | null][] = [
    ["github: the repository in any case, the workflow file", GH, gh(), null],
    ["github: a reusable workflow elsewhere, the caller's workflow_ref", GH, gh({ job_workflow_ref: "other/tools/.github/workflows/publish.yml@v1" }), null],
    ["github: another repository", GH, gh({ repository: "acme/fork" }), /^repository is "acme\/fork", the publisher's is "Acme\/Lib"$/],
    ["github: another workflow", GH, gh({ job_workflow_ref: "acme/lib/.github/workflows/ci.yml@refs/heads/main", workflow_ref: "acme/lib/.github/workflows/ci.yml@refs/heads/main" }), /^the workflow is .*ci\.yml/],
    ["github: a workflow file of the same name in another repository", GH, gh({ job_workflow_ref: "evil/x/.github/workflows/release.yml@main", workflow_ref: "evil/x/.github/workflows/release.yml@main" }), /the workflow is/],
    ["github: no workflow claims", GH, { repository: "acme/lib" }, /missing \(no job_workflow_ref or workflow_ref\)/],
    ["github: environment, any case", { ...GH, claims: { ...GH.claims, environment: "PyPI" } }, gh({ environment: "pypi" }), null],
    ["github: environment missing", { ...GH, claims: { ...GH.claims, environment: "pypi" } }, gh(), /^environment is missing, the publisher's is "pypi"$/],
    ["github: the repository's ids", { ...GH, claims: { ...GH.claims, repository_owner_id: "1234", repository_id: "5678" } }, gh({ repository_owner_id: "1234", repository_id: "5678" }), null],
    ["github: the same name, another owner (deleted and made again)", { ...GH, claims: { ...GH.claims, repository_owner_id: "1234" } }, gh({ repository_owner_id: "999" }), /^repository_owner_id is "999", the publisher's is "1234": another repository of that name \(deleted and made again, or its owner renamed\); if the repository really moved, remove the publisher and add it again$/],
    ["github: ids recorded at the first exchange say so", { ...GH, idsRecordedAt: "2026-11-30T12:00:00.000Z", claims: { ...GH.claims, repository_id: "5678" } }, gh({ repository_id: 77 }), /^repository_id is "77", the publisher's is "5678" \(recorded at its first exchange, 2026-11-30\): another repository/],
    ["github: a recorded id the token lacks", { ...GH, claims: { ...GH.claims, repository_id: "5678" } }, gh(), /^repository_id is missing, the publisher's is "5678"/],
    ["github: an id as a number", { ...GH, claims: { ...GH.claims, repository_id: "5678" } }, gh({ repository_id: 5678 }), null],
    ["github: ref exact", { ...GH, claims: { ...GH.claims, ref: "refs/heads/main" } }, gh(), null],
    ["github: ref prefix", { ...GH, claims: { ...GH.claims, ref: "refs/tags/v*" } }, gh({ ref: "refs/tags/v1.2" }), null],
    ["github: ref other", { ...GH, claims: { ...GH.claims, ref: "refs/tags/v*" } }, gh(), /^ref is "refs\/heads\/main", the publisher's is "refs\/tags\/v\*"$/],
    ["gitlab: project and CI file", { kind: "gitlab", claims: { project_path: "acme/lib", ci_config_path: ".gitlab-ci.yml" } }, { project_path: "Acme/Lib", ci_config_ref_uri: "gitlab.com/Acme/Lib//.gitlab-ci.yml@refs/heads/main" }, null],
    ["gitlab: CI file of another project", { kind: "gitlab", claims: { project_path: "acme/lib", ci_config_path: ".gitlab-ci.yml" } }, { project_path: "acme/lib", ci_config_ref_uri: "gitlab.com/evil/x//.gitlab-ci.yml@main" }, /ci_config_ref_uri is/],
    ["gitlab: another CI file", { kind: "gitlab", claims: { project_path: "acme/lib", ci_config_path: ".gitlab-ci.yml" } }, { project_path: "acme/lib", ci_config_ref_uri: "gitlab.com/acme/lib//ci/other.yml@main" }, /the publisher's CI file is "\.gitlab-ci\.yml"/],
    ["oidc: every claim exactly", { kind: "oidc", claims: { sub: "system:serviceaccount:ci:publisher", team: "a" } }, { sub: "system:serviceaccount:ci:publisher", team: "a" }, null],
    ["oidc: one claim differs", { kind: "oidc", claims: { sub: "s", team: "a" } }, { sub: "s", team: "A" }, /^team is "A", the publisher's is "a"$/],
    ["oidc: a number is no string", { kind: "oidc", claims: { sub: "s", n: "1" } }, { sub: "s", n: 1 }, /^n is missing/],
  ];
  for (const [what, publisher, claims, refusal] of table) {
    test(what, () => {
      const got = mismatch(publisher, claims);
      if (refusal === null) assert.equal(got, null);
      else assert.match(got ?? "(matched)", refusal);
    });
  }

  test("ids to record at the first exchange: the GitHub ids the token has and the publisher lacks", () => {
    assert.deepEqual(idsToRecord(GH, gh({ repository_owner_id: "1234", repository_id: 5678 })), { repository_owner_id: "1234", repository_id: "5678" });
    assert.deepEqual(idsToRecord({ ...GH, claims: { ...GH.claims, repository_owner_id: "1234" } }, gh({ repository_owner_id: "1234", repository_id: "5678" })), { repository_id: "5678" });
    assert.deepEqual(idsToRecord(GH, gh()), {}, "a token without ids: nothing to record");
    assert.deepEqual(idsToRecord(GH, gh({ repository_owner_id: "", repository_id: 1.5 })), {});
    assert.deepEqual(idsToRecord({ kind: "gitlab", claims: { project_path: "a/b", ci_config_path: ".gitlab-ci.yml" } }, { repository_owner_id: "1" }), {});
    // a token issued before the publisher was added (a minute's skew aside) records nothing
    const added = { ...GH, createdAt: "2026-01-01T12:00:00.000Z" };
    const at = (iso: string) => Date.parse(iso) / 1000;
    const ids = { repository_owner_id: "1234", repository_id: "5678" };
    assert.deepEqual(idsToRecord(added, gh({ ...ids, iat: at("2026-01-01T11:58:59Z") })), {});
    assert.deepEqual(idsToRecord(added, gh({ ...ids, iat: at("2026-01-01T11:59:30Z") })), { repository_owner_id: "1234", repository_id: "5678" });
    assert.deepEqual(idsToRecord(added, gh({ ...ids, iat: at("2026-01-01T12:00:05Z") })), { repository_owner_id: "1234", repository_id: "5678" });
  });

  test("the refusal says what the token says, and the reasons only when given", () => {
    const claims = gh({ repository: "acme/fork", environment: "pypi", repository_owner_id: "1234", repository_id: "5678" });
    const plain = noPublisher("https://token.actions.githubusercontent.com", null, claims, null);
    assert.equal(plain.status, 403);
    assert.match(plain.message, /^no trusted publisher matches this ID token \(issuer https:\/\/token\.actions\.githubusercontent\.com\)\. The token says: repository "acme\/fork", workflow "acme\/lib\/\.github\/workflows\/release\.yml@refs\/heads\/main", environment "pypi", ref "refs\/heads\/main", repository_owner_id "1234", repository_id "5678"; a GitHub publisher matches when/);
    assert.match(plain.message, /if the repository really moved, the publisher is removed and added again/);
    assert.match(plain.message, /'pkgate publisher list ACCOUNT'/);
    const none = noPublisher("https://i", "acme", claims, []);
    assert.match(none.message, /channel acme\).* acme has no trusted publisher for this repository and issuer\.$/);
    const some = noPublisher("https://i", "acme", claims, ["release: the workflow is x"]);
    assert.match(some.message, / The publishers of acme: release: the workflow is x\.$/);
    assert.match(noPublisher("https://i", null, { project_path: "a/b", ci_config_ref_uri: "x" }, null).message, /The token says: project_path "a\/b", ci_config_ref_uri "x", environment none, ref none; a GitLab publisher/);
    assert.match(noPublisher("https://i", null, { sub: "svc" }, null).message, /The token says: sub "svc"; a publisher matches when each of its claims is the token's/);
  });

  test("the index key: the CI project, lower case where the platform ignores case", () => {
    assert.equal(identityOf("github", { repository: "Acme/Lib" }), "acme/lib");
    assert.equal(registeredIdentity(GH), "acme/lib");
    assert.equal(identityOf("gitlab", { project_path: "Acme/Lib" }), "acme/lib");
    assert.equal(identityOf("oidc", { sub: "Case:Kept" }), "Case:Kept");
    assert.equal(identityOf("github", { sub: "x" }), null);
  });

  test("token names: the run, then -2, -3 for the same run", () => {
    assert.equal(mintedTokenName("release", runOf({ run_id: "123", run_attempt: "2" }), 1), "oidc:release:123.2");
    assert.equal(mintedTokenName("release", runOf({ pipeline_id: 9, job_id: 10 }), 3), "oidc:release:9.10-3");
    assert.equal(mintedTokenName("release", runOf({ jti: "ab/cd ef" }), 1), "oidc:release:abcdef");
    assert.ok(mintedTokenName("a".repeat(32), runOf({ run_id: "9".repeat(40) }), 1).length <= 64);
  });
});

describe("registrations", () => {
  const allowed = [GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER, "https://ci.example"];
  const base = { name: "release", issuer: GITHUB_ACTIONS_ISSUER, claims: { repository: "acme/lib", workflow: "release.yml" }, scopes: ["conda", "pypi:upload"], packages: ["Acme_Lib"] };
  const parse = (b: unknown) => publisherInput(b, allowed, packageList);

  test("a GitHub publisher: its kind implied, scopes in order, packages normalized", () => {
    assert.deepEqual(parse(base), { name: "release", kind: "github", issuer: GITHUB_ACTIONS_ISSUER, claims: base.claims, scopes: ["pypi:upload", "conda"], packages: ["acme-lib"] });
    assert.equal(parse({ ...base, issuer: `${GITLAB_ISSUER}/`, claims: { project_path: "a/b", ci_config_path: ".gitlab-ci.yml" } }).kind, "gitlab");
    assert.equal(parse({ ...base, issuer: "https://ci.example", claims: { sub: "x" } }).kind, "oidc");
    assert.equal(parse({ ...base, issuer: "https://ci.example", kind: "github" }).kind, "github");
  });

  const refusals: [string, unknown, RegExp][] = [
    ["not an object", [], /JSON object/],
    ["an unknown field", { ...base, extra: 1 }, /unknown field "extra"/],
    ["a bad name", { ...base, name: "-x" }, /invalid name/],
    ["an issuer not allowed", { ...base, issuer: "https://evil.example" }, /not allowed on this server; OIDC_ISSUERS allows/],
    ["a kind against its issuer", { ...base, kind: "gitlab" }, /is github's/],
    ["github without a workflow", { ...base, claims: { repository: "acme/lib" } }, /github needs repository and workflow \(given: repository\)/],
    ["a claim github does not have", { ...base, claims: { ...base.claims, sub: "x" } }, /"sub" is not one of github's/],
    ["a workflow path", { ...base, claims: { ...base.claims, workflow: ".github/workflows/release.yml" } }, /claims.workflow/],
    ["a repository without owner", { ...base, claims: { ...base.claims, repository: "lib" } }, /claims.repository: owner\/name/],
    ["an owner id that is no number", { ...base, claims: { ...base.claims, repository_owner_id: "acme" } }, /invalid claims.repository_owner_id: GitHub's number for the repository's owner \(gh api repos\/OWNER\/NAME --jq \.owner\.id\)/],
    ["a repository id that is no number", { ...base, claims: { ...base.claims, repository_id: "12x" } }, /invalid claims.repository_id: GitHub's number for the repository/],
    ["an empty claim", { ...base, claims: { ...base.claims, environment: "" } }, /claims.environment: a non-empty string/],
    ["oidc without sub", { ...base, issuer: "https://ci.example", claims: { team: "a" } }, /oidc needs sub/],
    ["GitHub's claims on another issuer, without --kind", { ...base, issuer: "https://ci.example", claims: { repository: "acme/lib", workflow: "release.yml" } }, /oidc needs sub .*these are github's claims: register it with kind github/],
    ["no scopes", { ...base, scopes: [] }, /invalid scopes/],
    ["a scope beyond publishing", { ...base, scopes: ["api"] }, /invalid scopes: a list of pypi:upload and\/or conda/],
    ["no packages", { ...base, packages: undefined }, /invalid packages/],
    ["a bad package", { ...base, packages: ["../x"] }, /packages\[0\]/],
  ];
  for (const [what, body, message] of refusals) {
    test(`refused: ${what}`, () => {
      assert.throws(() => parse(body), (e: unknown) => e instanceof GateError && e.status === 400 && message.test(e.message));
    });
  }
  test("kindOf: an unknown kind", () => assert.throws(() => kindOf("https://ci.example", "jenkins"), /github, gitlab or oidc/));
});

describe("OIDC configuration", () => {
  test("defaults: GitHub Actions and gitlab.com, the audience from PUBLIC_URL, 15 minutes", () => {
    assert.deepEqual(loadConfig({}).oidc, { issuers: [GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER], audience: "pkgate", tokenTtl: 900, jwksRefresh: 30 });
    assert.equal(loadConfig({ PUBLIC_URL: "https://pkgs.example.com:8443" }).oidc.audience, "pkgs.example.com:8443");
    assert.equal(loadConfig({ PUBLIC_URL: "https://pkgs.example.com", OIDC_AUDIENCE: "pkgate-prod" }).oidc.audience, "pkgate-prod");
    assert.deepEqual(loadConfig({ OIDC_ISSUERS: " https://ci.example/ , http://127.0.0.1:9999" }).oidc.issuers, ["https://ci.example", "http://127.0.0.1:9999"]);
  });
  const bad: [Record<string, string>, RegExp][] = [
    [{ OIDC_ISSUERS: "http://ci.example" }, /OIDC_ISSUERS must list https:\/\/ issuers \(http:\/\/ only on a loopback address\)/],
    [{ OIDC_ISSUERS: "not a url" }, /OIDC_ISSUERS must be a comma-separated list/],
    [{ OIDC_ISSUERS: "https://u:p@ci.example" }, /OIDC_ISSUERS an issuer is a plain URL/],
    [{ OIDC_AUDIENCE: "a b" }, /OIDC_AUDIENCE must be one word/],
    [{ OIDC_TOKEN_TTL: "10" }, /OIDC_TOKEN_TTL must be between 60 and 86400/],
    [{ OIDC_JWKS_REFRESH: "-1" }, /OIDC_JWKS_REFRESH must be a whole number/],
  ];
  for (const [env, message] of bad) test(`refused: ${JSON.stringify(env)}`, () => assert.throws(() => loadConfig(env), message));
});

describe("an ID token is spent once", () => {
  const config = loadConfig({}).oidc;
  const token = (key: string): VerifiedIdToken => ({ issuer: "https://ci.example", claims: {}, replayKey: `oidc:seen:${key}`, expiresAt: Math.floor(Date.now() / 1000) + 300 });
  const closing: { stop?: () => Promise<void>; close?: () => Promise<void> }[] = [];
  after(async () => {
    for (const c of closing.reverse()) await (c.close ?? c.stop)!.call(c);
  });

  test("in-process cache (one gateway): the second use is refused", async () => {
    const v = new IdTokenVerifier(config, new MemoryCache());
    await v.consume(token("a"));
    await assert.rejects(v.consume(token("a")), /already exchanged/);
    await v.consume(token("b"));
  });

  test("Redis: spent for every verifier sharing it; Redis down: 503, never accepted", async () => {
    const redis = await startRedis();
    closing.push(redis);
    const [one, two] = [new RedisCache(redis.url), new RedisCache(redis.url)];
    closing.push(one, two);
    const a = new IdTokenVerifier(config, one);
    const b = new IdTokenVerifier(config, two);
    await a.consume(token("c"));
    await assert.rejects(b.consume(token("c")), /already exchanged/);
    await redis.stop();
    await assert.rejects(b.consume(token("d")), (e: unknown) => e instanceof GateError && e.status === 503 && /cannot tell whether the ID token was used before/.test(e.message));
  });
});

describe("an issuer that cannot be reached", () => {
  test("503 saying so; asked again at most once per OIDC_JWKS_REFRESH, not once per token", async () => {
    const issuer = await startOidcIssuer();
    await issuer.stop();
    let fetches = 0;
    const counting: typeof fetch = (input, init) => {
      fetches++;
      return fetch(input, init);
    };
    const v = new IdTokenVerifier({ ...loadConfig({}).oidc, issuers: [issuer.url], jwksRefresh: 30 }, new MemoryCache(), { fetch: counting });
    for (let i = 0; i < 5; i++) {
      await assert.rejects(v.verify(await issuer.sign({ sub: "x" })), (e: unknown) => e instanceof GateError && e.status === 503 && /the issuer http:\/\/127\.0\.0\.1:\d+ is unreachable or broken: its discovery document could not be fetched \(connection refused\)\.$/.test(e.message));
    }
    assert.equal(fetches, 1);
  });

  test("the cause in words: a host name that does not resolve, a certificate no authority vouches for", async () => {
    const fetchFails = async (iss: string, sign: () => Promise<string>) => {
      const v = new IdTokenVerifier({ ...loadConfig({}).oidc, issuers: [iss] }, new MemoryCache());
      const err = await v.verify(await sign()).then(() => assert.fail("verified"), (e: unknown) => e);
      assert.ok(err instanceof GateError && err.status === 503, String(err));
      return err.message;
    };
    const issuer = await startOidcIssuer();
    try {
      const nowhere = "https://issuer.pkgate-test.invalid";
      assert.equal(
        await fetchFails(nowhere, () => issuer.sign({ sub: "x" }, { issuer: nowhere })),
        `The ID token cannot be checked now: the issuer ${nowhere} is unreachable or broken: its discovery document could not be fetched (host name not found).`,
      );
      // a real TLS server with a self-signed certificate
      const dir = await mkdtemp(join(tmpdir(), "pkgate-oidc-tls-"));
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]);
      assert.equal(made.status, 0, String(made.stderr));
      const server = createHttpsServer({ key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) }, (_req, res) => res.end("{}"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const tls = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        assert.equal(
          await fetchFails(tls, () => issuer.sign({ sub: "x" }, { issuer: tls })),
          `The ID token cannot be checked now: the issuer ${tls} is unreachable or broken: its discovery document could not be fetched (the server's certificate is self-signed).`,
        );
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await issuer.stop();
    }
  });
});
