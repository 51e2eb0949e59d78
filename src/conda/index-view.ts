// Views of stored conda index files for one caller, computed off the event loop and kept small.
//
// A view of a `.json` index (repodata.json, current_repodata.json, channeldata.json) is kept as its
// cut list over the stored bytes (the byte ranges to drop: a few KB where the file is 250 MB) and
// streamed as slices of the stored object, read from the store again for each response; its ETag is
// the sha256 of the view's bytes. Memory then grows with what is hidden, not with the index. A
// compressed view (`.json.zst`, `.json.bz2`, the CEP-16 shard index) is kept as its compressed bytes.
// The work (mapping the index, hashing, compressing) runs in the index worker pool; the main thread
// only reads the store and asks the policy about each package name once, a few ms of names per
// event-loop turn; the cut list is computed from the index's map in a worker too (a loop over
// 465,000 records, tens of ms), the map's arrays kept in shared memory for it.
import { addAbortSignal, Readable } from "node:stream";
import { close as fsClose, read as fsRead } from "node:fs";
import { createHash } from "node:crypto";
import type { ObjectInfo, ReadRange, Store } from "../store/store.js";
import { notFound, unavailable } from "../errors.js";
import { MemberKind, repodataMembers, viewSize, type IndexLayout, type IndexMap, type Visible } from "./repodata.js";
import { bunzip2, bzip2 } from "./bzip2.js";
import type { WorkerPool } from "../workers/pool.js";
import type { Source } from "../workers/jobs.js";

export const SHARD_INDEX = "repodata_shards.msgpack.zst";

export type IndexView =
  /** Nothing is hidden: the stored bytes. */
  | { kind: "pass" }
  /** Nothing is visible: the index is answered as missing. */
  | { kind: "none" }
  /** The stored object without `cuts` (flat [start, end, ...]), `size` bytes. */
  | { kind: "cuts"; tag: string; size: number; cuts: Float64Array }
  /** Computed bytes (a compressed view). */
  | { kind: "bytes"; tag: string; body: Buffer };

// ---- a view as one Buffer, for the view cache (and its shared tier)

const PASS = 0;
const NONE = 1;
const CUTS = 2;
const BYTES = 3;
/** kind, 7 bytes of padding (so the cuts are 8-aligned), the tag (32 hex), the size (cuts only). */
const HEADER = 48;

export function encodeView(v: IndexView): Buffer {
  switch (v.kind) {
    case "pass":
      return Buffer.from([PASS]);
    case "none":
      return Buffer.from([NONE]);
    case "cuts": {
      const out = Buffer.alloc(HEADER + v.cuts.length * 8);
      out[0] = CUTS;
      out.write(v.tag, 8, 32, "latin1");
      out.writeDoubleLE(v.size, 40);
      for (let i = 0; i < v.cuts.length; i++) out.writeDoubleLE(v.cuts[i]!, HEADER + i * 8);
      return out;
    }
    case "bytes": {
      const out = Buffer.allocUnsafe(HEADER + v.body.length);
      headBytes(out, v.tag);
      v.body.copy(out, HEADER);
      return out;
    }
  }
}

function headBytes(out: Buffer, tag: string): void {
  out.fill(0, 0, HEADER);
  out[0] = BYTES;
  out.write(tag, 8, 32, "latin1");
}

export function decodeView(b: Buffer): IndexView {
  switch (b[0]) {
    case PASS:
      return { kind: "pass" };
    case NONE:
      return { kind: "none" };
    case CUTS: {
      const n = (b.length - HEADER) / 8;
      const cuts = new Float64Array(n);
      for (let i = 0; i < n; i++) cuts[i] = b.readDoubleLE(HEADER + i * 8);
      return { kind: "cuts", tag: b.toString("latin1", 8, 40), size: b.readDoubleLE(40), cuts };
    }
    case BYTES:
      return { kind: "bytes", tag: b.toString("latin1", 8, 40), body: b.subarray(HEADER) };
    default:
      throw new Error("not an index view");
  }
}

// ---- computing a view

export interface ViewSource {
  store: Store;
  workers: WorkerPool;
}

/** The members a view filters: every package's records (and file names in `removed`, whose
 * presence would tell a hidden package exists), or channeldata's packages. */
