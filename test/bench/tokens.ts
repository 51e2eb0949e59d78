// Benchmark 3, token checks, counted rather than timed: store reads (a counting Store
// wrapper) and Redis round trips (a counting Cache wrapper) per request at steady state,
// for a cold token, and under a flood of 10,000 distinct invalid tokens from one client
// address (each unknown token's store read is charged to the address: after
// AUTH_FAILURE_LIMIT of them it gets 429 with no store read, and concurrent valid requests
// from anywhere, that address included, must slow by less than 10 %).
//
//   node --import tsx test/bench/run.ts --only tokens [--quick]
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { assertClean, download, wrk, type WrkResult } from "./clients.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { startNginx } from "./origins.js";
import { seedAcme, startBenchGateway, type BenchGateway } from "./stack.js";
import type { FloodResult } from "./flood.js";
import type { TierCounters } from "../../src/cache/tiered.js";
import { startRedis, tempDir } from "../harness/services.js";

const ARTIFACT = "acme/linux-64/smallpkg-1.0-0.conda";
const SIZE = 20 * 1024;
const FLOOD_TOKENS = 10_000;

interface Tally {
  catalogReads: number;
  contentReads: number;
  roundTrips: number;
  tokens: TierCounters;
  accounts: TierCounters;
}

function snapshot(g: BenchGateway): Tally {
  return {
    catalogReads: g.store.counts.catalogReads,
    contentReads: g.store.counts.contentReads,
    roundTrips: g.cache.counts.roundTrips,
    tokens: { ...g.rt.catalog.tokens.counters },
    accounts: { ...g.rt.catalog.accounts.counters },
  };
}

function since(g: BenchGateway, before: Tally): Tally {
  const now = snapshot(g);
  const diff = (a: TierCounters, b: TierCounters): TierCounters => ({ local: a.local - b.local, shared: a.shared - b.shared, loaded: a.loaded - b.loaded, sharedErrors: a.sharedErrors - b.sharedErrors });
  return {
    catalogReads: now.catalogReads - before.catalogReads,
    contentReads: now.contentReads - before.contentReads,
    roundTrips: now.roundTrips - before.roundTrips,
    tokens: diff(now.tokens, before.tokens),
    accounts: diff(now.accounts, before.accounts),
  };
}

