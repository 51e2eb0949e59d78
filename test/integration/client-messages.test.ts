// Issue 10, item 3: the reason for a refusal reaches the screen of the real clients, and no
// client asks for credentials when the token came in the URL path.
//   - twine (non-verbose) prints the status line's reason phrase and nothing of the body:
//     every upload answer carries the reason there, as PyPI's does.
//   - pip prompts `User for host:` on any 401 (and dies with EOFError when stdin is closed, as
//     in CI); a bad token in the path is answered 403, so pip fails cleanly. pip logs a refused
//     index page's status line at debug level (-vv), nothing of the body: a refused token's
//     reason is in the status line, the same whatever the URL asks for.
//   - rattler (@conda-org/rattler) prints reqwest's canonical status text, never the body nor
//     the reason phrase: its error says 403 Forbidden, with the token masked.
//   - conda and uv print the JSON body (`message`, problem+json `detail`): checked on the body.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { startStack, type Stack } from "../harness/gateway.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { runClient } from "../pypi/clients.js";
import { generateToken } from "../../src/auth/token.js";
import { fetchRaw } from "../harness/raw-http.js";

// no keyring, no cache, nothing beyond the gateway; prompts are NOT switched off (pip would
// ask for a user name on a 401: that is what is tested)
const CLIENT_ENV = {
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_NO_CACHE_DIR: "1",
  PIP_CONFIG_FILE: "/dev/null",
  PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring",
  NO_COLOR: "1",
};

