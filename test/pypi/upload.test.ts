// twine uploads: the multipart body (from FormData and from the real twine on this machine),
// hashing while streaming to a temp file, limits, and the checks of form against file.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { isGateError } from "../../src/errors.js";
import { blake2b256Hex } from "../../src/pypi/blake2b.js";
import { parseCoreMetadata, readDistMetadata, type CoreMetadata } from "../../src/pypi/metadata.js";
import { discardUpload, parseUpload, validateUpload, type ParsedUpload } from "../../src/pypi/upload.js";
import { buildSdist, buildWheel, sdistFilename, wheelFilename } from "./fixtures.js";

const run = promisify(execFile);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-upload-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh, empty temp directory for one upload, to see what it leaves behind. */
function freshTmp(): string {
  return mkdtempSync(join(dir, "t-"));
}

async function multipart(
  fields: Array<[string, string]>,
  files: Array<[string, Buffer, string]>,
): Promise<{ contentType: string; bytes: Buffer }> {
  const form = new FormData();
  for (const [k, v] of fields) form.append(k, v);
  for (const [k, data, filename] of files) form.append(k, new Blob([new Uint8Array(data)]), filename);
  const res = new Response(form);
  return { contentType: res.headers.get("content-type")!, bytes: Buffer.from(await res.arrayBuffer()) };
}

const body = (bytes: Buffer) => Readable.from([bytes]);

describe("BLAKE2b (blake2_256_digest)", () => {
  // Expected values from Python's hashlib.blake2b(data, digest_size=32).
  const vectors: Array<[number, string]> = [
    [0, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"],
    [3, "9facd640130c81e7f318a8d5c660bc1b0f5d03861ffbd4cc1358e0e904593c28"],
    [127, "c9ae3859964b35f04c54b36d33cf299d7290ee621005d28e51598a943560aaaa"],
    [128, "f0501d06597880592bc49234eef100ec1ff349058d0e9d9b753504e24af86dd6"],
    [129, "a34a4e1e03c541dfbf3099c4b6c143c022ced65c28bd7e8a10e0a098461aecf0"],
    [256, "d93ebb9c802f5630ab22516fd82b6c21bc8bd551d531349b715f046ed11ed871"],
    [1000, "d62b6c768ce1afc8367e0498ab2f8e3f7c178c35b1429f14c4604b545d200f52"],
    [70000, "84ddd1abf364a7ab88f8796b515b4d30c9bbb721a90231c84ee011c85d908926"],
  ];
  for (const [n, hex] of vectors) {
    test(`${n} bytes`, () => assert.equal(blake2b256Hex(pattern(n)), hex));
  }
});

function pattern(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255));
}

