// The baselines pkgate is measured against, each serving the same files on a free loopback
// port: Debian's nginx with sendfile (a child process with a generated config) and s3rver in
// a process of its own (so it never shares the gateway's event loop). The bare node:http
// servers (the limit of this runtime) are in node-servers.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { accepts, freePort, stopChild, tempDir, waitFor } from "../harness/services.js";
import { startNginxProcess } from "../harness/nginx.js";

export { stopChild };

export interface Origin {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

// ---- nginx -------------------------------------------------------------------------------

/** nginx serving `root` with sendfile, one worker (pkgate is one Node process). */
export async function startNginx(root: string): Promise<Origin> {
  return startNginxProcess(
    "pkgate-bench-nginx-",
    async (port, p) => `  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65s;
  access_log ${p("access.log")} combined buffer=64k;
  types { application/json json; application/zstd zst; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }`,
  );
}

// ---- s3rver ------------------------------------------------------------------------------

export interface S3Origin extends Origin {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

/** s3rver in a child process with one bucket; GETs of objects need no signature. */
export async function startS3rverProcess(bucket = "pkgate-bench"): Promise<S3Origin> {
  const dir = await tempDir("pkgate-bench-s3-");
  const port = await freePort();
  const bin = createRequire(import.meta.url).resolve("s3rver/bin/s3rver.js");
  const child = spawn(process.execPath, [bin, "-d", dir.path, "-a", "127.0.0.1", "-p", String(port), "-s", "--configure-bucket", bucket], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  try {
    await waitFor("s3rver", () => accepts(port), child, 15_000, () => output);
  } catch (err) {
    await stopChild(child);
    await dir.remove();
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    url: endpoint,
    endpoint,
    bucket,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    pid: child.pid!,
    async stop() {
      await stopChild(child);
      await dir.remove();
    },
  };
}

// ---- process plumbing --------------------------------------------------------------------

/** Waits for a child to print {"msg":"listening","url":...}; the rest of its output is drained. */
export function listeningUrl(child: ChildProcess, what: string, timeoutMs = 30_000): Promise<string> {
  let output = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output.slice(-2000)}`)), timeoutMs);
    let found = false;
    child.stdout?.on("data", (d: Buffer) => {
      if (found) return; // keep draining so the child never blocks on a full pipe
      output += d.toString();
      const m = /"msg":"listening","url":"([^"]+)"/.exec(output);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${what} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}
