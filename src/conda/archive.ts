// Reading a conda package as it is received: the repodata record conda-index would write for
// it, and what channeldata needs, taken from the package's own bytes (never from the client),
// with md5, sha256 and size computed over the whole file as it streams by. Nothing is written
// anywhere, and only the metadata is decompressed: a `.conda`'s `pkg-` tarball passes through
// untouched, and a `.tar.bz2` is decoded only until its info/ entries are read.
//
// What conda-index does, matched here (conda_index/index/cache.py, extract_to_cache_unconditional,
// and sqlitecache.py; conda-index 0.6): the members it reads are info/index.json,
// info/about.json, info/paths.json (only to compute the seven post-install flags),
// info/run_exports.json, the first of info/recipe/meta.yaml.rendered, info/recipe/meta.yaml,
// info/meta.yaml, and info/icon.png when index.json names an icon; the record is index.json
// minus `arch`, `has_prefix`, `mtime`, `platform`, `ucs`, `requires_features`, `binstar`,
// `target-triplet`, `machine` and `operatingsystem`, plus md5, sha256 and size of the file;
// every other field is kept as the package has it, with its JSON type. Its keys come out
// sorted, as conda-index's json.dumps(sort_keys=True) writes them.
//
// Stricter than conda-index, which logs and skips a package it cannot read: every refusal is
// a CondaArchiveError (400, or 413 for the file's size) whose message says what to fix.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { CONDA_PACKAGE_NAME } from "../access/names.js";
import { GateError } from "../errors.js";
import { Bunzip2, Bzip2Error, endsLikeBzip2 } from "./bunzip2.js";
import { isCondaSubdir, parseCondaFilename, type CondaExtension } from "./filename.js";
import { TarError, TarReader, type TarEntry, type TarHandler } from "./tar.js";
import { ZipError, ZipStreamReader, type ZipMember } from "./zip.js";
import { postInstallDetails as channeldataPostInstall } from "./channeldata-writer.js";

export interface CondaArchiveLimits {
  /** Largest package file accepted; beyond it the read fails with 413. */
  maxFileBytes: number;
  /** Most uncompressed bytes read from info/ (the whole info tarball of a `.conda`). */
  maxInfoBytes?: number;
  /** Largest single metadata file read (index.json, about.json, run_exports.json, recipe, icon). */
  maxMetadataFileBytes?: number;
  /** Most tar entries looked at. */
  maxEntries?: number;
  /** `.tar.bz2`: most uncompressed bytes decoded while looking for info/ (it is usually first). */
  maxScanBytes?: number;
}

export const CONDA_ARCHIVE_DEFAULTS = Object.freeze({
  maxInfoBytes: 64 * 1024 * 1024,
  maxMetadataFileBytes: 4 * 1024 * 1024,
  maxEntries: 100_000,
  maxScanBytes: 512 * 1024 * 1024,
});

/** Why a package was refused; stable, for callers and tests to switch on. */
export type CondaArchiveRefusal =
  | "bad_filename" // not <name>-<version>-<build>.conda|.tar.bz2, or not the name its metadata gives
  | "wrong_format" // the bytes are not what the extension says (not a zip, not bzip2)
  | "malformed" // broken zip, tar, bzip2, zstd or JSON; members that do not belong
  | "truncated" // the file ends early
  | "missing_metadata" // no info tarball, no info/index.json
  | "bad_metadata" // index.json lacks or misstates a field the index needs (subdir, name, ...)
  | "too_much_metadata" // beyond maxInfoBytes, maxMetadataFileBytes, maxEntries or maxScanBytes: a bomb
  | "unsafe_path" // absolute or `..` member names, links that point out of the package
  | "too_large"; // the file is larger than maxFileBytes

export class CondaArchiveError extends GateError {
  constructor(
    readonly reason: CondaArchiveRefusal,
    message: string,
  ) {
    super(reason === "too_large" ? "payload_too_large" : "bad_request", message);
    this.name = "CondaArchiveError";
  }
}

/** A repodata record: index.json's fields (those conda-index keeps) and the file's digests. */
export interface CondaRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  subdir: string;
  depends?: string[];
  constrains?: string[];
  license?: string;
  license_family?: string;
  noarch?: string;
  timestamp?: number;
  track_features?: string;
  features?: string;
  md5: string;
  sha256: string;
  size: number;
  [field: string]: unknown;
}

