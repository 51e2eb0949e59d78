// Benchmark 4 through the gateway: a generated conda-forge-sized linux-64 repodata.json
// (465,000 records, ~240 MB, every 50th name private) requested by a user whose token sees
// only the public names. The first filtered view (time to first byte) against a plain
// JSON.parse + JSON.stringify of the same bytes in the same process (target ≤ 1.5×), with
// the peak RSS of the process; later requests served from cache against the stored bytes
// passed through untouched (an organization token that sees everything); 24 concurrent
// cold requests must compute the view once (the gateway's view counters). The same for the
// CEP-16 shard index.
//
// Then, against the gateway as deployed (a `src/main.ts` child): no stalls and bounded memory.
// wrk sends small requests (a tiny authorized index) for a few seconds, first alone, then while
// cold views of the big subdir are computed one after the other: the p99 of the small requests in
// both runs, and the longest event-loop delay the gateway reports in /metrics. Eight callers with
// eight distinct views (each sees a different private package) fetch repodata.json.zst and
// repodata.json: the gateway's RSS (VmRSS sampled, and VmHWM) must stay ≤ 600 MB, and the cached
// views must come at ≥ 0.9× the speed of the stored file passed through (≤ 1.1× its time).
//
//   node --import tsx test/bench/run.ts --only repodata-gateway [--quick]
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decode, encode } from "@msgpack/msgpack";
import { createServer } from "node:net";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { listeningUrl, stopChild } from "./origins.js";
import { download, sleep, wrk, type WrkResult } from "./clients.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { rssOf, seedAcme, startBenchGateway } from "./stack.js";
import { Catalog } from "../../src/access/catalog.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { generateRepodataSet, generateShardIndex } from "../conda/generate.js";
import { zstdCompress, zstdDecompress } from "../../src/conda/compress.js";
import { tempDir } from "../harness/services.js";

const DIR = "acme/linux-64";
const REPODATA = `${DIR}/repodata.json`;
const REPODATA_ZST = `${DIR}/repodata.json.zst`;
/** A tiny index every caller sees whole: the small requests. */
const SMALL = "acme/noarch/repodata.json";
const VIEWS = 8;
const SHARDS = `${DIR}/repodata_shards.msgpack.zst`;

function time<T>(f: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const v = f();
  return [v, Number(process.hrtime.bigint() - start) / 1e6];
}

