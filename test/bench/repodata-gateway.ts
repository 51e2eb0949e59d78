// Benchmark 4 through the gateway: a generated conda-forge-sized linux-64 repodata.json
// (465,000 records, ~240 MB, every 50th name private) requested by a user whose token sees
// only the public names. The first filtered view (time to first byte) against a plain
// JSON.parse + JSON.stringify of the same bytes in the same process (target ≤ 1.5×), with
// the peak RSS of the process; later requests served from cache against the stored bytes
// passed through untouched (an organization token that sees everything); 24 concurrent
// cold requests must compute the view once (counted as store reads of repodata.json). The
// same for the CEP-16 shard index.
//
//   node --import tsx test/bench/run.ts --only repodata-gateway [--quick]
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decode, encode } from "@msgpack/msgpack";
import { download } from "./clients.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { rssOf, seedAcme, startBenchGateway } from "./stack.js";
import { generateRepodataSet, generateShardIndex } from "../conda/generate.js";
import { zstdCompress, zstdDecompress } from "../../src/conda/compress.js";
import { tempDir } from "../harness/services.js";

const DIR = "acme/linux-64";
const REPODATA = `${DIR}/repodata.json`;
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
      detail: { note: "VmHWM after writing 5 to /proc/self/clear_refs just before the request; the source file and its filtered view are both held while the view is computed" },
      command,
    });

    // ---- later requests: the cached view against the stored bytes passed through
    const cached: number[] = [];
    const passThrough: number[] = [];
    for (let i = 0; i < (opts.quick ? 1 : 3); i++) {
      cached.push((await download(url(bob.token, REPODATA), 1)).perClient[0]!.seconds * 1000);
      passThrough.push((await download(url(org.token, REPODATA), 1)).perClient[0]!.seconds * 1000);
    }
    log(`  cached view: ${cached.map((x) => x.toFixed(0)).join(", ")} ms; pass-through: ${passThrough.map((x) => x.toFixed(0)).join(", ")} ms`);
    fig({ name: "cached filtered view of repodata.json (whole response)", value: median(cached), unit: "ms", baseline: { name: "pass-through of the stored file (org token)", value: median(passThrough) }, target: { op: "<=", of: "ratio", limit: 1.1 }, detail: { cachedMs: cached, passThroughMs: passThrough }, command: `${command}; baseline: the same with an organization token (nothing hidden: the stored bytes stream through)` });

    // ---- N concurrent cold requests: a new source version (new ETag) makes the view cold
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dataDir, REPODATA), later, later);
    gw.store.reset();
    const burst = await download(url(bob.token, REPODATA), concurrent, { maxSeconds: 600 });
    const reads = gw.store.counts.getsByKey.get(REPODATA) ?? 0;
    log(`  ${concurrent} concurrent cold requests: ${reads} read(s) of repodata.json, all answered in ${burst.seconds.toFixed(1)} s`);
    fig({ name: `${concurrent} concurrent cold requests: whole reads of repodata.json (views computed)`, value: reads, unit: "reads", target: { op: "<=", of: "value", limit: 1 }, detail: { seconds: burst.seconds, ttfbMs: burst.perClient.map((p) => Math.round(p.ttfb * 1000)), note: "ViewCache counters are not reachable from Gateway; store.get of the source counts computations" }, command: `${concurrent} × ${command}, at once, after the source file's mtime changed` });

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
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}
