// What a benchmark reports: figures, each with the baseline it was measured against in
// the same run and the target it must meet, plus the machine the run happened on. Every
// benchmark returns Figure[]; run.ts prints them and writes them to .bench/results-*.json.
import { cpus, loadavg, release, totalmem } from "node:os";
import { spawnSync } from "node:child_process";

export interface Target {
  /** ">=" for rates (higher is better), "<=" for times, memory and counts. */
  op: ">=" | "<=";
  /** Compared with the ratio when `of` is "ratio", with the value itself otherwise. */
  of: "ratio" | "value";
  limit: number;
}

export interface Figure {
  bench: string;
  name: string;
  value: number;
  unit: string;
  /** What the value is compared with, measured in the same run. */
  baseline?: { name: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  target?: Target;
  met?: boolean;
  /** Latency percentiles, sample lists, counters: anything that explains the value. */
  detail?: Record<string, unknown>;
  /** The exact client command (or procedure) that produced the value. */
  command?: string;
}

export interface BenchOptions {
  /** A tiny run that proves the benchmark works, in seconds; its numbers mean nothing. */
  quick: boolean;
  log: (line: string) => void;
}

/** Builds a figure, computing the ratio and whether the target is met. */
export function figure(f: Omit<Figure, "ratio" | "met">): Figure {
  const out: Figure = { ...f };
  if (f.baseline && f.baseline.value !== 0) out.ratio = f.value / f.baseline.value;
  if (f.target) {
    const x = f.target.of === "ratio" ? out.ratio : f.value;
    out.met = x === undefined ? false : f.target.op === ">=" ? x >= f.target.limit : x <= f.target.limit;
  }
  return out;
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 0.01 || a === 0) return x.toFixed(2);
  return x.toPrecision(2);
}

/** One line: `name: value unit (0.93× baseline-name value) [target ≥ 0.9×: met]`. */
export function formatFigure(f: Figure): string {
  let s = `${f.name}: ${num(f.value)} ${f.unit}`;
  if (f.baseline) s += ` (${f.ratio === undefined ? "-" : f.ratio.toFixed(2)}× ${f.baseline.name} ${num(f.baseline.value)} ${f.unit})`;
  if (f.target) {
    const lim = f.target.of === "ratio" ? `${f.target.limit}×` : `${f.target.limit} ${f.unit}`;
    s += ` [target ${f.target.op === ">=" ? "≥" : "≤"} ${lim}: ${f.met ? "met" : "MISSED"}]`;
  }
  return s;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  nginx: string;
  wrk: string;
  curl: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverage: number;
}

function firstLine(cmd: string, args: string[]): string {
  // nginx -v prints to stderr; wrk -v exits 1 after printing its usage
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) return "not installed";
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0]!.trim();
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    nginx: firstLine("nginx", ["-v"]),
    wrk: firstLine("wrk", ["-v"]),
    curl: firstLine("curl", ["--version"]),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export const GB = 1e9;
export const MiB = 2 ** 20;
