// A worker thread of the index pool (pool.ts): runs one job at a time from jobs.ts and sends the
// result back, moving its buffers rather than copying them.
import { parentPort } from "node:worker_threads";
import { jobs, type JobName } from "./jobs.js";

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
});