describe("parseUpload", () => {
  test("computes BLAKE2b-256 only for a blake2_256_digest sent without a sha256_digest", async () => {
    const data = pattern(70000);
    const blake = "84ddd1abf364a7ab88f8796b515b4d30c9bbb721a90231c84ee011c85d908926";
    const parse = async (digests: Array<[string, string]>) => {
      const { contentType, bytes } = await multipart([[":action", "file_upload"], ...digests], [["content", data, "acme-1.0.tar.gz"]]);
      const parsed = await parseUpload({ contentType, body: body(bytes) }, { maxFileBytes: 1 << 20, tmpDir: freshTmp() });
      await discardUpload(parsed.file);
      return parsed.file.blake2b_256;
    };
    assert.equal(await parse([["blake2_256_digest", blake]]), blake);
    assert.equal(await parse([["sha256_digest", createHash("sha256").update(data).digest("hex")], ["blake2_256_digest", blake]]), undefined);
  });

  test("streams the file to a temp file with its hashes, and keeps repeated fields as lists", async () => {
    const data = pattern(70000);
    const { contentType, bytes } = await multipart(
      [
        [":action", "file_upload"],
        ["protocol_version", "1"],
        ["name", "acme"],
        ["classifiers", "A :: B"],
        ["classifiers", "C :: D"],
        ["summary", "ünïcode"],
      ],
      [["content", data, "acme-1.0.tar.gz"]],
    );
    const tmp = freshTmp();
    const parsed = await parseUpload({ contentType, body: body(bytes) }, { maxFileBytes: 1 << 20, tmpDir: tmp });
    assert.deepEqual(parsed.fields, {
      ":action": "file_upload",
      protocol_version: "1",
      name: "acme",
      classifiers: ["A :: B", "C :: D"],
      summary: "ünïcode",
    });
    assert.equal(parsed.file.filename, "acme-1.0.tar.gz");
    assert.equal(parsed.file.size, 70000);
    assert.equal(parsed.file.sha256, createHash("sha256").update(data).digest("hex"));
    assert.equal(parsed.file.md5, createHash("md5").update(data).digest("hex"));
    assert.equal(parsed.file.blake2b_256, undefined, "no blake2_256_digest to check: not computed");
    assert.deepEqual(readFileSync(parsed.file.tmpPath), data);
    assert.ok(parsed.file.tmpPath.startsWith(tmp));
    await discardUpload(parsed.file);
    assert.deepEqual(readdirSync(tmp), []);
  });

  const refused: Array<[string, () => Promise<{ contentType: string; bytes: Buffer }>, number, RegExp, { maxFieldBytes?: number }?]> = [
    ["a file over the limit (413)", () => multipart([["name", "acme"]], [["content", Buffer.alloc(5000), "acme-1.0.tar.gz"]]), 413, /larger than the 4096 bytes/],
    ["no content part", () => multipart([["name", "acme"]], []), 400, /no file/],
    ["a file under another name only", () => multipart([], [["gpg_signature", Buffer.from("sig"), "x.asc"]]), 400, /no file/],
    [
      "two content parts",
      () => multipart([], [["content", Buffer.from("a"), "acme-1.0.tar.gz"], ["content", Buffer.from("b"), "acme-1.1.tar.gz"]]),
      400,
      /more than one content/,
    ],
    ["a field over its limit", () => multipart([["description", "x".repeat(300)]], [["content", Buffer.from("a"), "acme-1.0.tar.gz"]]), 400, /description is longer than 100 bytes/, { maxFieldBytes: 100 }],
    [
      "a body cut short",
      async () => {
        const m = await multipart([["name", "acme"]], [["content", Buffer.alloc(3000, 1), "acme-1.0.tar.gz"]]);
        return { ...m, bytes: m.bytes.subarray(0, m.bytes.length - 1500) };
      },
      400,
      /not a well-formed multipart body/,
    ],
    ["not multipart", async () => ({ contentType: "application/json", bytes: Buffer.from("{}") }), 400, /multipart\/form-data/],
  ];
  for (const [label, make, status, message, limits] of refused) {
    test(`refuses ${label} and leaves no temp file`, async () => {
      const { contentType, bytes } = await make();
      const tmp = freshTmp();
      await assert.rejects(parseUpload({ contentType, body: body(bytes) }, { maxFileBytes: 4096, tmpDir: tmp, ...limits }), (err: unknown) => {
        assert.ok(isGateError(err), String(err));
        assert.equal(err.status, status);
        assert.match(err.message, message);
        return true;
      });
      assert.deepEqual(readdirSync(tmp), []);
    });
  }
});

test("parseUpload refuses an oversized file arriving in small chunks, early and without leftovers", async () => {
  const { contentType, bytes } = await multipart([["name", "acme"]], [["content", Buffer.alloc(1 << 20, 7), "acme-1.0.tar.gz"]]);
  const chunks = Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, (i + 1) * 4096));
  let sent = 0;
  const slow = Readable.from(
    (async function* () {
      for (const c of chunks) {
        sent++;
        yield c;
      }
    })(),
  );
  const tmp = freshTmp();
  await assert.rejects(parseUpload({ contentType, body: slow }, { maxFileBytes: 64 * 1024, tmpDir: tmp }), (e: unknown) => isGateError(e) && e.status === 413);
  assert.deepEqual(readdirSync(tmp), []);
  // It stopped reading the body soon after the limit instead of draining a large upload.
  assert.ok(sent < chunks.length / 2, `read ${sent} of ${chunks.length} chunks`);
});

