// `npm run bench`: every benchmark, each in a fresh child process (so one benchmark's heap
// and JIT state never colour the next), printed as ratios against baselines measured in the
// same run, with the command and the machine in the header, and written to
// .bench/results-<date>.json.
//
//   npm run bench                      the full suite (several minutes)
//   npm run bench -- --quick           a tiny smoke run: proves each benchmark works; numbers mean nothing
//   npm run bench -- --only large,small
//
// Benchmarks: large, small, tokens, repodata (the filter itself, test/bench/repodata.ts),
// repodata-gateway (the same through the gateway), memory, web-packages (the web pages'
// package lists over 10,000 packages), accel (DOWNLOAD_MODE=accel behind nginx, and redirect).
// cli: how long the pkgate command takes to start and answer (npx pkgate, the bin, a gateway verb, a store verb).
// `--only repodata` runs both repodata parts.
import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { figure, formatFigure, machine, type BenchOptions, type Figure } from "./figures.js";
import type { RepodataBenchResult } from "./repodata.js";

export const BENCHMARKS = ["large", "accel", "small", "tokens", "repodata", "repodata-gateway", "memory", "web-packages", "uploads", "cli"] as const;
export type BenchName = (typeof BENCHMARKS)[number];

const ROOT = new URL("../..", import.meta.url).pathname;

/** Run one benchmark in this process. */
export async function runHere(name: BenchName, opts: BenchOptions): Promise<Figure[]> {
  switch (name) {
    case "repodata": {
      const mod = await import("./repodata.js");
      const r = await mod.default({ log: opts.log, ...(opts.quick ? { records: 2000 } : {}) });
      return repodataFigures(r);
    }
    default: {
      const mod = (await import(`./${name}.js`)) as { default: (o: BenchOptions) => Promise<Figure[]> };
      return mod.default(opts);
    }
  }
}

/** The existing filter benchmark's result as figures. */
function repodataFigures(r: RepodataBenchResult): Figure[] {
  const command = `filterRepodata over a generated linux-64 repodata.json (${r.records} records, ${(r.bytes / 1e6).toFixed(0)} MB, ${r.privateNames} of ${r.names} names private), in process`;
  const base = { name: "JSON.parse+stringify", value: r.baselineMs };
  return [
    figure({ bench: "repodata", name: "filterRepodata first run", value: r.filterFirstMs, unit: "ms", baseline: base, target: { op: "<=", of: "ratio", limit: 1.5 }, command, detail: { records: r.records, bytes: r.bytes, filteredBytes: r.filteredBytes } }),
    figure({ bench: "repodata", name: "filterRepodata warm", value: r.filterWarmMs, unit: "ms", baseline: base, command }),
    figure({ bench: "repodata", name: "peak RSS of the filter run (generator included)", value: r.peakRssMb, unit: "MB", command, detail: { rssAfterFilterMb: r.rssAfterFilterMb, rssAfterBaselineMb: r.rssAfterBaselineMb } }),
    figure({ bench: "repodata", name: "zstd level 3 of the view", value: r.zstdCompressMs, unit: "ms", baseline: base, command }),
    figure({ bench: "repodata", name: "zstd async: longest event-loop stall", value: r.zstdAsyncMaxStallMs, unit: "ms", command }),
    figure({ bench: "repodata", name: "bzip2 (compressjs)", value: r.bz2MbPerSecond, unit: "MB/s", command }),
    figure({
      bench: "repodata",
      name: "filterShardIndex",
      value: r.shardFilterMs,
      unit: "ms",
      baseline: { name: "unzstd+msgpack decode+encode+zstd", value: r.shardBaselineMs },
      target: { op: "<=", of: "ratio", limit: 1.5 },
      command: `filterShardIndex over a generated shard index of ${r.names} names, in process`,
    }),
  ];
}