function membersOf(file: string): Record<string, MemberKind> {
  return file === "channeldata.json" ? { packages: MemberKind.Names } : repodataMembers({ hideRemoved: true });
}

/** Maps of stored indexes, by key and ETag: views of one index for other callers reuse it. */
const maps = new Map<string, Promise<IndexMap>>();
const MAPS_KEPT = 4;

/** The map of one version of a stored index, computed in a worker from the stored bytes, which are
 * read here and moved there (250 MB for a conda-forge subdir, once per version; the worker
 * collects them when done). */
function mapOf(src: ViewSource, file: string, key: string, info: ObjectInfo): Promise<IndexMap> {
  const id = `${key}|${info.etag}`;
  let m = maps.get(id);
  if (m) {
    maps.delete(id);
    maps.set(id, m);
    return m;
  }
  m = (async () => {
    const members = membersOf(file);
    if (file.endsWith(".json")) return withVersion(src.store, key, info.etag, (from, moved) => src.workers.run("map", { src: from, members }, moved));
    if (file.endsWith(".zst")) {
      // a .zst twin that holds exactly its .json (as conda-index writes them) is cut by the .json's
      // map: no second 250 MB decompressed to map it again
      const twin = await twinJson(src, file, key, info);
      if (twin) return mapOf(src, file.slice(0, -4), twin.key, twin.info);
      return withVersion(src.store, key, info.etag, (from, moved) => src.workers.run("mapZst", { src: from, members }, moved));
    }
    const json = await bz2Json(await getVersion(src.store, key, info.etag));
    return src.workers.run("map", { src: { data: json }, members }, movable(json));
  })();
  m.catch(() => maps.delete(id));
  maps.set(id, m);
  while (maps.size > MAPS_KEPT) maps.delete(maps.keys().next().value!);
  return m;
}

/** Work on the event loop goes in slices of about this long, other requests served between them. */
const SLICE_MS = 4;

