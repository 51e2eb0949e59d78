// One HTTP request and its whole answer, with the path sent exactly as written: a URL string
// given to Node's client (or fetch) has its dot segments resolved before it leaves.
import { request, type IncomingMessage } from "node:http";

export function fetchRaw(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ res: IncomingMessage; body: Buffer }> {
  const m = /^http:\/\/([^/:]+):(\d+)(\/.*)?$/.exec(url);
  if (!m) throw new Error(`not an http://host:port URL: ${url}`);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: m[1], port: Number(m[2]), path: m[3] ?? "/", method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ res, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
