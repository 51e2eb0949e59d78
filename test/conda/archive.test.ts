// readCondaPackage as a specification: real packages made by Debian's cph (both formats,
// noarch and linux-64) give the record conda-index writes for them and the digests md5sum and
// sha256sum give; hostile packages made here are each refused with their reason; any cut,
// any chunking and random damage either refuse or read the same, never anything else; and
// reading writes nothing anywhere.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import fc from "fast-check";
import {
  CONDA_INDEX_FILTERED_FIELDS,
  CondaArchiveError,
  readCondaPackage,
  type CondaArchiveLimits,
  type CondaArchiveRefusal,
  type CondaPackage,
} from "../../src/conda/archive.js";
import { Bunzip2, Bzip2Error } from "../../src/conda/bunzip2.js";
import { bz2Compress, zstdCompress } from "../../src/conda/compress.js";
import { TarReader } from "../../src/conda/tar.js";
import { buildCondaChannel, type BuiltChannel, type BuiltPackage, type RepodataRecord } from "../fixtures/conda-channel.js";

const run = promisify(execFile);
const LIMITS: CondaArchiveLimits = { maxFileBytes: 1 << 30 };

let dir: string;
let channel: BuiltChannel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-archive-test-"));
  channel = await buildCondaChannel(join(dir, "channel"), {
    channel: "acme",
    packages: [
      { name: "pure-lib", version: "1.0", subdir: "noarch", format: ".conda", depends: ["python >=3.8"], constrains: ["other <2"] },
      { name: "pure-tool", version: "0.3.1", build: "py_0", subdir: "noarch", format: ".tar.bz2" },
      { name: "native-lib", version: "2.1", build: "h1234_3", build_number: 3, subdir: "linux-64", format: ".conda", depends: ["libc >=2.17"] },
      { name: "native-tool", version: "2024.1", subdir: "linux-64", format: ".tar.bz2", license: "BSD-3-Clause", payloadBytes: 300_000 },
    ],
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The record under packages / packages.conda of the fixture's repodata.json. */
function fixtureRecord(p: BuiltPackage): RepodataRecord {
  const subdir = channel.subdirs.find((s) => s.label === "main" && s.subdir === p.subdir)!;
  const key = p.format === ".conda" ? "packages.conda" : "packages";
  return subdir.repodata[key][p.filename]!;
}

/** conda-index drops these from index.json (conda_index/index/cache.py); the fixture keeps them. */
function asCondaIndexWrites(r: RepodataRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(r).filter(([k]) => !CONDA_INDEX_FILTERED_FIELDS.includes(k)));
}

async function refusal(promise: Promise<unknown>): Promise<CondaArchiveError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CondaArchiveError) return err;
    throw err;
  }
  assert.fail("the package was read, it should have been refused");
}

function chunked(bytes: Uint8Array, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes.length > 0 ? sizes[i % sizes.length]! : bytes.length);
    parts.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return Readable.from(parts);
}

describe("real packages made by cph", () => {
  for (const [name, format] of [
    ["pure-lib", ".conda"],
    ["pure-tool", ".tar.bz2"],
    ["native-lib", ".conda"],
    ["native-tool", ".tar.bz2"],
  ] as const) {
    test(`${name} (${format}): the record conda-index writes, digests as md5sum and sha256sum give them`, async () => {
      const p = channel.packages.find((x) => x.name === name)!;
      const read = await readCondaPackage(p.path, p.filename, LIMITS);
      assert.deepEqual(read.record, asCondaIndexWrites(fixtureRecord(p)));
      // Keys in conda-index's order (json.dumps sort_keys), types as index.json has them.
      assert.deepEqual(Object.keys(read.record), Object.keys(read.record).sort());
      assert.equal(typeof read.record.build_number, "number");
      assert.equal(typeof read.record.timestamp, "number");
      assert.ok(Array.isArray(read.record.depends));
      assert.equal(read.md5, execFileSync("md5sum", [p.path]).toString().split(" ")[0]);
      assert.equal(read.sha256, execFileSync("sha256sum", [p.path]).toString().split(" ")[0]);
      assert.equal(read.size, statSync(p.path).size);
      assert.deepEqual([read.record.md5, read.record.sha256, read.record.size], [read.md5, read.sha256, read.size]);
      assert.equal(read.format, format);
      assert.deepEqual(read.about, { summary: `${name} test fixture` });
      // The same from a stream in small, uneven pieces.
      const streamed = await readCondaPackage(chunked(readFileSync(p.path), [1, 7, 300, 5000]), p.filename, LIMITS);
      assert.deepEqual(streamed, read);
    });
  }

  test("platform subdir: arch and platform are in index.json but not in the record, as conda-index does", async () => {
    const p = channel.packages.find((x) => x.name === "native-lib")!;
    assert.equal(fixtureRecord(p).arch, "x86_64");
    const read = await readCondaPackage(p.path, p.filename, LIMITS);
    assert.equal(read.record.arch, undefined);
    assert.equal(read.record.platform, undefined);
    assert.equal(read.record.subdir, "linux-64");
    assert.equal(read.record.build_number, 3);
  });
});

