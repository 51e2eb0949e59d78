// The Store port: where everything durable lives (packages, index files, the access
// catalog). Two adapters implement it: fs.ts (a local directory, the embedded default) and
// s3.ts (any S3-compatible server through the minio client). Keys are '/'-separated paths
// relative to the store root, already validated by the caller (no '..', no leading '/').
import type { Readable } from "node:stream";

export interface ObjectInfo {
  size: number;
  /** Strong validator of the stored bytes, without quotes (S3 ETag or fs size+mtime hash). */
  etag: string;
  lastModified: Date;
}

export interface ListedObject extends ObjectInfo {
  key: string;
}

export interface ReadRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface PutOptions {
  contentType?: string;
  /** Fail with StoreConflict when the key already exists (create-only). Whether two
   * concurrent creators in different processes can both succeed: see exclusiveCreate. */
  ifNotExists?: boolean;
}

export interface PresignOptions {
  endPoint?: string;
  /** Content-Type the server answers the presigned GET with (S3's response-content-type). */
  contentType?: string;
}

export interface ListOptions {
  /** Stop after this many objects: "is there anything under this prefix?" is a listing of
   * at most one key (one request on S3). */
  limit?: number;
}

export interface Store {
  readonly kind: "fs" | "s3";
  /** Metadata of one object, or null when it does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Whole object in memory (index files, catalog documents), or null when missing. */
  get(key: string): Promise<{ body: Buffer; info: ObjectInfo } | null>;
  /** A stream of the object's bytes (or of one range). Null when missing. Destroying the
   * stream, or aborting the signal, stops the read at the store. */
  read(key: string, range?: ReadRange, signal?: AbortSignal): Promise<Readable | null>;
  /** Write a whole object atomically: readers see the old bytes or the new ones, never part. */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<ObjectInfo>;
  /** Remove an object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with prefix, in key order (the first `limit` of them). */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListedObject>;
  /** Cheap reachability check for /readyz; throws when the store cannot be reached. */
  ping(): Promise<void>;
  /** For the fs adapter: the absolute file path of a key, so artifacts can be streamed
   * straight from disk. Undefined for remote stores. */
  localPath?(key: string): string;
  /** For the fs adapter: open an object once and learn its validators from the open
   * descriptor (one open + one fstat, no second lookup by path). The caller owns `fd` and
   * must close it (fs.close). Null when missing. */
  openFile?(key: string): Promise<{ fd: number; info: ObjectInfo } | null>;
  /** For the S3 adapter: a URL that lets its bearer GET this one object (any Range) for
   * `ttlSeconds`, signed for `endPoint` (http(s)://host[:port], the address the fetcher
   * reaches the server at; the store's own by default). No I/O: only a signature. */
  presignGet?(key: string, ttlSeconds: number, opts?: PresignOptions): Promise<string>;
  /** Whether put(key, body, {ifNotExists: true}) is atomic among writers in every process:
   * of concurrent creators of one key exactly one succeeds. Locks kept in the store rest on
   * it. The fs adapter: always (link(2) fails on an existing name). The S3 adapter: when the
   * server honours a conditional PUT (If-None-Match: *), which it probes once by creating and
   * deleting `scratchKey`. Absent: not known to be atomic. */
  exclusiveCreate?(scratchKey: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Raised by put(..., {ifNotExists}) when the key exists. */
export class StoreConflict extends Error {
  constructor(readonly key: string) {
    super(`object already exists: ${key}`);
    this.name = "StoreConflict";
  }
}

/** Raised for technical failures (network, permissions, timeouts): maps to 503. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailable";
  }
}

/** A document the gateway keeps (the catalog's) that the store returned unreadable: a
 * corruption to restore, not a refusal. Answered as an outage (503) without touching it; its
 * message names the document, never a token's hash. */
export class DocumentUnreadable extends StoreUnavailable {
  /** What is wrong, without what to do: `the stored document K is not valid JSON (...)`. */
  readonly problem: string;
  constructor(
    readonly key: string,
    parseError: unknown,
  ) {
    const shown = key.replace(/[0-9a-f]{64}/g, "<hash>");
    // where it breaks, not the parser's words, which quote the document (a hash, a password
    // hash); nor the parser's error as the cause, for the same reason
    const at = /position (\d+)/.exec(parseError instanceof Error ? parseError.message : "")?.[1];
    const problem = `the stored document ${shown} is not valid JSON${at ? ` (it breaks at character ${at})` : ""}`;
    super(`${problem}: restore it from a backup or an earlier version of the object`);
    this.problem = problem;
  }
}
