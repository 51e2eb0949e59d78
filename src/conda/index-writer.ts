// The index documents of one conda subdir, changed incrementally: repodata.json,
// repodata_from_packages.json, current_repodata.json, their .zst (and, where asked, .bz2) twins,
// and the CEP-16 shard index with its content-addressed shards — plus the order to publish them
// in. Pure functions over bytes and records: the upload endpoint reads the previous objects, calls
// these under its lock, and writes what `publishPlan` lists, in that order.
//
// What is matched, and where it was read:
// - repodata.json as conda-index writes it (conda_index/index/__init__.py `index_subdir`,
//   `_write_repodata`, `json_dumps`): `{info: {subdir}, packages, packages.conda, removed: [],
//   repodata_version: 1}`, `.tar.bz2` records in `packages` and `.conda` ones in `packages.conda`,
//   keys sorted at every level, compact (conda-index ≥ 0.4 default) or indented (`--no-compact`),
//   see index-json.ts. A record is index.json less the fields conda-index filters, plus md5,
//   sha256 and size (index/cache.py `extract_to_cache_unconditional`): `repodataRecord`.
// - repodata_from_packages.json is repodata.json before patches. pkgate applies no patch
//   instructions (no `--patch-generator`), so both files have the same bytes.
// - current_repodata.json: current-repodata.ts (conda-index's `build_current_repodata`).
// - Shards as rattler-index writes them and src/conda/shards.ts reads them (see
//   test/fixtures/conda-channel.ts): per package name, zstd(msgpack({packages, packages.conda,
//   removed: []})) with keys sorted and sha256/md5 as raw bytes, named by the sha256 of those
//   compressed bytes; the index is zstd(msgpack({version: 1, info: {subdir, base_url: "",
//   shards_base_url, created_at}, shards: {name: sha256}})).
//
// Incremental: the previous repodata.json is parsed and only the named records change; no package
// file is read again. Everything else is derived from that repodata (every shard is re-encoded, and
// only shards the previous index lacks are returned to write), so an incremental update gives the
// rebuild's bytes, and one that died half-way is repaired by the next.

import { createHash } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import { bzip2 } from "./bzip2.js";
import { bz2CompressAsync, zstdCompress } from "./compress.js";
import { buildCurrentRepodata, type CurrentPins, type Json, type RepodataDoc, type RepodataRecord } from "./current-repodata.js";
import { parseCondaFilename } from "./filename.js";
import { byCodePoint, detectJsonFormat, pythonJson, type JsonFormat } from "./index-json.js";
import { decodeShardIndex } from "./shards.js";

export type { CurrentPins, Json, RepodataDoc, RepodataRecord } from "./current-repodata.js";
export type { JsonFormat } from "./index-json.js";

export class IndexChangeError extends Error {}

export interface PackageEntry {
  filename: string;
  record: RepodataRecord;
}

export interface SubdirChanges {
  /** Records to add; an existing file name is replaced (the caller decided on --force). */
  add: readonly PackageEntry[];
  /** File names to take out; a name not in the index is ignored (a retried removal is a no-op). */
  remove: readonly string[];
}

export const REPODATA_VERSION = 1;
export const SHARD_INDEX = "repodata_shards.msgpack.zst";
export const REPODATA_DOCUMENTS = ["repodata_from_packages.json", "current_repodata.json", "repodata.json"] as const;
export type RepodataDocument = (typeof REPODATA_DOCUMENTS)[number];

/** index.json fields conda-index leaves out of repodata records (index/cache.py). */
const FILTERED_FIELDS = new Set([
  "arch", "has_prefix", "mtime", "platform", "ucs", "requires_features", "binstar",
  "target-triplet", "machine", "operatingsystem",
]);

/** A package's repodata record from its info/index.json and the file's digests and size. */
export function repodataRecord(
  indexJson: Readonly<Record<string, Json>>,
  file: { md5: string; sha256: string; size: number },
): RepodataRecord {
  const record: Record<string, Json> = {};
  for (const [k, v] of Object.entries(indexJson)) if (!FILTERED_FIELDS.has(k)) record[k] = v;
  return { ...record, md5: file.md5, sha256: file.sha256, size: file.size } as unknown as RepodataRecord;
}

export function emptyRepodata(subdir: string): RepodataDoc {
  return { info: { subdir }, packages: {}, "packages.conda": {}, removed: [], repodata_version: REPODATA_VERSION };
}

