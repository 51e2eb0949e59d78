// The CPU-heavy work on conda index files, as jobs a worker thread runs (src/workers/pool.ts):
// mapping a stored index, hashing and compressing a view given as the stored bytes and a cut list,
// (de)compressing, the CEP-16 shard index. Each job takes and returns plain data that crosses
// threads without a copy: stored bytes in a SharedArrayBuffer, results in ArrayBuffers that are
// transferred. A visibility predicate is a closure over the policy and cannot cross: the main thread
// asks which names an index holds, decides, and sends the hidden names.
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import { createRequire } from "node:module";
import { indexCuts, mapIndex, type IndexLayout, type IndexMap, type MemberKind } from "../conda/repodata.js";
import { filterShardIndex, shardIndexNames, shardOwners } from "../conda/shards.js";
import { bz2Compress, bz2Decompress, zstdCompress, ZSTD_DEFAULT_LEVEL } from "../conda/compress.js";

// zstd's streaming contexts, to compress a view from its pieces and decompress into shared memory
// (the native binding is CommonJS whose exports ESM cannot name).
const zstd = createRequire(import.meta.url)("zstd-napi/binding.js") as typeof import("zstd-napi/binding.js");

/** What a job returns, and which of its buffers move to the caller instead of being copied. */
export interface Done<T> {
  value: T;
  transfer: ArrayBuffer[];
}
const done = <T>(value: T, transfer: ArrayBuffer[] = []): Done<T> => ({ value, transfer });

/** Output pieces of the stream codecs. */
const CHUNK = 4 << 20;

/** The kept pieces of `data` under a cut list, in order. */
function* keptPieces(data: Uint8Array, cuts: ArrayLike<number>): Generator<Uint8Array> {
  let from = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    if (cuts[i]! > from) yield data.subarray(from, cuts[i]!);
    from = cuts[i + 1]!;
  }
  if (from < data.length) yield data.subarray(from);
}

const hex32 = (h: ReturnType<typeof createHash>) => h.digest("hex").slice(0, 32);

/** Joins pieces into one exclusively owned buffer (transferable), after `reserve` bytes left free. */
function joined(parts: Uint8Array[], total: number, reserve = 0): Uint8Array {
  const out = new Uint8Array(reserve + total);
  let at = reserve;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A buffer the caller can take: whole ArrayBuffer, not a pool slice. */
function owned(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer) ? b : b.slice();
}

/** zstd decompression in pieces (a frame of any size, or several frames). */
function* zstdPieces(src: Uint8Array): Generator<Uint8Array> {
  const dctx = new zstd.DCtx();
  for (;;) {
    const dst = Buffer.allocUnsafe(CHUNK);
    const [ret, produced, consumed] = dctx.decompressStream(dst, src);
    if (produced > 0) yield dst.subarray(0, produced);
    src = src.subarray(consumed);
    if (src.length === 0 && (produced < dst.length || ret === 0)) {
      if (ret !== 0) throw new Error("zstd: truncated input");
      return;
    }
  }
}

/** The pieces of a stream of bytes that a cut list keeps. */
function* cutPieces(pieces: Iterable<Uint8Array>, cuts: ArrayLike<number>): Generator<Uint8Array> {
  let pos = 0;
  let c = 0;
  for (const piece of pieces) {
    let from = 0;
    while (from < piece.length) {
      const at = pos + from;
      while (c < cuts.length && cuts[c + 1]! <= at) c += 2;
      if (c < cuts.length && cuts[c]! <= at) {
        from = Math.min(piece.length, cuts[c + 1]! - pos); // inside a cut: skip to its end
        continue;
      }
      const until = c < cuts.length ? Math.min(piece.length, cuts[c]! - pos) : piece.length;
      yield piece.subarray(from, until);
      from = until;
    }
    pos += piece.length;
  }
}

