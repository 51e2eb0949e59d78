// Benchmark 2, small requests with warm caches, 64 connections of wrk: authorized 304
// revalidations of repodata.json (If-None-Match with the gateway's ETag) and authorized GETs
// of a 20 KiB private artifact, each against a bare node:http server doing the same work
// without the gate (node-servers.ts `cached`: a stat cache revalidated once a second, the
// ETag compare, small files kept as buffers; target ≥ 0.9×; the same handler with only a
// request id, the request metrics and the access-log line is measured too: the floor of a
// server that logs each request, with no gate), and reported against nginx
// answering the same 304 and serving the artifact with no auth. p99 latency reported. The
// gateway runs as deployed: `node dist/src/main.js` in a process of its own.
//
//   node --import tsx test/bench/run.ts --only small [--quick]
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { assertClean, runProcess, wrk, type WrkResult } from "./clients.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { startNginx } from "./origins.js";
import { startNodeServer } from "./node-servers.js";
import { seedFsStore, spawnGateway } from "./stack.js";
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

    // the gateway as `npm start` runs it (dist/, its own process, request logs on its stdout)
    const { token } = await seedFsStore(dataDir, ["smallpkg"]);
    const gw = await spawnGateway({ DATA_DIR: dataDir });
    stops.push(() => gw.stop());
    const nginx = await startNginx(dataDir);
    stops.push(() => nginx.stop());
    const node = await startNodeServer(dataDir, "cached");
    stops.push(() => node.stop());
    // the same handler with only an X-Request-Id, the request metrics and the access-log line (a reference: the
    // floor of a server that logs every request, with no gate)
    const logged = await startNodeServer(dataDir, "cached-logged");
    stops.push(() => logged.stop());
    // the same handler behind Hono (a reference: what the framework alone costs)
    const hono = await startNodeServer(dataDir, "hono-cached");
    stops.push(() => hono.stop());

    const pk = (key: string) => `${gw.url}/t/${token}/${key}`;
    const ng = (key: string) => `${nginx.url}/${key}`;
    const np = (key: string) => `${node.url}/${key}`;
    const nh = (key: string) => `${hono.url}/${key}`;
    const nl = (key: string) => `${logged.url}/${key}`;
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

    // interleaved rounds of pkgate, node, node behind Hono, nginx; the best round of each kept
    // (the machine is shared, and other work only ever slows a run down)
    const pair = async (name: string, key: string, expect: number, conditional: boolean) => {
      const h = async (url: string) => (conditional ? inm(url) : {});
      const hp = await h(pk(key));
      const hn = await h(np(key));
      const hh = await h(nh(key));
      const hl = await h(nl(key));
      const hg = await h(ng(key));
      const rounds = opts.quick ? 1 : 2;
      const got: { pk: WrkResult[]; np: WrkResult[]; nl: WrkResult[]; nh: WrkResult[]; ng: WrkResult[] } = { pk: [], np: [], nl: [], nh: [], ng: [] };
      for (let r = 0; r < rounds; r++) {
        got.pk.push(await load(`pkgate ${name} (token)`, pk(key), expect, hp));
        got.np.push(await load(`node:http ${name}`, np(key), expect, hn));
        got.nl.push(await load(`node:http + access log ${name}`, nl(key), expect, hl));
        got.nh.push(await load(`node:http behind Hono ${name}`, nh(key), expect, hh));
        got.ng.push(await load(`nginx ${name} (no auth)`, ng(key), expect, hg));
      }
      const top = (xs: WrkResult[]) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
      return { pk: top(got.pk), np: top(got.np), nl: top(got.nl), nh: top(got.nh), ng: top(got.ng), samples: Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.map((x) => Math.round(x.rps))])) };
    };

    const r304 = await pair("304 repodata.json", REPODATA, 304, true);
    const rGet = await pair("GET 20 KiB", ARTIFACT, 200, false);
    for (const [what, r, bare] of [
      ["304 repodata.json (token)", r304, "node:http 304 (stat cache + ETag compare)"],
      ["GET 20 KiB artifact (token)", rGet, "node:http GET (stat cache + cached buffer)"],
    ] as const) {
      const command = `${r.pk.command}   vs   ${r.np.command}   vs   ${r.ng.command}`;
      figures.push(
        figure({ bench: "small", name: `${what}: pkgate`, value: r.pk.rps, unit: "req/s", baseline: { name: bare, value: r.np.rps }, target: { op: ">=", of: "ratio", limit: 0.9 }, detail: { ...detail(r.pk, r.np, "node"), samples: r.samples }, command }),
        figure({ bench: "small", name: `${what}: pkgate vs nginx`, value: r.pk.rps, unit: "req/s", baseline: { name: "nginx, no auth", value: r.ng.rps }, detail: detail(r.pk, r.ng, "nginx"), command }),
        figure({ bench: "small", name: `${what.replace(" (token)", "")}: bare node:http vs nginx`, value: r.np.rps, unit: "req/s", baseline: { name: "nginx, no auth", value: r.ng.rps }, command }),
        figure({ bench: "small", name: `${what.replace(" (token)", "")}: the same node handler with only a request id, the request metrics and the access-log line (reference: no gate)`, value: r.nl.rps, unit: "req/s", baseline: { name: bare, value: r.np.rps }, command: r.nl.command }),
        figure({ bench: "small", name: `${what.replace(" (token)", "")}: the same node handler behind Hono (reference)`, value: r.nh.rps, unit: "req/s", baseline: { name: bare, value: r.np.rps }, command: r.nh.command }),
        figure({ bench: "small", name: `${what.replace(" (token)", "")}: pkgate p99 latency`, value: r.pk.latencyMs.p99, unit: "ms", baseline: { name: "node:http p99", value: r.np.latencyMs.p99 }, detail: { nginxP99Ms: r.ng.latencyMs.p99 }, command: r.pk.command }),
      );
    }
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}