describe("what the clients print when the gateway refuses", () => {
  let s: Stack;
  let work: string;
  let reader: string; // pypi:download and conda:download on acme
  let uploader: string; // pypi on acme
  let revoked: string;
  const secrets: string[] = [];

  const twine = (token: string, file: string, url = `${s.url}/acme/`) =>
    runClient("/usr/bin/twine", ["upload", "--disable-progress-bar", "--non-interactive", "--repository-url", url, "-u", "__token__", "-p", token, file], { ...CLIENT_ENV, HOME: work });

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" });
    work = await mkdtemp(join(tmpdir(), "pkgate-messages-"));
    const catalog = s.rt.catalog;
    await catalog.createAccount({ name: "acme", kind: "org" });
    await catalog.setPackagePrivacy("acme", "priv-up", "private");
    const make = async (name: string, scopes: string[]) => (await catalog.createToken({ account: "acme", name, scopes })).token;
    reader = await make("reader", ["pypi:download", "conda:download"]);
    uploader = await make("ci", ["pypi"]);
    revoked = await make("old-ci", ["pypi:download", "conda:download"]);
    await catalog.revokeToken("acme", "old-ci");
    secrets.push(reader, uploader, revoked);
    await s.rt.store.put("acme/noarch/repodata.json", Buffer.from(JSON.stringify({ info: { subdir: "noarch" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 1 })));
    await mkdir(join(work, "dist"));
  });
  after(async () => {
    const logs = s.logs.join("\n");
    for (const t of secrets) assert.ok(!logs.includes(t), "a token in the logs");
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("pip with a revoked, unknown or malformed token in the index URL: no prompt, a clean failure", async () => {
    const bad = [revoked, generateToken(), "not-a-pkgate-token"];
    const runs = await Promise.all(
      bad.map((t, i) => runClient("python3", ["-m", "pip", "install", "--index-url", `${s.url}/t/${t}/acme/simple/`, "--target", join(work, `site-${i}`), "priv-up"], CLIENT_ENV)),
    );
    for (const r of runs) {
      assert.notEqual(r.code, 0);
      assert.ok(!/User for/.test(r.out), `pip asked for credentials:\n${r.out}`);
      assert.ok(!/EOFError|Traceback/.test(r.out), r.out);
      assert.match(r.out, /No matching distribution found for priv-up/);
    }
    // what pip was answered: 403 without a challenge, the reason in the body
    const res = await fetch(`${s.url}/t/${revoked}/acme/simple/priv-up/`);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("www-authenticate"), null);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = await res.json();
    assert.match(body.detail, /"old-ci" of acme was revoked on \d{4}-\d\d-\d\d/);
    assert.equal(body.message, body.detail, "conda reads message, or detail from problem+json");
  });

  test("pip -vv with a revoked, unknown or malformed token in the index URL: the reason in the status line it prints", async () => {
    const bad: [string, RegExp][] = [
      [revoked, /403 Client Error: The token "old-ci" of acme was revoked on \d{4}-\d\d-\d\d\. Ask for a new token\. for url/],
      [generateToken(), /403 Client Error: The token given is invalid: this server does not know it\. Ask for a new token\. for url/],
      ["not-a-pkgate-token", /403 Client Error: The token given is not a pkgate token \(check the URL or the credentials you configured\)\. for url/],
    ];
    const runs = await Promise.all(bad.map(([t], i) => runClient("python3", ["-m", "pip", "install", "-vv", "--index-url", `${s.url}/t/${t}/acme/simple/`, "--target", join(work, `site-vv-${i}`), "priv-up"], CLIENT_ENV)));
    runs.forEach((r, i) => assert.match(r.out, bad[i]![1], r.out));
  });

  test("a refused token's status line and body are the same for a hidden project, a missing one and a missing channel, and hold no token", async () => {
    await s.rt.catalog.setPackagePrivacy("acme", "priv-held", "private");
    await s.rt.store.put(`acme/pypi/priv-held/${wheelFilename("priv-held", "1.0")}`, buildWheel({ name: "priv-held", version: "1.0" }));
    assert.equal((await fetchRaw(`${s.url}/t/${reader}/acme/simple/priv-held/`)).res.statusCode, 200, "it is there, hidden from others");
    for (const token of [revoked, generateToken(), "not-a-pkgate-token"]) {
      const seen = await Promise.all(
        ["acme/simple/priv-held/", "acme/simple/no-such-project/", "no-such-org/simple/priv-held/"].map(async (path) => {
          const { res, body } = await fetchRaw(`${s.url}/t/${token}/${path}`);
          const headers = Object.entries(res.headers).filter(([k]) => k !== "date" && k !== "x-request-id");
          return { status: res.statusCode, reason: res.statusMessage, headers, body: body.toString() };
        }),
      );
      assert.equal(seen[0]!.status, 403);
      assert.match(seen[0]!.reason ?? "", /^The token /);
      assert.ok(!seen[0]!.reason!.includes(token), "the token in the status line");
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[2], seen[0]);
    }
  });

  test("credentials from the Authorization header keep 401 and its challenge", async () => {
    const res = await fetch(`${s.url}/acme/simple/priv-up/`, { headers: { authorization: `Bearer ${revoked}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
  });

  const refusals: [what: string, token: () => string, file: () => Promise<string>, shown: RegExp][] = [
    [
      "a token without pypi:upload",
      () => reader,
      async () => {
        const file = join(work, "dist", wheelFilename("priv-up", "0.1"));
        await writeFile(file, buildWheel({ name: "priv-up", version: "0.1" }));
        return file;
      },
      /pypi:upload/,
    ],
    [
      "a file whose name and metadata disagree on the version",
      () => uploader,
      async () => {
        await mkdir(join(work, "bad"), { recursive: true });
        const file = join(work, "bad", wheelFilename("priv-up", "0.3"));
        await writeFile(file, buildWheel({ name: "priv-up", version: "0.2" }));
        return file;
      },
      /is for version 0\.3, but the form says 0\.2/,
    ],
    ["a revoked token", () => revoked, async () => join(work, "dist", wheelFilename("priv-up", "0.1")), /"old-ci" of acme was revoked/],
  ];
  for (const [what, token, file, shown] of refusals) {
    test(`twine upload, not verbose, with ${what}: the reason is on the screen`, async () => {
      const r = await twine(token(), await file());
      assert.notEqual(r.code, 0);
      // twine wraps long lines to the terminal's width
      assert.match(r.out.replace(/\s+/g, " "), shown, r.out);
      assert.ok(!secrets.some((t) => r.out.includes(t)), "a token on the screen");
    });
  }

  test("twine pointed at PyPI's /legacy/ or at the index, for a channel that exists or not: where uploads go is on the screen", async () => {
    const file = join(work, "dist", wheelFilename("priv-up", "0.1"));
    await writeFile(file, buildWheel({ name: "priv-up", version: "0.1" }));
    const runs = await Promise.all(["acme/legacy/", "acme/simple/", "no-such-org/legacy/"].map((path) => twine(uploader, file, `${s.url}/${path}`)));
    for (const r of runs) {
      assert.notEqual(r.code, 0);
      // twine prints the status, then the reason phrase (rich colours a word of it)
      assert.match(r.out.replace(/\x1b\[[\d;]*m/g, "").replace(/\s+/g, " "), /405 Method Not Allowed from \S+ uploads go to the channel URL: POST \/<channel>\//, r.out);
    }
  });

  test("an upload's reason phrase is one safe line: printable ASCII, bounded, no token", async () => {
    const long = `${"ä".repeat(50)}\r\nX-Injected: 1 ${"z".repeat(400)}`;
    const fd = new FormData();
    for (const [k, v] of Object.entries({ ":action": "file_upload", protocol_version: "1", name: long, version: "1.0" })) fd.append(k, v);
    fd.append("content", new Blob([new Uint8Array(buildWheel({ name: "priv-up", version: "1.0" }))]), wheelFilename("priv-up", "1.0"));
    const res = await fetch(`${s.url}/acme/`, { method: "POST", body: fd, headers: { authorization: `Basic ${Buffer.from(`__token__:${uploader}`).toString("base64")}` } });
    assert.equal(res.status, 400);
    assert.match(res.statusText, /^[\x20-\x7e]{1,200}$/);
    assert.match(res.statusText, /is not a valid project name/);
    assert.equal(res.headers.get("x-injected"), null);
  });

  test("rattler with a revoked token in the channel URL: a 403 it reports, the token masked (it prints no reason from the server)", async () => {
    let message = "";
    await assert.rejects(
      simpleSolve(["anything"], [`${s.url}/t/${revoked}/acme`], ["noarch"], undefined).catch((e: unknown) => {
        message = String(e instanceof Error ? e.message : e);
        throw e;
      }),
    );
    assert.match(message, /403 Forbidden/);
    assert.ok(!message.includes(revoked), message);
  });
});