/** What conda-index derives from info/paths.json for channeldata (all false without it). */
export interface PostInstall {
  binary_prefix: boolean;
  text_prefix: boolean;
  "activate.d": boolean;
  "deactivate.d": boolean;
  pre_link: boolean;
  post_link: boolean;
  pre_unlink: boolean;
}

export interface CondaPackage {
  filename: string;
  format: CondaExtension;
  /** What conda-index writes under packages / packages.conda for this file. */
  record: CondaRecord;
  /** info/about.json ({} when absent): summary, description, home, dev_url, doc_url, license, ... */
  about: Record<string, unknown>;
  /** info/run_exports.json ({} when absent). */
  runExports: Record<string, unknown>;
  postInstall: PostInstall;
  /** The rendered recipe (YAML text) conda-index reads source_url and source_git_url from. */
  recipe?: string;
  /** info/icon.png, when index.json names an icon. */
  icon?: Buffer;
  md5: string;
  sha256: string;
  size: number;
}

/** The fields conda-index drops from index.json (cache.py, extract_to_cache_unconditional). */
export const CONDA_INDEX_FILTERED_FIELDS: readonly string[] = Object.freeze([
  "arch",
  "has_prefix",
  "mtime",
  "platform",
  "ucs",
  "requires_features",
  "binstar",
  "target-triplet",
  "machine",
  "operatingsystem",
]);

const INDEX_JSON = "info/index.json";
const ABOUT_JSON = "info/about.json";
const PATHS_JSON = "info/paths.json";
const RUN_EXPORTS_JSON = "info/run_exports.json";
const ICON = "info/icon.png";
const RECIPES = ["info/recipe/meta.yaml.rendered", "info/recipe/meta.yaml", "info/meta.yaml"];
// zstd-napi's low-level binding (CommonJS, named exports only through require): its DCtx
// decompresses a chunk at a time into a buffer of our choosing, where the package's
// DecompressStream would push a bomb's whole output for one input chunk.
const zstd = createRequire(import.meta.url)("zstd-napi/binding") as typeof import("zstd-napi/binding.js");
const MAX_ZIP_MEMBERS = 16;
const MAX_ZIP_DIRECTORY = 256 * 1024;
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Reads a conda package from a file path or a byte stream (an upload's body). Rejects with a
 * CondaArchiveError saying why the package is refused; other errors (the file cannot be opened,
 * the stream fails) pass through unchanged. On refusal the source is no longer read, and a
 * Readable is destroyed.
 */
export async function readCondaPackage(
  source: string | AsyncIterable<Uint8Array>,
  filename: string,
  limits: CondaArchiveLimits,
): Promise<CondaPackage> {
  const parsed = parseCondaFilename(filename);
  if (!parsed) {
    throw new CondaArchiveError(
      "bad_filename",
      `${JSON.stringify(filename.slice(0, 300))} is not a conda package file name: <name>-<version>-<build>.conda or .tar.bz2`,
    );
  }
  const max = limits.maxFileBytes;
  const tooLarge = () => new CondaArchiveError("too_large", `${filename} is larger than the ${max} bytes this channel accepts`);
  if (typeof source === "string" && (await stat(source)).size > max) throw tooLarge();

  const info = new InfoCollector(filename, limits);
  const reader: FormatReader = parsed.ext === ".conda" ? new CondaReader(filename, info) : new TarBz2Reader(filename, info, limits);
  const md5 = createHash("md5");
  const sha256 = createHash("sha256");
  let size = 0;
  const bytes = typeof source === "string" ? createReadStream(source, { highWaterMark: 1024 * 1024 }) : source;
  // The first bytes say what the file is; they are held until there are enough to tell.
  let head: Buffer | null = Buffer.alloc(0);
  try {
    for await (const chunk of bytes) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      md5.update(chunk);
      sha256.update(chunk);
      if (head) {
        head = Buffer.concat([head, chunk]);
        if (head.length < MAGIC_BYTES) continue;
        checkMagic(head, parsed.ext, filename);
        reader.push(head);
        head = null;
      } else reader.push(chunk);
    }
    if (head) {
      checkMagic(head, parsed.ext, filename);
      if (head.length > 0) reader.push(head);
    }
    reader.end();
  } catch (err) {
    throw asArchiveError(err, filename);
  }
  const digests = { md5: md5.digest("hex"), sha256: sha256.digest("hex"), size };
  return { filename, format: parsed.ext, ...info.result(parsed.ext, digests), ...digests };
}

interface FormatReader {
  push(chunk: Uint8Array): void;
  end(): void;
}