// ---- a fuller package: about, run_exports, icon, recipe, prefix files --------------------------

const RICH_INDEX = {
  name: "rich-pkg",
  version: "3.2.1",
  build: "py312h0abc_2",
  build_number: 2,
  depends: ["python >=3.12,<3.13.0a0", "libzlib >=1.3"],
  constrains: ["rich-extra >=3"],
  subdir: "linux-64",
  arch: "x86_64",
  platform: "linux",
  license: "Apache-2.0",
  license_family: "Apache",
  timestamp: 1716400000123,
  track_features: "",
  features: "",
  icon: "d41d8cd98f00b204e9800998ecf8427e.png",
  has_prefix: false,
  machine: "x86_64",
  operatingsystem: "linux",
  target_platform: "linux-64",
};
const RICH_ABOUT = {
  summary: "A package with everything",
  description: "Line one\nline two",
  home: "https://example.org/rich",
  dev_url: "https://example.org/rich/src",
  doc_url: "https://example.org/rich/doc",
  license: "Apache-2.0",
  license_file: "LICENSE",
  tags: ["x"],
  extra: { maintainers: ["me"] },
};
const RICH_RUN_EXPORTS = { weak: ["rich-pkg >=3.2.1,<4.0a0"] };
const ICON_BYTES = Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), Buffer.alloc(100, 7)]);
const RECIPE = "package:\n  name: rich-pkg\n  version: 3.2.1\nsource:\n  url: https://example.org/rich-3.2.1.tar.gz\n";

async function richPrefix(root: string): Promise<string> {
  const prefix = join(root, "prefix");
  const files: Record<string, string | Buffer> = {
    "info/index.json": JSON.stringify(RICH_INDEX, null, 2),
    "info/about.json": JSON.stringify(RICH_ABOUT),
    "info/run_exports.json": JSON.stringify(RICH_RUN_EXPORTS),
    "info/icon.png": ICON_BYTES,
    "info/recipe/meta.yaml": RECIPE,
    "info/files": "etc/conda/activate.d/rich.sh\nbin/.rich-pkg-post-link.sh\nshare/rich/data.txt\n",
    "info/paths.json": JSON.stringify({
      paths: [
        { _path: "etc/conda/activate.d/rich.sh", path_type: "hardlink", size_in_bytes: 10 },
        { _path: "bin/.rich-pkg-post-link.sh", path_type: "hardlink", size_in_bytes: 10 },
        { _path: "share/rich/data.txt", path_type: "hardlink", prefix_placeholder: "/opt/prefix", file_mode: "text", size_in_bytes: 10 },
      ],
      paths_version: 1,
    }),
    "etc/conda/activate.d/rich.sh": "echo hi\n",
    "bin/.rich-pkg-post-link.sh": "echo hi\n",
    "share/rich/data.txt": "/opt/prefix\n".repeat(2000),
  };
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(prefix, path, ".."), { recursive: true });
    writeFileSync(join(prefix, path), body);
  }
  return prefix;
}

