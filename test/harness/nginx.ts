// nginx in front of a gateway, configured from the shipped files: the `location /` of
// deploy/nginx/pkgate.conf (the proxy to pkgate) and deploy/nginx/pkgate-accel.conf (the
// internal locations of DOWNLOAD_MODE=accel) with `alias` pointed at the gateway's DATA_DIR.
// One process (master_process off, daemon off) on a free loopback port, with its own prefix
// and temp paths; stop() ends that process only. Used by the accel test and the accel bench;
// startNginxProcess also starts the benchmarks' plain nginx (test/bench/origins.ts).
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { accepts, freePort, stopChild, tempDir, waitFor } from "./services.js";

const ROOT = new URL("../..", import.meta.url).pathname;

/** One nginx process on a free loopback port. */
export interface NginxProcess {
  url: string;
  port: number;
  pid: number;
  /** nginx's error log so far. */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

export type NginxFront = NginxProcess;

/** nginx as one process (daemon off, master_process off, one worker) on a free loopback port,
 * with its own prefix, pid file, error log and temp paths under a fresh directory; `http`
 * gives the rest of the http block, its server listening on 127.0.0.1:`port` (`path` names a
 * file in that directory). stop() ends that process only and removes the directory. */
export async function startNginxProcess(prefix: string, http: (port: number, path: (name: string) => string) => Promise<string>): Promise<NginxProcess> {
  const dir = await tempDir(prefix);
  const port = await freePort();
  const p = (name: string) => join(dir.path, name);
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(p(d));
  await writeFile(
    p("nginx.conf"),
    `daemon off;
master_process off;
worker_processes 1;
pid ${p("nginx.pid")};
error_log ${p("error.log")} warn;
events { worker_connections 4096; }
http {
  keepalive_requests 1000000;
  client_body_temp_path ${p("body")};
  proxy_temp_path ${p("proxy")};
  fastcgi_temp_path ${p("fastcgi")};
  uwsgi_temp_path ${p("uwsgi")};
  scgi_temp_path ${p("scgi")};
${await http(port, p)}
}
`,
  );
  const child = spawn("nginx", ["-p", dir.path, "-e", p("error.log"), "-c", p("nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    await stopChild(child);
    await dir.remove();
  };
  const errors = () => readFile(p("error.log"), "utf8").catch(() => "");
  try {
    await waitFor("nginx", () => accepts(port), child, 10_000, () => output);
  } catch (err) {
    const log = await errors();
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, errors, stop };
}

/** The shipped `location / { ... }` of pkgate.conf's first server with TLS. */
async function proxyLocation(): Promise<string> {
  const conf = await readFile(join(ROOT, "deploy/nginx/pkgate.conf"), "utf8");
  const m = /\n(\s*location \/ \{[^}]*\})/.exec(conf);
  if (!m) throw new Error("deploy/nginx/pkgate.conf has no `location / { ... }`");
  return m[1]!;
}

/** The gateway at `gateway` behind nginx, the accel locations' alias pointed at `dataDir`. */
export async function startNginxFront(opts: { gateway: string; dataDir: string }): Promise<NginxFront> {
  const accel = (await readFile(join(ROOT, "deploy/nginx/pkgate-accel.conf"), "utf8")).replace(/alias \/var\/lib\/pkgate\/;/, `alias ${opts.dataDir.replace(/\/?$/, "/")};`);
  if (!accel.includes(`alias ${opts.dataDir}`)) throw new Error("pkgate-accel.conf: no `alias /var/lib/pkgate/;` to point at DATA_DIR");
  const gw = new URL(opts.gateway);
  return startNginxProcess("pkgate-nginx-front-", async (port, p) => {
    await writeFile(p("pkgate-accel.conf"), accel);
    return `  access_log off;
  upstream pkgate {
    server ${gw.hostname}:${gw.port};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
${await proxyLocation()}
    include ${p("pkgate-accel.conf")};
  }`;
  });
}