const MAGIC_BYTES = 4;

function checkMagic(head: Buffer, ext: CondaExtension, filename: string): void {
  const isZip = head.subarray(0, 4).equals(Buffer.from("PK\x03\x04", "latin1"));
  const isBzip2 = head.subarray(0, 3).toString("latin1") === "BZh";
  if (ext === ".conda" && !isZip) {
    throw new CondaArchiveError(
      "wrong_format",
      isBzip2
        ? `${filename} is bzip2-compressed, not a zip: is it a .tar.bz2 package under the wrong name?`
        : head.length === 0
          ? `${filename} is empty`
          : `${filename} is not a .conda package (not a zip archive)`,
    );
  }
  if (ext === ".tar.bz2" && !isBzip2) {
    throw new CondaArchiveError(
      "wrong_format",
      isZip
        ? `${filename} is a zip, not bzip2-compressed: is it a .conda package under the wrong name?`
        : head.length === 0
          ? `${filename} is empty`
          : `${filename} is not a .tar.bz2 package (not bzip2-compressed)`,
    );
  }
}

// ---- .conda: a zip of metadata.json, pkg-<stem>.tar.zst and info-<stem>.tar.zst ----------------

class CondaReader implements FormatReader {
  private readonly zip: ZipStreamReader;
  private readonly stem: string;
  private infoStream: ZstdStream | null = null;
  private tar: TarReader | null = null;
  private pkgHead = Buffer.alloc(0);
  private seen = new Set<string>();

  constructor(
    private readonly filename: string,
    private readonly info: InfoCollector,
  ) {
    this.stem = filename.slice(0, -".conda".length);
    this.zip = new ZipStreamReader(
      {
        member: (m) => this.member(m),
        data: (m, chunk) => this.data(m, chunk),
        memberEnd: (m) => this.memberEnd(m),
      },
      { maxMembers: MAX_ZIP_MEMBERS, maxDirectoryBytes: MAX_ZIP_DIRECTORY },
    );
  }

  push(chunk: Uint8Array): void {
    this.zip.push(chunk);
  }

  end(): void {
    this.zip.end();
    const missing = [`info-${this.stem}.tar.zst`, `pkg-${this.stem}.tar.zst`].filter((n) => !this.seen.has(n));
    if (missing.length > 0) {
      throw new CondaArchiveError(
        "missing_metadata",
        `${this.filename} has no ${missing.join(" and no ")}: a .conda holds info-<stem>.tar.zst and pkg-<stem>.tar.zst named after the file`,
      );
    }
    this.info.finish();
  }

  private member(m: ZipMember): void {
    checkMemberName(m.name, `the zip member`);
    if (this.seen.has(m.name)) throw new CondaArchiveError("malformed", `${this.filename} holds ${m.name} twice`);
    this.seen.add(m.name);
    if (m.name === "metadata.json") return;
    const component = m.name === `info-${this.stem}.tar.zst` ? "info" : m.name === `pkg-${this.stem}.tar.zst` ? "pkg" : null;
    if (component === null) {
      if (/^(info|pkg)-.*\.tar\.zst$/.test(m.name)) {
        throw new CondaArchiveError(
          "bad_filename",
          `${this.filename} holds ${m.name}, which belongs to another file name: conda reads info-${this.stem}.tar.zst, so upload the package under the name it was built with`,
        );
      }
      throw new CondaArchiveError("malformed", `${this.filename} holds an unexpected member ${JSON.stringify(m.name)}; a .conda holds metadata.json, info-<stem>.tar.zst and pkg-<stem>.tar.zst`);
    }
    if (m.method !== 0) {
      throw new CondaArchiveError("malformed", `${m.name} in ${this.filename} is compressed by the zip (method ${m.method}); conda packages store their zstd tarballs as they are`);
    }
    if (component === "info") {
      this.tar = new TarReader(this.info, { maxEntries: this.info.maxEntries });
      this.infoStream = new ZstdStream((out) => {
        this.info.countInfoBytes(out.length);
        this.tar!.push(out);
      });
    }
  }

  private data(m: ZipMember, chunk: Uint8Array): void {
    if (m.name.startsWith("info-") && this.infoStream) this.infoStream.push(chunk);
    else if (m.name.startsWith("pkg-") && this.pkgHead.length < 4) {
      this.pkgHead = Buffer.concat([this.pkgHead, chunk.subarray(0, 4 - this.pkgHead.length)]);
    }
  }