/** The answer of `visible` for each name (1: visible), and how many are. */
async function askEach(names: string[], visible: Visible): Promise<{ keep: Uint8Array; kept: number }> {
  const keep = new Uint8Array(names.length);
  let kept = 0;
  let since = performance.now();
  for (let i = 0; i < names.length; i++) {
    if ((i & 255) === 255 && performance.now() - since >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
    if (visible(names[i]!)) {
      keep[i] = 1;
      kept++;
    }
  }
  return { keep, kept };
}

/** What a cuts job reads of a map: its arrays (shared memory), not its names (which would be copied). */
function layoutOf(m: IndexMap): IndexLayout {
  return { size: m.size, groups: m.groups, start: m.start, end: m.end, next: m.next, name: m.name };
}

/** sha256 of the JSON of one version of a stored index (decompressed for .zst), computed in a worker. */
const contentHashes = new Map<string, Promise<string>>();

function contentHashOf(src: ViewSource, key: string, info: ObjectInfo): Promise<string> {
  const id = `${key}|${info.etag}`;
  let h = contentHashes.get(id);
  if (!h) {
    h = withVersion(src.store, key, info.etag, (from, moved) => src.workers.run("contentHash", { src: from, zst: key.endsWith(".zst") }, moved));
    h.catch(() => contentHashes.delete(id));
    contentHashes.set(id, h);
    while (contentHashes.size > 16) contentHashes.delete(contentHashes.keys().next().value!);
  }
  return h;
}

/** The stored .json a .zst decompresses to byte for byte, if there is one. */
async function twinJson(src: ViewSource, file: string, key: string, info: ObjectInfo): Promise<{ key: string; info: ObjectInfo } | null> {
  if (!file.endsWith(".json.zst")) return null;
  const jsonKey = key.slice(0, -4);
  const jsonInfo = await src.store.stat(jsonKey);
  if (!jsonInfo) return null;
  const [zst, json] = await Promise.all([contentHashOf(src, key, info), contentHashOf(src, jsonKey, jsonInfo)]);
  return zst === json ? { key: jsonKey, info: jsonInfo } : null;
}

/** The buffer of `b` when `b` is all of it (so it can move to a worker), else nothing (it is copied). */
function movable(b: Uint8Array): ArrayBuffer[] {
  return !(b.buffer instanceof SharedArrayBuffer) && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : [];
}

/**
 * The view of one stored index file for `visible`, encoded (encodeView) for the view cache.
 * Each file is judged on its own bytes: a compressed twin that disagrees with its .json (stale,
 * or written by hand) is filtered for what it holds itself. `empty`: compute the view even when
 * nothing in it is visible (else "none"). StaleIndex when the store no longer holds `info`'s version.
 */
export async function computeView(src: ViewSource, file: string, key: string, info: ObjectInfo, visible: Visible, empty = false): Promise<Buffer> {
  if (file === SHARD_INDEX) return encodeView(await shardView(src, key, visible, empty));
  const map = await mapOf(src, file, key, info);
  // the policy is asked once per package name, here (it cannot cross to a worker), a slice of
  // names per event-loop turn: 50,000 names at once would hold other requests up
  const { keep, kept } = await askEach(map.names, visible);
  const cuts = await src.workers.run("cuts", { map: layoutOf(map), keep }, [keep.buffer as ArrayBuffer]);
  if (cuts.length === 0) return encodeView({ kind: "pass" });
  if (!empty && kept === 0) return encodeView({ kind: "none" });
  if (file.endsWith(".json")) {
    const tag = await withVersion(src.store, key, info.etag, (from, moved) => src.workers.run("viewTag", { src: from, cuts }, moved));
    return encodeView({ kind: "cuts", tag, size: viewSize(map.size, cuts), cuts });
  }
  if (file.endsWith(".zst")) {
    // decompressed, cut and compressed again in pieces; the view comes back with room for its header
    const { body, tag } = await withVersion(src.store, key, info.etag, (from, moved) => src.workers.run("zstdRecut", { src: from, cuts, reserve: HEADER }, moved));
    const out = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    headBytes(out, tag);
    return out;
  }
  // .bz2: bzip2 in pure JS runs at ~0.3 MB/s, far too slow for a filtered view: the system's bzip2
  // and, without one, 404 (conda and mamba never ask for .bz2; rattler then takes repodata.json)
  const json = await bz2Json(await getVersion(src.store, key, info.etag));
  const assembled = await src.workers.run("assemble", { data: json, cuts }, movable(json));
  const body = await bzip2(Buffer.from(assembled.buffer, assembled.byteOffset, assembled.byteLength));
  if (!body) throw notFound();
  return encodeView({ kind: "bytes", tag: await src.workers.run("sha256", { data: body }), body });
}

/**
 * Runs a worker job on one version of a stored object: a local file is handed over open (the worker
 * reads it; the main thread's heap never holds the 250 MB, whose accounting would cost it a
 * stop-the-world collection), other stores' bytes are fetched here and moved to the worker.
 */
async function withVersion<T>(store: Store, key: string, etag: string, job: (src: Source, moved: ArrayBuffer[]) => Promise<T>): Promise<T> {
  if (store.openFile) {
    const f = await store.openFile(key);
    if (!f) throw notFound();
    try {
      if (f.info.etag !== etag) throw new StaleIndex(key);
      return await job({ fd: f.fd, size: f.info.size }, []);
    } finally {
      fsClose(f.fd, () => undefined);
    }
  }
  const data = await getVersion(store, key, etag);
  return job({ data }, movable(data));
}

/** One version of a stored object, whole (index twins and shard indexes are a fraction of the
 * JSON's size). */
async function getVersion(store: Store, key: string, etag: string): Promise<Buffer> {
  const got = await store.get(key);
  if (!got) throw notFound();
  if (got.info.etag !== etag) throw new StaleIndex(key);
  return got.body;
}

/** A stored .bz2 decompressed by the system's bzip2 (404 without one, as for compressing). */
async function bz2Json(body: Buffer): Promise<Buffer> {
  const json = await bunzip2(body);
  if (!json) throw notFound();
  return json;
}

/** The stored object is no longer the version a view was asked for (replaced since the stat that
 * named it): the caller asks the store again and takes the new version. */
export class StaleIndex extends Error {
  constructor(readonly key: string) {
    super(`${key} was replaced while read`);
    this.name = "StaleIndex";
  }
}

async function shardView(src: ViewSource, key: string, visible: Visible, empty: boolean): Promise<IndexView> {
  const got = await src.store.get(key);
  if (!got) throw notFound();
  const data = got.body;
  const names = await src.workers.run("shardNames", { data });
  const hidden = names.filter((n) => !visible(n));
  if (hidden.length === 0) return { kind: "pass" };
  if (!empty && hidden.length === names.length) return { kind: "none" };
  const out = await src.workers.run("shardFilter", { data, hidden });
  if (!out) return { kind: "pass" };
  const body = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  return { kind: "bytes", tag: createHash("sha256").update(body).digest("hex").slice(0, 32), body };
}

/** sha256 hex of each shard → its package name, computed in a worker. */
export async function shardOwnersOf(src: ViewSource, key: string): Promise<Map<string, string>> {
  const got = await src.store.get(key);
  if (!got) throw notFound();
  const flat = await src.workers.run("shardOwners", { data: got.body });
  const owners = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) owners.set(flat[i]!, flat[i + 1]!);
  return owners;
}

