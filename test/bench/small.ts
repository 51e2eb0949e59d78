// Benchmark 2, small requests with warm caches, 64 connections of wrk: authorized 304
// revalidations of repodata.json (If-None-Match with the gateway's ETag) against nginx
// answering the same 304 (target ≥ 0.5×), and authorized GETs of a 20 KiB private artifact
// against nginx serving it with no auth at all (target ≥ 0.3×). p99 latency reported. The
// bare node:http pipe server is measured too, as the limit of this runtime.
//
//   node --import tsx test/bench/run.ts --only small [--quick]
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { assertClean, runProcess, wrk, type WrkResult } from "./clients.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { startNginx, startPipeServer } from "./origins.js";
import { seedAcme, startBenchGateway } from "./stack.js";
import { generateRepodata } from "../conda/generate.js";
import { tempDir } from "../harness/services.js";

const REPODATA = "acme/linux-64/repodata.json";
const ARTIFACT = "acme/linux-64/smallpkg-1.0-0.conda";
export const CONNECTIONS = 64;

/** The ETag a server gives a URL, with the status of that GET. */
export async function etagOf(url: string): Promise<string> {
  const r = await runProcess("curl", ["-s", "-o", "/dev/null", "-D", "-", url], 10_000);
  const m = /^etag:\s*(.+?)\s*$/im.exec(r.stdout);
  if (!m) throw new Error(`no ETag from ${url.replace(/\/t\/[^/]+\//, "/t/$TOKEN/")}: ${r.stdout.split("\n")[0]}`);
  return m[1]!;
}

export async function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  const h = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const r = await runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...h, url], 10_000);
  return Number(r.stdout);
}

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const seconds = opts.quick ? 1 : 5;
  const warmSeconds = opts.quick ? 0 : 2;
  const threads = 1; // wrk's one thread keeps 64 connections busy and leaves the servers a core
  const work = await tempDir("pkgate-bench-small-");
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  const figures: Figure[] = [];
  try {
    const dataDir = join(work.path, "data");
    await mkdir(dirname(join(dataDir, ARTIFACT)), { recursive: true });
    await writeFile(join(dataDir, REPODATA), generateRepodata({ records: 2000, privateEvery: 50 }));
    await writeFile(join(dataDir, ARTIFACT), randomBytes(20 * 1024));

    const gw = await startBenchGateway({ DATA_DIR: dataDir });
    stops.push(() => gw.stop());
    const { token } = await seedAcme(gw.rt.catalog, ["smallpkg"]);
    const nginx = await startNginx(dataDir);
    stops.push(() => nginx.stop());
    const pipe = await startPipeServer(dataDir);
    stops.push(() => pipe.stop());

    const pk = (key: string) => `${gw.url}/t/${token}/${key}`;
    const ng = (key: string) => `${nginx.url}/${key}`;
    const np = (key: string) => `${pipe.url}/${key}`;
    const inm = async (url: string) => ({ "If-None-Match": await etagOf(url) });

    const load = async (what: string, url: string, expect: number, headers: Record<string, string> = {}): Promise<WrkResult> => {
      const status = await statusOf(url, headers);
      if (status !== expect) throw new Error(`${what}: expected ${expect}, got ${status}`);
      const o = { connections: CONNECTIONS, threads, workDir: work.path, headers };
      if (warmSeconds) await wrk(url, { ...o, seconds: warmSeconds });
      const r = await wrk(url, { ...o, seconds });
      assertClean(r, what);
      log(`  ${what}: ${Math.round(r.rps)} req/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`);
      return r;
    };
    const detail = (r: WrkResult, b: WrkResult, bName: string) => ({
      requests: r.requests,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
      maxMs: r.latencyMs.max,
      [`${bName} p99Ms`]: b.latencyMs.p99,
      [`${bName} requests`]: b.requests,
    });

    // 304 revalidations
    const pk304 = await load("pkgate 304 repodata.json", pk(REPODATA), 304, await inm(pk(REPODATA)));
    const ng304 = await load("nginx 304 repodata.json", ng(REPODATA), 304, await inm(ng(REPODATA)));
    const np304 = opts.quick ? null : await load("node:http 304 repodata.json", np(REPODATA), 304, await inm(np(REPODATA)));
    figures.push(
      figure({ bench: "small", name: "304 repodata.json (token): pkgate", value: pk304.rps, unit: "req/s", baseline: { name: "nginx 304", value: ng304.rps }, target: { op: ">=", of: "ratio", limit: 0.5 }, detail: detail(pk304, ng304, "nginx"), command: `${pk304.command}   vs   ${ng304.command}` }),
      figure({ bench: "small", name: "304 repodata.json: pkgate p99 latency", value: pk304.latencyMs.p99, unit: "ms", baseline: { name: "nginx p99", value: ng304.latencyMs.p99 }, command: pk304.command }),
    );
    if (np304) figures.push(figure({ bench: "small", name: "304: bare node:http (reference)", value: np304.rps, unit: "req/s", baseline: { name: "nginx 304", value: ng304.rps }, command: np304.command }));

    // 20 KiB artifact GETs
    const pkGet = await load("pkgate GET 20 KiB (token)", pk(ARTIFACT), 200);
    const ngGet = await load("nginx GET 20 KiB (no auth)", ng(ARTIFACT), 200);
    const npGet = opts.quick ? null : await load("node:http pipe GET 20 KiB", np(ARTIFACT), 200);
    figures.push(
      figure({ bench: "small", name: "GET 20 KiB artifact (token): pkgate", value: pkGet.rps, unit: "req/s", baseline: { name: "nginx, no auth", value: ngGet.rps }, target: { op: ">=", of: "ratio", limit: 0.3 }, detail: detail(pkGet, ngGet, "nginx"), command: `${pkGet.command}   vs   ${ngGet.command}` }),
      figure({ bench: "small", name: "GET 20 KiB: pkgate p99 latency", value: pkGet.latencyMs.p99, unit: "ms", baseline: { name: "nginx p99", value: ngGet.latencyMs.p99 }, command: pkGet.command }),
    );
    if (npGet) {
      figures.push(
        figure({ bench: "small", name: "GET 20 KiB: bare node:http pipe (reference)", value: npGet.rps, unit: "req/s", baseline: { name: "nginx, no auth", value: ngGet.rps }, command: npGet.command }),
        figure({ bench: "small", name: "GET 20 KiB: pkgate vs bare node:http pipe", value: pkGet.rps, unit: "req/s", baseline: { name: "node:http pipe", value: npGet.rps }, command: pkGet.command }),
      );
    }
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}
