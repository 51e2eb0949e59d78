// Environments (environment.yml) and notebooks (.ipynb) as their own kinds (issue #12): uploaded
// with `pkgate upload` (real processes) and with anaconda-client's requests (≤ 1.12 sends them:
// inspect_package/env.py and ipynb.py name them and version them by the time, and
// distribution_type is "env" or "ipynb"), checked (YAML/JSON, size, names.ts's rules), kept
// with the privacy, tokens and groups of a package of that name, downloaded by URL
// (/api/download/{owner}/{name}/{version}/{file}) and listed on the account's Notebooks and
// Environments pages.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPublishing, type Publishing } from "../harness/publishing.js";
import { MATRIX } from "../harness/gateway.js";
import { anacondaAsk, multipart } from "../harness/anaconda-client.js";
import { signUpUser, WebClient } from "../web/client.js";

const ENV = "name: data-env\nchannels:\n  - acme\n  - conda-forge\ndependencies:\n  - python=3.12\n  - secret-lib >=1.2\n";
const NOTEBOOK = JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { summary: "Quarterly numbers" }, cells: [{ cell_type: "code", source: ["print(1)"], metadata: {}, outputs: [], execution_count: null }] });
const PASSWORD = "a long password";

// on the embedded store and cache, and on S3 and Redis
for (const kind of MATRIX) {
  describe(`environments and notebooks (${kind.store}+${kind.cache})`, () => {
    let dir: string;
    let p: Publishing;
    const write = (name: string, text: string | Buffer) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const download = (path: string, token?: string) => fetch(`${p.s.url}/api/download/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "pkgate-kinds-"));
      p = await startPublishing(dir, { kind, env: { SIGNUP: "open" } });
    });
    after(async () => {
      await p?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test("pkgate upload environment.yml: named by its name:, versioned by the time; the same again 409, --skip, --force", async () => {
      const env = write("environment.yml", ENV);
      const r = await p.remote(["upload", env, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const [put] = JSON.parse(r.stdout) as { channel: string; kind: string; name: string; version: string; basename: string; published: string[] }[];
      assert.deepEqual([put!.channel, put!.kind, put!.name, put!.basename], ["acme", "env", "data-env", "environment.yml"]);
      assert.match(put!.version, /^\d{4}\.\d{2}\.\d{2}\.\d{6}$/);
      assert.deepEqual(put!.published, [`environments/data-env/${put!.version}/environment.yml`]);
      // the same name, version and file through the API: refused, skipped, replaced
      const q = (extra: string) => fetch(`${p.s.url}/api/channels/acme/environments?filename=environment.yml&version=${put!.version}${extra}`, { method: "POST", headers: { authorization: `Bearer ${p.upload}`, "content-type": "application/x-yaml" }, body: ENV });
      const again = await q("");
      assert.equal(again.status, 409);
      assert.match(((await again.json()) as { message: string }).message, /already exists; upload with --force/);
      assert.deepEqual(((await (await q("&skip=1")).json()) as { skipped: string[] }).skipped, [`environments/data-env/${put!.version}/environment.yml`]);
      const force = await q("&force=1");
      assert.equal(force.status, 201);
      // downloadable by URL with the download token (public channel: anonymously too)
      const got = await download(`acme/data-env/${put!.version}/environment.yml`, p.download);
      assert.equal(got.status, 200);
      assert.match(got.headers.get("content-type")!, /^application\/x-yaml/);
      assert.equal(await got.text(), ENV);
    });

    test("a notebook: named by its file, listed, private like a package of its name, removed", async () => {
      const nb = write("Quarterly Report.ipynb", NOTEBOOK);
      const r = await p.remote(["upload", nb]);
      // a space is no file name: names.ts's rule, in words
      assert.equal(r.code, 1);
      assert.match(r.stderr, /environment or notebook file name|\.ipynb/);
      const ok = await p.remote(["upload", write("quarterly-report.ipynb", NOTEBOOK)]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^uploaded acme\/notebooks\/quarterly-report\/\d{4}\.\d{2}\.\d{2}\.\d{6}\/quarterly-report\.ipynb\n$/);
      const version = ok.stdout.split("/")[3]!;
      const path = `acme/quarterly-report/${version}/quarterly-report.ipynb`;
      // private: anonymous callers get what a missing one gets; the download token reads it
      const made = await p.s.cli(["auth", "--create", "--name", "admin-api", "--scopes", "api", "--org", "acme"]);
      const api = made.stdout.trim().split("\n").at(-1)!;
      const priv = await fetch(`${p.s.url}/api/channels/acme/packages/quarterly-report`, { method: "PUT", headers: { authorization: `Bearer ${api}`, "content-type": "application/json" }, body: JSON.stringify({ privacy: "private" }) });
      assert.equal(priv.status, 200, await priv.clone().text());
      const hidden = await download(path);
      const absent = await download(`acme/quarterly-report/${version}/no-such.ipynb`);
      assert.equal(hidden.status, 404);
      assert.equal(absent.status, 404);
      assert.deepEqual(await hidden.json(), await absent.json(), "hidden and missing answer alike");
      const mine = await download(path, p.download);
      assert.equal(mine.status, 200);
      assert.equal(await mine.text(), NOTEBOOK);
      // listed to whoever may read it
      const list = async (token?: string) => (await (await fetch(`${p.s.url}/api/channels/acme/notebooks`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).json()) as { files: { name: string }[] };
      assert.deepEqual((await list(p.download)).files.map((f) => f.name), ["quarterly-report"]);
      assert.deepEqual((await list()).files, []);
      // removed through the API: gone
      const del = await fetch(`${p.s.url}/api/channels/acme/notebooks/quarterly-report?version=${version}`, { method: "DELETE", headers: { authorization: `Bearer ${p.upload}` } });
      assert.equal(del.status, 200, await del.clone().text());
      assert.deepEqual(((await del.json()) as { removed: string[] }).removed, [`notebooks/quarterly-report/${version}/quarterly-report.ipynb`]);
      assert.equal((await download(path, p.download)).status, 404);
    });

    test("pkgate upload and remove of an environment on a gateway and on the store: NAME/VERSION takes a version, NAME the rest; nothing left: not found", async () => {
      const env = write("environment.yml", ENV.replace("data-env", "gone-env"));
      const put = async () => (JSON.parse((await p.remote(["upload", env, "--json"])).stdout) as { version: string }[])[0]!.version;
      const labelled = await p.remote(["upload", env, "--label", "dev"]);
      assert.equal(labelled.code, 0, labelled.stderr);
      assert.match(labelled.stdout, /^uploaded acme\/environments\/gone-env\/[\d.]+\/environment\.yml \(no label: labels do not apply to environments\)$/m);
      await new Promise((r) => setTimeout(r, 1100));
      const v1 = await put();
      await new Promise((r) => setTimeout(r, 1100)); // versions are the upload time, to the second
      // the second version through the store, as an ops team uploads (pkgate upload --local)
      const onStore = await p.local(["upload", env, "--local", "--channel", "acme", "--json"]);
      assert.equal(onStore.code, 0, onStore.stderr);
      const v2 = (JSON.parse(onStore.stdout) as { version: string }[])[0]!.version;
      assert.notEqual(v2, v1);
      const one = await p.remote(["remove", `acme/gone-env/${v1}`]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout.trim(), `removed environments/gone-env/${v1}/environment.yml`);
      assert.equal((await download(`acme/gone-env/${v1}/environment.yml`, p.download)).status, 404);
      assert.equal((await download(`acme/gone-env/${v2}/environment.yml`, p.download)).status, 200);
      const rest = await p.local(["remove", "acme/gone-env", "--json"]);
      assert.equal(rest.code, 0, rest.stderr);
      const left = (JSON.parse(rest.stdout) as { removed: string[] }).removed;
      assert.equal(left.length, 2, "the labelled upload's version and v2");
      assert.ok(left.includes(`environments/gone-env/${v2}/environment.yml`));
      const none = await p.remote(["remove", "acme/gone-env"]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /acme\/gone-env was not found/);
    });

    test("checked: YAML and JSON that do not parse, the wrong shape, too large, a bad name — 400/413, nothing stored", async () => {
      const cases: [string, string | Buffer, RegExp][] = [
        ["broken.yml", "name: [unclosed\n", /broken\.yml is not an environment: its YAML does not parse/],
        ["list.yml", "- a\n- b\n", /is not a YAML mapping/],
        ["deps.yml", "name: x\ndependencies: python\n", /dependencies: must be a list/],
        ["Upper.yml", "name: MyEnv\ndependencies: []\n", /invalid environment name: lower-case letters/],
        ["broken.ipynb", "{", /its JSON does not parse/],
        ["old.ipynb", JSON.stringify({ cells: [] }), /nbformat: must be an integer/],
        ["big.yml", Buffer.alloc(1024 * 1024 + 1, "#"), /larger than the 1048576 bytes an environment may have/],
      ];
      for (const [name, body, why] of cases) {
        const r = await p.remote(["upload", write(name, body)]);
        assert.equal(r.code, 1, name);
        assert.match(r.stderr, why, name);
      }
      const listed = (await (await fetch(`${p.s.url}/api/channels/acme/environments`, { headers: { authorization: `Bearer ${p.download}` } })).json()) as { files: { name: string }[] };
      assert.deepEqual([...new Set(listed.files.map((f) => f.name))], ["data-env"], "nothing of the refused ones");
      // a download token cannot upload: 403 naming the conda scope
      const denied = await p.remote(["upload", write("ok.yml", "name: ok-env\ndependencies: []\n")], p.logins.download);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /conda/);
    });

    test("groups: write on one name lets a member publish that environment and no other", async () => {
      const made = await p.s.cli(["user", "--create", "dana", "--email", "dana@example.org"], `${PASSWORD}\n${PASSWORD}\n`);
      assert.equal(made.code, 0, made.stderr);
      // the group through the gateway's API, so this gateway knows it at once (no Redis on fs+memory)
      const admin = (await p.s.cli(["auth", "--create", "--name", "groups-api", "--scopes", "api", "--org", "acme"])).stdout.trim().split("\n").at(-1)!;
      const api = (method: string, path: string, body?: unknown) => fetch(`${p.s.url}/api${path}`, { method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
      const group = await api("POST", "/orgs/acme/groups", { name: "env-writers", permission: "write", packages: ["team-env"] });
      assert.equal(group.status, 201, await group.clone().text());
      const member = await api("PUT", "/orgs/acme/groups/env-writers/members/dana");
      assert.ok(member.ok, await member.clone().text());
      const dana = (await p.s.cli(["auth", "--create", "--name", "dana-conda", "--scopes", "conda", "--user", "dana"])).stdout.trim().split("\n").at(-1)!;
      const put = (name: string) =>
        fetch(`${p.s.url}/api/channels/acme/environments?filename=environment.yml&name=${name}`, { method: "POST", headers: { authorization: `Bearer ${dana}`, "content-type": "application/x-yaml" }, body: ENV });
      assert.equal((await put("team-env")).status, 201);
      const other = await put("other-env");
      assert.equal(other.status, 403);
      assert.match(((await other.json()) as { message: string }).message, /may not upload or remove the package "other-env"/);
    });

    test("anaconda upload environment.yml and a notebook: the client's sequence (dist, package, release, stage, file POST 201, commit)", async () => {
      const version = "2026.11.30.101500";
      const owner = (await anacondaAsk(p.s.url, "GET", "/user", { token: p.upload })).json.login as string;
      assert.equal(owner, "acme");
      for (const [name, basename, type, text] of [
        ["ci-env", "environment.yml", "env", "name: ci-env\ndependencies:\n  - python\n"],
        ["analysis", "analysis.ipynb", "ipynb", NOTEBOOK],
      ] as const) {
        const ask = (m: string, path: string, body?: unknown) => anacondaAsk(p.s.url, m, path, { token: p.upload, body });
        const tail: string = `${owner}/${name}/${version}/${basename}`;
        assert.equal((await ask("GET", `/dist/${tail}`)).status, 404);
        assert.equal((await ask("GET", `/package/${owner}/${name}`)).status, 404);
        assert.equal((await ask("POST", `/package/${owner}/${name}`, { public: true, publish: false, public_attrs: { summary: "s", package_types: [type] } })).status, 200);
        assert.equal((await ask("GET", `/release/${owner}/${name}/${version}`)).status, 404);
        assert.equal((await ask("POST", `/release/${owner}/${name}/${version}`, { requirements: [], announce: null, description: null })).status, 200);
        const bytes = Buffer.from(text);
        // a stage that says another type is refused in words
        const wrong = await ask("POST", `/stage/${tail}`, { distribution_type: "conda", description: null, attrs: {}, dependencies: null, channels: [], sha256: createHash("sha256").update(bytes).digest("hex") });
        assert.equal(wrong.status, 400);
        assert.match(wrong.json.error, /pkgate takes an? (environment|notebook)/);
        const stage = await ask("POST", `/stage/${tail}`, { distribution_type: type, description: null, attrs: {}, dependencies: null, channels: [], sha256: createHash("sha256").update(bytes).digest("hex") });
        assert.equal(stage.status, 200, JSON.stringify(stage.json));
        const form = multipart({ ...stage.json.form_data, "Content-Length": String(bytes.length), "Content-MD5": createHash("md5").update(bytes).digest("base64") }, basename, bytes);
        const posted = await fetch(stage.json.post_url, { method: "POST", headers: { "content-type": form.type }, body: new Uint8Array(form.body) });
        assert.equal(posted.status, 201, await posted.clone().text());
        const commit = await ask("POST", `/commit/${tail}`, { dist_id: stage.json.dist_id });
        assert.equal(commit.status, 200, JSON.stringify(commit.json));
        assert.equal(commit.json.url, `${p.s.url}/api/download/${tail}`);
        assert.equal((await ask("GET", `/dist/${tail}`)).status, 200);
        assert.deepEqual((await ask("GET", `/package/${owner}/${name}`)).json.package_types, [type]);
        const got = await download(tail, p.download);
        assert.equal(await got.text(), text);
        // anaconda download reads it from the same address, with the client's own header
        const viaClient = await fetch(`${p.s.url}/api/download/${tail}`, { headers: { authorization: `token ${p.download}`, "x-binstar-api-version": "1.12.3" } });
        assert.equal(viaClient.status, 200);
      }
      // --force removes it first: DELETE /dist (200), then it is gone
      assert.equal((await anacondaAsk(p.s.url, "DELETE", `/dist/${owner}/ci-env/${version}/environment.yml`, { token: p.upload })).status, 200);
      assert.equal((await download(`acme/ci-env/${version}/environment.yml`, p.download)).status, 404);
      // anaconda remove OWNER/NAME/VERSION takes a notebook's version too (201); then nothing is left
      const rm1 = await anacondaAsk(p.s.url, "DELETE", `/release/${owner}/analysis/${version}`, { token: p.upload });
      assert.equal(rm1.status, 201, JSON.stringify(rm1.json));
      assert.deepEqual(rm1.json.removed, [`notebooks/analysis/${version}/analysis.ipynb`]);
      assert.equal((await anacondaAsk(p.s.url, "DELETE", `/package/${owner}/analysis`, { token: p.upload })).status, 404);
      // uploaded again for the pages below
      assert.equal((await p.remote(["upload", write("analysis.ipynb", NOTEBOOK)])).code, 0);
    });

    test("the Notebooks and Environments pages list them, and download them for the signed-in admin", async () => {
      await signUpUser(p.s.url, "olga", PASSWORD);
      assert.equal((await p.s.cli(["org", "acme", "--add-admin", "olga"])).code, 0);
      const web = await new WebClient(p.s.url).signIn("olga", PASSWORD);
      const envs = await web.page("/dashboard/acme/environments");
      assert.equal(envs.status, 200);
      assert.match(envs.html, /data-env/);
      assert.match(envs.html, /environment\.yml/);
      const nbs = await web.page("/dashboard/acme/notebooks");
      assert.equal(nbs.status, 200);
      assert.match(nbs.html, /analysis\.ipynb/);
      const link = /href="([^"]*\/dashboard\/acme\/notebooks\/analysis\/[^"]+)"/.exec(nbs.html)?.[1];
      assert.ok(link, "a download link");
      const file = await web.get(link!.replace(/&amp;/g, "&"));
      assert.equal(file.status, 200);
      assert.equal(await file.text(), NOTEBOOK);
      // someone else may not see acme's Dashboard (its content is public: 403, as the page says)
      await signUpUser(p.s.url, "gus", PASSWORD);
      const gus = await new WebClient(p.s.url).signIn("gus", PASSWORD);
      assert.equal((await gus.page("/dashboard/acme/notebooks")).status, 403);
      assert.equal((await gus.get(link!)).status, 403);
    });
  });
}