describe("a package with about.json, run_exports, an icon, a recipe and prefix files (cph)", () => {
  const stem = `${RICH_INDEX.name}-${RICH_INDEX.version}-${RICH_INDEX.build}`;
  let work: string;
  let prefix: string;
  before(async () => {
    work = join(dir, "rich");
    mkdirSync(join(work, "out"), { recursive: true });
    prefix = await richPrefix(work);
    await run("cph", ["create", prefix, `${stem}.tar.bz2`, "--out-folder", join(work, "out")]);
    await run("cph", ["transmute", join(work, "out", `${stem}.tar.bz2`), ".conda", "--zstd-compression-level", "3", "--out-folder", join(work, "out")]);
    // The same files as a .tar.bz2 whose info/ comes last, and one in two bzip2 streams (pbzip2).
    const tarLast = execFileSync("tar", ["-cf", "-", "--owner=0", "--group=0", "-C", prefix, "bin", "etc", "share", "info"]);
    writeFileSync(join(work, "last.tar.bz2"), execFileSync("bzip2", ["-c"], { input: tarLast }));
    const half = Math.floor(tarLast.length / 2);
    writeFileSync(
      join(work, "multi.tar.bz2"),
      Buffer.concat([execFileSync("bzip2", ["-c"], { input: tarLast.subarray(0, half) }), execFileSync("bzip2", ["-c"], { input: tarLast.subarray(half) })]),
    );
  });

  const expectRich = (read: CondaPackage) => {
    const { arch, platform, has_prefix, machine, operatingsystem, ...kept } = RICH_INDEX;
    void [arch, platform, has_prefix, machine, operatingsystem];
    assert.deepEqual(read.record, { ...kept, md5: read.md5, sha256: read.sha256, size: read.size });
    assert.deepEqual(read.about, RICH_ABOUT);
    assert.deepEqual(read.runExports, RICH_RUN_EXPORTS);
    assert.deepEqual(read.icon, ICON_BYTES);
    assert.equal(read.recipe, RECIPE);
    assert.deepEqual(read.postInstall, {
      binary_prefix: false,
      text_prefix: true,
      "activate.d": true,
      "deactivate.d": false,
      pre_link: false,
      post_link: true,
      pre_unlink: false,
    });
  };

  for (const [label, file, name] of [
    [".conda", `${stem}.conda`, `${stem}.conda`],
    [".tar.bz2, info/ first", `${stem}.tar.bz2`, `${stem}.tar.bz2`],
    [".tar.bz2, info/ last", "last.tar.bz2", `${stem}.tar.bz2`],
    [".tar.bz2 in two bzip2 streams", "multi.tar.bz2", `${stem}.tar.bz2`],
  ] as const) {
    test(label, async () => {
      const path = join(work, label.startsWith(".conda") || file.startsWith(stem) ? "out" : "", file);
      const read = await readCondaPackage(path, name, LIMITS);
      expectRich(read);
      assert.equal(read.sha256, execFileSync("sha256sum", [path]).toString().split(" ")[0]);
    });
  }

  test("no icon is returned when index.json names none (conda-index reads it only then)", async () => {
    const { icon, ...index } = RICH_INDEX;
    void icon;
    const bytes = await tarBz2([
      { name: "info/index.json", data: JSON.stringify(index) },
      { name: "info/icon.png", data: ICON_BYTES },
    ]);
    const read = await readCondaPackage(Readable.from([bytes]), `${stem}.tar.bz2`, LIMITS);
    assert.equal(read.icon, undefined);
  });

  test("a .tar.bz2 whose info/ is not within maxScanBytes is refused", async () => {
    const err = await refusal(readCondaPackage(join(work, "last.tar.bz2"), `${stem}.tar.bz2`, { ...LIMITS, maxScanBytes: 16 * 1024 }));
    assert.equal(err.reason, "too_much_metadata");
    assert.match(err.message, /not within the first 16384 uncompressed bytes/);
  });
});

// ---- hostile packages, made here --------------------------------------------------------------

interface TarSpec {
  name: string;
  data?: string | Buffer;
  type?: "0" | "1" | "2" | "5" | "x" | "L";
  linkname?: string;
  /** pax records: a header of type x before the entry. */
  pax?: Record<string, string>;
}

