// A worker thread of the index pool (pool.ts): runs one job at a time from jobs.ts and sends the
// result back, moving its buffers rather than copying them.
//
// A job's input can be a 250 MB index moved here. A thread that then sits idle allocates nothing,
// so its garbage collector never runs and the input would stay in memory until the next job: after
// a big job the worker collects at once (a few ms on this thread's small heap, off the event loop).
//
// The thread runs at a lower priority (the pool's `nice`, WORKER_NICE by default) than the event loop's. A job keeps a core
// busy for seconds; where cores are few (2 here, often 1 or 2 in a container) the event-loop thread
// would otherwise wait its turn for the CPU behind it, and every request with it: measured, the
// stalls of the event loop during a cold view were time spent runnable but waiting for a CPU
// (schedstat), not time spent running. At a lower priority the worker takes what the event loop
// leaves. On Linux a nice value is per thread, and setpriority(0) sets the calling thread's.
import { parentPort, workerData } from "node:worker_threads";
import { setPriority } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { jobs, type JobName } from "./jobs.js";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const BIG = 16 << 20;

try {
  setPriority(0, (workerData as { nice: number }).nice);
} catch {
  // not permitted, or no per-thread priority on this platform: the worker runs at normal priority
}

/** Bytes a job's input brought (or read) into this thread. */
function sizeOf(args: unknown): number {
  let n = 0;
  if (args && typeof args === "object") {
    for (const v of Object.values(args)) {
      if (ArrayBuffer.isView(v)) n += v.byteLength;
      // a Source read here ({ fd, size }); an index map's `size` is the index's, not read here
      else if (v && typeof v === "object") n += sizeOf(v) + ("fd" in v && typeof (v as { size?: unknown }).size === "number" ? (v as { size: number }).size : 0);
    }
  }
  return n;
}

interface Request {
  id: number;
  op: JobName;
  args: unknown;
}

parentPort!.on("message", ({ id, op, args }: Request) => {
  try {
    const run = jobs[op] as (a: unknown) => { value: unknown; transfer: ArrayBuffer[] };
    if (typeof run !== "function") throw new Error(`unknown job ${String(op)}`);
    const { value, transfer } = run(args);
    parentPort!.postMessage({ id, value }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
  if (sizeOf(args) >= BIG) collect();
});