  private memberEnd(m: ZipMember): void {
    if (m.name.startsWith("info-") && this.infoStream && this.tar) {
      this.infoStream.end();
      this.tar.end();
      this.infoStream = null;
    } else if (m.name.startsWith("pkg-") && !this.pkgHead.equals(ZSTD_MAGIC)) {
      throw new CondaArchiveError("malformed", `${m.name} in ${this.filename} is not zstd-compressed`);
    }
  }
}

/** zstd decompression pushed a chunk at a time, each output piece handed over at once: the
 * consumer counts and can stop a bomb before more than one piece (~128 KiB) too many exists. */
class ZstdStream {
  private readonly dctx = new zstd.DCtx();
  private readonly out = Buffer.allocUnsafe(zstd.dStreamOutSize());
  private inFrame = false;

  constructor(private readonly onOutput: (bytes: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    let src = chunk;
    for (;;) {
      let result: [number, number, number];
      try {
        result = this.dctx.decompressStream(this.out, src);
      } catch (err) {
        throw new CondaArchiveError("malformed", `the info tarball is not valid zstd data (${(err as Error).message})`);
      }
      const [ret, produced, consumed] = result;
      src = src.subarray(consumed);
      this.inFrame = ret !== 0;
      if (produced > 0) this.onOutput(this.out.subarray(0, produced));
      if (src.length === 0 && produced < this.out.length) return;
    }
  }

  end(): void {
    if (this.inFrame) throw new CondaArchiveError("truncated", "the info tarball's zstd data ends early: the package is truncated or corrupt");
  }
}

// ---- .tar.bz2: a bzip2-compressed tar with info/ usually first -----------------------------------

class TarBz2Reader implements FormatReader {
  private readonly bunzip: Bunzip2;
  private readonly tar: TarReader;
  private scanned = 0;
  /** info/ is read: the rest is hashed, not decoded. */
  private infoDone = false;
  private tail = Buffer.alloc(0);
  private readonly maxScan: number;

  constructor(
    private readonly filename: string,
    private readonly info: InfoCollector,
    limits: CondaArchiveLimits,
  ) {
    this.maxScan = limits.maxScanBytes ?? CONDA_ARCHIVE_DEFAULTS.maxScanBytes;
    this.tar = new TarReader(info, { maxEntries: info.maxEntries });
    this.bunzip = new Bunzip2((out) => {
      // The block being decoded is finished even when info/ is read in its middle: its CRC,
      // checked at its end, is what vouches for the metadata read from it.
      if (this.infoDone) return;
      this.scanned += out.length;
      if (this.scanned > this.maxScan) {
        throw new CondaArchiveError(
          "too_much_metadata",
          `${this.filename}: info/index.json is not within the first ${this.maxScan} uncompressed bytes; conda packages keep info/ first`,
        );
      }
      this.tar.push(out);
      if (this.tar.done || this.info.complete()) {
        this.infoDone = true;
        this.bunzip.stop();
      }
    });
  }

  push(chunk: Uint8Array): void {
    // The last bytes, to check the end-of-stream marker of a file not decoded to its end.
    this.tail = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - 16))]).subarray(-16);
    if (!this.infoDone) this.bunzip.push(chunk);
  }

  end(): void {
    if (!this.infoDone) this.bunzip.end();
    if (this.infoDone) {
      // The rest was hashed, not decoded: a file cut short still lacks bzip2's end marker.
      if (!endsLikeBzip2(this.tail)) {
        throw new CondaArchiveError("truncated", `${this.filename} does not end like bzip2 data: the file is truncated`);
      }
    } else this.tar.end();
    this.info.finish();
  }
}

// ---- info/: what is read, and the rules for every entry looked at -------------------------------

class InfoCollector implements TarHandler {
  readonly maxEntries: number;
  private readonly maxInfo: number;
  private readonly maxFile: number;
  private readonly members = new Map<string, Buffer>();
  private infoBytes = 0;
  private infoEntryBytes = 0;
  private seenInfo = false;
  private infoEnded = false;
  private recipeName: string | null = null;
  private index: Record<string, unknown> | null = null;

  constructor(
    private readonly filename: string,
    limits: CondaArchiveLimits,
  ) {
    this.maxEntries = limits.maxEntries ?? CONDA_ARCHIVE_DEFAULTS.maxEntries;
    this.maxInfo = limits.maxInfoBytes ?? CONDA_ARCHIVE_DEFAULTS.maxInfoBytes;
    this.maxFile = limits.maxMetadataFileBytes ?? CONDA_ARCHIVE_DEFAULTS.maxMetadataFileBytes;
  }