// ---- reading stored bytes

/** Reads of a cut view; two of them are buffered ahead of the socket (so a response holds at most ~3 MiB). */
const SLICE_READ = 1 << 20;

/** [start, end) ranges of the stored object that make up bytes [from, to] (inclusive) of the view. */
export function keptRanges(size: number, cuts: ArrayLike<number>, from: number, to: number): number[] {
  const out: number[] = [];
  let viewAt = 0; // view offset of `pos`
  let pos = 0;
  const take = (s: number, e: number) => {
    // the piece [s, e) of the original covers view bytes [viewAt, viewAt + e - s)
    const vs = Math.max(from, viewAt);
    const ve = Math.min(to + 1, viewAt + e - s);
    if (ve > vs) out.push(s + (vs - viewAt), s + (ve - viewAt));
    viewAt += e - s;
  };
  for (let i = 0; i < cuts.length; i += 2) {
    if (cuts[i]! > pos) take(pos, cuts[i]!);
    pos = cuts[i + 1]!;
    if (viewAt > to) return out;
  }
  if (pos < size) take(pos, size);
  return out;
}

/** One version of a stored index, open: its validators, and its bytes under a cut list. */
export interface OpenIndex {
  info: ObjectInfo;
  /** The bytes of the view (or of one range of it): the kept slices of this version. Call once. */
  open(view: { size: number; cuts: Float64Array }, range?: ReadRange, signal?: AbortSignal): Readable;
  /** A local file (fs store): its descriptor, which the caller then owns, and the kept ranges of
   * the view (or of one range of it) as flat [start, end, ...], for writeFileRanges. Instead of
   * open(); call once. */
  file?(view: { size: number; cuts: Float64Array }, range?: ReadRange): { fd: number; ranges: number[] };
  /** Lets go of the object when open() was not called. */
  close(): void;
}

/** Opens a stored index, so that the version its validators name is the one read (null: missing). */
export async function openStored(store: Store, key: string): Promise<OpenIndex | null> {
  let slices: (ranges: number[]) => AsyncGenerator<Buffer> | Readable;
  let info: ObjectInfo;
  let close: () => void;
  let fd: number | undefined;
  if (store.openFile) {
    const f = await store.openFile(key);
    if (!f) return null;
    info = f.info;
    fd = f.fd;
    slices = (ranges) => new CutFile(f.fd, ranges);
    close = () => fsClose(f.fd, () => undefined);
  } else {
    const stream = await store.read(key);
    if (!stream) return null;
    // the S3 adapter hands over the HTTP response: its headers describe exactly these bytes
    const h = (stream as Readable & { headers?: Record<string, unknown> }).headers;
    const etag = h?.["etag"];
    const length = Number(h?.["content-length"]);
    if (typeof etag === "string" && Number.isSafeInteger(length)) {
      const modified = typeof h?.["last-modified"] === "string" ? new Date(h["last-modified"] as string) : new Date(0);
      info = { etag: etag.replace(/^(W\/)?"|"$/g, ""), size: length, lastModified: modified };
      slices = (ranges) => streamSlices(stream, ranges);
      close = () => stream.destroy();
    } else {
      stream.destroy();
      const got = await store.get(key);
      if (!got) return null;
      info = got.info;
      slices = (ranges) => bufferSlices(got.body, ranges);
      close = () => undefined;
    }
  }
  let used = false;
  const local = fd;
  return {
    info,
    file:
      local === undefined
        ? undefined
        : (view, range) => {
            used = true;
            return { fd: local, ranges: keptRanges(info.size, view.cuts, range?.start ?? 0, range?.end ?? view.size - 1) };
          },
    open(view, range, signal) {
      used = true;
      const ranges = keptRanges(info.size, view.cuts, range?.start ?? 0, range?.end ?? view.size - 1);
      const source = slices(ranges);
      const out = source instanceof Readable ? source : Readable.from(source, { objectMode: false, highWaterMark: 2 * SLICE_READ });
      if (signal) addAbortSignal(signal, out);
      return out;
    },
    close() {
      if (!used) close();
      used = true;
    },
  };
}

