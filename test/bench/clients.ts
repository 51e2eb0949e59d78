// Load generators for the benchmarks, each a separate process so the client never shares
// the event loop of the server it measures: curl for big downloads, wrk for many small
// requests. Both only ever target 127.0.0.1 and are bounded in time.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, killing it after timeoutMs. */
export function runProcess(cmd: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1") throw new Error(`benchmarks only target 127.0.0.1, not ${host}`);
}

export interface DownloadResult {
  clients: number;
  bytes: number;
  /** From the first spawn to the last exit. */
  seconds: number;
  gbPerSecond: number;
  perClient: { status: number; bytes: number; seconds: number; ttfb: number }[];
}

export function curlArgs(url: string, maxSeconds: number, extra: string[] = []): string[] {
  return ["-s", "-o", "/dev/null", "--max-time", String(maxSeconds), "-w", "%{http_code} %{size_download} %{time_total} %{time_starttransfer}", ...extra, url];
}

/** `clients` curl processes downloading `url` at once; fails unless every one got `expectStatus`
 * and `expectBytes` (without it: the same number of bytes). */
export async function download(url: string, clients: number, opts: { expectBytes?: number; maxSeconds?: number; expectStatus?: number; extra?: string[] } = {}): Promise<DownloadResult> {
  assertLoopback(url);
  const maxSeconds = opts.maxSeconds ?? 120;
  const started = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: clients }, () => runProcess("curl", curlArgs(url, maxSeconds, opts.extra), (maxSeconds + 5) * 1000)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perClient = runs.map((r) => {
    const [status, bytes, total, ttfb] = r.stdout.trim().split(" ").map(Number);
    return { status: status ?? 0, bytes: bytes ?? 0, seconds: total ?? 0, ttfb: ttfb ?? 0 };
  });
  const expectStatus = opts.expectStatus ?? 200;
  const expectBytes = opts.expectBytes ?? perClient[0]?.bytes;
  const bad = perClient.find((p) => p.status !== expectStatus || p.bytes !== expectBytes);
  if (bad) throw new Error(`download of ${redact(url)} failed: status ${bad.status}, ${bad.bytes} of ${expectBytes} bytes`);
  const bytes = perClient.reduce((s, p) => s + p.bytes, 0);
  return { clients, bytes, seconds, gbPerSecond: bytes / seconds / 1e9, perClient };
}

/** The token in `/t/<token>/` replaced, for messages and printed commands. */
export function redact(url: string): string {
  return url.replace(/\/t\/[^/]+\//, "/t/$TOKEN/");
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  bytes: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  command: string;
}

// done() prints one JSON line, so nothing has to be scraped from wrk's human output.
const REPORT_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`;

export interface WrkOptions {
  connections: number;
  threads: number;
  seconds: number;
  headers?: Record<string, string>;
  /** Where the Lua report script is written. */
  workDir: string;
}

export async function wrk(url: string, opts: WrkOptions): Promise<WrkResult> {
  assertLoopback(url);
  const script = join(opts.workDir, "report.lua");
  await writeFile(script, REPORT_LUA);
  const headerArgs = Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const args = ["-t", String(opts.threads), "-c", String(opts.connections), "-d", `${opts.seconds}s`, "--timeout", "10s", "--latency", "-s", script, ...headerArgs, url];
  const command = ["wrk", ...args.map((a) => (a === script ? "report.lua" : /[\s"]/.test(a) ? `'${a}'` : a)).slice(0, -1), redact(url)].join(" ");
  const r = await runProcess("wrk", args, (opts.seconds + 30) * 1000);
  const line = /WRK_JSON (\{.*\})/.exec(r.stdout);
  if (r.code !== 0 || !line) throw new Error(`wrk failed (${r.code}): ${r.stderr || r.stdout}`);
  const j = JSON.parse(line[1]!) as Record<string, number>;
  const seconds = j.duration_us! / 1e6;
  const ms = (us: number | undefined) => (us ?? 0) / 1000;
  return {
    requests: j.requests!,
    seconds,
    rps: j.requests! / seconds,
    bytes: j.bytes!,
    latencyMs: { p50: ms(j.p50), p90: ms(j.p90), p99: ms(j.p99), max: ms(j.max), mean: ms(j.mean) },
    errors: { connect: j.connect!, read: j.read!, write: j.write!, status: j.status!, timeout: j.timeout! },
    command,
  };
}

/** A wrk result that hides failures is no result: every request must have succeeded. */
export function assertClean(r: WrkResult, what: string): void {
  const e = r.errors;
  const n = e.connect + e.read + e.write + e.status + e.timeout;
  if (n > 0 || r.requests === 0) throw new Error(`${what}: wrk saw ${n} errors in ${r.requests} requests: ${JSON.stringify(e)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Contender {
  name: string;
  url: string;
  /** curl options of this contender (-L for a redirect). */
  extra?: string[];
}

/** Downloads in interleaved rounds (a, b, c, a, b, c, ...), so drift of the shared machine hits
 * every contender alike; GB/s per round, by contender name. */
export async function interleavedRounds(contenders: Contender[], clients: number, rounds: number, size: number, log: (line: string) => void): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const res = await download(c.url, clients, { expectBytes: size, maxSeconds: 300, extra: c.extra });
      samples.get(c.name)!.push(res.gbPerSecond);
      log(`  ${clients} client(s) ${c.name}: ${res.gbPerSecond.toFixed(2)} GB/s (${res.seconds.toFixed(2)} s)`);
    }
  }
  return samples;
}