describe("validateUpload", () => {
  const wheel = buildWheel({ name: "Acme.Core", version: "1.2.0" });
  const sha256 = createHash("sha256").update(wheel).digest("hex");
  const md5 = createHash("md5").update(wheel).digest("hex");
  const blake = blake2b256Hex(wheel);
  const base: ParsedUpload = {
    fields: {
      ":action": "file_upload",
      protocol_version: "1",
      name: "Acme.Core",
      version: "1.2.0",
      filetype: "bdist_wheel",
      sha256_digest: sha256,
      md5_digest: md5,
      blake2_256_digest: blake,
    },
    file: { filename: "acme_core-1.2.0-py3-none-any.whl", tmpPath: "/nonexistent", size: wheel.length, sha256, md5, blake2b_256: blake },
  };
  const meta: CoreMetadata = { metadataVersion: "2.1", name: "Acme.Core", version: "1.2.0", requiresDist: [] };

  type Case = [string, Partial<ParsedUpload["fields"]> | null, Partial<ParsedUpload["file"]>, Partial<CoreMetadata>, RegExp | null];
  const cases: Case[] = [
    ["a twine upload", {}, {}, {}, null],
    ["equivalent spellings of name and version", { name: "acme_core", version: "1.2" }, {}, { name: "ACME-core", version: "1.2.0.0" }, null],
    ["no digests at all", { sha256_digest: undefined, md5_digest: undefined, blake2_256_digest: undefined }, {}, {}, null],
    ["uppercase hex digests", { sha256_digest: sha256.toUpperCase() }, {}, {}, null],
    ["a missing :action", { ":action": undefined }, {}, {}, /no :action field/],
    ["another :action", { ":action": "submit" }, {}, {}, /only accepts file_upload/],
    ["protocol 2", { protocol_version: "2" }, {}, {}, /protocol_version "2"/],
    ["no name", { name: undefined }, {}, {}, /no name field/],
    ["an invalid name", { name: "../x" }, {}, {}, /not a valid project name/],
    ["no version", { version: undefined }, {}, {}, /no version field/],
    ["a file name that is no distribution", {}, { filename: "acme_core.exe" }, {}, /not a wheel or sdist file name/],
    ["an empty file", {}, { size: 0 }, {}, /is empty/],
    ["filetype sdist for a wheel", { filetype: "sdist" }, {}, {}, /which is a bdist_wheel/],
    ["the form naming another project", { name: "other" }, {}, {}, /is for project acme-core, but the form says other/],
    ["the form naming another version", { version: "1.3" }, {}, {}, /is for version 1\.2\.0, but the form says 1\.3/],
    ["metadata naming another project", {}, {}, { name: "other" }, /metadata names project other/],
    ["metadata naming another version", {}, {}, { version: "9" }, /metadata says version 9/],
    ["a wrong sha256_digest", { sha256_digest: "0".repeat(64) }, {}, {}, /sha256_digest sent does not match/],
    ["a wrong md5_digest", { md5_digest: "0".repeat(32) }, {}, {}, /md5_digest sent does not match/],
    ["a wrong blake2_256_digest alone", { blake2_256_digest: "0".repeat(64), sha256_digest: undefined }, {}, {}, /blake2_256_digest sent does not match/],
    // sha256 decides when sent: the BLAKE2b-256 is then not computed (file.blake2b_256 undefined)
    ["a blake2_256_digest beside a right sha256_digest", { blake2_256_digest: "0".repeat(64) }, { blake2b_256: undefined }, {}, null],
    // PEP 740, as uv publish and twine --attestations send it: accepted, not kept
    ["attestations: a JSON array of objects", { attestations: '[{"version": 1, "envelope": {}}]' }, {}, {}, null],
    ["attestations: an empty array", { attestations: "[]" }, {}, {}, null],
    ["attestations: one object, not in an array", { attestations: '{"version": 1}' }, {}, {}, /attestations field must be one JSON array of attestation objects \(PEP 740\)/],
    ["attestations: an array of strings", { attestations: '["x"]' }, {}, {}, /PEP 740/],
    ["attestations: not JSON", { attestations: "[{" }, {}, {}, /PEP 740/],
    ["attestations sent twice", { attestations: ["[]", "[]"] }, {}, {}, /one JSON array/],
  ];
  for (const [label, fields, file, metadata, error] of cases) {
    test(`${label} → ${error ? "refused" : "ok"}`, () => {
      const merged = { ...base.fields, ...fields } as Record<string, string | string[] | undefined>;
      for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
      const parsed: ParsedUpload = { fields: merged as ParsedUpload["fields"], file: { ...base.file, ...file } };
      const verdict = validateUpload(parsed, { ...meta, ...metadata });
      if (error === null) assert.deepEqual(verdict, { ok: true });
      else {
        assert.equal(verdict.ok, false);
        assert.match((verdict as { error: string }).error, error);
      }
    });
  }
});