async function* bufferSlices(buf: Buffer, ranges: number[]): AsyncGenerator<Buffer> {
  for (let i = 0; i < ranges.length; i += 2) yield buf.subarray(ranges[i]!, ranges[i + 1]!);
}

/**
 * The kept ranges of an open file as a stream. The file is read straight through in 1 MiB reads
 * (two kept ahead of the socket) and the cut bytes (a few %) are dropped from each buffer in place:
 * one read per MiB as for the stored file itself, where a read per kept range would cost thousands
 * of thread-pool round trips. Owns the descriptor.
 */
class CutFile extends Readable {
  private pos: number;
  private r = 0;
  private reading = false;
  private done = false;
  private readonly last: number;

  constructor(
    private readonly fd: number,
    private readonly ranges: number[],
  ) {
    super({ highWaterMark: 2 * SLICE_READ });
    this.pos = ranges[0] ?? 0;
    this.last = ranges[ranges.length - 1] ?? 0;
  }

  override _read(): void {
    if (!this.reading) this.next();
  }

  private next(): void {
    if (this.pos >= this.last) {
      this.push(null);
      return;
    }
    const start = this.pos;
    const n = Math.min(SLICE_READ, this.last - start);
    const buf = Buffer.allocUnsafeSlow(n);
    this.reading = true;
    const step = (at: number): void => {
      fsRead(this.fd, buf, at, n - at, start + at, (err, got) => {
        if (this.done) return this.release();
        if (!err && got === 0) err = new Error("stored index shrank while read");
        if (err) {
          this.reading = false;
          this.destroy(err);
          return;
        }
        if (at + got < n) return step(at + got);
        this.reading = false;
        this.pos = start + n;
        const kept = this.keep(buf, start);
        if (kept.length === 0 || this.push(kept)) this.next();
      });
    };
    step(0);
  }

  /** Moves the kept bytes of the buffer read at `start` to its front. */
  private keep(buf: Buffer, start: number): Buffer {
    const { ranges } = this;
    const end = start + buf.length;
    let out = 0;
    while (this.r < ranges.length && ranges[this.r]! < end) {
      const s = Math.max(ranges[this.r]!, start);
      const e = Math.min(ranges[this.r + 1]!, end);
      if (e > s) {
        if (s - start !== out) buf.copyWithin(out, s - start, e - start);
        out += e - s;
      }
      if (ranges[this.r + 1]! <= end) this.r += 2;
      else break;
    }
    return buf.subarray(0, out);
  }

  private release(): void {
    this.reading = false;
    fsClose(this.fd, () => undefined);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.done = true;
    // a read still out must not land on the descriptor number after it is reused
    if (!this.reading) fsClose(this.fd, () => undefined);
    callback(err);
  }
}

/** The ranges of a stream of the whole object, other bytes dropped as they pass. */
async function* streamSlices(stream: Readable, ranges: number[]): AsyncGenerator<Buffer> {
  let pos = 0; // original offset of the chunk's first byte
  let r = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const chunkEnd = pos + chunk.length;
      while (r < ranges.length && ranges[r]! < chunkEnd) {
        const s = Math.max(ranges[r]!, pos);
        const e = Math.min(ranges[r + 1]!, chunkEnd);
        if (e > s) yield chunk.subarray(s - pos, e - pos);
        if (ranges[r + 1]! <= chunkEnd) r += 2;
        else break;
      }
      pos = chunkEnd;
      if (r >= ranges.length) break;
    }
  } finally {
    stream.destroy();
  }
}