/** zstd of a sequence of pieces, as one frame, into one buffer after `reserve` free bytes. */
function zstdOf(pieces: Iterable<Uint8Array>, level: number, reserve: number): Uint8Array {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  const parts: Uint8Array[] = [];
  let size = 0;
  let out = Buffer.allocUnsafe(CHUNK);
  let at = 0;
  const drain = (src: Uint8Array, end: number) => {
    for (;;) {
      const [left, produced, consumed] = cctx.compressStream2(out.subarray(at), src, end);
      at += produced;
      src = src.subarray(consumed);
      if (at === out.length) {
        parts.push(out);
        size += at;
        out = Buffer.allocUnsafe(CHUNK);
        at = 0;
      }
      if (end === zstd.EndDirective.end ? left === 0 : src.length === 0) return;
    }
  };
  for (const p of pieces) drain(p, zstd.EndDirective.continue);
  drain(new Uint8Array(0), zstd.EndDirective.end);
  parts.push(out.subarray(0, at));
  size += at;
  return joined(parts, size, reserve);
}

/**
 * Where a job's big input is: bytes moved here, or a file the caller holds open (threads share the
 * process's descriptors), read here so the 250 MB never touch the main thread's heap (whose garbage
 * collector would stop the event loop to account for them).
 */
export type Source = { data: Uint8Array } | { fd: number; size: number };

function wholeOf(src: Source): Uint8Array {
  if ("data" in src) return src.data;
  const out = Buffer.allocUnsafeSlow(src.size);
  let at = 0;
  while (at < src.size) {
    const n = readSync(src.fd, out, at, Math.min(CHUNK, src.size - at), at);
    if (n === 0) throw new Error("stored index shrank while read");
    at += n;
  }
  return out;
}

/** The source in pieces (a file through one reused buffer: each piece is consumed before the next). */
function* piecesOf(src: Source): Generator<Uint8Array> {
  if ("data" in src) {
    yield src.data;
    return;
  }
  const buf = Buffer.allocUnsafeSlow(Math.min(CHUNK, Math.max(1, src.size)));
  for (let at = 0; at < src.size; ) {
    const n = readSync(src.fd, buf, 0, Math.min(buf.length, src.size - at), at);
    if (n === 0) throw new Error("stored index shrank while read");
    yield buf.subarray(0, n);
    at += n;
  }
}

