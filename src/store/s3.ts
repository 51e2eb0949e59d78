// The S3 Store: one bucket of any S3-compatible server (MinIO, AWS S3, s3rver in tests)
// through the minio client. Vendor errors are translated here and nowhere else: a missing
// object is null, anything technical is StoreUnavailable whose message names the failure
// but never an object key, the endpoint's credentials, or a signature.
import http from "node:http";
import https from "node:https";
import { Readable, addAbortSignal } from "node:stream";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "minio";
import {
  StoreConflict,
  StoreUnavailable,
  type ListedObject,
  type ListOptions,
  type ObjectInfo,
  type PresignOptions,
  type PutOptions,
  type ReadRange,
  type Store,
} from "./store.js";
import { errnoOf, unreached } from "../errno.js";

export interface S3StoreOptions {
  /** http(s)://host[:port] of the S3 API. */
  endPoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** Codes that mean "this object is not there" (HEAD answers have no body, hence NotFound). */
const MISSING = new Set(["NoSuchKey", "NotFound"]);
/** Answers to a conditional PUT whose condition failed: 412, or 409 when another conditional
 * write of the same key was in progress (AWS). */
const CONDITION_FAILED = new Set(["PreconditionFailed", "ConditionalRequestConflict"]);
/** Page size of a listing; also the most keys held in memory while listing. */
const LIST_PAGE = 1000;

export class S3Store implements Store {
  readonly kind = "s3" as const;
  private readonly client: Client;
  private readonly agent: http.Agent;
  private readonly bucket: string;
  private readonly region: string;
  /** The answer of the conditional-PUT probe, once it succeeded. */
  private conditionalPut: Promise<boolean> | null = null;
  /** Clients that only sign (presignGet), one per endpoint URL; they never send a request. */
  private readonly signers = new Map<string, Client>();