describe("the real twine", () => {
  let server: Server;
  let port: number;
  const seen: Array<{ auth: string | undefined; parsed?: ParsedUpload; metadata?: CoreMetadata; verdict?: unknown; error?: string }> = [];

  before(async () => {
    const tmp = freshTmp();
    server = createServer((req, res) => {
      const record: (typeof seen)[number] = { auth: req.headers.authorization };
      seen.push(record);
      parseUpload({ contentType: req.headers["content-type"] ?? "", body: req }, { maxFileBytes: 10 << 20, tmpDir: tmp })
        .then(async (parsed) => {
          record.parsed = parsed;
          record.metadata = parseCoreMetadata(await readDistMetadata(parsed.file.filename, parsed.file.tmpPath));
          record.verdict = validateUpload(parsed, record.metadata);
          await discardUpload(parsed.file);
          res.writeHead(200, { "content-type": "text/plain" }).end("OK");
        })
        .catch((err: unknown) => {
          record.error = String(err);
          res.writeHead(400, { "content-type": "text/plain" }).end(String(err));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("uploads a wheel and an sdist that parse and validate", async () => {
    const spec = { name: "Acme.Core", version: "1.2.0", requiresPython: ">=3.8", requiresDist: ["acme-util>=0.1", "six"] };
    const dist = mkdtempSync(join(dir, "dist-"));
    const wheelPath = join(dist, wheelFilename(spec.name, spec.version));
    const sdistPath = join(dist, sdistFilename(spec.name, spec.version));
    writeFileSync(wheelPath, buildWheel(spec));
    writeFileSync(sdistPath, buildSdist(spec));

    await run(
      "twine",
      ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", `http://127.0.0.1:${port}/`, "-u", "__token__", "-p", "x", wheelPath, sdistPath],
      { env: { ...process.env, PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", TWINE_CERT: "" }, timeout: 60_000 },
    );

    assert.equal(seen.length, 2, JSON.stringify(seen.map((s) => s.error)));
    const [w, s] = seen;
    for (const [upload, filename, filetype] of [
      [w!, wheelFilename(spec.name, spec.version), "bdist_wheel"],
      [s!, sdistFilename(spec.name, spec.version), "sdist"],
    ] as const) {
      assert.equal(upload.error, undefined);
      assert.equal(upload.auth, `Basic ${Buffer.from("__token__:x").toString("base64")}`);
      const f = upload.parsed!.fields;
      assert.equal(f[":action"], "file_upload");
      assert.equal(f.protocol_version, "1");
      assert.equal(f.name, "Acme.Core");
      assert.equal(f.version, "1.2.0");
      assert.equal(f.filetype, filetype);
      assert.equal(f.requires_python, ">=3.8");
      assert.deepEqual(f.requires_dist, ["acme-util>=0.1", "six"]);
      // twine's own digests agree with ours, BLAKE2b-256 included (not computed on upload, since
      // twine sends a sha256_digest too: checked here against the file itself)
      assert.equal(f.sha256_digest, upload.parsed!.file.sha256);
      assert.equal(f.md5_digest, upload.parsed!.file.md5);
      assert.equal(upload.parsed!.file.blake2b_256, undefined);
      assert.equal(f.blake2_256_digest, blake2b256Hex(readFileSync(join(dist, filename))));
      assert.equal(upload.parsed!.file.filename, filename);
      assert.deepEqual(upload.metadata!.requiresDist, ["acme-util>=0.1", "six"]);
      assert.deepEqual(upload.verdict, { ok: true });
    }
  });
});