/** Forget the process's peak RSS so VmHWM measures what follows (Linux: clear_refs 5). */
async function resetPeakRss(): Promise<boolean> {
  try {
    await writeFile("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const records = opts.quick ? 2000 : 465_000;
  const concurrent = opts.quick ? 4 : 24;
  const work = await tempDir("pkgate-bench-repodata-");
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  const figures: Figure[] = [];
  const fig = (f: Omit<Figure, "bench" | "ratio" | "met">) => figures.push(figure({ bench: "repodata-gateway", ...f }));
  try {
    const dataDir = join(work.path, "data");
    await mkdir(join(dataDir, DIR), { recursive: true });
    let baselineMs: number;
    let shardBaselineMs: number;
    let jsonBytes: number;
    let privateNames: string[];
    {
      const g = generateRepodataSet({ records, privateEvery: 50, subdir: "linux-64" });
      jsonBytes = g.json.length;
      privateNames = [...g.privateNames];
      await writeFile(join(dataDir, REPODATA), g.json);
      await writeFile(join(dataDir, REPODATA_ZST), zstdCompress(g.json));
      await mkdir(join(dataDir, "acme/noarch"), { recursive: true });
      await writeFile(join(dataDir, SMALL), JSON.stringify({ info: { subdir: "noarch" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 1 }));
      const shards = generateShardIndex(g.names);
      await writeFile(join(dataDir, SHARDS), shards);
      [, baselineMs] = time(() => Buffer.from(JSON.stringify(JSON.parse(g.json.toString("utf8")))));
      [, shardBaselineMs] = time(() => zstdCompress(encode(decode(zstdDecompress(shards)))));
      log(`repodata through the gateway: ${records} records, ${(jsonBytes / 1e6).toFixed(0)} MB, ${privateNames.length} of ${g.names.length} names private; JSON.parse+stringify ${baselineMs.toFixed(0)} ms`);
    }
    gc(); // the generator's garbage is not the gateway's memory

    const gw = await startBenchGateway({ DATA_DIR: dataDir });
    stops.push(() => gw.stop());
    const org = await seedAcme(gw.rt.catalog, privateNames);
    // a user outside the organization: its token sees acme's public packages only
    await gw.rt.catalog.createAccount({ name: "bob", kind: "user" });
    const bob = await gw.rt.catalog.createToken({ account: "bob", name: "bench", scopes: ["conda:download"] });
    const url = (token: string, key: string) => `${gw.url}/t/${token}/${key}`;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    // ---- first filtered view, and the memory it takes
    gc();
    const rssBefore = (await rssOf(process.pid))!.rssMb;
    const peakResettable = await resetPeakRss();
    const first = (await download(url(bob.token, REPODATA), 1)).perClient[0]!;
    const peak = (await rssOf(process.pid))!.hwmMb;
    const firstMs = first.ttfb * 1000;
    log(`  first filtered view: first byte after ${firstMs.toFixed(0)} ms, all ${(first.bytes / 1e6).toFixed(0)} MB after ${(first.seconds * 1000).toFixed(0)} ms; RSS ${rssBefore.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`);
    const command = `curl -o /dev/null -w '%{time_starttransfer} %{time_total}' ${gw.url}/t/$TOKEN/${REPODATA} (a user token that sees public packages only)`;
    fig({ name: "first filtered view of repodata.json (time to first byte)", value: firstMs, unit: "ms", baseline: { name: "JSON.parse+stringify", value: baselineMs }, target: { op: "<=", of: "ratio", limit: 1.5 }, detail: { records, bytes: jsonBytes, viewBytes: first.bytes, totalMs: first.seconds * 1000 }, command });
    fig({
      name: "peak RSS while computing the first view (bench process with the gateway in it)",
      value: peakResettable ? peak : NaN,
      unit: "MB",
      baseline: { name: "RSS before", value: rssBefore },
      detail: { note: "VmHWM after writing 5 to /proc/self/clear_refs just before the request; the stored file is read once per version to map it (in a worker thread); a .json view is kept as its cut list, never as bytes" },
      command,
    });

    // ---- later requests: the cached view against the stored bytes passed through
    const cached: number[] = [];
    const passThrough: number[] = [];
    // interleaved rounds, the median of each: one round on a shared 2-core machine moves by 20 %+
    for (let i = 0; i < (opts.quick ? 1 : 7); i++) {
      cached.push((await download(url(bob.token, REPODATA), 1)).perClient[0]!.seconds * 1000);
      passThrough.push((await download(url(org.token, REPODATA), 1)).perClient[0]!.seconds * 1000);
    }
    log(`  cached view: ${cached.map((x) => x.toFixed(0)).join(", ")} ms; pass-through: ${passThrough.map((x) => x.toFixed(0)).join(", ")} ms`);
    fig({ name: "cached filtered view of repodata.json (whole response)", value: median(cached), unit: "ms", baseline: { name: "pass-through of the stored file (org token)", value: median(passThrough) }, target: { op: "<=", of: "ratio", limit: 1.1 }, detail: { cachedMs: cached, passThroughMs: passThrough }, command: `${command}; baseline: the same with an organization token (nothing hidden: the stored bytes stream through)` });

    // ---- N concurrent cold requests: a new source version (new ETag) makes the view cold
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dataDir, REPODATA), later, later);
    const computedBefore = gw.gw.views.counters.computed;
    const burst = await download(url(bob.token, REPODATA), concurrent, { maxSeconds: 600 });
    const computed = gw.gw.views.counters.computed - computedBefore;
    log(`  ${concurrent} concurrent cold requests: ${computed} view(s) computed, all answered in ${burst.seconds.toFixed(1)} s`);
    fig({ name: `${concurrent} concurrent cold requests: views of repodata.json computed`, value: computed, unit: "views", target: { op: "<=", of: "value", limit: 1 }, detail: { seconds: burst.seconds, ttfbMs: burst.perClient.map((p) => Math.round(p.ttfb * 1000)) }, command: `${concurrent} × ${command}, at once, after the source file's mtime changed` });

    // ---- the CEP-16 shard index
    const shardFirst = (await download(url(bob.token, SHARDS), 1)).perClient[0]!;
    const shardCached: number[] = [];
    const shardPass: number[] = [];
    for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
      shardCached.push((await download(url(bob.token, SHARDS), 1)).perClient[0]!.seconds * 1000);
      shardPass.push((await download(url(org.token, SHARDS), 1)).perClient[0]!.seconds * 1000);
    }
    const shardCommand = `curl -o /dev/null ${gw.url}/t/$TOKEN/${SHARDS}`;
    log(`  shard index: first filtered ${(shardFirst.ttfb * 1000).toFixed(0)} ms (baseline ${shardBaselineMs.toFixed(0)} ms), cached ${median(shardCached).toFixed(1)} ms, pass-through ${median(shardPass).toFixed(1)} ms`);
    fig({ name: "first filtered shard index (time to first byte)", value: shardFirst.ttfb * 1000, unit: "ms", baseline: { name: "unzstd+msgpack decode+encode+zstd", value: shardBaselineMs }, target: { op: "<=", of: "ratio", limit: 1.5 }, detail: { viewBytes: shardFirst.bytes }, command: shardCommand });
    fig({ name: "cached filtered shard index (whole response)", value: median(shardCached), unit: "ms", baseline: { name: "pass-through (org token)", value: median(shardPass) }, detail: { cachedMs: shardCached, passThroughMs: shardPass }, command: shardCommand });
    stops.pop(); // the in-process gateway's
    await gw.stop();
    gc();

    await stallsAndMemory({ opts, dataDir, workDir: work.path, privateNames, fig, stops });
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}

/** The gateway as deployed (`src/main.ts`), its output kept in `logFile`: the errors of a failed
 * request are in its log, and its last lines are printed when the benchmark fails. */
async function gatewayChild(env: Record<string, string>, logFile: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const ROOT = new URL("../..", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log, { end: false });
  const url = await listeningUrl(child, "pkgate");
  child.stdout!.on("data", (d: Buffer) => {
    // errors only: the access log of thousands of small requests is not needed
    for (const line of d.toString().split("\n")) if (line.includes('"level":"error"') || line.includes('"level":"warn"')) log.write(line + "\n");
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      await stopChild(child);
      log.end();
      const text = await readFile(logFile, "utf8").catch(() => "");
      if (text.trim()) console.log(`gateway log (errors):\n${text.split("\n").slice(-20).join("\n").slice(0, 6000)}`);
    },
  };
}

/** A free loopback port (for the metrics listener of a gateway child). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The longest event-loop delay since the previous scrape, from the gateway's /metrics. */
async function loopMaxMs(metricsUrl: string): Promise<number> {
  for (;;) {
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    const m = /^pkgate_event_loop_delay_max_seconds (\S+)$/m.exec(text);
    if (!m) return NaN;
    // NaN: no sample since the previous scrape (less than the monitor's 10 ms resolution ago,
    // as in a quick run with nothing between two scrapes): look again a little later
    if (m[1] !== "NaN") return Number(m[1]) * 1000;
    await sleep(25);
  }
}

interface StallOptions {
  opts: BenchOptions;
  dataDir: string;
  workDir: string;
  privateNames: string[];
  fig: (f: Omit<Figure, "bench" | "ratio" | "met">) => void;
  stops: (() => Promise<void>)[];
}

async function stallsAndMemory({ opts, dataDir, workDir, privateNames, fig, stops }: StallOptions): Promise<void> {
  const { log } = opts;
  const seconds = opts.quick ? 1 : 4;
  // eight callers, each with a view of its own: user u<i> is in a group that reads one private package
  const tokens: string[] = [];
  let orgToken: string;
  {
    const store = new FsStore(dataDir);
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
    try {
      orgToken = (await seedAcme(catalog, [], "views")).token;
      for (let i = 0; i < VIEWS; i++) {
        await catalog.createAccount({ name: `u${i}`, kind: "user" });
        tokens.push((await catalog.createToken({ account: `u${i}`, name: "bench", scopes: ["conda:download"] })).token);
      }
      await catalog.updateAccount("acme", (acc) => {
        acc.groups = Array.from({ length: VIEWS - 1 }, (_, i) => ({ name: `g${i + 1}`, permission: "read" as const, packages: [privateNames[i % privateNames.length]!], members: [`u${i + 1}`] }));
      });
    } finally {
      await catalog.close();
      await cache.close();
      await store.close();
    }
  }
  // a new version of the big files: every view is cold for the new process
  const later = new Date(Date.now() + 120_000);
  await utimes(join(dataDir, REPODATA), later, later);
  await utimes(join(dataDir, REPODATA_ZST), later, later);

  const metricsPort = await freePort();
  const gw = await gatewayChild({ DATA_DIR: dataDir, METRICS_PORT: String(metricsPort) }, join(workDir, "gateway.log"));
  stops.push(() => gw.stop());
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const url = (token: string, key: string) => `${gw.url}/t/${token}/${key}`;
  const small = url(tokens[0]!, SMALL);
  const wrkOpts = { connections: 8, threads: 1, seconds, workDir };

  let peakRss = 0;
  const sampler = setInterval(() => {
    void rssOf(gw.pid!).then((r) => {
      if (r) peakRss = Math.max(peakRss, r.rssMb);
    });
  }, 100);
  stops.push(async () => clearInterval(sampler));
  const idleRss = (await rssOf(gw.pid!))!.rssMb;

  // ---- small requests alone
  await wrk(small, { ...wrkOpts, seconds: 1 }); // warm-up
  await loopMaxMs(metricsUrl);
  const alone: WrkResult = await wrk(small, wrkOpts);
  const aloneLoopMs = await loopMaxMs(metricsUrl);

  // ---- the same while cold views are computed back to back (each one .zst, then .json)
  const fetches: { view: number; key: string }[] = [];
  for (let v = 0; v < VIEWS; v++) for (const key of [REPODATA_ZST, REPODATA]) fetches.push({ view: v, key });
  const coldMs: number[] = [];
  let next = 0;
  let busy = true;
  const cold = (async () => {
    while (next < fetches.length) {
      const f = fetches[next++]!;
      const r = (await download(url(tokens[f.view]!, f.key), 1, { maxSeconds: 600 })).perClient[0]!;
      if (r.status !== 200) throw new Error(`view ${f.view} of ${f.key}: HTTP ${r.status}`);
      coldMs.push(r.seconds * 1000);
      if (!busy) return;
    }
  })();
  await sleep(50);
  const during = await wrk(small, wrkOpts);
  const duringLoopMs = await loopMaxMs(metricsUrl);
  busy = false;
  const coldDuringWrk = next;
  await cold;
  // the rest of the sixteen views, then their memory
  busy = true;
  await (async () => {
    while (next < fetches.length) {
      const f = fetches[next++]!;
      const r = (await download(url(tokens[f.view]!, f.key), 1, { maxSeconds: 600 })).perClient[0]!;
      if (r.status !== 200) throw new Error(`view ${f.view} of ${f.key}: HTTP ${r.status}`);
      coldMs.push(r.seconds * 1000);
    }
  })();
  const restLoopMs = await loopMaxMs(metricsUrl);
  log(`  small requests (wrk -t1 -c8 -d${seconds}s): alone p99 ${alone.latencyMs.p99.toFixed(1)} ms, ${Math.round(alone.rps)} req/s; during cold views p99 ${during.latencyMs.p99.toFixed(1)} ms, ${Math.round(during.rps)} req/s (${coldDuringWrk} cold views started meanwhile)`);
  log(`  longest event-loop delay: ${aloneLoopMs.toFixed(1)} ms alone, ${duringLoopMs.toFixed(1)} ms during cold views, ${restLoopMs.toFixed(1)} ms over the remaining ${fetches.length - coldDuringWrk} cold views`);
  log(`  cold views: ${coldMs.map((x) => x.toFixed(0)).join(", ")} ms`);
  const wrkCommand = `wrk -t1 -c8 -d${seconds}s ${gw.url}/t/$TOKEN/${SMALL}, against a gateway child (src/main.ts), alone and while curl fetches cold views of ${REPODATA_ZST} and ${REPODATA} for 8 callers one after the other`;
  fig({ name: "small requests during cold views: p99 latency", value: during.latencyMs.p99, unit: "ms", baseline: { name: "p99 without cold views", value: alone.latencyMs.p99 }, target: { op: "<=", of: "value", limit: alone.latencyMs.p99 + 20 }, detail: { alone: alone.latencyMs, during: during.latencyMs, aloneRps: alone.rps, duringRps: during.rps, coldViewsStarted: coldDuringWrk, note: "target: at most 20 ms above the p99 without cold views" }, command: wrkCommand });
  fig({ name: "longest event-loop delay while cold views are computed (/metrics)", value: Math.max(duringLoopMs, restLoopMs), unit: "ms", baseline: { name: "without cold views", value: aloneLoopMs }, target: { op: "<=", of: "value", limit: 50 }, detail: { duringWrkMs: duringLoopMs, restMs: restLoopMs }, command: `${wrkCommand}; pkgate_event_loop_delay_max_seconds scraped before and after` });

  // ---- the cached views against the stored files passed through
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rounds = opts.quick ? 1 : 9;
  const timeOf = async (u: string) => (await download(u, 1)).perClient[0]!.seconds * 1000;
  const last = tokens[VIEWS - 1]!;
  const jsonCached: number[] = [];
  const jsonPass: number[] = [];
  const zstCached: number[] = [];
  const zstPass: number[] = [];
  for (let i = 0; i < rounds; i++) {
    jsonCached.push(await timeOf(url(tokens[i % VIEWS]!, REPODATA)));
    jsonPass.push(await timeOf(url(orgToken, REPODATA)));
    zstCached.push(await timeOf(url(last, REPODATA_ZST)));
    zstPass.push(await timeOf(url(orgToken, REPODATA_ZST)));
  }
  clearInterval(sampler);
  const rss = (await rssOf(gw.pid!))!;
  peakRss = Math.max(peakRss, rss.rssMb);
  log(`  gateway RSS: ${idleRss.toFixed(0)} MB idle; max sampled ${peakRss.toFixed(0)} MB, VmHWM ${rss.hwmMb.toFixed(0)} MB, ${rss.rssMb.toFixed(0)} MB at the end`);
  log(`  cached .json views: ${jsonCached.map((x) => x.toFixed(0)).join(", ")} ms; pass-through: ${jsonPass.map((x) => x.toFixed(0)).join(", ")} ms`);
  log(`  cached .zst view: ${zstCached.map((x) => x.toFixed(0)).join(", ")} ms; pass-through: ${zstPass.map((x) => x.toFixed(0)).join(", ")} ms`);
  const memCommand = `curl -o /dev/null ${gw.url}/t/$TOKEN/{${REPODATA_ZST},${REPODATA}} for 8 callers with distinct views, against a gateway child (default VIEW_CACHE_MB); RSS from /proc/<pid>/status`;
  fig({ name: `${VIEWS} distinct views × (.json.zst, .json): gateway peak RSS (VmHWM)`, value: rss.hwmMb, unit: "MB", baseline: { name: "idle", value: idleRss }, target: { op: "<=", of: "value", limit: 600 }, detail: { maxSampledRssMb: peakRss, endRssMb: rss.rssMb, coldMs }, command: memCommand });
  fig({ name: "cached .json views (whole response)", value: median(jsonCached), unit: "ms", baseline: { name: "pass-through (org token)", value: median(jsonPass) }, target: { op: "<=", of: "ratio", limit: 1.1 }, detail: { cachedMs: jsonCached, passThroughMs: jsonPass }, command: memCommand });
  fig({ name: "cached .json.zst view (whole response)", value: median(zstCached), unit: "ms", baseline: { name: "pass-through (org token)", value: median(zstPass) }, target: { op: "<=", of: "ratio", limit: 1.1 }, detail: { cachedMs: zstCached, passThroughMs: zstPass }, command: memCommand });
}
