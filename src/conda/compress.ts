// The compressions conda index files are stored and served in: zstd (`.zst`, what conda, mamba and
// rattler ask for, and the CEP-16 shard files) and bzip2 (`.bz2`, asked for only by old clients and
// by rattler's JS build after a 404 on `.zst`).
//
// Costs measured on a 258 MB repodata.json on the 2-core dev machine (test/bench/repodata.ts):
// zstd is native (zstd-napi): 1.7-4 s at level 3, i.e. 0.1-0.2x a JSON.parse+stringify of the file.
// bzip2 is pure JavaScript (compressjs, so no binary is needed on the host) and very slow to compress:
// 0.3-0.5 MB/s, about 10-15 minutes for such a file, ~30x slower than the `bzip2` binary (decompress
// is ~8 MB/s). Do not build `.bz2` views of large filtered indexes on the request path; 404 them
// (conda and mamba never ask, rattler's JS build then falls back to `.json`) or build them offline.
//
// The *Async variants run in the index worker pool (src/workers/pool.ts), so a big (de)compression
// does not stall the event loop: an input already in shared memory is read there as it is, another is
// copied into shared memory a few MB per event-loop turn; the result is transferred back, not copied.

import { createRequire } from "node:module";
import { compress as zstdNativeCompress, decompress as zstdNativeDecompress } from "zstd-napi";

const require = createRequire(import.meta.url);

interface Bzip2Codec {
  compressFile(input: Uint8Array, output?: undefined, blockSizeMultiplier?: number): Uint8Array | number[];
  decompressFile(input: Uint8Array): Uint8Array | number[];
}
const compressjsPath = require.resolve("compressjs");
const bzip2 = (): Bzip2Codec => (require(compressjsPath) as { Bzip2: Bzip2Codec }).Bzip2;

/** conda-index and zstandard's own default. */
export const ZSTD_DEFAULT_LEVEL = 3;

export function zstdCompress(buf: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Buffer {
  return zstdNativeCompress(buf, { compressionLevel: level });
}

export function zstdDecompress(buf: Uint8Array): Buffer {
  return zstdNativeDecompress(buf);
}

export function bz2Compress(buf: Uint8Array): Buffer {
  return toBuffer(bzip2().compressFile(buf, undefined, 9));
}

export function bz2Decompress(buf: Uint8Array): Buffer {
  return toBuffer(bzip2().decompressFile(buf));
}

function toBuffer(out: Uint8Array | number[]): Buffer {
  return out instanceof Uint8Array ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : Buffer.from(out);
}

export function zstdCompressAsync(buf: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Promise<Buffer> {
  return inWorker("zstdCompress", buf, level);
}
export function zstdDecompressAsync(buf: Uint8Array): Promise<Buffer> {
  return inWorker("zstdDecompress", buf);
}
export function bz2CompressAsync(buf: Uint8Array): Promise<Buffer> {
  return inWorker("bz2Compress", buf);
}
export function bz2DecompressAsync(buf: Uint8Array): Promise<Buffer> {
  return inWorker("bz2Decompress", buf);
}

async function inWorker(op: "zstdCompress" | "zstdDecompress" | "bz2Compress" | "bz2Decompress", buf: Uint8Array, level?: number): Promise<Buffer> {
  // imported here: the pool's worker imports this module
  const { indexWorkers } = await import("../workers/pool.js");
  const data = await sharedCopy(buf);
  const out = await indexWorkers().run(op, level === undefined ? { data } : { data, level });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

const COPY_STEP = 4 << 20;

/**
 * The input in memory the worker can read without another copy: itself when it already is shared,
 * else a copy made a few MB per event-loop turn (copying and first-touching a 240 MB buffer takes
 * most of a second here).
 */
export async function sharedCopy(buf: Uint8Array): Promise<Uint8Array> {
  if (buf.buffer instanceof SharedArrayBuffer) return buf;
  const shared = new Uint8Array(new SharedArrayBuffer(buf.byteLength));
  for (let at = 0; at < buf.byteLength; at += COPY_STEP) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    shared.set(buf.subarray(at, Math.min(at + COPY_STEP, buf.byteLength)), at);
  }
  return shared;
}