/** A ustar archive. */
function tar(entries: TarSpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const spec of entries) {
    const expanded: TarSpec[] = [];
    if (spec.pax) {
      const records = Object.entries(spec.pax).map(([k, v]) => {
        const body = ` ${k}=${v}\n`;
        let n = body.length + 1;
        while (`${n}${body}`.length !== n) n++;
        return `${n}${body}`;
      });
      expanded.push({ name: "PaxHeader", type: "x", data: records.join("") });
    }
    expanded.push(spec);
    for (const e of expanded) blocks.push(...tarEntry(e));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function tarEntry(e: TarSpec): Buffer[] {
  const blocks: Buffer[] = [];
  {
    const data = Buffer.from(e.data ?? "");
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, "utf8");
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write(e.type ?? "0", 156);
    h.write(e.linkname ?? "", 157, 100, "utf8");
    h.write("ustar\x0000", 257, "latin1");
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return blocks;
}

/** A zip of stored members, as conda tools write a .conda. */
function zip(members: Array<{ name: string; data: Buffer | string }>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const data = Buffer.from(m.data);
    const name = Buffer.from(m.name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    central.push(cd, name);
    offset += 30 + name.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(members.length, 8);
  eocd.writeUInt16LE(members.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBytes, eocd]);
}

function conda(stem: string, info: TarSpec[], extra: Array<{ name: string; data: Buffer | string }> = []): Buffer {
  return zip([
    { name: "metadata.json", data: '{"conda_pkg_format_version": 2}' },
    { name: `pkg-${stem}.tar.zst`, data: zstdCompress(tar([{ name: "share/x.txt", data: "x\n" }])) },
    { name: `info-${stem}.tar.zst`, data: zstdCompress(tar(info)) },
    ...extra,
  ]);
}

async function tarBz2(entries: TarSpec[]): Promise<Buffer> {
  return execFileSync("bzip2", ["-c"], { input: tar(entries), maxBuffer: 1 << 30 });
}

const index = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ name: "evil", version: "1.0", build: "0", build_number: 0, depends: [], subdir: "noarch", ...fields });

