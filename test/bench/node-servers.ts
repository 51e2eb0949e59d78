// Bare node:http servers tuned as an expert would, the baselines for "at the runtime's
// limit": what Node itself does when it serves the same files with none of the gate's work.
//
// - `pipe`: fs.createReadStream with its defaults (64 KiB reads) piped to the response, the
//   textbook server (the memory baseline: what slow clients cost Node at its defaults).
// - `stream-1m`: fs.createReadStream with 1 MiB reads (highWaterMark 1 MiB) piped to the
//   response, the textbook server with its one knob turned up.
// - `fd-1m`: one descriptor, 1 MiB pread()s into two reused buffers, one read kept ahead of
//   the socket (no stream machinery, no garbage per chunk): the fastest we found.
// - `cached`: the small-request baseline: a stat cache revalidated once a second with the
//   ETag compare for If-None-Match, and small files kept as buffers (the work pkgate's
//   ObjectSource does, without identification, authorization, routing or logging).
// - `cached-logged`: the `cached` handler with only what pkgate does for every request besides
//   the gate: an X-Request-Id, the request metrics (metrics.ts) and the access-log line
//   (log.ts, path redacted, batched to /dev/null, which costs less than the pipe a deployed
//   gateway writes to), made when the response closes as app.ts makes them. A reference for
//   the small benchmark: the floor of a server that logs each request, with no gate at all.
// - `hono-cached`: the same handler behind Hono and @hono/node-server as pkgate mounts its
//   routes (one middleware, a catch-all route, the body written to Node's response): what
//   the framework alone costs, a reference for the small benchmark.
//
// Run as a program, a server in a child process (for RSS measurements of the server alone):
//   node --import tsx test/bench/node-servers.ts <mode> <root>   → {"msg":"listening","url":...}
import { spawn } from "node:child_process";
import { close, createReadStream, fstat, open, read, stat, type Stats } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { pipeline } from "node:stream";
import { pathToFileURL } from "node:url";
import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { listeningUrl, stopChild, type Origin } from "./origins.js";
import { batchedDestination, createLogger, logRequest, redactPath } from "../../src/log.js";
import { Metrics } from "../../src/metrics.js";

export type NodeServerMode = "pipe" | "stream-1m" | "fd-1m" | "cached" | "cached-logged" | "hono-cached";
export const NODE_SERVER_MODES: readonly NodeServerMode[] = ["pipe", "stream-1m", "fd-1m", "cached", "cached-logged", "hono-cached"];

const READ = 1024 * 1024;
const SMALL = 256 * 1024;

const etagOf = (st: Stats) => `"${st.size.toString(16)}-${Math.trunc(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`;
const headersOf = (st: Stats, etag: string) => ({
  etag,
  "last-modified": st.mtime.toUTCString(),
  "cache-control": "private, max-age=60",
  "accept-ranges": "bytes",
  "content-type": "application/octet-stream",
  "content-length": st.size,
});

function pathIn(root: string, req: IncomingMessage): string | null {
  const path = normalize(join(root, decodeURIComponent((req.url ?? "/").split("?")[0]!)));
  return path.startsWith(root) ? path : null;
}

/** `fd-1m`: 1 MiB preads into two reused buffers (each reused once the socket has taken it),
 * the next read issued while a chunk drains. */
function sendFd(res: ServerResponse, fd: number, size: number): void {
  const spare: Buffer[] = [Buffer.allocUnsafeSlow(READ), Buffer.allocUnsafeSlow(READ)];
  let pos = 0;
  let gone = false;
  let reading = false;
  let ready: { buf: Buffer; n: number } | null = null;
  let draining = false;
  res.once("close", () => {
    gone = true;
    if (!reading) close(fd, () => undefined);
  });
  const pump = (): void => {
    if (gone) return;
    if (ready && !draining) {
      const { buf, n } = ready;
      ready = null;
      if (!res.write(n === buf.length ? buf : buf.subarray(0, n), () => spare.push(buf))) {
        draining = true;
        res.once("drain", () => ((draining = false), pump()));
      }
    }
    if (pos >= size) {
      if (!reading && !ready) res.end();
      return;
    }
    if (reading || ready) return;
    const buf = spare.pop();
    if (!buf) return void setImmediate(pump); // both buffers still with the socket
    reading = true;
    read(fd, buf, 0, Math.min(READ, size - pos), pos, (err, n) => {
      reading = false;
      if (gone) return void close(fd, () => undefined);
      if (err || n === 0) return void res.destroy(err ?? new Error("short read"));
      pos += n;
      ready = { buf, n };
      pump();
    });
  };
  pump();
}