  constructor(private readonly opts: S3StoreOptions) {
    const url = endpointUrl(opts.endPoint);
    const useSSL = url.protocol === "https:";
    this.bucket = opts.bucket;
    this.region = opts.region || "us-east-1";
    // One bounded keep-alive pool: artifact streams of many clients share a few sockets
    // instead of opening one connection per request.
    // Idle sockets are dropped after 15 s, before servers commonly close them on their side.
    const agentOpts = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 15_000 };
    this.agent = useSSL ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      // A fixed region spares a GetBucketLocation round trip before the first request.
      region: this.region,
      pathStyle: true,
      transportAgent: this.agent,
      // minio's retry prints to the console and sleeps; a failed request is answered with
      // 503 + Retry-After instead, and the client (conda, pip) retries.
      retryOptions: { disableRetry: true },
    });
  }

  /** Create the bucket when it does not exist yet (first start, tests). */
  async ensureBucket(): Promise<void> {
    try {
      if (await this.client.bucketExists(this.bucket)) return;
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      const code = s3Code(err);
      if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return;
      throw unavailable("create bucket", err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await idempotent(() => this.client.statObject(this.bucket, key));
      return { size: st.size, etag: unquote(st.etag), lastModified: st.lastModified };
    } catch (err) {
      if (MISSING.has(s3Code(err) ?? "")) return null;
      throw unavailable("stat", err);
    }
  }

  async get(key: string): Promise<{ body: Buffer; info: ObjectInfo } | null> {
    let res: Readable;
    try {
      res = await idempotent(() => this.client.getObject(this.bucket, key));
    } catch (err) {
      if (MISSING.has(s3Code(err) ?? "")) return null;
      throw unavailable("get", err);
    }
    // The info comes from this response's headers, so it describes exactly these bytes.
    const headers = (res as http.IncomingMessage).headers ?? {};
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw unavailable("get", err);
    }
    const body = Buffer.concat(chunks);
    return {
      body,
      info: {
        size: body.length,
        etag: unquote(String(headers.etag ?? "")),
        lastModified: headers["last-modified"] ? new Date(headers["last-modified"]) : new Date(0),
      },
    };
  }

  async read(key: string, range?: ReadRange, signal?: AbortSignal): Promise<Readable | null> {
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    signal?.throwIfAborted();
    let res: Readable;
    try {
      res = await idempotent(() =>
        range
          ? this.client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1)
          : this.client.getObject(this.bucket, key),
      );
    } catch (err) {
      const code = s3Code(err);
      if (MISSING.has(code ?? "")) return null;
      if (code === "InvalidRange") throw new RangeError("range not satisfiable");
      throw unavailable("read", err);
    }
    if (range) res = trimToRange(res, range);
    if (signal) {
      if (signal.aborted) {
        res.destroy();
        signal.throwIfAborted();
      }
      // Destroying the response closes its socket: the server stops sending.
      addAbortSignal(signal, res);
    }
    return res;
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    const meta: Record<string, string> = {};
    if (opts.contentType) meta["Content-Type"] = opts.contentType;
    if (opts.ifNotExists) {
      // If-None-Match: * makes the create-only PUT atomic on servers that honour it (AWS S3,
      // MinIO); others (s3rver) ignore it, and then the stat before it is all there is: two
      // writers racing between the stat and the put can both succeed. exclusiveCreate()
      // tells which, and store locks are only built where it says true.
      if (await this.stat(key)) throw new StoreConflict(key);
      meta["If-None-Match"] = "*";
    }
    let sized: SizedBody;
    try {
      sized = Buffer.isBuffer(body) ? { body, size: body.length, discard: async () => undefined } : await measure(body);
    } catch (err) {
      throw unavailable("put", err);
    }
    try {
      await this.client.putObject(this.bucket, key, sized.body, sized.size, meta);
    } catch (err) {
      if (opts.ifNotExists && CONDITION_FAILED.has(s3Code(err) ?? "")) throw new StoreConflict(key);
      throw unavailable("put", err);
    } finally {
      await sized.discard();
    }
    // S3 answers a PUT with the ETag only; size and Last-Modified come from a HEAD.
    const info = await this.stat(key);
    if (!info) throw new StoreUnavailable("s3 store: object vanished right after put");
    return info;
  }

  /** Probed once: create `scratchKey` with If-None-Match: *, then try again. A server that
   * honours the condition refuses the second PUT (412); one that ignores it overwrites. A
   * probe that fails (network) is not remembered, so the next call asks again. */
  exclusiveCreate(scratchKey: string): Promise<boolean> {
    this.conditionalPut ??= this.probeConditionalPut(scratchKey).catch((err) => {
      this.conditionalPut = null;
      throw err;
    });
    return this.conditionalPut;
  }

  private async probeConditionalPut(key: string): Promise<boolean> {
    const body = Buffer.from("conditional put probe\n");
    const create = () => this.client.putObject(this.bucket, key, body, body.length, { "If-None-Match": "*" });
    try {
      await create();
      try {
        await create();
        return false;
      } catch (err) {
        if (CONDITION_FAILED.has(s3Code(err) ?? "")) return true;
        throw err;
      }
    } catch (err) {
      throw unavailable("probe conditional put", err);
    } finally {
      await this.delete(key).catch(() => undefined);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await idempotent(() => this.client.removeObject(this.bucket, key));
    } catch (err) {
      if (MISSING.has(s3Code(err) ?? "")) return;
      throw unavailable("delete", err);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListedObject> {
    const limit = opts.limit ?? Infinity;
    if (limit <= 0) return;
    if (limit <= LIST_PAGE) {
      yield* this.firstKeys(prefix, limit);
      return;
    }
    // Paged by hand rather than through listObjectsV2's stream: S3 returns each page in key
    // order, but s3rver (tests) walks its directory in readdir order, so every page is
    // sorted here as well. Pages are consecutive key ranges on a real S3, so the whole
    // listing comes out ordered while only one page is held in memory.
    let left = limit;
    let token = "";
    for (;;) {
      let page;
      try {
        page = await idempotent(() => this.client.listObjectsV2Query(this.bucket, prefix, token, "", LIST_PAGE, ""));
      } catch (err) {
        throw unavailable("list", err);
      }
      const items: ListedObject[] = [];
      for (const o of page.objects) {
        if (o.name === undefined) continue; // a common prefix; none without a delimiter
        items.push({ key: o.name, size: o.size, etag: unquote(o.etag), lastModified: o.lastModified });
      }
      items.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
      for (const item of items) {
        yield item;
        if (--left <= 0) return;
      }
      if (!page.isTruncated || !page.nextContinuationToken) return;
      token = page.nextContinuationToken;
    }
  }

  /** A listing of at most `limit` (≤ LIST_PAGE) keys: one request asking for no more. It is
   * ListObjects (v1): a truncated v2 page carries a continuation token, which s3rver fails to
   * make on current Node (its cipher, DES, is gone from OpenSSL 3). s3rver answers some
   * `limit` keys under the prefix rather than the first ones. */
  private async *firstKeys(prefix: string, limit: number): AsyncIterable<ListedObject> {
    let page;
    try {
      page = await idempotent(() => this.client.listObjectsQuery(this.bucket, prefix, "", { Delimiter: "", MaxKeys: limit, IncludeVersion: false }));
    } catch (err) {
      throw unavailable("list", err);
    }
    const items: ListedObject[] = [];
    for (const o of page.objects) {
      if (o.name === undefined) continue;
      items.push({ key: o.name, size: o.size ?? 0, etag: unquote(o.etag ?? ""), lastModified: o.lastModified ?? new Date(0) });
    }
    items.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    yield* items.slice(0, limit);
  }

  async ping(): Promise<void> {
    let exists: boolean;
    try {
      exists = await idempotent(() => this.client.bucketExists(this.bucket));
    } catch (err) {
      throw unavailable("ping", err);
    }
    if (!exists) throw new StoreUnavailable("s3 store: the bucket does not exist");
  }

  async presignGet(key: string, ttlSeconds: number, opts: PresignOptions = {}): Promise<string> {
    const endPoint = opts.endPoint ?? this.opts.endPoint;
    let signer = this.signers.get(endPoint);
    if (!signer) {
      const url = endpointUrl(endPoint);
      const useSSL = url.protocol === "https:";
      signer = new Client({
        endPoint: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port ? Number(url.port) : useSSL ? 443 : 80,
        useSSL,
        accessKey: this.opts.accessKey,
        secretKey: this.opts.secretKey,
        // a fixed region: signing asks nothing of the server
        region: this.region,
        pathStyle: true,
      });
      this.signers.set(endPoint, signer);
    }
    const params = opts.contentType ? { "response-content-type": opts.contentType } : undefined;
    return signer.presignedGetObject(this.bucket, key, ttlSeconds, params);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function endpointUrl(endPoint: string): URL {
  let url: URL;
  try {
    url = new URL(endPoint);
  } catch {
    throw new Error("S3 endpoint is not a URL (expected http(s)://host[:port])");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error("S3 endpoint must start with http:// or https://");
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    throw new Error("S3 endpoint must not have a path (buckets are addressed path-style)");
  }
  return url;
}

interface SizedBody {
  body: Buffer | Readable;
  size: number;
  discard(): Promise<void>;
}

/** Bodies up to this size are held in memory and sent in one PUT. */
const IN_MEMORY_PUT = 16 * 1024 * 1024;

/** Give a stream of unknown length a known size. Without one, minio assumes the largest
 * possible object: it sizes its multipart parts for 5 TiB (over 500 MiB each, buffered in
 * memory) and uses multipart even for a few bytes, which some servers (s3rver) lack. Small
 * bodies are buffered; larger ones are spooled to a temp file and streamed from there. */
async function measure(body: Readable): Promise<SizedBody> {
  const it = body[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) {
      const buf = Buffer.concat(head, size);
      return { body: buf, size, discard: async () => undefined };
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    head.push(chunk);
    size += chunk.length;
    if (size > IN_MEMORY_PUT) break;
  }
  const dir = await mkdtemp(join(tmpdir(), "pkgate-s3-put-"));
  const discard = () => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, "body");
    const fh = await open(file, "w");
    try {
      for (const chunk of head) await fh.write(chunk);
      for (let next = await it.next(); !next.done; next = await it.next()) {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
        await fh.write(chunk);
        size += chunk.length;
      }
    } finally {
      await fh.close();
    }
    return { body: createReadStream(file), size, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}

/** Some servers answer more bytes than the Range asked for: s3rver 3.7 reads "bytes=0-0" as
 * "bytes=0-" (it tests the end for truthiness). When the response says so in its
 * Content-Range (or answers 200 to a range), the surplus is cut off here; a well-behaved
 * server's response passes through untouched. */
function trimToRange(res: Readable, range: ReadRange): Readable {
  const wanted = range.end - range.start + 1;
  const msg = res as Partial<http.IncomingMessage>;
  const m = /^bytes (\d+)-(\d+)\//.exec(String(msg.headers?.["content-range"] ?? ""));
  let served: number;
  if (m) {
    if (Number(m[1]) !== range.start) {
      res.destroy();
      throw new StoreUnavailable("s3 store: read failed: the server answered a different range");
    }
    served = Number(m[2]) - Number(m[1]) + 1;
  } else if (msg.statusCode === 200 && range.start === 0) {
    served = Number(msg.headers?.["content-length"] ?? Infinity);
  } else {
    return res;
  }
  return served > wanted ? firstBytes(res, wanted) : res;
}

/** The first n bytes of src; destroying the result, or reaching n, destroys src. */
function firstBytes(src: Readable, n: number): Readable {
  let left = n;
  const out = new Readable({
    read() {
      src.resume();
    },
    destroy(err, cb) {
      src.destroy();
      cb(err);
    },
  });
  src.on("data", (chunk: Buffer) => {
    if (left <= 0) return;
    const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= piece.length;
    const more = out.push(piece);
    if (left === 0) {
      out.push(null);
      src.destroy();
    } else if (!more) {
      src.pause();
    }
  });
  src.once("end", () => {
    if (left > 0) out.destroy(new StoreUnavailable("s3 store: read failed: response ended early"));
  });
  src.once("error", (err) => {
    if (left > 0) out.destroy(err);
  });
  return out;
}

/** Run a request that is safe to repeat, once more if it failed on a reused keep-alive socket
 * the server had just closed: that is a race of the pool, not an outage. */
async function idempotent<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const code = s3Code(err);
    if (code !== "ECONNRESET" && code !== "EPIPE") throw err;
    return request();
  }
}

function unquote(etag: string): string {
  return etag.replace(/^(W\/)?"(.*)"$/, "$2");
}

function s3Code(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A StoreUnavailable that says what failed in words an operator can act on. The vendor
 * error is not attached as the cause: minio's errors carry the request (resource path, and
 * the Authorization header's key id) and loggers print causes. */
function unavailable(op: string, err: unknown): StoreUnavailable {
  const errno = errnoOf(err);
  if (errno) {
    // a temporary file's trouble (no space left…) is this machine's, not the endpoint's
    return new StoreUnavailable(`s3 store: ${op} failed: ${unreached(errno) ? `cannot reach the S3 endpoint (${errno.words})` : errno.words}`);
  }
  const code = s3Code(err);
  let why: string;
  switch (code) {
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
      why = `access denied (${code}): check the access key, secret key and bucket policy`;
      break;
    case "NoSuchBucket":
      why = "the bucket does not exist";
      break;
    case "SlowDown":
      why = "the S3 server is overloaded (SlowDown)";
      break;
    case undefined:
      why = err instanceof Error && err.name !== "Error" ? err.name : "request failed";
      break;
    default:
      why = /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : "request failed";
  }
  return new StoreUnavailable(`s3 store: ${op} failed: ${why}`);
}
