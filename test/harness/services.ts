// Real services for integration tests, each on a free loopback port and torn down by its
// stop(): a redis-server child process and an in-process s3rver. Tests never mock the
// Redis or S3 clients; they talk to these. Also the plumbing of every child process the tests
// and benchmarks start (nginx, s3rver, gateways): waiting until it answers, stopping it.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsc } from "node:fs";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from "node:fs/promises";
import { createHash, randomUUID } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { createRequire } from "node:module";

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

/** A fresh directory under the system temp dir; remove() deletes it with its contents. */
export async function tempDir(prefix = "pkgate-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisService {
  url: string;
  port: number;
  /** Freeze the server (SIGSTOP): connections stay open but nothing is answered. */
  freeze(): void;
  /** Let a frozen server run again (SIGCONT). */
  thaw(): void;
  stop(): Promise<void>;
}

const REDIS_MISSING = "redis-server not found: install it (Debian: apt-get install -y redis-server); .ci/run does this";

/** Start redis-server without persistence. Pass a port to restart one on the port it had. */
export async function startRedis(opts: { port?: number } = {}): Promise<RedisService> {
  if (!onPath("redis-server")) throw new Error(REDIS_MISSING);
  const dir = await tempDir("pkgate-redis-");
  const port = opts.port ?? (await freePort());
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.path, "--loglevel", "warning"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    await stopChild(child);
    await dir.remove();
  };
  try {
    await waitFor("redis-server", () => answers(port, "PING\r\n", "+PONG"), child, 10_000, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    freeze: () => void child.kill("SIGSTOP"),
    thaw: () => void child.kill("SIGCONT"),
    stop,
  };
}

export interface S3Service {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

interface S3rverInstance {
  /** Resolves with the listening server's address(). */
  run(): Promise<{ port: number } | string | null>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?(): void };
}
type S3rverClass = new (opts: Record<string, unknown>) => S3rverInstance;

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}
interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
}

/**
 * s3rver writes an object in place (its file truncated first) and answers the PUT before the
 * bytes are on disk, so a GET meanwhile, even one made after the PUT was answered, may read an
 * empty or cut object: S3 and MinIO replace an object atomically, once it is whole. Seen as
 * "Unexpected end of JSON input" from a catalog document read under the lock by another replica
 * right after its writer let go, on a busy machine. The tests' s3rver does what S3 does: the
 * bytes are written aside, then renamed into place, then the PUT is answered.
 */
function makeS3rverPutsAtomic(): void {
  const store = (createRequire(import.meta.url)("s3rver/lib/stores/filesystem.js") as { prototype: S3rverFilesystemStore & { pkgateAtomic?: true; putObject(o: S3rverObject): Promise<{ size: number; md5: string }> } }).prototype;
  if (store.pkgateAtomic) return;
  store.pkgateAtomic = true;
  store.putObject = async function (this: S3rverFilesystemStore, object: S3rverObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    // beside the s3rver directory (one file system, so the rename is atomic), not in a bucket
    const aside = join(tmpdir(), `pkgate-s3rver-${randomUUID()}.part`);
    const md5 = createHash("md5");
    let size = 0;
    try {
      if (Buffer.isBuffer(object.content)) await writeFile(aside, object.content);
      else {
        await pipeline(
          object.content,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              md5.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(aside),
        );
      }
      if (Buffer.isBuffer(object.content)) {
        md5.update(object.content);
        size = object.content.length;
      }
      const digest = md5.digest("hex");
      await rename(aside, objectPath);
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
      return { size, md5: digest };
    } catch (err) {
      await unlink(aside).catch(() => undefined);
      throw err;
    }
  };
}

/** Start s3rver in this process with one empty bucket; credentials S3RVER/S3RVER. */
export async function startS3(opts: { bucket?: string } = {}): Promise<S3Service> {
  const bucket = opts.bucket ?? "pkgate-test";
  const dir = await tempDir("pkgate-s3-");
  // s3rver is CommonJS without types.
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;
  makeS3rverPutsAtomic();
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir.path,
    configureBuckets: [{ name: bucket }],
  });
  let port: number;
  try {
    const addr = await server.run();
    if (!addr || typeof addr === "string") throw new Error("s3rver did not report its port");
    port = addr.port;
  } catch (err) {
    await dir.remove();
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    async stop() {
      // Clients keep idle keep-alive sockets; close() alone would wait for them.
      server.httpServer?.closeAllConnections?.();
      await server.close().catch(() => undefined);
      await dir.remove();
    },
  };
}

function onPath(cmd: string): boolean {
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, cmd), fsc.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** True when something on 127.0.0.1:`port` accepts a connection. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** One request over a raw socket to 127.0.0.1:`port`: true when the answer starts with
 * `prefix` (redis: "PING\r\n" answered "+PONG", or "-NOAUTH" by a server with a password). */
export function answers(port: number, request: string, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write(request));
    sock.once("data", (d) => done(d.toString().startsWith(prefix)));
  });
}

/** Polls `ready` until it holds; throws, with `output()`, when `child` exits first or
 * `timeoutMs` passes. */
export async function waitFor(what: string, ready: () => Promise<boolean>, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${output()}`);
}

/** Ends a child with SIGTERM (SIGKILL after 5 s) and waits for its exit; nothing when it has
 * already exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  child.kill("SIGCONT"); // a frozen process handles SIGTERM only once it runs
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
