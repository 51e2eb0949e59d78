// A flood of distinct, well-formed but unknown tokens from one client address, paced at a
// fixed rate, for the token benchmark. Runs as its own process so its work never lands on
// the gateway's event loop:
//
//   node --import tsx test/bench/flood.ts <base-url> <path-after-token> <count> <per-second> <local-address> [forged|invented]
//
// forged (default): tokens made by generateToken(), so their check characters fit and each
// one reaches the lookup until the address is rate-limited (the worst case: an attacker who
// knows the format). invented: `pkg-` and 40 random base62 characters, what a scanner or a
// typo produces; the check refuses them before any lookup.
// Prints one JSON line: {"sent":N,"seconds":S,"statuses":{"401":30,"429":9970}}.
import { connect, type Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { generateToken } from "../../src/auth/token.js";

export interface FloodResult {
  sent: number;
  seconds: number;
  statuses: Record<string, number>;
  errors: number;
}

/** One keep-alive connection sending requests one after another. Raw sockets and minimal
 * response parsing: on a small machine the flood client competes with the server for the
 * CPU, so it must cost as little as possible. */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  /** Closed by an error or by the server (which may close a refused client's connection). */
  dead = false;
  private waiting: ((status: number) => void) | null = null;
  private readonly socket: Socket;

  constructor(port: number, localAddress: string, onError: () => void) {
    this.socket = connect({ host: "127.0.0.1", port, localAddress });
    this.socket.setNoDelay(true);
    this.socket.on("data", (d: Buffer) => this.onData(d));
    this.socket.on("error", () => {
      this.dead = true;
      onError();
      this.waiting?.(0);
      this.waiting = null;
    });
    this.socket.on("close", () => {
      this.dead = true;
      this.waiting?.(0);
      this.waiting = null;
    });
  }

  request(path: string): Promise<number> {
    if (this.dead) return Promise.resolve(0);
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: pkgate-bench-flood\r\n\r\n`);
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end === -1) return;
    const head = this.buf.subarray(0, end).toString("latin1");
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buf.length < end + 4 + length) return;
    this.buf = this.buf.subarray(end + 4 + length);
    const done = this.waiting;
    this.waiting = null;
    done?.(Number(head.slice(9, 12)));
  }

  close(): void {
    this.socket.destroy();
  }
}

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const invented = () => "pkg-" + Array.from({ length: 40 }, () => BASE62[Math.floor(Math.random() * 62)]).join("");

export async function flood(base: string, path: string, count: number, perSecond: number, localAddress: string, concurrency = 8, kind: "forged" | "invented" = "forged"): Promise<FloodResult> {
  const url = new URL(base);
  if (url.hostname !== "127.0.0.1") throw new Error("the flood only targets 127.0.0.1");
  const tokens = Array.from({ length: count }, kind === "forged" ? generateToken : invented);
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    const open = () => new Connection(Number(url.port), localAddress, () => errors++);
    let conn = open();
    for (;;) {
      const i = next++;
      if (i >= count) break;
      if (conn.dead) conn = open();
      const wait = started + (i * 1000) / perSecond - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const status = await conn.request(`/t/${tokens[i]}/${path}`);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent: count, seconds: (performance.now() - started) / 1000, statuses, errors };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [base, path, count, rate, local, kind = "forged"] = process.argv.slice(2);
  if (!base || !path || !count || !rate || !local || (kind !== "forged" && kind !== "invented")) {
    throw new Error("usage: flood.ts <base-url> <path> <count> <per-second> <local-address> [forged|invented]");
  }
  const r = await flood(base, path, Number(count), Number(rate), local, 8, kind);
  console.log(JSON.stringify(r));
}
