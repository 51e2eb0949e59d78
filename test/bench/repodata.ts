// Benchmark of the conda index filters at conda-forge scale (linux-64: ~465,000 records, ~240 MB).
// The bar: the first filtered view of repodata.json within 1.5 × a plain JSON.parse + JSON.stringify
// of the same bytes. Also times the shard index filter against msgpack decode + encode, and the
// compressions a filtered view is served in.
//
//   node --import tsx test/bench/repodata.ts [records]
//
// The default export `run(opts)` returns the figures, for `npm run bench`.

import { pathToFileURL } from "node:url";
import { decode, encode } from "@msgpack/msgpack";
import { bz2Compress, zstdCompress, zstdCompressAsync, zstdDecompress } from "../../src/conda/compress.js";
import { filterRepodata } from "../../src/conda/repodata.js";
import { filterShardIndex } from "../../src/conda/shards.js";
import { generateRepodataSet, generateShardIndex } from "../conda/generate.js";

export interface RepodataBenchOptions {
  records?: number;
  /** Every n-th package name is private. */
  privateEvery?: number;
  log?: (line: string) => void;
}

export interface RepodataBenchResult {
  records: number;
  bytes: number;
  names: number;
  privateNames: number;
  baselineMs: number;
  filterFirstMs: number;
  filterWarmMs: number;
  filterRatio: number;
  filteredBytes: number;
  rssAfterFilterMb: number;
  rssAfterBaselineMb: number;
  peakRssMb: number;
  zstdCompressMs: number;
  zstdCompressAsyncMs: number;
  /** Longest event-loop stall while the async compress ran. */
  zstdAsyncMaxStallMs: number;
  bz2MbPerSecond: number;
  shardIndexBytes: number;
  shardBaselineMs: number;
  shardFilterMs: number;
  shardRatio: number;
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const rssMb = () => mb(process.memoryUsage().rss);

function time<T>(f: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = f();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

export default async function run(opts: RepodataBenchOptions = {}): Promise<RepodataBenchResult> {
  const records = opts.records ?? 465_000;
  const privateEvery = opts.privateEvery ?? 50;
  const log = opts.log ?? ((line: string) => console.log(line));
  const ms = (x: number) => `${Math.round(x)} ms`;

  const g = generateRepodataSet({ records, privateEvery, subdir: "linux-64" });
  const json = g.json;
  const visible = (name: string) => !g.privateNames.has(name);
  log(`repodata: ${records} records, ${g.names.length} names (${g.privateNames.size} private), ${mb(json.length)} MB`);

  // The filter first, so its first (cold, unoptimized) run is measured in a fresh heap.
  const [filtered, filterFirstMs] = time(() => filterRepodata(json, visible));
  const rssAfterFilterMb = rssMb();
  const [, filterWarmMs] = time(() => filterRepodata(json, visible));

  const [, baselineMs] = time(() => Buffer.from(JSON.stringify(JSON.parse(json.toString("utf8")))));
  const rssAfterBaselineMb = rssMb();
  const filterRatio = filterFirstMs / baselineMs;
  log(`baseline JSON.parse+stringify: ${ms(baselineMs)} (1.00x baseline)`);
  log(`filterRepodata first: ${ms(filterFirstMs)} (${filterRatio.toFixed(2)}x baseline)`);
  log(`filterRepodata warm: ${ms(filterWarmMs)} (${(filterWarmMs / baselineMs).toFixed(2)}x baseline)`);
  log(`filtered size: ${mb(filtered?.length ?? 0)} MB (of ${mb(json.length)} MB)`);
  log(`rss after filter: ${rssAfterFilterMb} MB; after baseline: ${rssAfterBaselineMb} MB`);

  const view = filtered ?? json;
  const [, zstdCompressMs] = time(() => zstdCompress(view));
  log(`zstdCompress level 3: ${ms(zstdCompressMs)} (${(zstdCompressMs / baselineMs).toFixed(2)}x baseline)`);

  let maxStall = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxStall = Math.max(maxStall, now - last);
    last = now;
  }, 5);
  const asyncStart = performance.now();
  await zstdCompressAsync(view);
  const zstdCompressAsyncMs = performance.now() - asyncStart;
  clearInterval(ticker);
  log(`zstdCompressAsync: ${ms(zstdCompressAsyncMs)} (${(zstdCompressAsyncMs / baselineMs).toFixed(2)}x baseline), longest event-loop stall ${ms(maxStall)}`);

  const sample = view.subarray(0, Math.min(view.length, 4_000_000));
  const [, bz2Ms] = time(() => bz2Compress(sample));
  const bz2MbPerSecond = mb(sample.length) / (bz2Ms / 1000);
  log(`bz2Compress (compressjs): ${bz2MbPerSecond.toFixed(1)} MB/s, ~${Math.round(mb(view.length) / bz2MbPerSecond)} s for this view (${((mb(view.length) / bz2MbPerSecond) * 1000 / baselineMs).toFixed(1)}x baseline)`);

  const shardIndex = generateShardIndex(g.names);
  const [, shardBaselineMs] = time(() => zstdCompress(encode(decode(zstdDecompress(shardIndex)))));
  const [, shardFilterMs] = time(() => filterShardIndex(shardIndex, visible));
  const shardRatio = shardFilterMs / shardBaselineMs;
  log(`shard index: ${g.names.length} names, ${mb(shardIndex.length)} MB compressed`);
  log(`shard baseline unzstd+decode+encode+zstd: ${ms(shardBaselineMs)} (1.00x baseline)`);
  log(`filterShardIndex: ${ms(shardFilterMs)} (${shardRatio.toFixed(2)}x baseline)`);

  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  log(`peak rss (whole run, generator included): ${peakRssMb} MB`);

  return {
    records,
    bytes: json.length,
    names: g.names.length,
    privateNames: g.privateNames.size,
    baselineMs,
    filterFirstMs,
    filterWarmMs,
    filterRatio,
    filteredBytes: filtered?.length ?? json.length,
    rssAfterFilterMb,
    rssAfterBaselineMb,
    peakRssMb,
    zstdCompressMs,
    zstdCompressAsyncMs,
    zstdAsyncMaxStallMs: maxStall,
    bz2MbPerSecond,
    shardIndexBytes: shardIndex.length,
    shardBaselineMs,
    shardFilterMs,
    shardRatio,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const records = process.argv[2] ? Number(process.argv[2]) : undefined;
  await run(records === undefined ? {} : { records });
}
