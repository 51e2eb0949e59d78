// Benchmark: the web pages' package lists over a channel of 10,000 packages (8,000 conda
// packages in the channel's channeldata.json, 2 labels, 2,000 PyPI projects with two files
// each; 1 in 50 private). Each request reads and searches every package and renders one
// page of 50. Server time is the gateway's own access-log `ms` of each request (a gateway in
// this process, the production wiring, its log lines read back by request id), sequential
// requests after a warm-up, median and p90.
//
// Baselines measured in the same run: a page of the same frame and session with no package
// in it (the Notebooks entry of the same account), and, in process, JSON.stringify of the
// same 10,000 rows.
//
//   node --import tsx test/bench/run.ts --only web-packages [--quick]
import { Writable } from "node:stream";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadConfig } from "../../src/config.js";
import { createRuntime } from "../../src/runtime.js";
import { startGateway } from "../../src/server.js";
import { createLogger } from "../../src/log.js";
import { channelContents, pageOf, searchPackages } from "../../src/web/channel.js";
import { figure, type BenchOptions, type Figure } from "./figures.js";
import { median } from "./clients.js";
import { tempDir } from "../harness/services.js";
import { BROWSER_ACCEPT, WebClient } from "../web/client.js";

const PASSWORD = "bench password";

/** Where the time of a request is: its access-log line, found by the request id we sent. */
class ServerTimes {
  private readonly ms = new Map<string, number>();
  readonly sink = new Writable({
    write: (chunk, _enc, cb) => {
      for (const line of String(chunk).split("\n")) {
        if (!line.includes('"msg":"request"')) continue;
        const entry = JSON.parse(line) as { reqId?: string; ms?: number };
        if (entry.reqId && typeof entry.ms === "number") this.ms.set(entry.reqId, entry.ms);
      }
      cb();
    },
  });
  async of(reqId: string): Promise<number> {
    for (let i = 0; i < 200 && !this.ms.has(reqId); i++) await new Promise((r) => setTimeout(r, 5));
    const ms = this.ms.get(reqId);
    if (ms === undefined) throw new Error(`no access-log line for ${reqId}`);
    return ms;
  }
}

const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;