describe("hostile packages: each refused with its reason", () => {
  const FILE = "evil-1.0-0";
  const zeros = Buffer.alloc(100 * 1024 * 1024);
  type Case = [string, () => Buffer | Promise<Buffer>, string, CondaArchiveRefusal, RegExp, CondaArchiveLimits?];
  const cases: Case[] = [
    ["a file name that is not a conda package's", () => conda(FILE, []), "evil.zip", "bad_filename", /not a conda package file name/],
    ["a .conda renamed (the info tarball is another name's)", () => conda(FILE, [{ name: "info/index.json", data: index() }]), "good-1.0-0.conda", "bad_filename", /belongs to another file name/],
    ["a .conda whose index.json names another package", () => conda(FILE, [{ name: "info/index.json", data: index({ version: "2.0" }) }]), `${FILE}.conda`, "bad_filename", /names it evil-2\.0-0\.conda/],
    ["a .tar.bz2 whose index.json names another package", () => tarBz2([{ name: "info/index.json", data: index({ name: "good" }) }]), `${FILE}.tar.bz2`, "bad_filename", /names it good-1\.0-0\.tar\.bz2/],
    ["a .tar.bz2 that is not bzip2 (gzip)", () => zlib.gzipSync(tar([{ name: "info/index.json", data: index() }])), `${FILE}.tar.bz2`, "wrong_format", /not bzip2-compressed/],
    ["a .tar.bz2 that is a .conda", () => conda(FILE, [{ name: "info/index.json", data: index() }]), `${FILE}.tar.bz2`, "wrong_format", /is a zip/],
    ["a .conda that is a .tar.bz2", () => tarBz2([{ name: "info/index.json", data: index() }]), `${FILE}.conda`, "wrong_format", /bzip2-compressed, not a zip/],
    ["an empty file", () => Buffer.alloc(0), `${FILE}.conda`, "wrong_format", /is empty/],
    ["a .conda without its info tarball", () => zip([{ name: `pkg-${FILE}.tar.zst`, data: zstdCompress(tar([])) }]), `${FILE}.conda`, "missing_metadata", /has no info-evil-1\.0-0\.tar\.zst/],
    ["a .conda without its pkg tarball", () => zip([{ name: `info-${FILE}.tar.zst`, data: zstdCompress(tar([{ name: "info/index.json", data: index() }])) }]), `${FILE}.conda`, "missing_metadata", /has no pkg-/],
    ["an info tarball without index.json", () => conda(FILE, [{ name: "info/about.json", data: "{}" }]), `${FILE}.conda`, "missing_metadata", /no info\/index\.json/],
    ["a .tar.bz2 without index.json", () => tarBz2([{ name: "info/about.json", data: "{}" }, { name: "bin/x", data: "x" }]), `${FILE}.tar.bz2`, "missing_metadata", /no info\/index\.json/],
    ["a zip bomb: 100 MiB of zeros in info/", () => conda(FILE, [{ name: "info/index.json", data: index() }, { name: "info/zeros", data: zeros }]), `${FILE}.conda`, "too_much_metadata", /(beyond|more than) 67108864 bytes/],
    ["a bzip2 bomb in info/ (limit 1 MiB)", () => tarBz2([{ name: "info/index.json", data: index() }, { name: "info/zeros", data: zeros.subarray(0, 8 << 20) }]), `${FILE}.tar.bz2`, "too_much_metadata", /info\/ holds more than 1048576 bytes/, { ...LIMITS, maxInfoBytes: 1 << 20 }],
    ["a huge index.json", () => conda(FILE, [{ name: "info/index.json", data: index({ padding: "x".repeat(5 << 20) }) }]), `${FILE}.conda`, "too_much_metadata", /info\/index\.json is \d+ bytes; at most 4194304 are read/],
    ["too many entries", () => conda(FILE, [{ name: "info/index.json", data: index() }, ...Array.from({ length: 50 }, (_, i) => ({ name: `info/test/${i}` }))]), `${FILE}.conda`, "too_much_metadata", /more than 20 entries/, { ...LIMITS, maxEntries: 20 }],
    ["a ../ member name in info", () => conda(FILE, [{ name: "info/index.json", data: index() }, { name: "info/../../evil", data: "x" }]), `${FILE}.conda`, "unsafe_path", /unsafe path/],
    ["an absolute member name", () => tarBz2([{ name: "/etc/evil", data: "x" }, { name: "info/index.json", data: index() }]), `${FILE}.tar.bz2`, "unsafe_path", /unsafe path/],
    ["a ../ zip member name", () => zip([{ name: `../info-${FILE}.tar.zst`, data: "x" }]), `${FILE}.conda`, "unsafe_path", /zip member .* unsafe path/],
    ["index.json as a symlink out of the package", () => conda(FILE, [{ name: "info/index.json", type: "2", linkname: "/etc/passwd" }]), `${FILE}.conda`, "unsafe_path", /points outside the package/],
    ["a symlink in info/ climbing out", () => tarBz2([{ name: "info/index.json", data: index() }, { name: "info/up", type: "2", linkname: "../../../etc" }]), `${FILE}.tar.bz2`, "unsafe_path", /points outside the package/],
    ["index.json as a symlink inside info/", () => conda(FILE, [{ name: "info/real.json", data: index() }, { name: "info/index.json", type: "2", linkname: "real.json" }]), `${FILE}.conda`, "unsafe_path", /is a symlink, not a regular file/],
    ["index.json twice", () => conda(FILE, [{ name: "info/index.json", data: index() }, { name: "info/index.json", data: index({ depends: ["x"] }) }]), `${FILE}.conda`, "malformed", /holds info\/index\.json twice/],
    ["index.json that is not JSON", () => conda(FILE, [{ name: "info/index.json", data: "{name: evil" }]), `${FILE}.conda`, "malformed", /info\/index\.json is not valid JSON/],
    ["index.json without subdir", () => conda(FILE, [{ name: "info/index.json", data: index({ subdir: undefined }) }]), `${FILE}.conda`, "bad_metadata", /has no subdir/],
    ["index.json with a bad subdir", () => conda(FILE, [{ name: "info/index.json", data: index({ subdir: "linux_64" }) }]), `${FILE}.conda`, "bad_metadata", /subdir "linux_64"/],
    ["index.json with a string build_number", () => conda(FILE, [{ name: "info/index.json", data: index({ build_number: "0" }) }]), `${FILE}.conda`, "bad_metadata", /build_number/],
    ["a .conda with a member that does not belong", () => conda(FILE, [{ name: "info/index.json", data: index() }], [{ name: "evil.sh", data: "x" }]), `${FILE}.conda`, "malformed", /unexpected member "evil\.sh"/],
    ["a .conda whose central directory lies", () => {
      const b = conda(FILE, [{ name: "info/index.json", data: index() }]);
      const cd = b.lastIndexOf(Buffer.from(`info-${FILE}`));
      b.write("X", cd); // the central directory's name for the info member
      return b;
    }, `${FILE}.conda`, "malformed", /does not match the member/],
    ["a corrupt byte in the info tarball", () => {
      const b = conda(FILE, [{ name: "info/index.json", data: index() }]);
      const at = b.indexOf(Buffer.from(`info-${FILE}.tar.zst`)) + `info-${FILE}.tar.zst`.length + 20;
      b[at]! ^= 0x55;
      return b;
    }, `${FILE}.conda`, "malformed", /CRC-32|not valid zstd data/],
    ["a truncated .conda", () => conda(FILE, [{ name: "info/index.json", data: index() }]).subarray(0, 300), `${FILE}.conda`, "truncated", /truncated/],
    ["a truncated .tar.bz2", async () => (await tarBz2([{ name: "info/index.json", data: index() }, { name: "bin/x", data: "x".repeat(10000) }])).subarray(0, 100), `${FILE}.tar.bz2`, "truncated", /truncated/],
    ["a .tar.bz2 cut after its info/", async () => {
      const random = Buffer.from(Array.from({ length: 2_000_000 }, (_, i) => (i * 2654435761) >>> 24));
      const b = await tarBz2([{ name: "info/index.json", data: index() }, { name: "bin/x", data: random }]);
      return b.subarray(0, b.length - 5000);
    }, `${FILE}.tar.bz2`, "truncated", /does not end like bzip2 data/],
    ["a file larger than maxFileBytes", () => conda(FILE, [{ name: "info/index.json", data: index() }]), `${FILE}.conda`, "too_large", /larger than the 100 bytes/, { maxFileBytes: 100 }],
  ];

  for (const [label, make, filename, reason, message, limits] of cases) {
    test(label, async () => {
      const bytes = await make();
      const err = await refusal(readCondaPackage(chunked(bytes, [65536]), filename, limits ?? LIMITS));
      assert.equal(err.reason, reason, err.message);
      assert.match(err.message, message);
      assert.equal(err.status, reason === "too_large" ? 413 : 400);
      assert.equal(err.code, reason === "too_large" ? "payload_too_large" : "bad_request");
    });
  }

  test("a file over maxFileBytes is refused from its size, before it is read", async () => {
    const p = channel.packages.find((x) => x.format === ".conda")!;
    const err = await refusal(readCondaPackage(p.path, p.filename, { maxFileBytes: p.size - 1 }));
    assert.equal(err.reason, "too_large");
  });

  test("a refused stream is not read to its end", async () => {
    let pulled = 0;
    async function* source() {
      yield Buffer.from("not a package at all");
      for (;;) {
        pulled++;
        yield Buffer.alloc(65536);
        if (pulled > 1000) return;
      }
    }
    await refusal(readCondaPackage(source(), "evil-1.0-0.conda", LIMITS));
    assert.ok(pulled <= 1, `read ${pulled} more chunks after the refusal`);
  });
});

