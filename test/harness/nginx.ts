// nginx in front of a gateway, configured from the shipped files: the `location /` of
// deploy/nginx/pkgate.conf (the proxy to pkgate) and deploy/nginx/pkgate-accel.conf (the
// internal locations of DOWNLOAD_MODE=accel) with `alias` pointed at the gateway's DATA_DIR.
// One process (master_process off, daemon off) on a free loopback port, with its own prefix
// and temp paths; stop() ends that process only. Used by the accel test and the accel bench.
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort, tempDir } from "./services.js";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface NginxFront {
  url: string;
  port: number;
  pid: number;
  /** nginx's error log so far. */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

/** The shipped `location / { ... }` of pkgate.conf's first server with TLS. */
async function proxyLocation(): Promise<string> {
  const conf = await readFile(join(ROOT, "deploy/nginx/pkgate.conf"), "utf8");
  const m = /\n(\s*location \/ \{[^}]*\})/.exec(conf);
  if (!m) throw new Error("deploy/nginx/pkgate.conf has no `location / { ... }`");
  return m[1]!;
}

export async function startNginxFront(opts: { gateway: string; dataDir: string }): Promise<NginxFront> {
  const dir = await tempDir("pkgate-nginx-front-");
  const port = await freePort();
  const p = (name: string) => join(dir.path, name);
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(p(d));
  const accel = (await readFile(join(ROOT, "deploy/nginx/pkgate-accel.conf"), "utf8")).replace(/alias \/var\/lib\/pkgate\/;/, `alias ${opts.dataDir.replace(/\/?$/, "/")};`);
  if (!accel.includes(`alias ${opts.dataDir}`)) throw new Error("pkgate-accel.conf: no `alias /var/lib/pkgate/;` to point at DATA_DIR");
  await writeFile(p("pkgate-accel.conf"), accel);
  const gw = new URL(opts.gateway);
  await writeFile(
    p("nginx.conf"),
    `daemon off;
master_process off;
worker_processes 1;
pid ${p("nginx.pid")};
error_log ${p("error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${p("body")};
  proxy_temp_path ${p("proxy")};
  fastcgi_temp_path ${p("fastcgi")};
  uwsgi_temp_path ${p("uwsgi")};
  scgi_temp_path ${p("scgi")};
  upstream pkgate {
    server ${gw.hostname}:${gw.port};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
${await proxyLocation()}
    include ${p("pkgate-accel.conf")};
  }
}
`,
  );
  const child = spawn("nginx", ["-p", dir.path, "-e", p("error.log"), "-c", p("nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await dir.remove();
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(p("error.log"), "utf8").catch(() => "");
      await stop();
      throw new Error(`nginx did not start:\n${output}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid!, errors: () => readFile(p("error.log"), "utf8").catch(() => ""), stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}