  /** Uncompressed bytes of a `.conda`'s info tarball. */
  countInfoBytes(n: number): void {
    this.infoBytes += n;
    if (this.infoBytes > this.maxInfo) {
      throw new CondaArchiveError("too_much_metadata", `${this.filename}: the info tarball expands beyond ${this.maxInfo} bytes`);
    }
  }

  entry(e: TarEntry): "collect" | "skip" {
    checkMemberName(e.name, "the tar entry");
    if (e.type === "symlink" || e.type === "hardlink") checkLink(e);
    const inInfo = e.name.startsWith("info/");
    if (inInfo) this.seenInfo = true;
    else if (this.seenInfo) this.infoEnded = true;
    if (!inInfo) return "skip";
    this.infoEntryBytes += e.size;
    if (this.infoEntryBytes > this.maxInfo) {
      throw new CondaArchiveError("too_much_metadata", `${this.filename}: info/ holds more than ${this.maxInfo} bytes`);
    }
    if (!this.wanted(e.name)) return "skip";
    if (e.type !== "file") {
      throw new CondaArchiveError("unsafe_path", `${this.filename}: ${e.name} is a ${e.type}, not a regular file`);
    }
    if (this.members.has(e.name)) throw new CondaArchiveError("malformed", `${this.filename} holds ${e.name} twice`);
    const cap = e.name === PATHS_JSON ? this.maxInfo : this.maxFile;
    if (e.size > cap) {
      throw new CondaArchiveError("too_much_metadata", `${this.filename}: ${e.name} is ${e.size} bytes; at most ${cap} are read`);
    }
    if (RECIPES.includes(e.name)) this.recipeName = e.name;
    return "collect";
  }

  file(e: TarEntry, data: Buffer): void {
    this.members.set(e.name, data);
    if (e.name === INDEX_JSON) this.index = parseJsonObject(data, INDEX_JSON, this.filename);
  }

  /** Everything wanted was read (or info/ is over): the rest of a `.tar.bz2` need not be decoded. */
  complete(): boolean {
    if (!this.index) return false;
    if (this.infoEnded) return true;
    const want = [ABOUT_JSON, PATHS_JSON, RUN_EXPORTS_JSON, ...(this.wantsIcon() ? [ICON] : [])];
    return this.recipeName !== null && want.every((n) => this.members.has(n));
  }

  finish(): void {
    if (!this.members.has(INDEX_JSON)) {
      throw new CondaArchiveError("missing_metadata", `${this.filename} has no info/index.json: it is not a conda package`);
    }
  }

  result(ext: CondaExtension, digests: { md5: string; sha256: string; size: number }) {
    const index = this.index!;
    const record = condaIndexRecord(index, this.filename, ext, digests);
    const about = this.jsonMember(ABOUT_JSON);
    const runExports = this.jsonMember(RUN_EXPORTS_JSON);
    const paths = this.members.get(PATHS_JSON);
    const postInstall = postInstallDetails(paths ? parseJsonObject(paths, PATHS_JSON, this.filename) : null);
    const recipe = this.recipeName ? this.members.get(this.recipeName)!.toString("utf8") : undefined;
    const icon = this.wantsIcon() ? this.members.get(ICON) : undefined;
    return { record, about, runExports, postInstall, ...(recipe !== undefined ? { recipe } : {}), ...(icon ? { icon } : {}) };
  }

  private wanted(name: string): boolean {
    if (name === INDEX_JSON || name === ABOUT_JSON || name === PATHS_JSON || name === RUN_EXPORTS_JSON || name === ICON) return true;
    return RECIPES.includes(name) && this.recipeName === null;
  }

  private wantsIcon(): boolean {
    return this.index !== null && this.index.icon !== undefined && this.index.icon !== null;
  }

  private jsonMember(name: string): Record<string, unknown> {
    const data = this.members.get(name);
    return data ? parseJsonObject(data, name, this.filename) : {};
  }
}

