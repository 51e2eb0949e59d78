// Today's PyPI standards on a real gateway, on each store and cache: PEP 792 project status
// and PEP 592 yanks set through the API and the CLI and read by the real pip; the served
// core metadata byte for byte the wheel's own METADATA (what pip 26.2 compares), for a twine
// upload and for a wheel dropped into the bucket; PEP 740 attestations sent as uv and twine
// send them; writes authorized as uploads; concurrent writers from other processes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MATRIX, startStack, lastLine, type Stack } from "../harness/gateway.js";
import { runCliProcess } from "../harness/cli-process.js";
import { buildWheel, wheelFilename, type DistSpec } from "../pypi/fixtures.js";
import { PYTHON_CLIENT_ENV as CLIENT_ENV, runClient } from "../pypi/clients.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A member of a zip archive, as Python's zipfile reads it. */
async function zipMember(archive: string, member: string): Promise<Buffer> {
  const r = await runClient("python3", ["-c", "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))", archive, member], {});
  assert.equal(r.code, 0, r.out);
  return r.stdout;
}

const JSON_ACCEPT = { accept: "application/vnd.pypi.simple.v1+json" };
const HTML_ACCEPT = { accept: "application/vnd.pypi.simple.v1+html" };

// METADATA whose bytes a re-rendering would not reproduce: non-ASCII, odd spacing, extras
const LIB = (version: string): DistSpec => ({
  name: "St.Lib",
  version,
  requiresPython: ">= 3.7",
  summary: "Café ☕  with  two spaces",
  requiresDist: ["st-dep >=1.0 ; extra == 'fast'", "tomli;python_version<'3.11'"],
  providesExtra: ["fast"],
});

/** The multipart body uv publish sends (crates/uv-publish/src/lib.rs build_upload_request):
 * the metadata fields, the file as `content`, then `attestations`, one JSON array. */