describe("tar names as Python's tarfile reads them", () => {
  const FILE = "evil-1.0-0";
  test("a pax path names the entry, whatever its ustar name says", async () => {
    const bytes = conda(FILE, [
      { name: "info/decoy.json", data: index(), pax: { path: "info/index.json" } },
      { name: "info/index.json", data: index({ version: "9" }), pax: { path: "info/other.json" } },
    ]);
    const read = await readCondaPackage(Readable.from([bytes]), `${FILE}.conda`, LIMITS);
    assert.equal(read.record.version, "1.0");
  });

  test("a GNU long name, and pax and GNU long names from GNU tar", async () => {
    const long = `info/test/${"d".repeat(90)}/file.txt`; // 109 characters: a ustar prefix, a pax path or a GNU long name
    const gnu = conda(FILE, [{ name: "././@LongLink", type: "L", data: "info/index.json\0" }, { name: "info/short", data: index() }, { name: long, data: "x" }]);
    assert.equal((await readCondaPackage(Readable.from([gnu]), `${FILE}.conda`, LIMITS)).record.name, "evil");
    const root = mkdtempSync(join(dir, "names-"));
    mkdirSync(join(root, "info", "test", "d".repeat(90)), { recursive: true });
    writeFileSync(join(root, long), "x");
    writeFileSync(join(root, "info", "index.json"), index());
    for (const format of ["pax", "gnu", "ustar"]) {
      const tarBytes = execFileSync("tar", ["-cf", "-", `--format=${format}`, "-C", root, "info"]);
      const bytes = execFileSync("bzip2", ["-c"], { input: tarBytes });
      const read = await readCondaPackage(Readable.from([bytes]), `${FILE}.tar.bz2`, LIMITS);
      assert.equal(read.record.name, "evil", format);
      // The names themselves, as the tar reader gives them.
      const names: string[] = [];
      const reader = new TarReader({ entry: (e) => (names.push(e.type === "directory" ? e.name.replace(/\/$/, "") : e.name), "skip"), file: () => undefined }, { maxEntries: 100 });
      for (let i = 0; i < tarBytes.length; i += 100) reader.push(tarBytes.subarray(i, i + 100));
      reader.end();
      assert.deepEqual(names.sort(), ["info", "info/index.json", "info/test", `info/test/${"d".repeat(90)}`, long].sort(), format);
    }
  });

  test("a ../ hidden in a pax path is refused", async () => {
    const bytes = await tarBz2([{ name: "info/index.json", data: index() }, { name: "info/fine", data: "x", pax: { path: "info/../../../etc/x" } }]);
    const err = await refusal(readCondaPackage(Readable.from([bytes]), `${FILE}.tar.bz2`, LIMITS));
    assert.equal(err.reason, "unsafe_path");
  });
});