/** Run one benchmark in a fresh child process; its log lines go to `log`. */
export function runInChild(name: BenchName, opts: { quick: boolean; log?: (line: string) => void }): Promise<Figure[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ["--child", name, ...(opts.quick ? ["--quick"] : [])], {
      cwd: ROOT,
      execArgv: ["--import", "tsx", "--expose-gc"],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    let figures: Figure[] | null = null;
    let error: string | null = null;
    let buf = "";
    const onLines = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) log(l);
    };
    child.stdout!.on("data", onLines);
    child.stderr!.on("data", onLines);
    child.on("message", (m: { figures?: Figure[]; error?: string }) => {
      if (m.figures) figures = m.figures;
      if (m.error) error = m.error;
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (buf) log(buf);
      if (figures) resolve(figures);
      else reject(new Error(`benchmark ${name} failed (${code ?? signal}): ${error ?? "no result"}`));
    });
  });
}

function parseArgs(argv: string[]): { quick: boolean; only: BenchName[]; child: BenchName | null; write: boolean } {
  const quick = argv.includes("--quick");
  const write = !argv.includes("--no-write");
  const at = argv.indexOf("--only");
  let only: BenchName[] = [...BENCHMARKS];
  if (at !== -1) {
    const wanted = (argv[at + 1] ?? "").split(",").filter(Boolean);
    only = BENCHMARKS.filter((b) => wanted.some((w) => b === w || (w === "repodata" && b.startsWith("repodata"))));
    const unknown = wanted.filter((w) => !BENCHMARKS.includes(w as BenchName));
    if (unknown.length || !only.length) throw new Error(`unknown benchmark ${unknown.join(", ") || "(none)"}; choose from ${BENCHMARKS.join(", ")}`);
  }
  const c = argv.indexOf("--child");
  const child = c === -1 ? null : (argv[c + 1] as BenchName);
  return { quick, only, child, write };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    try {
      const figures = await runHere(args.child, { quick: args.quick, log: (l) => console.log(l) });
      process.send!({ figures });
    } catch (err) {
      console.error(err instanceof Error ? err.stack : String(err));
      process.send!({ error: err instanceof Error ? err.message : String(err) });
    }
    // servers and sockets of the benchmark may linger; the figures are delivered
    setTimeout(() => process.exit(0), 100);
    return;
  }

  const m = machine();
  const command = `node --import tsx test/bench/run.ts ${process.argv.slice(2).join(" ")}`.trim();
  const started = new Date();
  console.log(`pkgate benchmarks — ${started.toISOString()}${args.quick ? " — QUICK (smoke run: numbers mean nothing)" : ""}`);
  console.log(`command: ${command}`);
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, linux ${m.kernel}, load average ${m.loadAverage}`);
  console.log(`tools:   ${m.nginx}; ${m.wrk}; ${m.curl.split(" ").slice(0, 2).join(" ")}`);
  const all: Figure[] = [];
  const failures: string[] = [];
  for (const name of args.only) {
    console.log(`\n== ${name}`);
    const t0 = Date.now();
    try {
      const figures = await runInChild(name, { quick: args.quick, log: (l) => console.log(`   ${l}`) });
      for (const f of figures) console.log(formatFigure(f));
      all.push(...figures);
    } catch (err) {
      failures.push(name);
      console.log(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
    console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }

  const targeted = all.filter((f) => f.target);
  console.log(`\n== summary: ${targeted.filter((f) => f.met).length} of ${targeted.length} targets met${failures.length ? `; FAILED: ${failures.join(", ")}` : ""}`);
  for (const f of targeted) console.log(`${f.met ? "met   " : "MISSED"} ${f.bench}: ${formatFigure(f)}`);

  if (args.write) {
    const dir = join(ROOT, ".bench");
    await mkdir(dir, { recursive: true });
    const stamp = started.toISOString().replace(/:/g, "-").replace(/\..*/, "");
    const file = join(dir, `results-${stamp}${args.quick ? "-quick" : ""}.json`);
    await writeFile(file, JSON.stringify({ started: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000, command, machine: m, quick: args.quick, failures, figures: all }, null, 2) + "\n");
    console.log(`\nwritten: ${file}`);
  }
  if (failures.length) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