/** A typed array's copy in shared memory. */
function sharedCopyOf<T extends Float64Array | Int32Array>(a: T): T {
  const out = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** The map with its arrays in shared memory (~30 bytes a record): the caller keeps it, and each
 * view's cuts job reads it from there, where a copy of them for every view would cost the event
 * loop a few ms. */
function sharedMap(m: IndexMap): IndexMap {
  return { ...m, groups: sharedCopyOf(m.groups), start: sharedCopyOf(m.start), end: sharedCopyOf(m.end), next: sharedCopyOf(m.next), name: sharedCopyOf(m.name) };
}

export const jobs = {
  /** Where each member of the given top-level values is (see mapIndex). */
  map(a: { src: Source; members: Record<string, MemberKind> }): Done<IndexMap> {
    return done(sharedMap(mapIndex(wholeOf(a.src), a.members)));
  },

  /** The map of a zstd-compressed index (decompressed here, then let go of). */
  mapZst(a: { src: Source; members: Record<string, MemberKind> }): Done<IndexMap> {
    return done(sharedMap(mapIndex(jobs.zstdDecompress({ data: wholeOf(a.src) }).value, a.members)));
  },

  /** The cut list of a view (indexCuts) from a map the caller holds (its arrays shared: `map`
   * without names), and the answer per name (1: visible). A pass over every member (465,000 of a
   * conda-forge subdir), here rather than on the event loop. */
  cuts(a: { map: IndexLayout; keep: Uint8Array }): Done<Float64Array> {
    const cuts = Float64Array.from(indexCuts(a.map, a.keep));
    return done(cuts, [cuts.buffer as ArrayBuffer]);
  },

  /** The view of a zstd-compressed index, zstd-compressed again, in one pass of pieces: the stored
   * frame decompressed, the cut ranges dropped, the rest compressed (never the whole JSON in memory).
   * Its ETag is the sha256 of the compressed bytes; `reserve` free bytes precede the body. */
  zstdRecut(a: { src: Source; cuts: Float64Array; level?: number; reserve?: number }): Done<{ body: Uint8Array; tag: string }> {
    const reserve = a.reserve ?? 0;
    const body = zstdOf(cutPieces(zstdPieces(wholeOf(a.src)), a.cuts), a.level ?? ZSTD_DEFAULT_LEVEL, reserve);
    return done({ body, tag: hex32(createHash("sha256").update(body.subarray(reserve))) }, [body.buffer as ArrayBuffer]);
  },

  /** sha256 of a stored index's JSON (of its decompressed content when `zst`), read in pieces. */
  contentHash(a: { src: Source; zst: boolean }): Done<string> {
    const h = createHash("sha256");
    for (const piece of a.zst ? zstdPieces(wholeOf(a.src)) : piecesOf(a.src)) h.update(piece);
    return done(h.digest("hex"));
  },

  /** The ETag of a cut view: sha256 of the bytes the cuts leave (hex, 128 bits), read in pieces. */
  viewTag(a: { src: Source; cuts: Float64Array }): Done<string> {
    const h = createHash("sha256");
    for (const piece of cutPieces(piecesOf(a.src), a.cuts)) h.update(piece);
    return done(hex32(h));
  },

  /** The view's bytes in one buffer. */
  assemble(a: { data: Uint8Array; cuts: Float64Array }): Done<Uint8Array> {
    const parts = [...keptPieces(a.data, a.cuts)];
    const out = joined(parts, parts.reduce((n, p) => n + p.length, 0));
    return done(out, [out.buffer as ArrayBuffer]);
  },

  /** Decompressed (into shared memory when `shared`). */
  zstdDecompress(a: { data: Uint8Array; shared?: boolean }): Done<Uint8Array> {
    const known = a.data.length > 0 ? zstd.getFrameContentSize(a.data) : null;
    if (known !== null && zstd.findFrameCompressedSize(a.data) === a.data.length) {
      // one frame of known size: straight into the result
      const out = new Uint8Array(a.shared ? new SharedArrayBuffer(known) : new ArrayBuffer(known));
      const n = new zstd.DCtx().decompress(out, a.data);
      if (n !== known) throw new Error("zstd: frame shorter than its header says");
      return done(out, a.shared ? [] : [out.buffer as ArrayBuffer]);
    }
    const parts = [...zstdPieces(a.data)];
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (a.shared) {
      const out = new Uint8Array(new SharedArrayBuffer(size));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return done(out);
    }
    const out = joined(parts, size);
    return done(out, [out.buffer as ArrayBuffer]);
  },

  zstdCompress(a: { data: Uint8Array; level?: number }): Done<Uint8Array> {
    const out = owned(zstdCompress(a.data, a.level));
    return done(out, [out.buffer as ArrayBuffer]);
  },

  bz2Compress(a: { data: Uint8Array }): Done<Uint8Array> {
    const out = owned(bz2Compress(a.data));
    return done(out, [out.buffer as ArrayBuffer]);
  },

  bz2Decompress(a: { data: Uint8Array }): Done<Uint8Array> {
    const out = owned(bz2Decompress(a.data));
    return done(out, [out.buffer as ArrayBuffer]);
  },

  sha256(a: { data: Uint8Array }): Done<string> {
    return done(hex32(createHash("sha256").update(a.data)));
  },

  /** Every package name in a stored shard index. */
  shardNames(a: { data: Uint8Array }): Done<string[]> {
    return done(shardIndexNames(a.data));
  },

  /** The shard index without the hidden names (zstd), or null when none of them is in it. */
  shardFilter(a: { data: Uint8Array; hidden: string[]; level?: number }): Done<Uint8Array | null> {
    const hidden = new Set(a.hidden);
    const out = filterShardIndex(a.data, (name) => !hidden.has(name), a.level);
    if (!out) return done(null);
    const body = owned(out);
    return done(body, [body.buffer as ArrayBuffer]);
  },

  /** [sha256 hex, package name, ...] of every shard of the index. */
  shardOwners(a: { data: Uint8Array }): Done<string[]> {
    const flat: string[] = [];
    for (const [hash, name] of shardOwners(a.data)) flat.push(hash, name);
    return done(flat);
  },
};

export type Jobs = typeof jobs;
export type JobName = keyof Jobs;
export type JobArgs<K extends JobName> = Parameters<Jobs[K]>[0];
export type JobValue<K extends JobName> = ReturnType<Jobs[K]>["value"];