/** Parses stored repodata.json bytes; throws IndexChangeError when they are not repodata. */
export function parseRepodata(bytes: Uint8Array): RepodataDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (err) {
    throw new IndexChangeError(`repodata is not JSON: ${(err as Error).message}`);
  }
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(doc) || !isMap(doc["info"]) || typeof doc["info"]["subdir"] !== "string") {
    throw new IndexChangeError("repodata has no info.subdir");
  }
  for (const key of ["packages", "packages.conda"]) {
    if (doc[key] !== undefined && !isMap(doc[key])) throw new IndexChangeError(`repodata's ${key} is not an object`);
  }
  // Only what conda-index writes is carried over: a key it does not maintain would go stale.
  return {
    info: doc["info"] as RepodataDoc["info"],
    packages: (doc["packages"] ?? {}) as RepodataDoc["packages"],
    "packages.conda": (doc["packages.conda"] ?? {}) as RepodataDoc["packages.conda"],
    removed: Array.isArray(doc["removed"]) ? (doc["removed"] as unknown[]).filter((x): x is string => typeof x === "string") : [],
    repodata_version: typeof doc["repodata_version"] === "number" ? doc["repodata_version"] : REPODATA_VERSION,
  };
}

/**
 * The subdir's repodata after the changes: removals first, then additions. `previous` is the stored
 * repodata.json (null for a new subdir, which then takes `subdir` or the added records' subdir).
 */
export function applyChanges(previous: Uint8Array | null, changes: SubdirChanges, subdir?: string): RepodataDoc {
  const doc = previous === null ? emptyRepodata(subdir ?? subdirOf(changes)) : parseRepodata(previous);
  if (subdir !== undefined && doc.info.subdir !== subdir) {
    throw new IndexChangeError(`repodata is for subdir ${doc.info.subdir}, not ${subdir}`);
  }
  for (const filename of changes.remove) {
    delete doc[sectionOf(filename)][filename];
  }
  for (const { filename, record } of changes.add) {
    checkRecord(filename, record, doc.info.subdir);
    doc[sectionOf(filename)][filename] = record;
  }
  const added = new Set(changes.add.map((a) => a.filename));
  doc.removed = doc.removed.filter((fn) => !added.has(fn));
  return doc;
}

function subdirOf(changes: SubdirChanges): string {
  const subdir = changes.add[0]?.record["subdir"];
  if (typeof subdir !== "string") throw new IndexChangeError("a new subdir needs its name or a record with one");
  return subdir;
}

function sectionOf(filename: string): "packages" | "packages.conda" {
  if (filename.endsWith(".conda")) return "packages.conda";
  if (filename.endsWith(".tar.bz2")) return "packages";
  throw new IndexChangeError(`${filename} is not a conda package file name`);
}

function checkRecord(filename: string, record: RepodataRecord, subdir: string): void {
  const parsed = parseCondaFilename(filename);
  if (parsed === null) throw new IndexChangeError(`${filename} is not a conda package file name`);
  for (const field of ["name", "version", "build"] as const) {
    if (record[field] !== parsed[field]) {
      throw new IndexChangeError(`${filename}: the record's ${field} is ${JSON.stringify(record[field])}, the file name says ${parsed[field]}`);
    }
  }
  if (record["subdir"] !== undefined && record["subdir"] !== subdir) {
    throw new IndexChangeError(`${filename} is built for ${String(record["subdir"])}, not ${subdir}`);
  }
  for (const field of ["md5", "sha256", "size"] as const) {
    if (record[field] === undefined) throw new IndexChangeError(`${filename}: the record has no ${field}`);
  }
}

/** repodata.json (and repodata_from_packages.json) bytes as conda-index writes them. */
export function serializeRepodata(doc: RepodataDoc, format: JsonFormat): Buffer {
  return Buffer.from(pythonJson(doc, format));
}

// ---------------------------------------------------------------------------------------------
// Shards

export type ShardLayout = "folder" | "beside";

export interface Shard {
  name: string;
  /** Hex sha256 of `bytes`, which is also its file name: `<sha256>.msgpack.zst`. */
  sha256: string;
  bytes: Buffer;
}

/** One package name's shard: its records from both maps, digests as raw bytes, keys sorted. */
export function encodeShard(doc: RepodataDoc, name: string): Shard | null {
  return shardsByName(doc).get(name) ?? null;
}

