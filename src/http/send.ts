// Writing a body to the client: validators, 304, Range/206/416, HEAD, and the bytes
// themselves. Streams go straight to Node's ServerResponse with backpressure (no Web
// stream in between, no whole-file buffering); a client that leaves stops the store read.
import type { Context } from "hono";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { decide, quoteEtag, type Validators } from "./conditional.js";
import type { ReadRange } from "../store/store.js";
import { GateError } from "../errors.js";

export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

export type Body =
  | { kind: "buffer"; info: Validators; buffer: Buffer }
  | { kind: "stream"; info: Validators; open: (range?: ReadRange, signal?: AbortSignal) => Promise<Readable | null> };

export interface SendOptions {
  contentType: string;
  cacheControl: string;
  headers?: Record<string, string>;
}

/** Bytes written per request, for the access log and metrics. */
export const BYTES = "bytes";

export async function send(c: Context, body: Body, opts: SendOptions): Promise<Response> {
  const method = c.req.method;
  const info = body.info;
  const d = decide(
    {
      ifNoneMatch: c.req.header("if-none-match"),
      ifModifiedSince: c.req.header("if-modified-since"),
      ifMatch: c.req.header("if-match"),
      ifUnmodifiedSince: c.req.header("if-unmodified-since"),
      ifRange: c.req.header("if-range"),
      range: c.req.header("range"),
    },
    info,
    method,
  );
  const headers: Record<string, string> = {
    etag: quoteEtag(info.etag),
    "last-modified": info.lastModified.toUTCString(),
    "cache-control": opts.cacheControl,
    "accept-ranges": "bytes",
    ...opts.headers,
  };
  if (d.status === 304) return new Response(null, { status: 304, headers });
  if (d.status === 412) throw new GateError("bad_request", "precondition failed");
  if (d.status === 416) {
    return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${info.size}` } });
  }
  headers["content-type"] = opts.contentType;
  let range: ReadRange | undefined;
  if (d.status === 206) {
    range = { start: d.start, end: d.end };
    headers["content-range"] = `bytes ${d.start}-${d.end}/${info.size}`;
  }
  const length = range ? range.end - range.start + 1 : info.size;
  headers["content-length"] = String(length);
  c.set(BYTES as never, (method === "HEAD" ? 0 : length) as never);
  if (method === "HEAD") return new Response(null, { status: d.status, headers });

  if (body.kind === "buffer") {
    const bytes = range ? body.buffer.subarray(range.start, range.end + 1) : body.buffer;
    const node = (c.env as Partial<NodeBindings> | undefined)?.outgoing;
    if (node) {
      // skip the Web Response machinery: one writeHead, one end
      node.writeHead(d.status, headers);
      node.end(bytes);
      return RESPONSE_ALREADY_SENT;
    }
    return new Response(bytes as unknown as BodyInit, { status: d.status, headers });
  }

  const abort = new AbortController();
  const stream = await body.open(range, abort.signal);
  if (!stream) throw new GateError("not_found", "not found");
  const node = (c.env as Partial<NodeBindings> | undefined)?.outgoing;
  if (node) {
    node.writeHead(d.status, headers);
    node.once("close", () => abort.abort());
    pipeline(stream, node).catch(() => {
      // the client left or the store failed mid-body: the socket is closed, nothing to send
      stream.destroy();
    });
    return RESPONSE_ALREADY_SENT;
  }
  const { Readable: NodeReadable } = await import("node:stream");
  return new Response(NodeReadable.toWeb(stream) as ReadableStream, { status: d.status, headers });
}