export function createNodeServer(root: string, mode: NodeServerMode): Server {
  if (mode === "hono-cached") {
    const handler = nodeHandler(root, "cached");
    const app = new Hono<{ Bindings: { incoming: IncomingMessage; outgoing: ServerResponse } }>();
    app.use("*", async (_c, next) => {
      await next();
    });
    app.on(["GET", "HEAD"], "*", (c) => {
      handler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
    return createServer(getRequestListener(app.fetch));
  }
  if (mode === "cached-logged") {
    const handler = nodeHandler(root, "cached");
    const logger = createLogger("info", batchedDestination("/dev/null"));
    const metrics = new Metrics();
    let seq = 0;
    return createServer((req, res) => {
      const started = process.hrtime.bigint();
      const reqId = `bench-${(++seq).toString(36)}`;
      res.setHeader("x-request-id", reqId);
      res.once("close", () => {
        const raw = req.url ?? "/";
        const q = raw.indexOf("?");
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const bytes = Number(res.getHeader("content-length") ?? 0);
        const route = "conda-index";
        metrics.requests.inc({ route, status: String(res.statusCode) });
        metrics.latency.observe({ route }, seconds);
        if (bytes) metrics.bytes.inc({ route }, bytes);
        logRequest(logger, {
          reqId,
          method: req.method ?? "GET",
          path: redactPath(q === -1 ? raw : raw.slice(0, q), undefined),
          query: undefined,
          referer: undefined,
          status: res.statusCode,
          bytes,
          ms: Math.round(seconds * 1e6) / 1000,
          client: req.socket.remoteAddress ?? "unknown",
          tokenId: undefined,
          tokenName: undefined,
          account: undefined,
          aborted: !res.writableFinished,
          ua: req.headers["user-agent"],
        });
      });
      handler(req, res);
    });
  }
  return createServer(nodeHandler(root, mode));
}

function nodeHandler(root: string, mode: Exclude<NodeServerMode, "hono-cached" | "cached-logged">): (req: IncomingMessage, res: ServerResponse) => void {
  const cache = new Map<string, { st: Stats; etag: string; body?: Buffer; at: number }>();
  return (req, res) => {
    const path = pathIn(root, req);
    if (!path) return void res.writeHead(404).end();
    if (mode === "cached") {
      const now = Date.now();
      const hit = cache.get(path);
      const answer = (e: { st: Stats; etag: string; body?: Buffer }) => {
        if (req.headers["if-none-match"] === e.etag) return void res.writeHead(304, { etag: e.etag, "cache-control": "private, max-age=60" }).end();
        if (e.body) return void res.writeHead(200, headersOf(e.st, e.etag)).end(e.body);
        res.writeHead(200, headersOf(e.st, e.etag));
        pipeline(createReadStream(path, { highWaterMark: READ }), res, () => undefined);
      };
      if (hit && now - hit.at < 1000) return answer(hit);
      stat(path, (err, st) => {
        if (err || !st.isFile()) return void res.writeHead(404).end();
        const etag = etagOf(st);
        const keep = hit?.etag === etag ? hit.body : undefined;
        if (keep || st.size > SMALL || req.headers["if-none-match"] === etag) {
          const e = { st, etag, body: keep, at: now };
          cache.set(path, e);
          return answer(e);
        }
        open(path, "r", (err2, fd) => {
          if (err2) return void res.writeHead(404).end();
          const body = Buffer.allocUnsafe(st.size);
          read(fd, body, 0, st.size, 0, (err3) => {
            close(fd, () => undefined);
            if (err3) return void res.writeHead(500).end();
            const e = { st, etag, body, at: now };
            cache.set(path, e);
            answer(e);
          });
        });
      });
      return;
    }
    open(path, "r", (err, fd) => {
      if (err) return void res.writeHead(404).end();
      fstat(fd, (err2, st) => {
        if (err2 || !st.isFile()) {
          close(fd, () => undefined);
          return void res.writeHead(404).end();
        }
        const etag = etagOf(st);
        if (req.headers["if-none-match"] === etag) {
          close(fd, () => undefined);
          return void res.writeHead(304, { etag }).end();
        }
        res.writeHead(200, headersOf(st, etag));
        if (mode === "pipe") pipeline(createReadStream("", { fd }), res, () => undefined);
        else if (mode === "stream-1m") pipeline(createReadStream("", { fd, highWaterMark: READ }), res, () => undefined);
        else sendFd(res, fd, st.size);
      });
    });
  };
}

export async function startNodeServer(root: string, mode: NodeServerMode): Promise<Origin> {
  const server = createNodeServer(root, mode);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A node server in its own process. */
export async function spawnNodeServer(root: string, mode: NodeServerMode): Promise<Origin> {
  const file = new URL(import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", file, mode, root], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await listeningUrl(child, `node server (${mode})`);
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, root] = process.argv.slice(2) as [NodeServerMode, string];
  if (!NODE_SERVER_MODES.includes(mode) || !root) throw new Error(`usage: node-servers.ts <${NODE_SERVER_MODES.join("|")}> <root>`);
  const o = await startNodeServer(root, mode);
  console.log(JSON.stringify({ msg: "listening", url: o.url }));
  process.on("SIGTERM", () => void o.stop().then(() => process.exit(0)));
}