function uvUpload(spec: DistSpec, wheel: Buffer, attestations: string | null): { body: Buffer; type: string } {
  const boundary = `${"-".repeat(4)}uvboundary${sha256(wheel).slice(0, 16)}`;
  const fields: [string, string][] = [
    [":action", "file_upload"],
    ["sha256_digest", sha256(wheel)],
    ["protocol_version", "1"],
    ["metadata_version", "2.1"],
    ["name", spec.name],
    ["version", spec.version],
    ["filetype", "bdist_wheel"],
    ["pyversion", "py3"],
    ["requires_python", spec.requiresPython ?? ""],
  ];
  const parts: Buffer[] = fields.map(([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="${wheelFilename(spec.name, spec.version)}"\r\n\r\n`), wheel, Buffer.from("\r\n"));
  if (attestations !== null) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="attestations"\r\n\r\n${attestations}\r\n`));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** A PEP 740 attestation object's shape (the bytes are not a real signature: nothing verifies them). */
const ATTESTATION = {
  version: 1,
  verification_material: { certificate: Buffer.from("certificate").toString("base64"), transparency_entries: [{ logIndex: "1", kindVersion: { kind: "dsse", version: "0.0.1" } }] },
  envelope: { statement: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}').toString("base64"), signature: Buffer.from("sig").toString("base64") },
};

for (const kind of MATRIX) {
  describe(`PyPI status, yanks, metadata and attestations on ${kind.store} store + ${kind.cache} cache`, () => {
    let s: Stack;
    let work: string;
    let uploader: string; // pypi on acme (upload and download)
    let reader: string; // pypi:download on acme
    let port: string;

    const get = (path: string, init: RequestInit = {}) => fetch(s.url + path, { redirect: "manual", ...init });
    const api = (method: string, path: string, token: string | null, body?: unknown) =>
      fetch(`${s.url}/api${path}`, {
        method,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const page = async (project: string) => (await get(`/t/${uploader}/acme/simple/${project}/`, { headers: JSON_ACCEPT })).json();
    const html = async (project: string) => (await get(`/t/${uploader}/acme/simple/${project}/`, { headers: HTML_ACCEPT })).text();
    const index = () => `http://__token__:${reader}@127.0.0.1:${port}/acme/simple/`;
    const pip = (target: string, ...pkgs: string[]) =>
      runClient("python3", ["-m", "pip", "install", "--no-deps", "--index-url", index(), "--target", target, ...pkgs], CLIENT_ENV);
    const twine = (...args: string[]) =>
      runClient("/usr/bin/twine", ["upload", "--disable-progress-bar", "--non-interactive", "--repository-url", `${s.url}/acme/`, "-u", "__token__", "-p", uploader, ...args], { ...CLIENT_ENV, HOME: work });
    const wheelFile = async (spec: DistSpec) => {
      const file = join(work, "dist", wheelFilename(spec.name, spec.version));
      await mkdir(join(work, "dist"), { recursive: true });
      await writeFile(file, buildWheel(spec));
      return file;
    };

    before(async () => {
      s = await startStack(kind);
      port = new URL(s.url).port;
      work = await mkdtemp(join(tmpdir(), "pkgate-pypi-status-"));
      assert.equal((await s.cli(["org", "--create", "acme"])).code, 0);
      uploader = lastLine((await s.cli(["auth", "--create", "--name", "ci", "--scopes", "pypi", "--org", "acme"])).stdout);
      reader = lastLine((await s.cli(["auth", "--create", "--name", "pip", "--scopes", "pypi:download", "--org", "acme"])).stdout);
      // two releases by twine; 1.1 is the one a plain install picks
      const up = await twine(await wheelFile(LIB("1.0")), await wheelFile(LIB("1.1")));
      assert.equal(up.code, 0, up.out);
    });
    after(async () => {
      const all = s.logs.join("\n");
      for (const t of [uploader, reader]) assert.ok(!all.includes(t), "a token appeared in the logs");
      await s.stop();
      await rm(work, { recursive: true, force: true });
    });

    test("the served .metadata is the wheel's METADATA byte for byte, for a twine upload and for a wheel dropped into the bucket", async () => {
      const dropped: DistSpec = { ...LIB("0.9"), name: "st-dropped" };
      await s.rt.store.put(`acme/pypi/st-dropped/${wheelFilename(dropped.name, dropped.version)}`, buildWheel(dropped));
      for (const [project, spec] of [["st-lib", LIB("1.1")], ["st-dropped", dropped]] as const) {
        const filename = wheelFilename(spec.name, spec.version);
        const doc = await page(project);
        const entry = doc.files.find((f: { filename: string }) => f.filename === filename);
        assert.ok(entry, `${filename} listed`);
        const wheelPath = join(work, `served-${filename}`);
        await writeFile(wheelPath, Buffer.from(await (await get(`/t/${reader}/acme/simple/${project}/${filename}`)).arrayBuffer()));
        const inWheel = await zipMember(wheelPath, `${spec.name.replace(/[-_.]+/g, "_").toLowerCase()}-${spec.version}.dist-info/METADATA`);
        const res = await get(`/t/${reader}/acme/simple/${project}/${filename}.metadata`);
        assert.equal(res.status, 200);
        const served = Buffer.from(await res.arrayBuffer());
        assert.ok(served.equals(inWheel), `${filename}: served metadata differs from the wheel's`);
        assert.equal(entry["core-metadata"].sha256, sha256(inWheel));
        // the fields pip 26.2 compares are there, as written
        for (const line of ["Name: ", "Version: ", "Requires-Python: >= 3.7", "Requires-Dist: st-dep >=1.0 ; extra == 'fast'", "Provides-Extra: fast", "Summary: Café ☕  with  two spaces"]) {
          assert.ok(served.toString("utf8").includes(line), `${filename}: ${line}`);
        }
      }
    });

    test("a yanked release is skipped by pip unless pinned; the reason is served in JSON and HTML; --undo un-yanks", async () => {
      const y = await s.cli(["yank", "acme/St.Lib/1.1", "--reason", 'breaks "quoted" <things>']);
      assert.equal(y.code, 0, y.stderr);
      assert.match(y.stdout, /yanked \(breaks "quoted" <things>\) acme\/st-lib\/st_lib-1\.1-py3-none-any\.whl/);
      const doc = await page("st-lib");
      assert.equal(doc.meta["api-version"], "1.4");
      const byName = Object.fromEntries(doc.files.map((f: { filename: string; yanked: unknown }) => [f.filename, f.yanked]));
      assert.deepEqual(byName, { "st_lib-1.0-py3-none-any.whl": false, "st_lib-1.1-py3-none-any.whl": 'breaks "quoted" <things>' });
      const text = await html("st-lib");
      assert.match(text, /<a href="st_lib-1\.1-py3-none-any\.whl#sha256=[0-9a-f]{64}"[^>]* data-yanked="breaks &quot;quoted&quot; &lt;things&gt;">/);
      assert.ok(!/st_lib-1\.0[^>]*data-yanked/.test(text));

      const [plain, pinned] = await Promise.all([pip(join(work, "plain"), "st-lib"), pip(join(work, "pinned"), "st-lib==1.1")]);
      assert.equal(plain.code, 0, plain.out);
      assert.ok((await readdir(join(work, "plain"))).includes("st_lib-1.0.dist-info"), plain.out);
      assert.equal(pinned.code, 0, pinned.out);
      assert.ok((await readdir(join(work, "pinned"))).includes("st_lib-1.1.dist-info"), pinned.out);
      assert.match(pinned.out, /yanked/i, "pip warns about the yanked release it installs");

      // one file without a reason: true in JSON, an empty data-yanked in HTML; over the API
      const one = await api("POST", "/channels/acme/pypi/st-lib/yank", uploader, { file: "st_lib-1.0-py3-none-any.whl" });
      assert.equal(one.status, 200, await one.clone().text());
      assert.deepEqual(await one.json(), { channel: "acme", project: "st-lib", files: ["st_lib-1.0-py3-none-any.whl"], reason: "", yanked: true });
      assert.equal((await page("st-lib")).files[0].yanked, true);
      assert.match(await html("st-lib"), /st_lib-1\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}"[^>]* data-yanked="">/);

      const undo = await api("POST", "/channels/acme/pypi/st-lib/unyank", uploader, { version: "1.0" });
      assert.equal(undo.status, 200);
      const back = await s.cli(["yank", "--undo", "acme/st-lib/1.1", "--json"]);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(JSON.parse(back.stdout), { channel: "acme", project: "st-lib", files: ["st_lib-1.1-py3-none-any.whl"], yanked: false });
      assert.deepEqual((await page("st-lib")).files.map((f: { yanked: unknown }) => f.yanked), [false, false]);
      assert.ok(!(await html("st-lib")).includes("data-yanked"));
    });

    test("project status: deprecated and archived are served and marked, archived refuses uploads, quarantined hides every file, active undoes it", async () => {
      const dep = await s.cli(["project-status", "acme/st-lib", "deprecated", "--reason", "use st-next & friends"]);
      assert.equal(dep.code, 0, dep.stderr);
      assert.equal(dep.stdout.trim(), "project acme/st-lib is now deprecated (use st-next & friends)");
      let doc = await page("st-lib");
      assert.deepEqual(doc["project-status"], { status: "deprecated", reason: "use st-next & friends" });
      assert.equal(doc.files.length, 2);
      let text = await html("st-lib");
      assert.ok(text.includes('<meta name="pypi:project-status" content="deprecated">'), text);
      assert.ok(text.includes('<meta name="pypi:project-status-reason" content="use st-next &amp; friends">'), text);

      const arch = await api("PUT", "/channels/acme/pypi/St_Lib/status", uploader, { status: "archived" });
      assert.equal(arch.status, 200);
      assert.deepEqual(await arch.json(), { channel: "acme", project: "st-lib", status: "archived" });
      doc = await page("st-lib");
      assert.deepEqual(doc["project-status"], { status: "archived" });
      text = await html("st-lib");
      assert.ok(text.includes('<meta name="pypi:project-status" content="archived">') && !text.includes("project-status-reason"), text);
      const refused = await twine(await wheelFile(LIB("1.2")));
      assert.notEqual(refused.code, 0);
      assert.match(refused.out, /400.*archived/s, refused.out);
      assert.equal(await s.rt.store.stat(`acme/pypi/st-lib/${wheelFilename("St.Lib", "1.2")}`), null, "the refused file left nothing");
      const stillThere = await pip(join(work, "archived"), "st-lib");
      assert.equal(stillThere.code, 0, stillThere.out);
      const rootNames = async () => ((await (await get(`/t/${uploader}/acme/simple/`, { headers: JSON_ACCEPT })).json()).projects as { name: string }[]).map((p) => p.name);
      assert.ok((await rootNames()).includes("st-lib"), "an archived project stays in the root index");

      const q = await runCliProcess(["project-status", "acme/st-lib", "quarantined", "--reason", "malware", "--json"], { env: s.env });
      assert.equal(q.code, 0, q.stderr);
      assert.deepEqual(JSON.parse(q.stdout), { channel: "acme", project: "st-lib", status: "quarantined", reason: "malware" });
      doc = await page("st-lib");
      assert.deepEqual(doc, { meta: { "api-version": "1.4" }, name: "st-lib", files: [], versions: [], "project-status": { status: "quarantined", reason: "malware" } });
      text = await html("st-lib");
      assert.ok(!text.includes("<a "), text);
      assert.ok(text.includes('<meta name="pypi:project-status" content="quarantined">'));
      // its files and metadata answer exactly like missing ones, and the root leaves it out
      // (each within the status memo's 5 s)
      const file = wheelFilename("St.Lib", "1.1");
      await new Promise((r) => setTimeout(r, 5_100));
      assert.ok(!(await rootNames()).includes("st-lib"), "a quarantined project leaves the root index, as on PyPI");
      for (const [hiddenPath, missingPath] of [
        [`/t/${reader}/acme/simple/st-lib/${file}`, `/t/${reader}/acme/simple/st-none/st_none-1.1-py3-none-any.whl`],
        [`/t/${reader}/acme/simple/st-lib/${file}.metadata`, `/t/${reader}/acme/simple/st-none/st_none-1.1-py3-none-any.whl.metadata`],
      ]) {
        const [h, m] = await Promise.all([get(hiddenPath!), get(missingPath!)]);
        assert.equal(h.status, 404);
        assert.equal(m.status, 404);
        assert.equal((await h.text()).replace(/st-lib/g, "X"), (await m.text()).replace(/st-none/g, "X"));
      }
      const [none, upload] = await Promise.all([pip(join(work, "quarantined"), "st-lib==1.1"), twine(await wheelFile(LIB("1.3")))]);
      assert.notEqual(none.code, 0);
      assert.match(none.out, /No matching distribution found for st-lib==1\.1/);
      assert.notEqual(upload.code, 0);
      assert.match(upload.out, /quarantined/);

      const act = await s.cli(["project-status", "acme/st-lib", "active"]);
      assert.equal(act.code, 0, act.stderr);
      doc = await page("st-lib");
      assert.equal(doc["project-status"], undefined, "active is the default: not written");
      assert.equal(doc.files.length, 2);
      assert.equal(await s.rt.store.stat("acme/pypi/st-lib/.state.json"), null, "an active project with nothing yanked keeps no document");
    });

    test("a status set through the API reaches the PyPI door of the same gateway at once: one registry, one memo", async () => {
      const path = `/t/${reader}/acme/simple/st-lib/${wheelFilename("St.Lib", "1.1")}`;
      // the last test made it active again from another process: this gateway sees that within
      // its memo's 5 s; then the door remembers the project's state (for 5 s)
      for (let waited = 0; (await get(path)).status !== 200; waited += 100) {
        assert.ok(waited < 6000, "the file is served again within the memo's 5 s");
        await new Promise((r) => setTimeout(r, 100));
      }
      const q = await api("PUT", "/channels/acme/pypi/st-lib/status", uploader, { status: "quarantined", reason: "checking" });
      assert.equal(q.status, 200);
      assert.equal((await get(path)).status, 404, "withheld at once, not once the door's memo has run out");
      const a = await api("PUT", "/channels/acme/pypi/st-lib/status", uploader, { status: "active" });
      assert.equal(a.status, 200);
      assert.equal((await get(path)).status, 200, "and back at once");
    });

    test("setting status and yanking are writes on the package: anonymous 401, download token 403 naming the scope, bad input 400, a missing project 404", async () => {
      const cases: Array<[string, string, string | null, unknown, number, RegExp]> = [
        ["PUT", "/channels/acme/pypi/st-lib/status", null, { status: "archived" }, 401, /token/],
        ["PUT", "/channels/acme/pypi/st-lib/status", reader, { status: "archived" }, 403, /pypi:upload/],
        ["POST", "/channels/acme/pypi/st-lib/yank", reader, { version: "1.0" }, 403, /pypi:upload/],
        ["PUT", "/channels/acme/pypi/st-lib/status", uploader, { status: "frozen" }, 400, /active, archived, quarantined, deprecated/],
        ["PUT", "/channels/acme/pypi/st-lib/status", uploader, { status: "archived", reason: "two\nlines" }, 400, /one line/],
        ["POST", "/channels/acme/pypi/st-lib/yank", uploader, {}, 400, /version|file/],
        ["POST", "/channels/acme/pypi/st-lib/yank", uploader, { version: "9.9" }, 404, /no release 9\.9/],
        ["POST", "/channels/acme/pypi/st-lib/yank", uploader, { file: "st_lib-1.0-py3-none-any.whl", version: "1.1" }, 400, /not a file of/],
        ["PUT", "/channels/acme/pypi/no-such/status", uploader, { status: "archived" }, 404, /not found/],
        ["PUT", "/channels/nobody/pypi/st-lib/status", uploader, { status: "archived" }, 404, /nobody|not found/],
      ];
      for (const [method, path, token, body, status, message] of cases) {
        const res = await api(method, path, token, body);
        const text = await res.text();
        assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${text}`);
        assert.match(text, message, `${method} ${path}`);
      }
      assert.equal((await page("st-lib"))["project-status"], undefined, "nothing refused changed anything");
      const cli = await s.cli(["project-status", "acme/st-lib", "frozen"]);
      assert.equal(cli.code, 2);
      assert.match(cli.stderr, /active, archived, quarantined or deprecated/);
    });

    test("uploads with PEP 740 attestations as uv sends them are stored; nothing is verified or served as provenance; a malformed field is refused", async () => {
      const spec = { ...LIB("2.0"), name: "st-attested" };
      const wheel = buildWheel(spec);
      const basic = `Basic ${Buffer.from(`__token__:${uploader}`).toString("base64")}`;
      const bad = uvUpload(spec, wheel, '{"not": "a list"}');
      const refused = await fetch(`${s.url}/acme/`, { method: "POST", headers: { "content-type": bad.type, authorization: basic }, body: new Uint8Array(bad.body) });
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /attestations.*PEP 740/);
      assert.equal(await s.rt.store.stat(`acme/pypi/st-attested/${wheelFilename(spec.name, spec.version)}`), null);

      const good = uvUpload(spec, wheel, JSON.stringify([ATTESTATION]));
      const res = await fetch(`${s.url}/acme/`, {
        method: "POST",
        headers: { "content-type": good.type, authorization: basic, accept: "application/json;q=0.9, text/plain;q=0.8, text/html;q=0.7" },
        body: new Uint8Array(good.body),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const doc = await page("st-attested");
      assert.equal(doc.files.length, 1);
      assert.equal(doc.files[0].hashes.sha256, sha256(wheel));
      assert.ok(!("provenance" in doc.files[0]), "no provenance is served");
      assert.ok(!(await html("st-attested")).includes("data-provenance"));
      // nothing kept beside the file but the index, the core metadata (and no state)
      const keys: string[] = [];
      for await (const o of s.rt.store.list("acme/pypi/st-attested/")) keys.push(o.key.slice("acme/pypi/st-attested/".length));
      assert.deepEqual(keys.sort(), [".index.json", `.meta/${wheelFilename(spec.name, spec.version)}.metadata`, wheelFilename(spec.name, spec.version)].sort());
    });

    test("the verbs on a gateway (a stored login): an upload token changes the state, a download token is refused naming the scope", async () => {
      const login = (token: string) => {
        const file = join(work, `login-${token.slice(-6)}.json`);
        return writeFile(file, JSON.stringify({ site: s.url, token, username: "acme" }), { mode: 0o600 }).then(() => file);
      };
      const remote = async (token: string, args: string[]) => runCliProcess(args, { env: { PKGATE_CONFIG: await login(token), DATA_DIR: join(work, "no-store") } });
      const y = await remote(uploader, ["yank", "acme/st-lib/1.0", "--reason", "remote"]);
      assert.equal(y.code, 0, y.stderr);
      assert.equal(y.stdout.trim(), "yanked (remote) acme/st-lib/st_lib-1.0-py3-none-any.whl");
      const st = await remote(uploader, ["project-status", "acme/st-lib", "deprecated", "--json"]);
      assert.equal(st.code, 0, st.stderr);
      assert.deepEqual(JSON.parse(st.stdout), { channel: "acme", project: "st-lib", status: "deprecated" });
      const denied = await remote(reader, ["yank", "--undo", "acme/st-lib/1.0"]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /pypi:upload/);
      const doc = await page("st-lib");
      assert.deepEqual([doc.files[0].yanked, doc["project-status"]], ["remote", { status: "deprecated" }]);
      for (const args of [["yank", "--undo", "acme/st-lib/1.0"], ["project-status", "acme/st-lib", "active"]]) assert.equal((await remote(uploader, args)).code, 0);
    });

    test("concurrent writers in other processes (the gateway's API, the CLI in process, a CLI process) never lose each other's change", async () => {
      const files = ["1.0", "1.1"].map((v) => wheelFilename("St.Lib", v));
      const results = await Promise.all([
        api("POST", "/channels/acme/pypi/st-lib/yank", uploader, { file: files[0], reason: "api" }).then((r) => r.status),
        s.cli(["yank", `acme/st-lib/${files[1]}`, "--reason", "cli"]).then((r) => (r.code === 0 ? 200 : r.code)),
        runCliProcess(["project-status", "acme/st-lib", "deprecated", "--reason", "process"], { env: s.env }).then((r) => (r.code === 0 ? 200 : `${r.code} ${r.stderr}`)),
      ]);
      assert.deepEqual(results, [200, 200, 200]);
      const doc = await page("st-lib");
      assert.deepEqual(doc.files.map((f: { yanked: unknown }) => f.yanked), ["api", "cli"]);
      assert.deepEqual(doc["project-status"], { status: "deprecated", reason: "process" });
    });
  });
}
