// Writing a body to the client: validators, 304, Range/206/416, HEAD, and the bytes
// themselves. Streams go straight to Node's ServerResponse with backpressure (no Web
// stream in between, no whole-file buffering); a client that leaves stops the store read.
// Large local files are written by file-body.ts, whose reads adapt to each client's speed.
import "./vars.js";
import { header } from "./headers.js";
import type { Context } from "hono";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Readable as NodeReadable, type Readable } from "node:stream";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { bodyHeaders, decide, quoteEtag, type ConditionalHeaders, type Validators } from "./conditional.js";
import type { ReadRange } from "../store/store.js";
import { GateError } from "../errors.js";
import { close as fsClose, createReadStream } from "node:fs";
import { readFully, type ObjectSource } from "./objects.js";
import { writeFileBody, writeFileRanges } from "./file-body.js";

export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}

export type Body =
  | { kind: "buffer"; info: Validators; buffer: Buffer }
  /** An open local file (fs store): owned by send(), which closes it. */
  | { kind: "file"; info: Validators; fd: number }
  | {
      kind: "stream";
      info: Validators;
      open: (range?: ReadRange, signal?: AbortSignal) => Promise<Readable | null>;
      /** Byte ranges of a local file (a cut view on the fs store), written by writeFileRanges on
       * Node instead of open(): the descriptor is then send()'s. Null: open() is used. */
      openRanges?: (range?: ReadRange) => Promise<{ fd: number; ranges: number[] } | null>;
    };

/** An app's fetch for @hono/node-server. Bodies are written straight to Node's response; when
 * Hono hands back a Response anyway (an error after the head went out, or Hono copying
 * RESPONSE_ALREADY_SENT into a new Response of its own, as it does for every HEAD), the
 * adapter would write a second head: say "sent". */
export function nodeFetch<E>(fetch: (req: Request, env: E) => Response | Promise<Response>): (req: Request, env: E) => Promise<Response> {
  return async (req, env) => {
    const res = await fetch(req, env);
    return (env as Partial<NodeBindings> | undefined)?.outgoing?.headersSent ? RESPONSE_ALREADY_SENT : res;
  };
}

/** Bodies up to this size are read with one read() and sent with one write. */
export const SMALL_FILE = 256 * 1024;

export interface SendOptions {
  contentType: string;
  cacheControl: string;
  headers?: Record<string, string>;
}

/** Set by the gate when the request carried credentials. */
export const VAR_AUTHENTICATED = "authenticated";

/** Cache-Control for a stored object: anything reached with credentials may differ per
 * caller, so it never goes into a shared cache. */
export function cacheControl(c: Context, maxAge: number): string {
  const scope = c.get("authenticated") ? "private" : "public";
  return `${scope}, max-age=${maxAge}`;
}

/** Bytes written per request, for the access log and metrics. */
export const BYTES = "bytes";

export async function send(c: Context, body: Body, opts: SendOptions): Promise<Response> {
  if (body.kind !== "file") return sendBody(c, body, opts);
  let owned = true;
  try {
    const res = await sendBody(c, body, opts, () => (owned = false));
    return res;
  } finally {
    if (owned) fsClose(body.fd, () => undefined);
  }
}

/** The request's conditional and Range headers, as decide() reads them. */
export function conditionalHeaders(c: Context): ConditionalHeaders {
  return {
    ifNoneMatch: header(c, "if-none-match"),
    ifModifiedSince: header(c, "if-modified-since"),
    ifMatch: header(c, "if-match"),
    ifUnmodifiedSince: header(c, "if-unmodified-since"),
    ifRange: header(c, "if-range"),
    range: header(c, "range"),
  };
}

/** An object's validators as header values, formatted once per Validators object (the hot
 * object cache hands out the same one until the object changes). */
const formatted = new WeakMap<Validators, { etag: string; lastModified?: string }>();

function validatorHeaders(info: Validators, opts: SendOptions): Record<string, string> {
  let f = formatted.get(info);
  if (!f) {
    f = { etag: quoteEtag(info.etag), lastModified: info.lastModified?.toUTCString() };
    formatted.set(info, f);
  }
  const headers: Record<string, string> = { etag: f.etag };
  if (f.lastModified) headers["last-modified"] = f.lastModified;
  headers["cache-control"] = opts.cacheControl;
  headers["accept-ranges"] = "bytes";
  return opts.headers ? Object.assign(headers, opts.headers) : headers;
}