describe("conda's own reader (conda-package-streaming, as conda and conda-index use it) reads the same index.json", () => {
  const PY = `
import json, sys
from conda_package_streaming.package_streaming import stream_conda_info
out = []
for path in sys.argv[1:]:
    found = None
    for tar, member in stream_conda_info(path):
        if member.name == "info/index.json":
            found = json.load(tar.extractfile(member))
            break
    out.append(found)
print(json.dumps(out))
`;
  test("fixture packages, a GNU tar with info/ last, two bzip2 streams, and a pax path", async () => {
    const work = mkdtempSync(join(dir, "oracle-"));
    const files = channel.packages.map((p) => ({ path: p.path, name: p.filename }));
    const paxed = join(work, "evil-1.0-0.conda");
    writeFileSync(paxed, conda("evil-1.0-0", [
      { name: "info/decoy.json", data: index(), pax: { path: "info/index.json" } },
      { name: "info/index.json", data: index({ version: "9" }), pax: { path: "info/other.json" } },
    ]));
    files.push({ path: paxed, name: "evil-1.0-0.conda" });
    const rich = join(dir, "rich");
    const stem = `${RICH_INDEX.name}-${RICH_INDEX.version}-${RICH_INDEX.build}`;
    for (const [file, copyAs] of [["last.tar.bz2", "a"], ["multi.tar.bz2", "b"]]) {
      // conda reads a .tar.bz2 by its content; the copy only gives it its package name.
      mkdirSync(join(work, copyAs!));
      writeFileSync(join(work, copyAs!, `${stem}.tar.bz2`), readFileSync(join(rich, file!)));
      files.push({ path: join(work, copyAs!, `${stem}.tar.bz2`), name: `${stem}.tar.bz2` });
    }
    const { stdout } = await run("/usr/bin/python3", ["-c", PY, ...files.map((f) => f.path)]);
    const theirs = JSON.parse(stdout) as Array<Record<string, unknown>>;
    for (const [i, f] of files.entries()) {
      const ours = (await readCondaPackage(f.path, f.name, LIMITS)).record;
      const { md5, sha256, size, ...fields } = ours;
      void [md5, sha256, size];
      const kept = Object.fromEntries(Object.entries(theirs[i]!).filter(([k]) => !CONDA_INDEX_FILTERED_FIELDS.includes(k)));
      assert.deepEqual(fields, kept, f.name);
    }
  });
});

// ---- properties ------------------------------------------------------------------------------

