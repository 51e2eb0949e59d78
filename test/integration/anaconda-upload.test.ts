// `anaconda upload FILE [-l LABEL] [-u ORG] [--force|--skip]` against pkgate (issue #12), with the
// requests anaconda-client really sends, read in github.com/anaconda/anaconda-client
// (snapshot c1cafbc, 2026-07):
//   - commands/upload.py Uploader.username: GET /user (no -u) or GET /user/{org} (-u);
//   - upload_package → _check_file: GET /dist/{owner}/{pkg}/{ver}/{subdir}/{file}; NotFound → go
//     on; --skip stops; --force → remove_dist: DELETE the same (200); neither → the client's own
//     409 "file … already exists";
//   - get_package: GET /package/{owner}/{pkg}; NotFound → add_package: POST it with
//     {public, publish: false, public_attrs} (200);
//   - get_release: GET /release/{owner}/{pkg}/{ver}; NotFound → add_release: POST it with
//     {requirements: [], announce: null, description: null, …release_attrs} (200);
//   - __init__.py Binstar.upload: POST /stage/… {distribution_type, description, attrs,
//     dependencies, channels (the -l labels, [] without), sha256 (hex)} → {post_url, form_data,
//     dist_id}; utils/multipart_uploader.py: multipart POST to post_url of form_data +
//     Content-Length + Content-MD5 (base64) + file=(basename, file), no Authorization; `!= 201`
//     is parsed as S3 XML (<Error><Code>); then POST /commit/… {dist_id} (200).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { simpleSolve } from "@conda-org/rattler";
import { startStack, type Stack } from "../harness/gateway.js";
import { buildCondaChannel, type BuiltChannel, type BuiltPackage } from "../fixtures/conda-channel.js";
import { verifyPostUrl } from "../../src/api/anaconda-upload.js";
import { anacondaAsk, multipart } from "../harness/anaconda-client.js";

const PASSWORD = "correct horse battery";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];

let dir: string;
let built: BuiltChannel;
const pkgOf = (f: string): BuiltPackage => built.packages.find((p) => p.filename === f)!;

