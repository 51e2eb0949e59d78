// A whole pkgate stack for integration tests: a store (a temp directory, or s3rver over
// HTTP), a cache (in-process, or a real redis-server), the catalog, and a gateway on a free
// loopback port. Log lines are captured so tests can check that no secret reaches them.
import { Writable } from "node:stream";
import { spawn } from "node:child_process";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadConfig } from "../../src/config.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { startGateway, type Gateway } from "../../src/server.js";
import { createLogger } from "../../src/log.js";
import { run as runCli } from "../../src/cli/commands.js";
import { startRedis, startS3 } from "./services.js";
import { buildCondaChannel, type BuiltChannel, type ChannelSpec } from "../fixtures/conda-channel.js";

export type StoreKind = "fs" | "s3";
export type CacheKind = "memory" | "redis";

export const MATRIX: { store: StoreKind; cache: CacheKind }[] = [
  { store: "fs", cache: "memory" },
  { store: "s3", cache: "redis" },
];

export interface Stack {
  name: string;
  env: Record<string, string>;
  rt: Runtime;
  gw: Gateway;
  url: string;
  /** Every log line the gateway wrote. */
  logs: string[];
  /** Build a conda channel with cph and copy it into the store. */
  seedConda(spec: ChannelSpec): Promise<BuiltChannel>;
  /** Run the CLI in this process against the same store and cache. */
  cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Start another gateway process on the same store and cache. */
  spawnReplica(): Promise<{ url: string; stop(): Promise<void>; output: () => string }>;
  stop(): Promise<void>;
}

const ROOT = new URL("../..", import.meta.url).pathname;

/** Shared by every test file of one `node --test` run (they are children of one runner):
 * each stack appends its gateways' log output and every token it created, and
 * test/zz-secrets.test.ts, which runs last, checks that no token appears in any log. */
export const RUN_DIR = join(tmpdir(), `pkgate-test-run-${process.ppid}`);
const TOKEN_PATTERN = /pkg-[A-Za-z0-9]{40}/g;

async function recordForScan(logs: string, tokens: Iterable<string>): Promise<void> {
  await mkdir(RUN_DIR, { recursive: true });
  await appendFile(join(RUN_DIR, "logs.txt"), logs + "\n");
  await appendFile(join(RUN_DIR, "tokens.txt"), [...tokens].join("\n") + "\n");
}

export async function startStack(kind: { store: StoreKind; cache: CacheKind }, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const stops: (() => Promise<void>)[] = [];
  const work = await mkdtemp(join(tmpdir(), "pkgate-stack-"));
  stops.push(() => rm(work, { recursive: true, force: true }));
  // every test signs its users up from 127.0.0.1: SIGNUP_LIMIT is the signup-limit test's to set
  const env: Record<string, string> = { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", DATA_DIR: join(work, "data"), SIGNUP_LIMIT: "1000", ...extraEnv };
  if (kind.store === "s3") {
    const s3 = await startS3();
    stops.push(() => s3.stop());
    Object.assign(env, { S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });
  }
  if (kind.cache === "redis") {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    env.REDIS_URL = redis.url;
  }
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(line);
      cb();
    },
  });
  const rt = await createRuntime(loadConfig(env));
  const gw = await startGateway(rt, createLogger("info", sink));
  const replicas: (() => Promise<void>)[] = [];
  const replicaOutput: (() => string)[] = [];
  const createdTokens = new Set<string>();

  const stack: Stack = {
    name: `${kind.store}+${kind.cache}`,
    env,
    rt,
    gw,
    url: gw.url,
    logs,
    async seedConda(spec) {
      const built = await buildCondaChannel(join(work, "fixtures"), spec);
      for (const rel of await walk(built.root)) {
        const body = await readFile(join(built.root, rel));
        await rt.store.put(`${spec.channel}/${rel}`, body);
      }
      return built;
    },
    async cli(args, stdin = "") {
      let stdout = "";
      let stderr = "";
      const { Readable } = await import("node:stream");
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const code = await runCli(args, {
          stdin: Readable.from([Buffer.from(stdin)]) as NodeJS.ReadableStream & { isTTY?: boolean },
          stdout: new Writable({ write(c, _e, cb) { stdout += String(c); cb(); } }),
          stderr: new Writable({ write(c, _e, cb) { stderr += String(c); cb(); } }),
        });
        for (const t of stdout.match(TOKEN_PATTERN) ?? []) createdTokens.add(t);
        return { code, stdout, stderr };
      } finally {
        for (const k of Object.keys(env)) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
    },
    async spawnReplica() {
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts")], {
        cwd: ROOT,
        env: { ...process.env, ...env, PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`replica did not start:\n${output}`)), 20_000);
        const onData = (d: Buffer) => {
          output += d.toString();
          const m = /"msg":"listening","url":"([^"]+)"/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        child.once("exit", (code) => reject(new Error(`replica exited with ${code}:\n${output}`)));
      });
      const stop = async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      };
      replicas.push(stop);
      replicaOutput.push(() => output);
      return { url, stop, output: () => output };
    },
    async stop() {
      for (const s of replicas) await s().catch(() => undefined);
      await gw.stop(1000);
      await recordForScan([...logs, ...replicaOutput.map((o) => o())].join("\n"), createdTokens).catch(() => undefined);
      await rt.close();
      for (const s of stops.reverse()) await s().catch(() => undefined);
    },
  };
  return stack;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else out.push(relative(dir, p));
    }
  };
  await visit(dir);
  return out.sort();
}

/** The token printed on the last line of `pkgate auth --create`. */
export function lastLine(s: string): string {
  const lines = s.trim().split("\n");
  return lines[lines.length - 1]!.trim();
}