function runFlood(base: string, count: number, perSecond: number, localAddress: string, kind: "forged" | "invented" = "forged"): Promise<FloodResult> {
  const file = new URL("./flood.ts", import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, base, ARTIFACT, String(count), String(perSecond), localAddress, kind], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) reject(new Error(`flood failed (${code}): ${out.slice(-1000)}`));
      else resolve(JSON.parse(line) as FloodResult);
    });
  });
}

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const seconds = opts.quick ? 1 : 5;
  const floodRounds = opts.quick ? 1 : 3;
  const work = await tempDir("pkgate-bench-tokens-");
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  const figures: Figure[] = [];
  const fig = (f: Omit<Figure, "bench" | "ratio" | "met">) => figures.push(figure({ bench: "tokens", ...f }));
  try {
    const dataDir = join(work.path, "data");
    await mkdir(dirname(join(dataDir, ARTIFACT)), { recursive: true });
    await writeFile(join(dataDir, ARTIFACT), randomBytes(SIZE));
    const get = (g: BenchGateway, token: string) => download(`${g.url}/t/${token}/${ARTIFACT}`, 1, { expectBytes: SIZE });
    const load = (g: BenchGateway, token: string, secs = seconds): Promise<WrkResult> => wrk(`${g.url}/t/${token}/${ARTIFACT}`, { connections: 64, threads: 1, seconds: secs, workDir: work.path });

    // Two stacks: in-process cache, and Redis shared by two replicas (A issues tokens and
    // warms Redis; B is measured).
    const mem = await startBenchGateway({ DATA_DIR: join(dataDir) });
    stops.push(() => mem.stop());
    const memAcme = await seedAcme(mem.rt.catalog, ["smallpkg"]);
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const shared = { DATA_DIR: dataDir, REDIS_URL: redis.url };
    const replicaA = await startBenchGateway(shared);
    stops.push(() => replicaA.stop());
    const replicaB = await startBenchGateway(shared);
    stops.push(() => replicaB.stop());
    const acme = await replicaA.rt.catalog.createToken({ account: "acme", name: "bench-redis", scopes: ["conda:download"] });
    const ttl = mem.rt.config.tokenCacheTtl;

    // ---- steady state
    for (const [label, g, token] of [["in-process cache", mem, memAcme.token], ["Redis", replicaB, acme.token]] as const) {
      await get(g, token);
      const before = snapshot(g);
      const r = await load(g, token);
      assertClean(r, `steady state (${label})`);
      const d = since(g, before);
      log(`  steady state, ${label}: ${r.requests} requests, ${d.catalogReads} catalog reads, ${d.roundTrips} cache round trips, token tiers ${JSON.stringify(d.tokens)}`);
      const detail = { requests: r.requests, seconds: r.seconds, catalogReads: d.catalogReads, cacheRoundTrips: d.roundTrips, contentReadsPerRequest: d.contentReads / r.requests, tokenTiers: d.tokens, accountTiers: d.accounts, tokenCacheTtlSeconds: ttl, note: `in-process entries are trusted for TOKEN_CACHE_TTL=${ttl} s, so each token and account costs one refresh per ${ttl} s whatever the request rate` };
      fig({ name: `steady state, ${label}: catalog store reads per request`, value: d.catalogReads / r.requests, unit: "reads/request", target: { op: "<=", of: "value", limit: 0.001 }, detail, command: r.command });
      if (label === "Redis") fig({ name: `steady state, Redis: round trips per request`, value: d.roundTrips / r.requests, unit: "round trips/request", target: { op: "<=", of: "value", limit: 0.001 }, detail, command: r.command });
    }

    // ---- cold tokens: the first request of a token this replica has not seen
    const cold = async (label: string, g: BenchGateway, token: string, warmToken: string) => {
      await get(g, warmToken); // the account is fresh in this replica, so only the token is cold
      const before = snapshot(g);
      await get(g, token);
      const d = since(g, before);
      log(`  cold token, ${label}: ${d.catalogReads} catalog reads, ${d.roundTrips} cache round trips, token tiers ${JSON.stringify(d.tokens)}`);
      return d;
    };
    const memCold = await mem.rt.catalog.createToken({ account: "acme", name: "cold-mem", scopes: ["conda:download"] });
    const dm = await cold("in-process cache", mem, memCold.token, memAcme.token);
    fig({ name: "cold token, in-process cache: store reads", value: dm.catalogReads, unit: "reads", target: { op: "<=", of: "value", limit: 1 }, detail: { ...dm }, command: "one curl GET with a token this replica has never seen" });

    const missTok = await replicaA.rt.catalog.createToken({ account: "acme", name: "cold-miss", scopes: ["conda:download"] });
    // a token is put in Redis when it is created (so a fresh CI token is known at once): its
    // first use on another replica is a Redis hit, and this figure says what that costs
    const dMiss = await cold("first use on another replica", replicaB, missTok.token, acme.token);
    fig({ name: "cold token, first use on another replica (in Redis since its creation): store reads", value: dMiss.catalogReads, unit: "reads", target: { op: "<=", of: "value", limit: 1 }, detail: { ...dMiss }, command: "token issued by replica A, never used; first GET on replica B" });
    fig({ name: "cold token, first use on another replica: Redis round trips", value: dMiss.roundTrips, unit: "round trips", detail: { ...dMiss }, command: "same request" });

    const hitTok = await replicaA.rt.catalog.createToken({ account: "acme", name: "cold-hit", scopes: ["conda:download"] });
    await get(replicaA, hitTok.token); // A loads it from the store and shares it in Redis
    const dHit = await cold("Redis hit", replicaB, hitTok.token, acme.token);
    fig({ name: "cold token, Redis hit: Redis round trips", value: dHit.roundTrips, unit: "round trips", target: { op: "<=", of: "value", limit: 1 }, detail: { ...dHit }, command: "token used once on replica A; first GET on replica B" });
    fig({ name: "cold token, Redis hit: store reads", value: dHit.catalogReads, unit: "reads", target: { op: "<=", of: "value", limit: 0 }, detail: { ...dHit }, command: "same request" });

    // ---- flood of invalid tokens from 127.0.0.N while 127.0.0.1 downloads
    const nginx = opts.quick ? null : await startNginx(dataDir);
    if (nginx) stops.push(() => nginx.stop());
    const perSecond = Math.round(FLOOD_TOKENS / seconds);
    const calm: number[] = [];
    const flooded: number[] = [];
    const control: number[] = [];
    const floods: FloodResult[] = [];
    const floodTallies: Tally[] = [];
    let address = 2;
    if (!opts.quick) await load(replicaB, acme.token, 2); // JIT warm-up
    for (let i = 0; i < floodRounds; i++) {
      const base = await load(replicaB, acme.token);
      assertClean(base, "valid requests without flood");
      calm.push(base.rps);
      const before = snapshot(replicaB);
      const [withFlood, f] = await Promise.all([load(replicaB, acme.token), runFlood(replicaB.url, FLOOD_TOKENS, perSecond, `127.0.0.${address++}`)]);
      assertClean(withFlood, "valid requests during the flood");
      floodTallies.push(since(replicaB, before));
      flooded.push(withFlood.rps);
      floods.push(f);
      let line = `  round ${i + 1}: valid ${Math.round(base.rps)} req/s alone, ${Math.round(withFlood.rps)} req/s during the flood ${JSON.stringify(f.statuses)} in ${f.seconds.toFixed(1)} s`;
      if (nginx) {
        // the same flood aimed at nginx: what the flood client itself takes from this 2-core machine
        const [ctl] = await Promise.all([load(replicaB, acme.token), runFlood(nginx.url, FLOOD_TOKENS, perSecond, `127.0.0.${address++}`)]);
        control.push(ctl.rps);
        line += `, ${Math.round(ctl.rps)} req/s while the flood hits nginx instead`;
      }
      log(line);
    }
    // invented tokens (random strings in the token's shape, as scanners and typos make them)
    // fail the check characters: refused without any lookup, from the first one
    const beforeInvented = snapshot(replicaB);
    const inv = await runFlood(replicaB.url, FLOOD_TOKENS, perSecond, `127.0.0.${address++}`, "invented");
    const tInv = since(replicaB, beforeInvented);
    log(`  invented tokens: ${JSON.stringify(inv.statuses)}, ${tInv.catalogReads} catalog reads, ${tInv.roundTrips} cache round trips`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const t0 = floodTallies[0]!;
    const limit = replicaB.rt.config.authFailureLimit;
    const floodDetail = { floods, tallies: floodTallies, calmRps: calm, floodedRps: flooded, controlRps: control, authFailureLimit: limit, perSecond };
    const cmd = `wrk -t1 -c64 -d${seconds}s (valid token, 20 KiB artifact, from 127.0.0.1) alongside node test/bench/flood.ts <url> ${ARTIFACT} ${FLOOD_TOKENS} ${perSecond} 127.0.0.N (distinct invalid tokens, 8 keep-alive sockets)`;
    fig({ name: "flood: 429 answers", value: floods[0]!.statuses["429"] ?? 0, unit: "of 10,000", detail: floodDetail, command: cmd });
    fig({ name: "flood of forged tokens (valid check): token record store reads (first flood from a fresh address)", value: t0.tokens.loaded, unit: "reads", target: { op: "<=", of: "value", limit }, detail: { ...floodDetail, catalogReads: t0.catalogReads, note: `the first AUTH_FAILURE_LIMIT=${limit} unknown tokens are read from the store (one read each, charged to the address); the rest get 429 before any store read (a cache lookup and the budget check in Redis). catalogReads also counts the catalog generation look (at most once a second, whatever the traffic) that the valid requests make` }, command: cmd });
    fig({ name: "flood: Redis round trips (first flood)", value: t0.roundTrips, unit: "round trips", detail: floodDetail, command: cmd });
    const invCmd = `node test/bench/flood.ts <url> ${ARTIFACT} ${FLOOD_TOKENS} ${perSecond} 127.0.0.N invented`;
    fig({ name: "flood of invented tokens: catalog store reads", value: tInv.catalogReads, unit: "reads", target: { op: "<=", of: "value", limit: 0 }, detail: { flood: inv, tally: tInv }, command: invCmd });
    fig({ name: "flood of invented tokens: Redis round trips", value: tInv.roundTrips, unit: "round trips", target: { op: "<=", of: "value", limit: 0 }, detail: { flood: inv, tally: tInv }, command: invCmd });
    fig({ name: "flood: valid requests during the flood", value: mean(flooded), unit: "req/s", baseline: { name: "without flood", value: mean(calm) }, target: { op: ">=", of: "ratio", limit: 0.9 }, detail: floodDetail, command: cmd });
    if (control.length) fig({ name: "flood: valid requests, flood aimed at nginx (client-cost control)", value: mean(control), unit: "req/s", baseline: { name: "without flood", value: mean(calm) }, detail: floodDetail, command: cmd });
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}