/** The record conda-index writes: index.json minus the filtered fields, plus the digests, keys sorted. */
function condaIndexRecord(
  index: Record<string, unknown>,
  filename: string,
  ext: CondaExtension,
  digests: { md5: string; sha256: string; size: number },
): CondaRecord {
  const bad = (why: string) => new CondaArchiveError("bad_metadata", `${filename}: info/index.json ${why}`);
  const { name, version, build, build_number: buildNumber, subdir } = index;
  if (typeof name !== "string" || !CONDA_PACKAGE_NAME.test(name)) {
    throw bad(`has no valid name (${CONDA_PACKAGE_NAME.describe})`);
  }
  if (typeof version !== "string" || version === "") throw bad("has no version");
  if (typeof build !== "string" || build === "") throw bad("has no build string");
  const expected = `${name}-${version}-${build}${ext}`;
  if (expected !== filename) {
    throw new CondaArchiveError(
      "bad_filename",
      `the file name ${filename} does not match the package's metadata, which names it ${expected}; upload it under that name`,
    );
  }
  if (typeof buildNumber !== "number" || !Number.isSafeInteger(buildNumber) || buildNumber < 0) {
    throw bad("has no build_number (a non-negative integer)");
  }
  if (subdir === undefined) throw bad("has no subdir: build the package with conda-build 3 or later, or rattler-build");
  if (typeof subdir !== "string" || !isCondaSubdir(subdir)) {
    throw bad(`has subdir ${JSON.stringify(subdir)}, which is not noarch or <platform>-<arch> (linux-64, osx-arm64, win-64, ...)`);
  }
  for (const list of ["depends", "constrains"]) {
    const v = index[list];
    if (v !== undefined && !(Array.isArray(v) && v.every((d) => typeof d === "string"))) throw bad(`has a ${list} that is not a list of strings`);
  }
  if (index.timestamp !== undefined && (typeof index.timestamp !== "number" || !Number.isFinite(index.timestamp) || index.timestamp < 0)) {
    throw bad("has a timestamp that is not a number");
  }
  // fromEntries defines each key as data, "__proto__" included, as json.dumps would write it.
  const fields: Array<[string, unknown]> = Object.entries(index).filter(([k]) => !CONDA_INDEX_FILTERED_FIELDS.includes(k));
  fields.push(["md5", digests.md5], ["sha256", digests.sha256], ["size", digests.size]);
  const byKey = new Map(fields);
  return Object.fromEntries([...byKey.keys()].sort().map((k) => [k, byKey.get(k)])) as CondaRecord;
}

/** conda-index's _cache_post_install_details (cache.py), over info/paths.json: the one rule,
 * in channeldata-writer.ts. */
function postInstallDetails(paths: Record<string, unknown> | null): PostInstall {
  return channeldataPostInstall(paths as Parameters<typeof channeldataPostInstall>[0]) as unknown as PostInstall;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJsonObject(data: Buffer, name: string, filename: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(data));
  } catch {
    throw new CondaArchiveError("malformed", `${filename}: ${name} is not valid JSON`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CondaArchiveError("malformed", `${filename}: ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Member names that would land outside the package: absolute, drive letters, `..`. */
function checkMemberName(name: string, what: string): void {
  const segments = name.split(/[/\\]/);
  if (name === "" || /^[/\\]/.test(name) || /^[A-Za-z]:/.test(name) || segments.includes("..")) {
    throw new CondaArchiveError("unsafe_path", `${what} ${JSON.stringify(name.slice(0, 300))} has an unsafe path (absolute, or with ..)`);
  }
}

/** A symlink resolves from its own folder, a hardlink from the archive's root; neither may leave it. */
function checkLink(e: TarEntry): void {
  const target = e.linkname;
  const refuse = () =>
    new CondaArchiveError(
      "unsafe_path",
      `the ${e.type} ${JSON.stringify(e.name.slice(0, 300))} points outside the package (${JSON.stringify(target.slice(0, 300))})`,
    );
  if (target === "" || /^[/\\]/.test(target) || /^[A-Za-z]:/.test(target)) throw refuse();
  const base = e.type === "symlink" ? e.name.split("/").slice(0, -1) : [];
  const parts = [...base];
  for (const segment of target.split(/[/\\]/)) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0) throw refuse();
      parts.pop();
    } else parts.push(segment);
  }
}

/** The readers' own errors, as refusals. */
function asArchiveError(err: unknown, filename: string): unknown {
  if (err instanceof CondaArchiveError || err instanceof GateError) return err;
  if (err instanceof ZipError || err instanceof TarError) {
    const reason = err.kind === "truncated" ? "truncated" : err.kind === "limit" ? "too_much_metadata" : "malformed";
    return new CondaArchiveError(reason, `${filename}: ${err.message}`);
  }
  if (err instanceof Bzip2Error) return new CondaArchiveError(err.truncated ? "truncated" : "malformed", `${filename}: ${err.message}`);
  return err;
}
