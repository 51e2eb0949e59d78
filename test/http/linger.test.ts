// Lingering close (http/linger.ts) on a real socket: an upload refused before its body was
// read reaches a client that goes on sending, as twine (requests) does, which reads the
// answer only once its whole body is out; the connection then closes when the client stops,
// or after the linger time; a request read to its end closes at once as before.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { lingering } from "../../src/http/linger.js";

const BODY = 256 * 1024 * 1024;
/** The test server's linger time. */
const LINGER = 4000;

/** A raw client: the request head, then `send` bytes of body written without reading
 * (unless `read`); resolves with everything it received and how the connection ended. */
function upload(port: number, opts: { send: number; length?: number; read?: boolean; deaf?: boolean }): Promise<{ text: string; error?: string; sent: number }> {
  return new Promise((resolve) => {
    // half-open allowed: the end of the answer does not end what the client sends (requests
    // goes on sending its body whatever arrives)
    const socket: Socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const got: Buffer[] = [];
    let sent = 0;
    let error: string | undefined;
    let reading = opts.read === true;
    const take = (d: Buffer) => got.push(d);
    socket.on("error", (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    // the server's end of the stream: the client is done too (unless deaf to it)
    socket.on("end", () => opts.deaf || socket.end());
    socket.on("close", () => {
      // whatever is still in the kernel's buffer was read by the flowing socket by now
      resolve({ text: Buffer.concat(got).toString("latin1"), error, sent });
    });
    if (reading) socket.on("data", take);
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${opts.length ?? opts.send}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const pump = () => {
      while (sent < opts.send) {
        const n = Math.min(chunk.length, opts.send - sent);
        sent += n;
        if (!socket.write(chunk.subarray(0, n))) return void socket.once("drain", pump);
      }
      // the body is out: now read the answer, as requests does
      if (!reading) {
        reading = true;
        socket.on("data", take);
      }
    };
    pump();
  });
}

describe("lingering close of a refused upload", () => {
  let server: Server;
  let port = 0;
  let closedAt: number[] = [];
  before(async () => {
    const listener = lingering((req, res) => {
      if (req.url === "/upload") {
        // refused before the body is read, as the upload routes refuse a size
        res.writeHead(413, { "content-type": "text/plain", connection: "close" }).end("too large: the limit is 1 MB\n");
        return;
      }
      res.end("ok\n");
    }, LINGER);
    server = createServer(listener);
    server.on("connection", (s) => s.on("close", () => closedAt.push(Date.now())));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test("a client that sends its whole body before reading gets the answer", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await upload(port, { send: BODY });
      assert.match(r.text, /^HTTP\/1\.1 413 /, `round ${i}: ${r.error ?? ""} ${r.text.slice(0, 80)}`);
      assert.match(r.text, /too large: the limit is 1 MB/);
      assert.equal(r.sent, BODY);
    }
  });

  test("a client that reads as it sends gets the answer, then the end of the stream", async () => {
    const r = await upload(port, { send: 8 * 1024 * 1024, read: true });
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.equal(r.error, undefined);
  });

  test("a client that never stops sending is cut after the linger time", async () => {
    closedAt = [];
    const started = Date.now();
    // announces 100 GB and sends them whatever it hears: only the linger time ends it
    const r = await upload(port, { send: 100 * 1024 * 1024 * 1024, length: 100 * 1024 * 1024 * 1024, read: true, deaf: true });
    const took = Date.now() - started;
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.ok(took >= LINGER - 100, `cut after ${took} ms, before the linger time`);
    assert.ok(r.sent < 100 * 1024 * 1024 * 1024);
  });

  test("a client that stops sending gets the end of the stream after the answer, not after the linger time", async () => {
    const started = Date.now();
    // 1 MB of an announced 100 MB, then nothing: the answer, our end of the stream, its end, closed
    const r = await upload(port, { send: 1024 * 1024, length: 100 * 1024 * 1024, read: true });
    const took = Date.now() - started;
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.ok(took < LINGER - 1000, `closed after ${took} ms: the client waited for the linger time`);
  });

  test("a request read to its end closes at once when its answer says so", async () => {
    const r = await new Promise<string>((resolve) => {
      const s = connect(port, "127.0.0.1");
      const got: Buffer[] = [];
      s.on("data", (d: Buffer) => got.push(d));
      s.on("close", () => resolve(Buffer.concat(got).toString("latin1")));
      s.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    });
    assert.match(r, /^HTTP\/1\.1 200 /);
  });
});