/** Every name's shard, the records grouped in one pass over the repodata. */
function shardsByName(doc: RepodataDoc): Map<string, Shard> {
  const groups = new Map<string, { packages: Record<string, unknown>; "packages.conda": Record<string, unknown> }>();
  for (const section of ["packages", "packages.conda"] as const) {
    const map = doc[section];
    for (const fn of Object.keys(map).sort(byCodePoint)) {
      const r = map[fn]!;
      let g = groups.get(r.name);
      if (!g) groups.set(r.name, (g = { packages: {}, "packages.conda": {} }));
      g[section][fn] = shardRecord(r);
    }
  }
  const shards = new Map<string, Shard>();
  for (const [name, g] of groups) {
    const bytes = zstdCompress(encode({ packages: g.packages, "packages.conda": g["packages.conda"], removed: [] }));
    shards.set(name, { name, sha256: sha256Hex(bytes), bytes });
  }
  return shards;
}

function shardRecord(r: RepodataRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r).sort(byCodePoint)) {
    const v = r[k];
    out[k] = (k === "sha256" || k === "md5") && typeof v === "string" && /^[0-9a-f]+$/i.test(v) && v.length % 2 === 0 ? Buffer.from(v, "hex") : sortKeys(v);
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(byCodePoint)) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export interface ShardIndexResult {
  /** The shard index bytes (`repodata_shards.msgpack.zst`). */
  index: Buffer;
  /** Name → hex sha256 of its shard, for every name in the index. */
  hashes: Map<string, string>;
  /** Shards this index names that the previous one did not: they must be written first. */
  written: Shard[];
  /** Hex digests the previous index named and this one does not. */
  unreferenced: string[];
  /** Where shards live relative to the subdir: "shards/" or "". */
  folder: string;
}

export interface ShardIndexOptions {
  /** The stored shard index, if any: its info and layout are kept, and only shards it lacks are written. */
  previous?: Uint8Array | null;
  /** Layout for a new index; default "folder" (`./shards/`, as rattler-index). */
  layout?: ShardLayout;
  /** `info.created_at` when the shards changed; default now. Unchanged shards keep the previous one. */
  createdAt?: string | Date;
}

/** The CEP-16 shard index of a subdir and the shards to write for it. */
export function buildShardIndex(doc: RepodataDoc, options: ShardIndexOptions = {}): ShardIndexResult {
  const prev = options.previous ? decodeShardIndex(options.previous) : null;
  const prevHashes = new Map<string, string>();
  for (const [n, h] of prev?.shards ?? []) prevHashes.set(n, Buffer.from(h).toString("hex"));
  // Every shard is encoded again (cheap next to parsing the repodata), so the index always agrees
  // with the repodata it comes from, whatever a writer that died half-way left behind.
  const hashes = new Map<string, string>();
  const written: Shard[] = [];
  const known = new Set(prevHashes.values());
  const all = shardsByName(doc);
  for (const name of [...all.keys()].sort(byCodePoint)) {
    const shard = all.get(name)!;
    hashes.set(name, shard.sha256);
    if (!known.has(shard.sha256)) written.push(shard);
  }

  const referenced = new Set(hashes.values());
  const unreferenced = [...new Set(prevHashes.values())].filter((h) => !referenced.has(h)).sort();
  const same = prev !== null && prevHashes.size === hashes.size && [...hashes].every(([n, h]) => prevHashes.get(n) === h);

  const layout = options.layout ?? "folder";
  const info: Record<string, unknown> = prev
    ? { ...prev.info }
    : { subdir: doc.info.subdir, base_url: "", shards_base_url: layout === "folder" ? "./shards/" : "./", created_at: "" };
  if (!same || typeof info["created_at"] !== "string") info["created_at"] = isoSeconds(options.createdAt ?? new Date());
  const folder = shardFolder(info["shards_base_url"]);
  const shards: Record<string, Uint8Array> = {};
  for (const [n, h] of hashes) shards[n] = Buffer.from(h, "hex");
  const index = same ? Buffer.from(options.previous!) : zstdCompress(encode({ version: prev?.version ?? 1, info, shards }));
  return { index, hashes, written, unreferenced, folder };
}

