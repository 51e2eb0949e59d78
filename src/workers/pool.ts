// A small pool of worker threads for the CPU-heavy work on conda indexes (jobs.ts): mapping a
// 250 MB repodata.json, hashing and compressing its views, (de)compressing. On the main thread
// such work stalls every request of the process for seconds (health probes included); here it
// runs beside it. One worker per core but one (the event loop keeps a core to itself; at least one
// worker, at most 4), started on first use and let go of when idle;
// jobs wait in a bounded queue, and beyond it are refused (503) rather than piling up memory.
// Inputs are passed as they are: a SharedArrayBuffer is seen by both threads without a copy, a
// buffer listed in `transfer` moves; results move back. Workers run below the event loop's
// priority (index-worker.ts says why).
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { unavailable } from "../errors.js";
import type { JobArgs, JobName, JobValue } from "./jobs.js";

export interface PoolOptions {
  /** Worker threads. */
  size: number;
  /** Jobs waiting beyond those running; more are refused. */
  maxQueued: number;
  /** The workers' nice value (WORKER_NICE when not given; 0: the event loop's priority). */
  nice?: number;
}

/** Workers' nice value: 10 of the 19 steps below normal, about a tenth of the CPU weight of a
 * normal thread, so the event loop's thread gets a core first. */
export const WORKER_NICE = 10;

interface Job {
  op: JobName;
  args: unknown;
  transfer: ArrayBuffer[];
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/** The worker's entry: the compiled .js beside this file, or (run by tsx, in development and
 * tests) the .ts through tsx's loader, which a worker does not inherit from `--import tsx`. */
function spawn(nice: number): Worker {
  const workerData = { nice };
  if (!FROM_SOURCE) return new Worker(new URL("./index-worker.js", import.meta.url), { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./index-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  readonly counters = { jobs: 0, refused: 0, failed: 0 };

  constructor(private readonly opts: PoolOptions) {}

  /** Runs a job in a worker. `transfer`: buffers of `args` that move to the worker (the caller
   * must not use them afterwards). */
  run<K extends JobName>(op: K, args: JobArgs<K>, transfer: ArrayBuffer[] = []): Promise<JobValue<K>> {
    if (this.queue.length >= this.opts.maxQueued) {
      this.counters.refused++;
      return Promise.reject(unavailable("index processing (too many index views being computed)"));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, args, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Jobs running and waiting. */
  get load(): { running: number; queued: number } {
    return { running: this.slots.filter((s) => s.job).length, queued: this.queue.length };
  }

  /** Stops every worker; running and waiting jobs fail. */
  async close(): Promise<void> {
    const err = new Error("worker pool closed");
    for (const j of this.queue.splice(0)) j.reject(err);
    await Promise.all(this.slots.splice(0).map((s) => (s.job?.reject(err), s.worker.terminate())));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.opts.size) return;
        slot = this.start();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      this.counters.jobs++;
      slot.worker.ref(); // keep the process alive while a job is out
      slot.worker.postMessage({ id: this.nextId++, op: job.op, args: job.args }, job.transfer);
    }
  }

  private start(): Slot {
    const worker = spawn(this.opts.nice ?? WORKER_NICE);
    const slot: Slot = { worker, job: null };
    worker.on("message", (reply: { value?: unknown; error?: string }) => {
      const job = slot.job;
      slot.job = null;
      worker.unref();
      if (job) {
        if (reply.error === undefined) job.resolve(reply.value);
        else {
          this.counters.failed++;
          job.reject(new Error(`${job.op} failed: ${reply.error}`));
        }
      }
      this.pump();
    });
    const lost = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i === -1) return;
      this.slots.splice(i, 1);
      if (slot.job) {
        this.counters.failed++;
        slot.job.reject(err);
        slot.job = null;
      }
      this.pump();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`index worker exited (${code})`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

let shared: WorkerPool | undefined;

/** The process's pool for index work. */
export function indexWorkers(): WorkerPool {
  shared ??= new WorkerPool({ size: Math.max(1, Math.min(4, availableParallelism() - 1)), maxQueued: 256 });
  return shared;
}
