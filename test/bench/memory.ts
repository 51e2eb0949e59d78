// Benchmark 5, memory under slow clients: 200 concurrent downloads of the 1 GiB artifact,
// each read at a throttled rate by a raw socket that pauses, against the gateway running as
// deployed (its own process, `src/main.ts`). Its RSS, sampled from /proc, must stay under
// 300 MB: backpressure all the way to the store read, no buffering, reads that shrink for a
// slow client. The bare node:http pipe server (createReadStream's 64 KiB defaults) in its own
// process under the same clients is the baseline; the fastest node server of the large
// benchmark (fixed 1 MiB reads) is measured too, as what reads that never shrink cost.
//
//   node --import tsx test/bench/run.ts --only memory [--quick]
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { figure, MiB, type BenchOptions, type Figure } from "./figures.js";
import type { Origin } from "./origins.js";
import { spawnNodeServer } from "./node-servers.js";
import { artifactFile, placeFile, rssOf, seedFsStore, spawnGateway } from "./stack.js";
import { tempDir } from "../harness/services.js";
import { sleep } from "./clients.js";

const KEY = "acme/linux-64/bigpkg-1.0-0.conda";

interface SlowRun {
  clients: number;
  seconds: number;
  /** Clients that got a 200 status line. */
  ok: number;
  bytes: number;
  maxRssMb: number;
  startRssMb: number;
  endRssMb: number;
  peakHwmMb: number;
  samples: number[];
}

/** `clients` raw sockets each asking for `path` and reading at most `bytesPerSecond`. */
async function slowClients(origin: Origin, path: string, clients: number, bytesPerSecond: number, seconds: number): Promise<SlowRun> {
  const url = new URL(origin.url);
  if (url.hostname !== "127.0.0.1") throw new Error("slow clients only target 127.0.0.1");
  const pid = origin.pid!;
  const startRssMb = (await rssOf(pid))?.rssMb ?? NaN;
  const samples: number[] = [];
  let ok = 0;
  let bytes = 0;
  const sockets: Socket[] = [];
  const started = Date.now();
  for (let i = 0; i < clients; i++) {
    const s = connect({ host: "127.0.0.1", port: Number(url.port) });
    sockets.push(s);
    let got = 0;
    let head = true;
    const t0 = Date.now();
    s.on("connect", () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: pkgate-bench-slow\r\n\r\n`));
    s.on("data", (chunk: Buffer) => {
      if (head) {
        head = false;
        if (chunk.subarray(0, 12).toString("latin1") === "HTTP/1.1 200") ok++;
      }
      got += chunk.length;
      bytes += chunk.length;
      // ahead of the allowed rate: stop reading until the rate catches up
      const allowed = ((Date.now() - t0) / 1000) * bytesPerSecond;
      if (got > allowed) {
        s.pause();
        setTimeout(() => s.resume(), Math.min(1000, ((got - allowed) / bytesPerSecond) * 1000));
      }
    });
    s.on("error", () => undefined);
  }
  const deadline = started + seconds * 1000;
  while (Date.now() < deadline) {
    const r = await rssOf(pid);
    if (r) samples.push(Math.round(r.rssMb));
    await sleep(250);
  }
  const end = await rssOf(pid);
  for (const s of sockets) s.destroy();
  return {
    clients,
    seconds: (Date.now() - started) / 1000,
    ok,
    bytes,
    maxRssMb: Math.max(...samples),
    startRssMb,
    endRssMb: end?.rssMb ?? NaN,
    peakHwmMb: end?.hwmMb ?? NaN,
    samples,
  };
}

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const size = opts.quick ? 4 * MiB : 1024 * MiB;
  const clients = opts.quick ? 20 : 200;
  const seconds = opts.quick ? 1 : 20;
  const rate = 1 * MiB; // per client: 200 MiB/s in all, far from finishing a 1 GiB file
  const work = await tempDir("pkgate-bench-memory-");
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  try {
    const file = await artifactFile(size);
    const dataDir = join(work.path, "data");
    await placeFile(file, dataDir, KEY);
    const { token } = await seedFsStore(dataDir, ["bigpkg"]);

    const gw = await spawnGateway({ DATA_DIR: dataDir });
    stops.push(() => gw.stop());
    const g = await slowClients(gw, `/t/${token}/${KEY}`, clients, rate, seconds);
    await gw.stop();
    log(`  pkgate: ${g.ok}/${clients} answered 200, ${(g.bytes / MiB).toFixed(0)} MiB read in ${g.seconds.toFixed(1)} s, RSS ${g.startRssMb.toFixed(0)} → max ${g.maxRssMb} MB (VmHWM ${g.peakHwmMb.toFixed(0)} MB)`);

    const pipe = await spawnNodeServer(dataDir, "pipe");
    stops.push(() => pipe.stop());
    const p = await slowClients(pipe, `/${KEY}`, clients, rate, seconds);
    await pipe.stop();
    log(`  node pipe: ${p.ok}/${clients} answered 200, ${(p.bytes / MiB).toFixed(0)} MiB read, RSS ${p.startRssMb.toFixed(0)} → max ${p.maxRssMb} MB (VmHWM ${p.peakHwmMb.toFixed(0)} MB)`);
    // the fastest node server (fixed 1 MiB reads): what reads that do not adapt cost here
    const fd1m = await spawnNodeServer(dataDir, "fd-1m");
    stops.push(() => fd1m.stop());
    const f = await slowClients(fd1m, `/${KEY}`, clients, rate, seconds);
    await fd1m.stop();
    log(`  node fd 1 MiB preads: ${f.ok}/${clients} answered 200, ${(f.bytes / MiB).toFixed(0)} MiB read, RSS ${f.startRssMb.toFixed(0)} → max ${f.maxRssMb} MB (VmHWM ${f.peakHwmMb.toFixed(0)} MB)`);
    if (g.ok !== clients || p.ok !== clients || f.ok !== clients) throw new Error(`not every slow client was answered 200 (pkgate ${g.ok}, pipe ${p.ok}, fd ${f.ok} of ${clients})`);

    const command = `${clients} raw TCP clients at once, each GET ${size / MiB} MiB and reading ≤ ${rate / MiB} MiB/s (socket.pause/resume) for ${seconds} s; VmRSS of the server process from /proc/<pid>/status every 250 ms; pkgate = node --import tsx src/main.ts (fs store, in-process cache), baseline = node --import tsx test/bench/node-servers.ts pipe <dir>`;
    return [
      figure({ bench: "memory", name: `${clients} slow clients: pkgate max RSS`, value: g.maxRssMb, unit: "MB", baseline: { name: "node pipe max RSS", value: p.maxRssMb }, target: { op: "<=", of: "value", limit: 300 }, detail: { pkgate: g, pipe: p }, command }),
      figure({ bench: "memory", name: `${clients} slow clients: pkgate peak RSS (VmHWM, start-up included)`, value: g.peakHwmMb, unit: "MB", baseline: { name: "node pipe VmHWM", value: p.peakHwmMb }, target: { op: "<=", of: "value", limit: 300 }, command }),
      figure({ bench: "memory", name: `${clients} slow clients: node fd 1 MiB preads max RSS (fixed large reads, reference)`, value: f.maxRssMb, unit: "MB", baseline: { name: "node pipe max RSS", value: p.maxRssMb }, detail: { fd1m: f }, command: command.replace("test/bench/node-servers.ts pipe", "test/bench/node-servers.ts fd-1m") }),
    ];
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
}