describe("properties", () => {
  const RUNS = 150;
  const strip = (p: CondaPackage) => {
    const { md5, sha256, size, record, ...rest } = p;
    void [md5, sha256, size];
    const { md5: _m, sha256: _s, size: _z, ...fields } = record;
    void [_m, _s, _z];
    return { ...rest, record: fields };
  };

  for (const format of [".conda", ".tar.bz2"] as const) {
    test(`${format}: any cut, any chunking, any damage: refused with a reason, or read the same`, async () => {
      const p = channel.packages.find((x) => x.format === format && x.subdir === "linux-64")!;
      const whole = readFileSync(p.path);
      const expected = strip(await readCondaPackage(p.path, p.filename, LIMITS));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: whole.length }),
          fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.tuple(fc.nat({ max: whole.length - 1 }), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
          async (cut, sizes, flips) => {
            const bytes = Buffer.from(whole.subarray(0, cut));
            for (const [at, xor] of flips) if (at < bytes.length) bytes[at]! ^= xor;
            try {
              const read = await readCondaPackage(chunked(bytes, sizes), p.filename, LIMITS);
              assert.deepEqual(strip(read), expected);
              assert.equal(read.size, bytes.length);
              // A cut is never read as a package (damage after a .tar.bz2's info/ is not seen: see archive.ts).
              if (cut < whole.length) assert.fail(`a file cut at ${cut} of ${whole.length} bytes was accepted`);
            } catch (err) {
              if (!(err instanceof CondaArchiveError)) throw err;
            }
          },
        ),
        { numRuns: RUNS },
      );
    });
  }

  test("every cut of a small package is refused", async () => {
    for (const format of [".conda", ".tar.bz2"] as const) {
      const p = channel.packages.find((x) => x.format === format && x.subdir === "noarch")!;
      const whole = readFileSync(p.path);
      for (let cut = 0; cut < whole.length; cut++) {
        const err = await refusal(readCondaPackage(Readable.from([whole.subarray(0, cut)]), p.filename, LIMITS));
        assert.ok(["truncated", "wrong_format", "malformed", "missing_metadata"].includes(err.reason), `${format} cut at ${cut}: ${err.reason}`);
      }
    }
  });

  test("bunzip2 decodes what bzip2 encodes, pushed in any pieces", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 600 })), { maxLength: 30 }).map((runs) =>
            Uint8Array.from(runs.flatMap(([b, n]) => Array<number>(n).fill(b))),
          ),
        ),
        fc.integer({ min: 1, max: 500 }),
        (data, piece) => {
          const compressed = bz2Compress(data);
          const out: Buffer[] = [];
          const d = new Bunzip2((b) => out.push(Buffer.from(b)));
          for (let i = 0; i < compressed.length; i += piece) d.push(compressed.subarray(i, i + piece));
          d.end();
          assert.deepEqual(Buffer.concat(out), Buffer.from(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("bunzip2 on damaged input: a Bzip2Error or the CRC-checked original, nothing else", () => {
    const data = Buffer.from("conda package metadata ".repeat(500));
    const compressed = bz2Compress(data);
    fc.assert(
      fc.property(fc.nat({ max: compressed.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = Buffer.from(compressed);
        bad[at]! ^= xor;
        const out: Buffer[] = [];
        try {
          const d = new Bunzip2((b) => out.push(Buffer.from(b)));
          d.push(bad);
          d.end();
        } catch (err) {
          if (err instanceof Bzip2Error) return;
          throw err;
        }
        assert.deepEqual(Buffer.concat(out), data);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- nothing written ---------------------------------------------------------------------------

test("reading packages, good and hostile, writes no file (empty TMPDIR and working directory stay empty)", async () => {
  const work = mkdtempSync(join(tmpdir(), "pkgate-archive-nowrite-"));
  try {
    const inputs = join(work, "inputs");
    const emptyTmp = join(work, "tmp");
    const emptyCwd = join(work, "cwd");
    for (const d of [inputs, emptyTmp, emptyCwd]) mkdirSync(d);
    const files: Array<[string, string]> = [];
    for (const p of channel.packages) files.push([p.path, p.filename]);
    writeFileSync(join(inputs, "bomb.conda"), conda("evil-1.0-0", [{ name: "info/index.json", data: index() }, { name: "info/zeros", data: Buffer.alloc(80 << 20) }]));
    files.push([join(inputs, "bomb.conda"), "evil-1.0-0.conda"]);
    writeFileSync(join(inputs, "cut.tar.bz2"), readFileSync(channel.packages.find((p) => p.format === ".tar.bz2")!.path).subarray(0, 200));
    files.push([join(inputs, "cut.tar.bz2"), channel.packages.find((p) => p.format === ".tar.bz2")!.filename]);
    const script = join(work, "read.mts");
    writeFileSync(
      script,
      `import { readCondaPackage } from ${JSON.stringify(join(process.cwd(), "src/conda/archive.ts"))};\n` +
        `const files = JSON.parse(process.argv[2]);\n` +
        `for (const [path, name] of files) {\n` +
        `  try { const r = await readCondaPackage(path, name, { maxFileBytes: 1 << 30 }); console.log("read", r.record.name); }\n` +
        `  catch (e) { console.log("refused", e.reason); }\n` +
        `}\n`,
    );
    const { stdout } = await run(process.execPath, ["--import", import.meta.resolve("tsx"), script, JSON.stringify(files)], {
      cwd: emptyCwd,
      env: { ...process.env, TMPDIR: emptyTmp, TSX_DISABLE_CACHE: "1" },
    });
    assert.deepEqual(stdout.trim().split("\n"), [...channel.packages.map((p) => `read ${p.name}`), "refused too_much_metadata", "refused truncated"]);
    assert.deepEqual(readdirSync(emptyTmp), []);
    assert.deepEqual(readdirSync(emptyCwd), []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
