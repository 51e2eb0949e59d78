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
// The *Async variants run in one lazily started worker thread, so a big (de)compression does not
// stall the event loop: the input is copied into shared memory a few MB per event-loop turn, and the
// result is transferred back without a copy. Jobs run one after the other.

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
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
  return inWorker("zstdDecompress", buf, 0);
}
export function bz2CompressAsync(buf: Uint8Array): Promise<Buffer> {
  return inWorker("bz2Compress", buf, 0);
}
export function bz2DecompressAsync(buf: Uint8Array): Promise<Buffer> {
  return inWorker("bz2Decompress", buf, 0);
}

type Operation = "zstdCompress" | "zstdDecompress" | "bz2Compress" | "bz2Decompress";

// Plain CommonJS so the worker runs the same under tsx and from the compiled dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const zstd = require(workerData.zstd);
let bzip2;
const codec = () => (bzip2 ??= require(workerData.compressjs).Bzip2);
const run = {
  zstdCompress: (b, level) => zstd.compress(b, { compressionLevel: level }),
  zstdDecompress: (b) => zstd.decompress(b),
  bz2Compress: (b) => Uint8Array.from(codec().compressFile(b, undefined, 9)),
  bz2Decompress: (b) => Uint8Array.from(codec().decompressFile(b)),
};
parentPort.on("message", ({ id, op, data, level }) => {
  try {
    const out = run[op](Buffer.from(data.buffer, data.byteOffset, data.byteLength), level);
    const copy = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : Uint8Array.prototype.slice.call(out);
    parentPort.postMessage({ id, data: copy }, [copy.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Reply {
  id: number;
  data?: Uint8Array;
  error?: string;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();

function codecWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { zstd: require.resolve("zstd-napi"), compressjs: compressjsPath },
  });
  w.on("message", (reply: Reply) => {
    const job = pending.get(reply.id);
    if (!job) return;
    pending.delete(reply.id);
    if (reply.data) job.resolve(Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength));
    else job.reject(new Error(`compression failed: ${reply.error ?? "unknown error"}`));
    if (pending.size === 0) w.unref();
  });
  w.on("error", (err) => failAll(err));
  w.on("exit", () => {
    if (worker === w) worker = undefined;
    failAll(new Error("compression worker exited"));
  });
  w.unref();
  worker = w;
  return w;
}

function failAll(err: Error): void {
  for (const job of pending.values()) job.reject(err);
  pending.clear();
}

async function inWorker(op: Operation, buf: Uint8Array, level: number): Promise<Buffer> {
  const data = await sharedCopy(buf);
  const w = codecWorker();
  const id = nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref(); // keep the process alive while a job is out
    w.postMessage({ id, op, data, level });
  });
}

const COPY_STEP = 4 << 20;

/**
 * The input in memory the worker can read without another copy. Copying (and first-touching) a
 * 240 MB buffer takes most of a second here, so it is done a few MB per event-loop turn.
 */
async function sharedCopy(buf: Uint8Array): Promise<Uint8Array> {
  const shared = new Uint8Array(new SharedArrayBuffer(buf.byteLength));
  for (let at = 0; at < buf.byteLength; at += COPY_STEP) {
    if (at > 0) await new Promise((resolve) => setImmediate(resolve));
    shared.set(buf.subarray(at, Math.min(at + COPY_STEP, buf.byteLength)), at);
  }
  return shared;
}