/** A stored object: a revalidation (If-None-Match / If-Modified-Since) is answered from the
 * validators, cached for a second, without opening the object; otherwise the body follows.
 * Null when the object does not exist. */
export async function sendObject(c: Context, objects: ObjectSource, key: string, opts: SendOptions): Promise<Response | null> {
  if (header(c, "if-none-match") !== undefined || header(c, "if-modified-since") !== undefined) {
    const info = await objects.stat(key);
    if (!info) return null;
    if (decide(conditionalHeaders(c), info, c.req.method).status === 304) return headOnly(c, 304, validatorHeaders(info, opts));
  }
  const body = await objects.body(key);
  return body && send(c, body, opts);
}

/** The store work sendObject does for a missing object (see ObjectSource.probe). */
export function probeObject(c: Context, objects: ObjectSource, key: string): Promise<void> {
  return objects.probe(key, header(c, "if-none-match") !== undefined || header(c, "if-modified-since") !== undefined);
}

async function sendBody(c: Context, body: Body, opts: SendOptions, takeFile?: () => void): Promise<Response> {
  const method = c.req.method;
  const info = body.info;
  const d = decide(conditionalHeaders(c), info, method);
  // GET and HEAD alike: the refusal's own head, never the object's length
  if (d.status === 412) throw new GateError("precondition_failed", "the stored object does not match If-Match / If-Unmodified-Since");
  const headers = Object.assign(validatorHeaders(info, opts), bodyHeaders(d, info.size));
  if (d.status === 304 || d.status === 416) return headOnly(c, d.status, headers);
  headers["content-type"] = opts.contentType;
  if (method === "HEAD") return headOnly(c, d.status, headers);
  const range: ReadRange | undefined = d.status === 206 ? { start: d.start, end: d.end } : undefined;
  const length = range ? range.end - range.start + 1 : info.size;
  c.set("bytes", length);
  const node = (c.env as Partial<NodeBindings> | undefined)?.outgoing;

  if (body.kind === "buffer") {
    const bytes = range ? body.buffer.subarray(range.start, range.end + 1) : body.buffer;
    if (node) {
      // skip the Web Response machinery: one writeHead, one end
      node.writeHead(d.status, headers);
      node.end(bytes);
      return RESPONSE_ALREADY_SENT;
    }
    return new Response(bytes as unknown as BodyInit, { status: d.status, headers });
  }

  if (body.kind === "file") {
    const start = range?.start ?? 0;
    if (length <= SMALL_FILE) {
      const bytes = await readFully(body.fd, length, start);
      if (node) {
        node.writeHead(d.status, headers);
        node.end(bytes);
        return RESPONSE_ALREADY_SENT;
      }
      return new Response(bytes as unknown as BodyInit, { status: d.status, headers });
    }
    takeFile?.();
    if (node) {
      node.writeHead(d.status, headers);
      writeFileBody(node, body.fd, start, length);
      return RESPONSE_ALREADY_SENT;
    }
    const file = createReadStream("", { fd: body.fd, start, end: start + length - 1, highWaterMark: SMALL_FILE, autoClose: true });
    return pipeOut(node, file, d.status, headers);
  }
  if (node && body.openRanges) {
    const file = await body.openRanges(range);
    if (file) {
      node.writeHead(d.status, headers);
      writeFileRanges(node, file.fd, file.ranges);
      return RESPONSE_ALREADY_SENT;
    }
  }
  const abort = new AbortController();
  const stream = await body.open(range, abort.signal);
  if (!stream) throw new GateError("not_found", "not found");
  node?.once("close", () => abort.abort());
  return pipeOut(node, stream, d.status, headers);
}

/** A response without a body (304, 416, HEAD), written directly when on Node. */
function headOnly(c: Context, status: number, headers: Record<string, string>): Response {
  const node = (c.env as Partial<NodeBindings> | undefined)?.outgoing;
  if (!node) return new Response(null, { status, headers });
  node.writeHead(status, headers);
  node.end();
  return RESPONSE_ALREADY_SENT;
}

/** Stream a body with backpressure; a client that leaves destroys the source. */
function pipeOut(node: ServerResponse | undefined, stream: Readable, status: number, headers: Record<string, string>): Response {
  if (node) {
    node.writeHead(status, headers);
    pipeline(stream, node).catch(() => {
      // the client left or the store failed mid-body: the socket is closed, nothing to send
      stream.destroy();
    });
    return RESPONSE_ALREADY_SENT;
  }
  return new Response(NodeReadable.toWeb(stream) as ReadableStream, { status, headers });
}
