// A gateway to benchmark: in this process with counting Store and Cache wrappers (the
// production wiring otherwise: startGateway, request logs serialized by pino to /dev/null),
// or as a child process exactly as deployed (`src/main.ts`). Also the shared fixtures: the
// `acme` organization with private packages and a download token, and big artifact files
// made once and reused across runs.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { link, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomFillSync } from "node:crypto";
import { pino } from "pino";
import { loadConfig } from "../../src/config.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { startGateway, type Gateway } from "../../src/server.js";
import { createLogger } from "../../src/log.js";
import { Catalog } from "../../src/access/catalog.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { CountingCache, CountingStore } from "./counting.js";
import { listeningUrl, startS3rverProcess, stopChild, type Origin, type S3Origin } from "./origins.js";
import { runProcess } from "./clients.js";
import { startRedis } from "../harness/services.js";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface BenchGateway {
  url: string;
  gw: Gateway;
  rt: Runtime;
  store: CountingStore;
  cache: CountingCache;
  stop(): Promise<void>;
}

/** A gateway in this process from environment-style settings (DATA_DIR, S3_*, REDIS_URL, ...),
 * with its Store and Cache wrapped in counters (the catalog reads through them too). */
export async function startBenchGateway(env: Record<string, string>): Promise<BenchGateway> {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env });
  const base = await createRuntime(config);
  const store = new CountingStore(base.store);
  const cache = new CountingCache(base.cache);
  const catalog = new Catalog(store, cache, { localTtlSeconds: config.tokenCacheTtl });
  const rt: Runtime = {
    config,
    store,
    cache,
    catalog,
    async close() {
      await catalog.close().catch(() => undefined);
      await base.close();
    },
  };
  // the production logger (pino, asynchronous) writing where nobody reads
  const logger = createLogger("info", pino.destination({ dest: "/dev/null", sync: false }) as unknown as NodeJS.WritableStream);
  const gw = await startGateway(rt, logger);
  return {
    url: gw.url,
    gw,
    rt,
    store,
    cache,
    async stop() {
      await gw.stop(500);
      await rt.close();
    },
  };
}

let built: Promise<void> | null = null;

/** `npm run build` in this clone, once per bench run: what `npm start` runs is `dist/`. */
export function buildOnce(): Promise<void> {
  built ??= runProcess("npm", ["run", "--silent", "--prefix", ROOT, "build"], 300_000).then((r) => {
    if (r.code !== 0) throw new Error(`npm run build failed: ${r.stdout}${r.stderr}`);
  });
  return built;
}

/** The gateway as deployed: what `npm start` runs (`node dist/src/main.js`, built from this
 * clone first) with the given environment. */
export async function spawnGateway(env: Record<string, string>): Promise<Origin> {
  await buildOnce();
  const child = spawn(process.execPath, [join(ROOT, "dist/src/main.js")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await listeningUrl(child, "pkgate");
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

export interface Acme {
  /** An organization token with conda:download: it sees every package of `acme`. */
  token: string;
}

/** The `acme` organization, the given packages private, and a download token. */
export async function seedAcme(catalog: Catalog, privatePackages: Iterable<string>, tokenName = "bench"): Promise<Acme> {
  if (!(await catalog.getAccount("acme"))) await catalog.createAccount({ name: "acme", kind: "org", adopt: true });
  const names = [...privatePackages];
  // one write for all of them (setPackagePrivacy would write the account once per name)
  if (names.length) await catalog.updateAccount("acme", (acc) => { for (const n of names) acc.packages[n] = "private"; });
  const { token } = await catalog.createToken({ account: "acme", name: tokenName, scopes: ["conda:download"] });
  return { token };
}

/** Seed a local-directory store before a gateway process starts on it. */
export async function seedFsStore(dataDir: string, privatePackages: Iterable<string>): Promise<Acme> {
  const store = new FsStore(dataDir);
  const cache = new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
  try {
    return await seedAcme(catalog, privatePackages);
  } finally {
    await catalog.close();
    await cache.close();
    await store.close();
  }
}

/** A file of `bytes` random bytes, made once under the system temp dir and reused (also by
 * later runs). Random, so no layer can compress or deduplicate it. */
export async function artifactFile(bytes: number): Promise<string> {
  const dir = join(tmpdir(), "pkgate-bench-cache");
  const path = join(dir, `artifact-${bytes}.bin`);
  try {
    if ((await stat(path)).size === bytes) return path;
  } catch {
    // not made yet
  }
  await mkdir(dir, { recursive: true });
  const part = `${path}.${process.pid}.part`;
  const out = createWriteStream(part);
  const chunk = Buffer.alloc(Math.min(bytes, 8 * 2 ** 20));
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    randomFillSync(chunk, 0, n);
    if (!out.write(Buffer.from(chunk.subarray(0, n)))) await new Promise<void>((r) => out.once("drain", () => r()));
    left -= n;
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await rename(part, path);
  return path;
}

/** Put a file into a local-directory store without copying it (a hard link, or a copy
 * across file systems). */
export async function placeFile(source: string, dataDir: string, key: string): Promise<string> {
  const dest = join(dataDir, key);
  await mkdir(dirname(dest), { recursive: true });
  await unlink(dest).catch(() => undefined);
  try {
    await link(source, dest);
  } catch {
    const { copyFile } = await import("node:fs/promises");
    await copyFile(source, dest);
  }
  return dest;
}

/** The kernel's page cache holds the file after one read: every server then reads from memory. */
export async function warmPageCache(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(8 * 2 ** 20);
    while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0);
  } finally {
    await fh.close();
  }
}

/** A `size`-byte artifact placed at `key` in `dataDir` (a local-directory store) and read
 * once into the page cache, as the large-file benches start; its path. */
export async function artifactInStore(size: number, dataDir: string, key: string): Promise<string> {
  const file = await artifactFile(size);
  await placeFile(file, dataDir, key);
  await warmPageCache(file);
  return file;
}

/** s3rver in its own process holding `file` at `key` (one plain PUT: the minio client would
 * split 1 GiB into a multipart upload, which s3rver 3.7 answers with NotImplemented), and a
 * redis-server (catalog writes on an S3 store that ignores conditional writes need Redis's
 * lock); both stopped through `stops`. Returns s3rver and the environment of a gateway on them. */
export async function s3WithArtifact(file: string, key: string, dataDir: string, stops: (() => Promise<void>)[], log: (line: string) => void): Promise<{ s3: S3Origin; env: Record<string, string> }> {
  const s3 = await startS3rverProcess();
  stops.push(() => s3.stop());
  const redis = await startRedis();
  stops.push(() => redis.stop());
  const started = Date.now();
  const put = await runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", file, `${s3.endpoint}/${s3.bucket}/${key}`], 300_000);
  if (put.stdout !== "200") throw new Error(`upload to s3rver failed: ${put.stdout} ${put.stderr}`);
  log(`  uploaded to s3rver in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { s3, env: { DATA_DIR: dataDir, REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey } };
}

/** Resident memory of a process, from /proc (Linux). */
export async function rssOf(pid: number): Promise<{ rssMb: number; hwmMb: number } | null> {
  try {
    const { readFile } = await import("node:fs/promises");
    const s = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}