/** A channel of `n` packages as files: channeldata.json (4 in 5 conda), two labels, PyPI. */
async function seedChannel(dataDir: string, n: number): Promise<{ conda: number; pypi: number }> {
  const put = async (key: string, body: string | Buffer) => {
    await mkdir(dirname(join(dataDir, key)), { recursive: true });
    await writeFile(join(dataDir, key), body);
  };
  const conda = Math.round(n * 0.8);
  const pypi = n - conda;
  // as conda-index writes channeldata.json: a record a package with its description, links, platforms
  const record = (i: number, version: string) => ({
    "activate.d": false,
    binary_prefix: i % 3 === 0,
    "deactivate.d": false,
    description: `A package of the benchmark channel, number ${i}, with a description as long as a real one tends to be.`,
    dev_url: `https://github.com/example/pkg-${i}`,
    doc_url: `https://pkg-${i}.readthedocs.io`,
    home: `https://example.com/pkg-${i}`,
    license: "BSD-3-Clause",
    post_link: false,
    pre_link: false,
    pre_unlink: false,
    run_exports: {},
    source_url: `https://example.com/pkg-${i}-${version}.tar.gz`,
    subdirs: i % 4 === 0 ? ["noarch"] : ["linux-64", "osx-arm64", "win-64"],
    summary: `Benchmark package ${i}`,
    text_prefix: i % 5 === 0,
    timestamp: 1_700_000_000 + i,
    version,
  });
  const name = (i: number) => `bench-pkg-${String(i).padStart(5, "0")}`;
  const main = Object.fromEntries(Array.from({ length: conda }, (_, i) => [name(i), record(i, `1.${i % 97}.0`)]));
  await put("acme/channeldata.json", JSON.stringify({ channeldata_version: 1, packages: main, subdirs: ["linux-64", "noarch", "osx-arm64", "win-64"] }, null, 2));
  for (const [label, every] of [["dev", 16], ["test", 80]] as const) {
    const held = Object.fromEntries(Array.from({ length: Math.floor(conda / every) }, (_, k) => [name(k * every), record(k * every, `2.${k}.0rc1`)]));
    await put(`acme/label/${label}/channeldata.json`, JSON.stringify({ channeldata_version: 1, packages: held, subdirs: ["noarch"] }, null, 2));
  }
  for (let i = 0; i < pypi; i++) {
    const project = `bench-py-${String(i).padStart(5, "0")}`;
    const stem = project.replace(/-/g, "_");
    for (const version of ["1.0", "1.1"]) await put(`acme/pypi/${project}/${stem}-${version}.tar.gz`, "");
  }
  return { conda, pypi };
}

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const n = opts.quick ? 500 : 10_000;
  const rounds = opts.quick ? 3 : 40;
  const work = await tempDir("pkgate-bench-web-");
  const figures: Figure[] = [];
  try {
    const dataDir = join(work.path, "data");
    const seeded = await seedChannel(dataDir, n);
    log(`channel acme: ${seeded.conda} conda packages (2 labels), ${seeded.pypi} PyPI projects`);
    const times = new ServerTimes();
    const rt = await createRuntime(loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", DATA_DIR: dataDir, SIGNUP: "open" }));
    const gw = await startGateway(rt, createLogger("info", times.sink));
    try {
      const signup = await fetch(`${gw.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "olga", email: "olga@example.com", password: PASSWORD }) });
      if (signup.status !== 201) throw new Error(`sign-up: ${signup.status}`);
      await rt.catalog.createAccount({ name: "acme", kind: "org", admins: ["olga"], adopt: true });
      await rt.catalog.updateAccount("acme", (acc) => {
        for (let i = 0; i < seeded.conda; i += 50) acc.packages[`bench-pkg-${String(i).padStart(5, "0")}`] = "private";
      });
      const olga = await new WebClient(gw.url).signIn("olga", PASSWORD);
      const anonymous = new WebClient(gw.url);
      type Headers = Record<string, string>;
      const cases = {
        minimal: (h: Headers) => olga.get("/dashboard/acme/notebooks", h),
        first: (h: Headers) => olga.get("/dashboard/acme", h),
        search: (h: Headers) => olga.get("/dashboard/acme?q=pkg-0012", h),
        deep: (h: Headers) => olga.get(`/dashboard/acme?page=${Math.ceil(n / 100)}`, h),
        channel: (h: Headers) => anonymous.get("/acme/", { accept: BROWSER_ACCEPT, ...h }),
      } as const;
      const samples: Record<keyof typeof cases, number[]> = { minimal: [], first: [], search: [], deep: [], channel: [] };
      let seq = 0;
      const timed = async (name: keyof typeof cases, keep: boolean) => {
        const reqId = `bench-web-${process.pid}-${seq++}`;
        const res = await cases[name]({ "x-request-id": reqId });
        if (res.status !== 200) throw new Error(`${name}: ${res.status}`);
        await res.arrayBuffer();
        const ms = await times.of(reqId);
        if (keep) samples[name].push(ms);
      };
      // the first view: nothing kept in process yet (every index parsed, every listing made)
      const coldId = `bench-web-${process.pid}-cold`;
      const cold = await cases.first({ "x-request-id": coldId });
      if (cold.status !== 200) throw new Error(`first view: ${cold.status}`);
      await cold.arrayBuffer();
      const coldMs = await times.of(coldId);
      for (let i = 0; i < 5; i++) for (const name of Object.keys(cases) as (keyof typeof cases)[]) await timed(name, false);
      // interleaved rounds: a slower moment of the machine weighs on every case alike
      for (let i = 0; i < rounds; i++) for (const name of Object.keys(cases) as (keyof typeof cases)[]) await timed(name, true);

      // in process: the same rows, serialized as a baseline, and searched and paged
      const account = (await rt.catalog.getAccount("acme"))!;
      const readMs: number[] = [];
      const stringifyMs: number[] = [];
      const searchMs: number[] = [];
      let rows = (await channelContents(rt.store, account.name)).packages;
      for (let i = 0; i < rounds; i++) {
        let t = performance.now();
        rows = (await channelContents(rt.store, account.name)).packages;
        readMs.push(performance.now() - t);
        t = performance.now();
        JSON.stringify(rows);
        stringifyMs.push(performance.now() - t);
        t = performance.now();
        pageOf(searchPackages(rows, "pkg-0012"), 1);
        searchMs.push(performance.now() - t);
      }

      const http = `GET through the gateway (in this process, fs store, memory cache), ${rounds} interleaved sequential rounds after 5 warm-up rounds; server time = the access log's ms`;
      const minimal = { name: "a page with no package (Notebooks, same frame and session)", value: median(samples.minimal) };
      const detail = (xs: number[]) => ({ p90: p90(xs), samples: xs.length, packages: n, conda: seeded.conda, pypi: seeded.pypi });
      const limit = { op: "<=" as const, of: "value" as const, limit: 100 };
      figures.push(
        figure({ bench: "web-packages", name: `Dashboard of ${n.toLocaleString("en-US")} packages, first page of 50`, value: median(samples.first), unit: "ms", baseline: minimal, target: limit, command: `${http}: /dashboard/acme`, detail: detail(samples.first) }),
        figure({ bench: "web-packages", name: `Dashboard searched over ${n.toLocaleString("en-US")} packages (?q=pkg-0012)`, value: median(samples.search), unit: "ms", baseline: minimal, target: limit, command: `${http}: /dashboard/acme?q=pkg-0012`, detail: detail(samples.search) }),
        figure({ bench: "web-packages", name: `Dashboard, page ${Math.ceil(n / 100)} of ${Math.ceil(n / 50)}`, value: median(samples.deep), unit: "ms", baseline: minimal, target: limit, command: `${http}: /dashboard/acme?page=${Math.ceil(n / 100)}`, detail: detail(samples.deep) }),
        figure({ bench: "web-packages", name: `Dashboard of ${n.toLocaleString("en-US")} packages, the first view after start (one request: every index parsed, every listing made)`, value: coldMs, unit: "ms", baseline: minimal, command: `${http}: /dashboard/acme, the first request` }),
        figure({ bench: "web-packages", name: `channel page for an anonymous browser, ${n.toLocaleString("en-US")} packages (1 in 50 hidden)`, value: median(samples.channel), unit: "ms", baseline: minimal, target: limit, command: `${http}: /acme/ with a browser's Accept`, detail: detail(samples.channel) }),
      );
      const inProcess = `in process over the same ${rows.length.toLocaleString("en-US")} rows, ${rounds} runs, median`;
      const stringify = { name: `JSON.stringify of the ${rows.length.toLocaleString("en-US")} rows`, value: median(stringifyMs) };
      figures.push(
        figure({ bench: "web-packages", name: "reading the channel (channeldata.json of each label, the PyPI listing) into rows", value: median(readMs), unit: "ms", baseline: stringify, command: `channelContents(store, account), ${inProcess}` }),
        figure({ bench: "web-packages", name: "searching every row and taking one page", value: median(searchMs), unit: "ms", baseline: stringify, command: `pageOf(searchPackages(rows, "pkg-0012"), 1), ${inProcess}` }),
      );
    } finally {
      await gw.stop(500);
      await rt.close();
    }
  } finally {
    await work.remove();
  }
  return figures;
}