describe("anaconda upload against pkgate", () => {
  let s: Stack;
  let token: string;
  let dl: string;

  const ask = (method: string, path: string, opts: { token?: string; auth?: string; body?: unknown } = {}) => anacondaAsk(s.url, method, path, opts);
  const authCreate = async (name: string, scopes: string[]) => {
    const r = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: { scopes, note: name, note_url: "http://anaconda.org", hostname: "ci", user: null, "max-age": null, strength: "strong", "fail-if-exists": true } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json!.token as string;
  };

  /** What Uploader.upload_package sends for one file; each request's method, path and status. */
  async function anacondaUpload(p: BuiltPackage, opts: { labels?: string[]; mode?: "force" | "skip"; as?: string; tamper?: (url: string) => string; sha256?: string; subdir?: string } = {}) {
    const t = opts.as ?? token;
    const seen: string[] = [];
    const note = (m: string, path: string, status: number) => seen.push(`${m} ${path.replace(/\/anaconda-upload\/.*/, "/anaconda-upload/<signed>")} ${status}`);
    const call = async (m: string, path: string, body?: unknown) => {
      const r = await ask(m, path, { token: t, body });
      note(m, path, r.status);
      return r;
    };
    const owner = (await call("GET", "/user")).json!.login as string;
    const basename = `${opts.subdir ?? p.subdir}/${p.filename}`;
    const tail = `${owner}/${p.name}/${p.version}/${basename}`;
    const dist = await call("GET", `/dist/${tail}`);
    if (dist.status === 200) {
      if (opts.mode === "skip") return { seen, dist };
      if (opts.mode !== "force") return { seen, dist }; // the client's own 409
      assert.equal((await call("DELETE", `/dist/${tail}`)).status, 200);
    }
    if ((await call("GET", `/package/${owner}/${p.name}`)).status === 404) {
      await call("POST", `/package/${owner}/${p.name}`, { public: true, publish: false, public_attrs: { summary: "s", package_types: ["conda"], license: { name: "MIT", url: null, family: null } } });
    }
    if ((await call("GET", `/release/${owner}/${p.name}/${p.version}`)).status === 404) {
      await call("POST", `/release/${owner}/${p.name}/${p.version}`, { requirements: [], announce: null, description: null });
    }
    const bytes = readFileSync(p.path);
    const stage = await call("POST", `/stage/${tail}`, {
      distribution_type: "conda",
      description: null,
      attrs: { subdir: p.subdir },
      dependencies: { depends: [] },
      channels: opts.labels ?? [],
      sha256: opts.sha256 ?? createHash("sha256").update(bytes).digest("hex"),
    });
    if (stage.status !== 200) return { seen, stage };
    const { post_url, form_data, dist_id } = stage.json as { post_url: string; form_data: Record<string, string>; dist_id: string };
    const url = opts.tamper ? opts.tamper(post_url) : post_url;
    const form = multipart({ ...form_data, "Content-Length": String(bytes.length), "Content-MD5": createHash("md5").update(bytes).digest("base64") }, basename, bytes);
    const res = await fetch(url, { method: "POST", headers: { "content-type": form.type }, body: new Uint8Array(form.body) });
    const xml = await res.text();
    note("POST", new URL(url).pathname.replace(/^\/api/, ""), res.status);
    if (res.status !== 201) return { seen, stage, post_url, xml, status: res.status };
    const commit = await call("POST", `/commit/${tail}`, { dist_id });
    return { seen, stage, post_url, commit };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pkgate-anaconda-upload-"));
    built = await buildCondaChannel(join(dir, "fixture"), {
      channel: "acme",
      packages: [
        { name: "up-app", version: "1.0", subdir: "noarch", format: ".conda", depends: ["up-lib >=2"] },
        { name: "up-lib", version: "2.0", subdir: "linux-64", format: ".tar.bz2" },
        { name: "dev-tool", version: "0.1", subdir: "noarch", format: ".conda" },
        { name: "other-replica", version: "1.0", subdir: "noarch", format: ".conda" },
      ],
    });
    s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open" });
    const signup = await fetch(`${s.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "jdoe", email: "jdoe@example.org", password: PASSWORD }) });
    assert.equal(signup.status, 201, await signup.text());
    // `anaconda login` (commands/login.py: scopes null): a token with scope all, as people upload with
    const login = await ask("POST", "/authentications", { auth: basic("jdoe", PASSWORD), body: { scopes: null, note: "binstar_client:pkgate:jdoe@ci", note_url: null, hostname: "ci", user: null, "max-age": null, strength: "strong", "fail-if-exists": true } });
    assert.equal(login.status, 200, JSON.stringify(login.json));
    token = login.json!.token as string;
    dl = await authCreate("ci-download", ["conda:download"]);
  });
  after(async () => {
    assert.ok(!s.logs.join("\n").includes(token), "the token appeared in the logs");
    // a post_url authorises an upload by itself: its JWT is as secret as a token
    assert.doesNotMatch(s.logs.join("\n"), /anaconda-upload\/eyJ/, "a post_url appeared in the logs");
    assert.match(s.logs.join("\n"), /anaconda-upload\/<jwt>/, "the uploads were logged");
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("the client's whole sequence without -l: statuses as it needs them, into main", async () => {
    const lib = await anacondaUpload(pkgOf("up-lib-2.0-0.tar.bz2"));
    assert.deepEqual(lib.seen, [
      "GET /user 200",
      "GET /dist/jdoe/up-lib/2.0/linux-64/up-lib-2.0-0.tar.bz2 404",
      "GET /package/jdoe/up-lib 404",
      "POST /package/jdoe/up-lib 200",
      "GET /release/jdoe/up-lib/2.0 404",
      "POST /release/jdoe/up-lib/2.0 200",
      "POST /stage/jdoe/up-lib/2.0/linux-64/up-lib-2.0-0.tar.bz2 200",
      "POST /anaconda-upload/<signed> 201",
      "POST /commit/jdoe/up-lib/2.0/linux-64/up-lib-2.0-0.tar.bz2 200",
    ]);
    assert.deepEqual(lib.stage!.json!.labels, ["main"]);
    assert.deepEqual(lib.commit!.json!.labels, ["main"]);
    const app = await anacondaUpload(pkgOf("up-app-1.0-0.conda"));
    assert.equal(app.commit!.status, 200, JSON.stringify(app));
    // now the package and release exist: GET answers 200 and nothing is "created"
    assert.equal((await ask("GET", "/package/jdoe/up-app", { token })).json!.package_types[0], "conda");
    assert.equal((await ask("GET", "/release/jdoe/up-app/1.0", { token })).json!.distributions.length, 1);
    assert.equal((await s.cli(["package", "--private", "jdoe/up-app"])).code, 0);
  });

  test("rattler resolves the uploads through a download token", async () => {
    const solved = await simpleSolve(["up-app"], [`${s.url}/conda/t/${dl}/jdoe`], PLATFORMS, undefined);
    assert.deepEqual(solved.map((r) => r.packageName).sort(), ["up-app", "up-lib"]);
    for (const rec of solved) assert.equal((await fetch(rec.url)).status, 200);
  });

  test("-l dev: stage carries channels [dev]; the file is in label dev, not main", async () => {
    const r = await anacondaUpload(pkgOf("dev-tool-0.1-0.conda"), { labels: ["dev"] });
    assert.equal(r.commit!.status, 200, JSON.stringify(r));
    assert.deepEqual(r.commit!.json!.labels, ["dev"]);
    assert.equal((await simpleSolve(["dev-tool"], [`${s.url}/conda/t/${dl}/jdoe/label/dev`], PLATFORMS, undefined)).length, 1);
    await assert.rejects(simpleSolve(["dev-tool"], [`${s.url}/conda/t/${dl}/jdoe`], PLATFORMS, undefined));
  });

  test("an existing file: GET /dist answers 200 with its labels; --skip stops there, --force removes it and uploads again", async () => {
    const p = pkgOf("dev-tool-0.1-0.conda");
    const plain = await anacondaUpload(p);
    assert.equal(plain.dist!.status, 200);
    assert.deepEqual(plain.dist!.json!.labels, ["dev"]);
    const skip = await anacondaUpload(p, { mode: "skip" });
    assert.equal(skip.seen.length, 2);
    const force = await anacondaUpload(p, { mode: "force", labels: ["main"] });
    assert.ok(force.seen.includes("DELETE /dist/jdoe/dev-tool/0.1/noarch/dev-tool-0.1-0.conda 200"), force.seen.join("\n"));
    assert.equal(force.commit!.status, 200, JSON.stringify(force));
    assert.deepEqual(force.commit!.json!.labels, ["main"], "as on anaconda.org, removing a distribution takes it out of every label");
  });

  test("a post_url is refused when tampered with, used twice, with another sha256 or for another subdir: S3's XML the client reads", async () => {
    const p = pkgOf("up-lib-2.0-0.tar.bz2");
    assert.equal((await ask("DELETE", `/dist/jdoe/up-lib/2.0/linux-64/${p.filename}`, { token })).status, 200);
    const tampered = await anacondaUpload(p, { tamper: (u) => u.replace(/\/anaconda-upload\/([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\./, (_m, head: string, body: string) => `/anaconda-upload/${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, "base64url").toString()), channel: "mia" })).toString("base64url")}.`) });
    assert.equal(tampered.status, 403);
    assert.match(tampered.xml!, /<Code>AccessDenied<\/Code><Message>this upload URL is not one this gateway signed<\/Message>/);
    const wrongSha = await anacondaUpload(p, { sha256: "0".repeat(64) });
    assert.equal(wrongSha.status, 400);
    assert.match(wrongSha.xml!, /<Code>InvalidDigest<\/Code>/);
    // staged under another subdir than the archive's own: refused at the file POST, nothing stored
    const elsewhere = await anacondaUpload(p, { subdir: "noarch" });
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.xml!, /is built for linux-64, not noarch as the upload was staged/);
    assert.equal(await s.rt.store.stat(`jdoe/noarch/${p.filename}`), null);
    assert.equal(await s.rt.store.stat(`jdoe/linux-64/${p.filename}`), null);
    const ok = await anacondaUpload(p);
    assert.equal(ok.commit!.status, 200);
    const again = await fetch(ok.post_url!, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "--x--\r\n" });
    assert.equal(again.status, 403);
    assert.match(await again.text(), /has been used already/);
  });

  test("a post_url staged on one replica is accepted by another (the key comes from the shared master secret)", async () => {
    const replica = await s.spawnReplica();
    const p = built.packages.find((b) => b.name === "other-replica")!;
    const r = await anacondaUpload(p, { tamper: (url) => url.replace(new URL(url).origin, new URL(replica.url).origin) });
    assert.equal(r.status ?? 201, 201, r.xml);
    assert.equal(r.commit!.status, 200);
  });

  test("an expired post_url is refused with words to act on", async () => {
    const key = new Uint8Array(32).fill(7);
    const expired = await new SignJWT({ channel: "jdoe" }).setProtectedHeader({ alg: "HS256" }).setAudience("pkgate:anaconda-upload").setJti("j").setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    await assert.rejects(verifyPostUrl({ key: async () => key } as never, expired), /has expired \(they live 15 minutes\): run anaconda upload again/);
  });

  test("a token without the conda scope is refused at stage, with the reason in `error`", async () => {
    const readOnly = await authCreate("ci-read", ["api:read"]);
    const p = pkgOf("up-app-1.0-0.conda");
    const r = await ask("POST", `/stage/jdoe/up-app/1.0/noarch/${p.filename}`, { token: readOnly, body: { distribution_type: "conda", description: null, attrs: {}, dependencies: null, channels: [], sha256: p.sha256 } });
    assert.equal(r.status, 403, JSON.stringify(r.json));
    assert.equal(typeof r.json!.error, "string");
    assert.ok(r.json!.error.length > 10 && r.json!.error !== r.json!.code, r.json!.error);
    const anon = await ask("POST", `/stage/jdoe/up-app/1.0/noarch/${p.filename}`, { body: { channels: [], sha256: p.sha256 } });
    assert.equal(anon.status, 401);
    assert.match(anon.json!.error, /needs a token/);
  });
});