/** The folder (relative to the subdir) a shard index's `shards_base_url` points at. */
function shardFolder(base: unknown): string {
  const url = typeof base === "string" ? base : "";
  const rel = url.replace(/^\.\//, "");
  if (rel === "" || rel === ".") return "";
  if (/^[A-Za-z][A-Za-z0-9+.-]*:|^\/|\.\./.test(rel)) throw new IndexChangeError(`shards_base_url ${url} is not a folder beside the index`);
  return rel.endsWith("/") ? rel : `${rel}/`;
}

/** CEP-16 timestamps as conda-index writes them: `%Y-%m-%dT%H:%M:%SZ`. */
function isoSeconds(t: string | Date): string {
  return typeof t === "string" ? t : t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

// ---------------------------------------------------------------------------------------------
// A subdir's documents, as a whole

export interface IndexObject {
  /** Path relative to the label root (the channel, or `label/<name>/`), e.g. `noarch/repodata.json`. */
  path: string;
  body: Buffer;
}

export interface SubdirIndex {
  subdir: string;
  repodata: RepodataDoc;
  format: JsonFormat;
  /** Per document its .json and twins, e.g. `repodata.json` → [.json, .json.zst]. */
  documents: Map<RepodataDocument, IndexObject[]>;
  shardIndex: IndexObject;
  /** New shard objects (content-addressed), to be written before the shard index. */
  shards: IndexObject[];
  /** Shard objects no longer named (paths); a sweep may delete them once clients' caches expired. */
  unreferencedShards: string[];
  /** Package names whose records changed. */
  changedNames: string[];
}

export interface SubdirIndexOptions {
  /** JSON layout; default: that of the previous repodata.json, else "compact" (conda-index's). */
  format?: JsonFormat;
  /** Documents that also get a `.bz2` twin (those the store already has one of), or true for all. */
  bz2?: boolean | ReadonlyArray<RepodataDocument>;
  /** Write current_repodata.json (default true). */
  currentRepodata?: boolean;
  pins?: CurrentPins;
  layout?: ShardLayout;
  createdAt?: string | Date;
  /** zstd level of the .zst twins; default compress.ts's (3). conda-index uses 16. */
  zstdLevel?: number;
}

export interface PreviousSubdir {
  /** The stored repodata.json, or null. */
  repodata: Uint8Array | null;
  /** The stored repodata_shards.msgpack.zst, or null. */
  shardIndex?: Uint8Array | null;
}

/** Every index object of a subdir after `changes`, from its previous repodata.json and shard index. */
export async function updateSubdir(
  subdir: string,
  previous: PreviousSubdir,
  changes: SubdirChanges,
  options: SubdirIndexOptions = {},
): Promise<SubdirIndex> {
  const before = previous.repodata ? parseRepodata(previous.repodata) : null;
  const repodata = applyChanges(previous.repodata, changes, subdir);
  const changedNames = new Set<string>();
  for (const fn of changes.remove) {
    const r = before?.packages[fn] ?? before?.["packages.conda"][fn];
    changedNames.add(r?.name ?? parseCondaFilename(fn)?.name ?? fn);
  }
  for (const { record } of changes.add) changedNames.add(record.name);
  const format = options.format ?? (previous.repodata ? detectJsonFormat(previous.repodata) : "compact");
  return assemble(repodata, format, previous.shardIndex ?? null, changedNames, options);
}

/** Every index object of a subdir from all its records (`pkgate index --conda`): idempotent. */
export async function rebuildSubdir(
  subdir: string,
  records: readonly PackageEntry[],
  options: SubdirIndexOptions & { previousShardIndex?: Uint8Array | null } = {},
): Promise<SubdirIndex> {
  const repodata = applyChanges(null, { add: records, remove: [] }, subdir);
  return assemble(repodata, options.format ?? "compact", options.previousShardIndex ?? null, null, options);
}

async function assemble(
  repodata: RepodataDoc,
  format: JsonFormat,
  previousShardIndex: Uint8Array | null,
  changedNames: Set<string> | null,
  options: SubdirIndexOptions,
): Promise<SubdirIndex> {
  const subdir = repodata.info.subdir;
  const json = serializeRepodata(repodata, format);
  const bodies: Record<RepodataDocument, Buffer | null> = {
    "repodata_from_packages.json": json, // no patches: the same bytes
    "repodata.json": json,
    "current_repodata.json": options.currentRepodata === false ? null : serializeRepodata(buildCurrentRepodata(repodata, options.pins), format),
  };
  const documents = new Map<RepodataDocument, IndexObject[]>();
  for (const name of REPODATA_DOCUMENTS) {
    const body = bodies[name];
    if (body === null) continue;
    const objects: IndexObject[] = [{ path: `${subdir}/${name}`, body }];
    objects.push({ path: `${subdir}/${name}.zst`, body: zstdCompress(body, options.zstdLevel) });
    if (options.bz2 === true || (Array.isArray(options.bz2) && options.bz2.includes(name))) {
      objects.push({ path: `${subdir}/${name}.bz2`, body: await bz2(body) });
    }
    documents.set(name, objects);
  }
  const sharded = buildShardIndex(repodata, {
    previous: previousShardIndex,
    ...(options.layout ? { layout: options.layout } : {}),
    ...(options.createdAt ? { createdAt: options.createdAt } : {}),
  });
  return {
    subdir,
    repodata,
    format,
    documents,
    shardIndex: { path: `${subdir}/${SHARD_INDEX}`, body: sharded.index },
    shards: sharded.written.map((s) => ({ path: `${subdir}/${sharded.folder}${s.sha256}.msgpack.zst`, body: s.bytes })),
    unreferencedShards: sharded.unreferenced.map((h) => `${subdir}/${sharded.folder}${h}.msgpack.zst`),
    changedNames: [...(changedNames ?? [])].sort(byCodePoint),
  };
}

/** bzip2 -9 through the system binary (fast), else the pure-JavaScript codec in a worker. */
async function bz2(body: Buffer): Promise<Buffer> {
  return (await bzip2(body)) ?? (await bz2CompressAsync(body));
}

// ---------------------------------------------------------------------------------------------
// The order of writes

export type PlanStep<P = Uint8Array> =
  | { op: "put"; path: string; body: Uint8Array; why: string }
  | { op: "put-package"; path: string; body: P; why: string }
  | { op: "delete"; path: string; why: string };

export interface PublishInput<P> {
  /** Package files added (path relative to the label root, e.g. `noarch/x-1-0.conda`). */
  packages?: ReadonlyArray<{ path: string; body: P }>;
  /** Package files removed: deleted only after no index names them. */
  removedPackages?: readonly string[];
  subdirs: readonly SubdirIndex[];
  /** The label's channeldata.json, when it changed. */
  channeldata?: Uint8Array | null;
}

/**
 * The writes that publish a change, in an order that never lets a reader see an index naming an
 * object that is not there yet, each write being atomic (one object PUT or rename):
 *
 * 1. Package files. Every index written afterwards may name them.
 * 2. New shards. Content-addressed (a new shard is a new object name): nothing names them yet.
 * 3. Per subdir repodata_from_packages.json, then current_repodata.json, then the shard index,
 *    then repodata.json — each document's `.zst`/`.bz2` twins just before its `.json`. Every one
 *    of them names only packages and shards written in 1-2. A twin and its `.json` are two objects
 *    and can differ between the two writes: each is then a complete index, the twin being the
 *    newer.
 * 4. repodata.json (its `.json` last of all) is the commit point: the next change reads it as
 *    `previous` and derives every other document from it again. A writer that dies half-way thus
 *    leaves derived documents at most one change ahead of an older repodata.json (naming only
 *    objects that exist), and the next change or the retry rewrites them all from repodata.json.
 * 5. channeldata.json (channel level, folded from the subdirs): it names packages only once every
 *    subdir index holds them.
 * 6. Removed package files, once no index names them. Unreferenced shards are not deleted here:
 *    clients keep a shard index up to its max-age and may still ask for them.
 */
export function publishPlan<P = Uint8Array>(input: PublishInput<P>): PlanStep<P>[] {
  const steps: PlanStep<P>[] = [];
  for (const p of input.packages ?? []) steps.push({ op: "put-package", path: p.path, body: p.body, why: "package before any index names it" });
  for (const s of input.subdirs) {
    for (const shard of s.shards) steps.push({ op: "put", path: shard.path, body: shard.body, why: "content-addressed shard before the shard index names it" });
  }
  const document = (s: SubdirIndex, name: RepodataDocument, why: string) => {
    const objects = s.documents.get(name) ?? [];
    for (const o of [...objects.slice(1), objects[0]!].filter(Boolean)) steps.push({ op: "put", path: o.path, body: o.body, why });
  };
  for (const s of input.subdirs) {
    document(s, "repodata_from_packages.json", "derived index, after the objects it names");
    document(s, "current_repodata.json", "derived index, after the objects it names");
    steps.push({ op: "put", path: s.shardIndex.path, body: s.shardIndex.body, why: "shard index after its shards" });
    document(s, "repodata.json", "commit point: written once everything derived from it is in place");
  }
  if (input.channeldata) steps.push({ op: "put", path: "channeldata.json", body: input.channeldata, why: "channel summary after every subdir index" });
  for (const path of input.removedPackages ?? []) steps.push({ op: "delete", path, why: "package removed once no index names it" });
  return steps;
}
