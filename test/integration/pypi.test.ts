// The PyPI gate end to end, on each store and cache: real wheels, a real gateway on a
// loopback port, and the real clients of this machine (pip, twine, poetry) plus the
// HEAD + Range reads uv makes. Private projects, tokens in the path and as Basic
// credentials, uploads, and files put into the store by other means.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import http from "node:http";
import { MATRIX, startStack, lastLine, type Stack } from "../harness/gateway.js";
import { buildWheel, coreMetadataText, wheelFilename, type DistSpec } from "../pypi/fixtures.js";
import { indexPypi } from "../../src/cli/index-pypi.js";
import { PYTHON_CLIENT_ENV as CLIENT_ENV, runClient } from "../pypi/clients.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const CORE: DistSpec = { name: "Priv.Core", version: "1.0", requiresPython: ">=3.7" };
const APP: DistSpec = { name: "priv-app", version: "2.0", requiresDist: ["priv-core>=1.0"] };
const UTIL: DistSpec = { name: "pub-util", version: "1.0" };

for (const kind of MATRIX) {
  describe(`PyPI gate on ${kind.store} store + ${kind.cache} cache`, () => {
    let s: Stack;
    let work: string;
    let reader: string; // pypi:download on acme
    let uploader: string; // pypi (upload and download) on acme
    const tokens: string[] = [];
    let port: string;

    const get = (path: string, init: RequestInit = {}) => fetch(s.url + path, { redirect: "manual", ...init });
    const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`__token__:${token}`).toString("base64")}` });
    const pip = (index: string, target: string, ...pkgs: string[]) =>
      runClient("python3", ["-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--index-url", index, "--target", target, ...pkgs], CLIENT_ENV);
    const twine = (token: string, ...args: string[]) =>
      runClient("/usr/bin/twine", ["upload", "--disable-progress-bar", "--non-interactive", "--repository-url", `${s.url}/acme/`, "-u", "__token__", "-p", token, ...args], {
        ...CLIENT_ENV,
        HOME: work,
      });
    /** Put a file into the store as a sync job would, bypassing the gateway. */
    const drop = (spec: DistSpec) => s.rt.store.put(`acme/pypi/${spec.name.replace(/[-_.]+/g, "-").toLowerCase()}/${wheelFilename(spec.name, spec.version)}`, buildWheel(spec));

    before(async () => {
      s = await startStack(kind);
      port = new URL(s.url).port;
      work = await mkdtemp(join(tmpdir(), "pkgate-pypi-"));
      assert.equal((await s.cli(["org", "--create", "acme"])).code, 0);
      assert.equal((await s.cli(["package", "--private", "acme/priv-core"])).code, 0);
      assert.equal((await s.cli(["package", "--private", "acme/Priv_App"])).code, 0);
      assert.equal((await s.cli(["package", "--private", "acme/priv-up"])).code, 0);
      const r = await s.cli(["auth", "--create", "--name", "pip", "--scopes", "pypi:download", "--org", "acme"]);
      assert.equal(r.code, 0, r.stderr);
      reader = lastLine(r.stdout);
      uploader = lastLine((await s.cli(["auth", "--create", "--name", "ci", "--scopes", "pypi", "--org", "acme"])).stdout);
      tokens.push(reader, uploader);
      // the private projects arrive the way an existing bucket holds them: files only
      for (const spec of [CORE, APP, UTIL]) await drop(spec);
    });
    after(async () => {
      const all = s.logs.join("\n");
      for (const t of tokens) assert.ok(!all.includes(t), "a token appeared in the logs");
      await s.stop();
      await rm(work, { recursive: true, force: true });
    });

    test("pip installs a private package and its private dependency with a path token or Basic credentials, and finds nothing without", async () => {
      // three independent pip runs at once: each spends most of its time starting Python
      const forms = [`${s.url}/t/${reader}/acme/simple/`, `http://__token__:${reader}@127.0.0.1:${port}/acme/simple/`];
      const [anon, ...runs] = await Promise.all([
        pip(`${s.url}/acme/simple/`, join(work, "site-anon"), "priv-app"),
        ...forms.map((index, i) => pip(index, join(work, `site-${i}`), "priv-app")),
      ]);
      for (const [i, res] of runs.entries()) {
        assert.equal(res!.code, 0, res!.out);
        const installed = (await readdir(join(work, `site-${i}`))).sort();
        assert.ok(installed.includes("priv_app") && installed.includes("priv_core"), installed.join(" "));
        assert.ok(installed.some((d) => d.startsWith("priv_core-1.0.dist-info")));
      }
      // a clean "not found", never a prompt or a traceback
      assert.notEqual(anon!.code, 0);
      assert.match(anon!.out, /No matching distribution found for priv-app/);
      assert.ok(!/Traceback/.test(anon!.out), anon!.out);
    });

    test("twine uploads, pip installs the upload, a duplicate is 409 and --skip-existing passes; a download-only token gets 403", async () => {
      const dist = join(work, "dist");
      await mkdir(dist, { recursive: true });
      const spec: DistSpec = { name: "priv-up", version: "0.1", requiresDist: ["pub-util"] };
      const file = join(dist, wheelFilename(spec.name, spec.version));
      await writeFile(file, buildWheel(spec));

      const up = await twine(uploader, file);
      assert.equal(up.code, 0, up.out);
      const page = await (await get(`/t/${uploader}/acme/simple/priv-up/`, { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json();
      assert.deepEqual(page.files.map((f: { filename: string }) => f.filename), [wheelFilename(spec.name, spec.version)]);
      assert.equal(page.files[0].hashes.sha256, sha256(await readFile(file)));

      const other = join(dist, wheelFilename("priv-up", "0.2"));
      await writeFile(other, buildWheel({ ...spec, version: "0.2" }));
      const target = join(work, "site-up");
      // independent of each other once the upload is in: run them at once
      const [inst, again, skip, denied] = await Promise.all([
        pip(`http://__token__:${uploader}@127.0.0.1:${port}/acme/simple/`, target, "priv-up"),
        twine(uploader, file),
        twine(uploader, "--skip-existing", file),
        twine(reader, other),
      ]);
      assert.equal(inst!.code, 0, inst!.out);
      assert.ok((await readdir(target)).includes("priv_up"));
      assert.notEqual(again!.code, 0);
      assert.match(again!.out, /409/);
      assert.equal(skip!.code, 0, skip!.out);
      assert.match(skip!.out, /Skipping/);
      assert.notEqual(denied!.code, 0);
      assert.match(denied!.out, /403/);
      assert.equal(await s.rt.store.stat(`acme/pypi/priv-up/${wheelFilename("priv-up", "0.2")}`), null);
    });

    test("poetry resolves private packages from a credentialed secondary source, PyPI switched off", async () => {
      const dir = join(work, "poetry");
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, "pyproject.toml"),
        [
          "[tool.poetry]",
          'name = "consumer"',
          'version = "0.1.0"',
          'description = ""',
          'authors = ["Test <test@example.com>"]',
          "",
          "[tool.poetry.dependencies]",
          'python = "^3.8"',
          'priv-app = "*"',
          "",
          // the anonymous view of the channel as the default source: PyPI is deactivated
          // and the private packages are invisible there
          "[[tool.poetry.source]]",
          'name = "acme-public"',
          `url = "http://localhost:${port}/acme/simple/"`,
          "default = true",
          "",
          "[[tool.poetry.source]]",
          'name = "acme"',
          `url = "http://127.0.0.1:${port}/acme/simple/"`,
          "secondary = true",
          "",
        ].join("\n"),
      );
      const env = {
        ...CLIENT_ENV,
        HOME: dir,
        POETRY_CONFIG_DIR: join(dir, "config"),
        POETRY_CACHE_DIR: join(dir, "cache"),
        POETRY_VIRTUALENVS_CREATE: "false",
      };
      for (const args of [["config", "repositories.acme", `http://127.0.0.1:${port}/acme/simple/`], ["config", "http-basic.acme", "__token__", reader]]) {
        const r = await runClient("/usr/bin/poetry", args, env, dir);
        assert.equal(r.code, 0, r.out);
      }
      const lock = await runClient("/usr/bin/poetry", ["lock", "--no-interaction"], env, dir);
      assert.equal(lock.code, 0, lock.out);
      const text = await readFile(join(dir, "poetry.lock"), "utf8");
      for (const name of ["priv-app", "priv-core"]) {
        const block = text.split("[[package]]").find((b) => b.includes(`name = "${name}"`));
        assert.ok(block, `${name} locked`);
        assert.match(block, /reference = "acme"/, `${name} comes from the credentialed source`);
      }
      const wheel = buildWheel(CORE);
      assert.ok(text.includes(`sha256:${sha256(wheel)}`), "the lock carries the index's sha256");
    });

    test("a HEAD and Range reads like uv's find a wheel's METADATA", async () => {
      const name = wheelFilename(APP.name, APP.version);
      const path = `/t/${reader}/acme/simple/priv-app/${name}`;
      const head = await get(path, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("accept-ranges"), "bytes");
      const size = Number(head.headers.get("content-length"));
      // end of central directory: the last 22 bytes when there is no comment
      const tail = await get(path, { headers: { range: "bytes=-22" } });
      assert.equal(tail.status, 206);
      assert.equal(tail.headers.get("content-range"), `bytes ${size - 22}-${size - 1}/${size}`);
      const eocd = Buffer.from(await tail.arrayBuffer());
      assert.equal(eocd.readUInt32LE(0), 0x06054b50);
      const cdSize = eocd.readUInt32LE(12);
      const cdOffset = eocd.readUInt32LE(16);
      const cd = Buffer.from(await (await get(path, { headers: { range: `bytes=${cdOffset}-${cdOffset + cdSize - 1}` } })).arrayBuffer());
      let at = 0;
      let found: { offset: number; csize: number; method: number } | null = null;
      while (at < cd.length) {
        assert.equal(cd.readUInt32LE(at), 0x02014b50);
        const nameLen = cd.readUInt16LE(at + 28);
        const entry = cd.toString("utf8", at + 46, at + 46 + nameLen);
        if (entry.endsWith(".dist-info/METADATA")) found = { offset: cd.readUInt32LE(at + 42), csize: cd.readUInt32LE(at + 20), method: cd.readUInt16LE(at + 10) };
        at += 46 + nameLen + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
      }
      assert.ok(found, "METADATA in the central directory");
      const local = Buffer.from(await (await get(path, { headers: { range: `bytes=${found.offset}-${found.offset + 30 + 512 + found.csize}` } })).arrayBuffer());
      const dataStart = 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const data = local.subarray(dataStart, dataStart + found.csize);
      const metadata = found.method === 8 ? inflateRawSync(data) : data;
      assert.equal(metadata.toString(), coreMetadataText(APP));
      // and the PEP 658 file says the same, with the hash the page advertises
      const page = await (await get(`/t/${reader}/acme/simple/priv-app/`, { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json();
      const meta = await get(`${path}.metadata`);
      assert.equal(meta.status, 200);
      const body = Buffer.from(await meta.arrayBuffer());
      assert.equal(body.toString(), coreMetadataText(APP));
      assert.equal(page.files[0]["core-metadata"].sha256, sha256(body));
    });

    test("PEP 691 JSON and PEP 503 HTML list the same files and hashes; negotiation, caching and 304", async () => {
      const path = `/t/${reader}/acme/simple/priv-core/`;
      const json = await get(path, { headers: { accept: "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01" } });
      assert.equal(json.status, 200);
      assert.equal(json.headers.get("content-type"), "application/vnd.pypi.simple.v1+json");
      assert.equal(json.headers.get("vary"), "Accept");
      assert.match(json.headers.get("cache-control") ?? "", /^private, max-age=60$/);
      const doc = await json.json();
      assert.equal(doc.meta["api-version"], "1.4");
      assert.deepEqual(doc.versions, ["1.0"]);
      const wheel = buildWheel(CORE);
      const fromJson = doc.files.map((f: { filename: string; hashes: { sha256: string }; size: number; "requires-python": string }) => [f.filename, f.hashes.sha256, f.size, f["requires-python"]]);
      assert.deepEqual(fromJson, [[wheelFilename(CORE.name, CORE.version), sha256(wheel), wheel.length, ">=3.7"]]);

      const html = await get(path, { headers: { accept: "text/html" } });
      assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
      const text = await html.text();
      const fromHtml = [...text.matchAll(/<a href="([^"#]+)#sha256=([0-9a-f]{64})"[^>]*data-requires-python="([^"]*)"[^>]*>([^<]+)<\/a>/g)].map((m) => [m[4], m[2], m[3]!.replace("&gt;", ">")]);
      assert.deepEqual(fromHtml, fromJson.map(([f, h, , rp]: (string | number)[]) => [f, h, rp]));
      assert.match(text, /data-core-metadata="sha256=[0-9a-f]{64}"/);

      const etag = json.headers.get("etag")!;
      assert.notEqual(etag, html.headers.get("etag"));
      const again = await get(path, { headers: { accept: "application/vnd.pypi.simple.v1+json", "if-none-match": etag } });
      assert.equal(again.status, 304);
      assert.equal((await get(path, { headers: { accept: "application/xml" } })).status, 406);
      assert.match((await get("/acme/simple/pub-util/")).headers.get("cache-control") ?? "", /^public, max-age=60$/);
    });

    test("non-normalized and slash-less project URLs redirect relatively, keeping the token", async () => {
      const cases: [string, string][] = [
        [`/t/${reader}/acme/simple/Priv_Core/`, `/t/${reader}/acme/simple/priv-core/`],
        [`/t/${reader}/acme/simple/priv.core`, `/t/${reader}/acme/simple/priv-core/`],
        [`/acme/simple`, `/acme/simple/`],
      ];
      for (const [from, to] of cases) {
        const res = await get(from);
        assert.equal(res.status, 301, from);
        const location = res.headers.get("location")!;
        assert.ok(!location.startsWith("/") && !location.includes("://"), `relative: ${location}`);
        assert.equal(new URL(location, s.url + from).pathname, to);
      }
      // no redirect on the upload URL: twine would abort
      const post = await get("/acme/", { method: "POST" });
      assert.notEqual(post.status, 301);
    });

    test("the root lists only what the caller may see; private pages, files and metadata are 404 like missing ones", async () => {
      const names = async (path: string, headers: Record<string, string> = {}) =>
        ((await (await get(path, { headers: { accept: "application/vnd.pypi.simple.v1+json", ...headers } })).json()).projects as { name: string }[]).map((p) => p.name).sort();
      assert.deepEqual(await names("/acme/simple/"), ["pub-util"]);
      const full = await names("/acme/simple/", basic(reader));
      assert.ok(full.includes("priv-app") && full.includes("pub-util") && full.some((n) => n.toLowerCase().replace(/[._]/g, "-") === "priv-core"), full.join(" "));
      const html = await (await get("/acme/simple/")).text();
      assert.ok(!/priv/i.test(html));

      const file = wheelFilename(APP.name, APP.version);
      const hidden = [`/acme/simple/priv-app/`, `/acme/simple/priv-app/${file}`, `/acme/simple/priv-app/${file}.metadata`];
      const absent = [`/acme/simple/no-such/`, `/acme/simple/no-such/no_such-1.0-py3-none-any.whl`, `/acme/simple/no-such/no_such-1.0-py3-none-any.whl.metadata`];
      for (const [i, path] of hidden.entries()) {
        const a = await get(path);
        const b = await get(absent[i]!);
        assert.equal(a.status, 404, path);
        assert.equal(b.status, 404, absent[i]);
        assert.equal(JSON.stringify(await a.json()).replaceAll("priv-app", "X"), JSON.stringify(await b.json()).replaceAll("no-such", "X"));
      }
      assert.equal((await get(`/acme/simple/priv-app/${file}`, { headers: basic(reader) })).status, 200);
      // the catalog's and the index's own documents are never served
      for (const path of ["/acme/simple/priv-app/.index.json", "/acme/simple/priv-app/.meta/x.metadata"]) {
        assert.equal((await get(path, { headers: basic(reader) })).status, 404, path);
      }
    });

    test("files put into the store by other means show on the next page; indexPypi is idempotent; deleted files vanish", async () => {
      const names = async () =>
        ((await (await get("/acme/simple/pub-util/", { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json()).files as { filename: string }[]).map((f) => f.filename);
      assert.deepEqual(await names(), [wheelFilename("pub-util", "1.0")]);
      await drop({ ...UTIL, version: "1.1" });
      assert.deepEqual(await names(), [wheelFilename("pub-util", "1.0"), wheelFilename("pub-util", "1.1")]);

      await drop({ ...UTIL, version: "1.2" });
      // as an operator runs it
      const cli = await s.cli(["index", "--pypi", "acme", "--json"]);
      assert.equal(cli.code, 0, cli.stderr);
      const first = JSON.parse(cli.stdout) as { added: number; removed: number; files: number };
      assert.equal(first.added, 1);
      assert.equal(first.removed, 0);
      const second = await indexPypi(s.rt, "acme");
      assert.deepEqual({ added: second.added, removed: second.removed }, { added: 0, removed: 0 });
      assert.equal(second.files, first.files);
      const doc = JSON.parse((await s.rt.store.get("acme/pypi/pub-util/.index.json"))!.body.toString());
      assert.ok(doc.files.some((f: { filename: string }) => f.filename === wheelFilename("pub-util", "1.2")));

      await s.rt.store.delete(`acme/pypi/pub-util/${wheelFilename("pub-util", "1.1")}`);
      assert.deepEqual(await names(), [wheelFilename("pub-util", "1.0"), wheelFilename("pub-util", "1.2")]);
      assert.equal((await indexPypi(s.rt, "acme")).removed, 0, "the page request already dropped it");
    });

    test("a refused upload leaves nothing: hash mismatch 400, anonymous 401, form errors 400", async () => {
      const spec: DistSpec = { name: "priv-up", version: "0.9" };
      const filename = wheelFilename(spec.name, spec.version);
      const bytes = buildWheel(spec);
      const form = (fields: Record<string, string>) => {
        const fd = new FormData();
        for (const [k, v] of Object.entries({ ":action": "file_upload", protocol_version: "1", name: spec.name, version: spec.version, filetype: "bdist_wheel", pyversion: "py3", ...fields })) fd.append(k, v);
        fd.append("content", new Blob([new Uint8Array(bytes)]), filename);
        return fd;
      };
      const cases: [string, FormData, Record<string, string>, number, RegExp][] = [
        ["hash mismatch", form({ sha256_digest: "0".repeat(64) }), basic(uploader), 400, /sha256_digest/],
        ["wrong version", form({ version: "1.0" }), basic(uploader), 400, /version/],
        ["anonymous", form({}), {}, 401, /token/],
      ];
      for (const [what, body, headers, status, message] of cases) {
        const res = await get("/acme/", { method: "POST", body, headers });
        assert.equal(res.status, status, what);
        assert.match((await res.json()).message, message, what);
      }
      assert.equal(await s.rt.store.stat(`acme/pypi/priv-up/${filename}`), null);
      const ok = await get("/acme/", { method: "POST", body: form({ sha256_digest: sha256(bytes) }), headers: basic(uploader) });
      assert.equal(ok.status, 200);
      const dup = await get("/acme/", { method: "POST", body: form({}), headers: basic(uploader) });
      assert.equal(dup.status, 409);
      assert.match((await dup.json()).message, /already exists/);

      // a body that is not a form is not read to its end: the connection is closed after the answer
      const raw = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const u = new URL(s.url);
        const req = http.request({ host: u.hostname, port: u.port, path: "/acme/", method: "POST", headers: { ...basic(uploader), "content-type": "text/plain" } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
        });
        req.on("error", reject);
        req.end("not a form");
      });
      assert.deepEqual(raw, { status: 400, connection: "close" });
    });

    test("concurrent uploads to one project all land in its index", async () => {
      const versions = ["3.0", "3.1", "3.2", "3.3", "3.4", "3.5"];
      const statuses = await Promise.all(
        versions.map(async (version) => {
          const spec: DistSpec = { name: "pub-burst", version };
          const fd = new FormData();
          for (const [k, v] of Object.entries({ ":action": "file_upload", protocol_version: "1", name: spec.name, version })) fd.append(k, v);
          fd.append("content", new Blob([new Uint8Array(buildWheel(spec))]), wheelFilename(spec.name, version));
          return (await get("/acme/", { method: "POST", body: fd, headers: basic(uploader) })).status;
        }),
      );
      assert.deepEqual(statuses, versions.map(() => 200));
      const doc = await (await get("/acme/simple/pub-burst/", { headers: { accept: "application/vnd.pypi.simple.v1+json" } })).json();
      assert.deepEqual(doc.versions, versions);
      const stored = JSON.parse((await s.rt.store.get("acme/pypi/pub-burst/.index.json"))!.body.toString());
      assert.equal(stored.files.length, versions.length, "the document itself has every upload");
    });

    test("a project page in a steady state costs one list call and nothing else", async () => {
      const store = s.rt.store;
      const calls: string[] = [];
      const saved = { list: store.list, get: store.get, stat: store.stat, read: store.read };
      const spy = <K extends keyof typeof saved>(name: K) => {
        const original = saved[name] as (...a: unknown[]) => unknown;
        (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          calls.push(name);
          return original.apply(store, args);
        };
      };
      const path = `/t/${reader}/acme/simple/priv-core/`;
      assert.equal((await get(path)).status, 200);
      try {
        for (const name of ["list", "get", "stat", "read"] as const) spy(name);
        const res = await get(path);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      } finally {
        Object.assign(store, saved);
      }
      assert.deepEqual(calls, ["list"]);
    });
  });
}
