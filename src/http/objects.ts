// Stored objects as response bodies, with a small in-process cache of hot small objects
// (index files, small artifacts, shards): on this path the cost that dominates is the
// syscalls of open/fstat/read/close (or an S3 HEAD), not the bytes. A cached object is
// re-validated against the store at most once per `revalidateMs`, so a replaced file is
// served within that time; bigger objects are opened (or streamed from S3) every time.
import { read as fsRead, close as fsClose } from "node:fs";
import type { ObjectInfo, Store } from "../store/store.js";
import type { Body } from "./send.js";

export interface HotOptions {
  /** How long a cached object's validators are trusted before the store is asked again. */
  revalidateMs: number;
  /** Total bytes of cached object bodies. */
  maxBytes: number;
  /** Objects larger than this are never cached. */
  maxObjectBytes: number;
}

interface Entry {
  info: ObjectInfo;
  /** Absent for objects too big to keep: only their validators are remembered. */
  buffer?: Buffer;
  checkedAt: number;
}

export const DEFAULT_HOT: HotOptions = { revalidateMs: 1000, maxBytes: 64 * 1024 * 1024, maxObjectBytes: 256 * 1024 };

export class ObjectSource {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  readonly counters = { hits: 0, misses: 0 };

  constructor(
    readonly store: Store,
    private readonly opts: HotOptions = DEFAULT_HOT,
  ) {}

  /** Validators of an object (cached like bodies), or null when it does not exist. */
  async stat(key: string, now = Date.now()): Promise<ObjectInfo | null> {
    const e = this.fresh(key, now);
    if (e) return e.info;
    const info = await this.store.stat(key);
    if (!info) {
      this.drop(key);
      return null;
    }
    // an unchanged object keeps its cached body
    const old = this.entries.get(key);
    this.keep(key, { info, checkedAt: now, buffer: old?.info.etag === info.etag ? old.buffer : undefined });
    return info;
  }

  /** The object as a body, or null when it does not exist. */
  async body(key: string, now = Date.now()): Promise<Body | null> {
    const e = this.fresh(key, now);
    if (e?.buffer) {
      this.counters.hits++;
      return { kind: "buffer", info: e.info, buffer: e.buffer };
    }
    this.counters.misses++;
    const { store } = this;
    if (store.openFile) {
      const f = await store.openFile(key);
      if (!f) {
        this.drop(key);
        return null;
      }
      if (f.info.size > this.opts.maxObjectBytes) {
        this.keep(key, { info: f.info, checkedAt: now });
        return { kind: "file", info: f.info, fd: f.fd };
      }
      let buffer: Buffer;
      try {
        buffer = await readFully(f.fd, f.info.size, 0);
      } finally {
        fsClose(f.fd, () => undefined);
      }
      this.keep(key, { info: f.info, buffer, checkedAt: now });
      return { kind: "buffer", info: f.info, buffer };
    }
    const info = await store.stat(key);
    if (!info) {
      this.drop(key);
      return null;
    }
    if (info.size <= this.opts.maxObjectBytes) {
      const got = await store.get(key);
      if (!got) return null;
      this.keep(key, { info: got.info, buffer: got.body, checkedAt: now });
      return { kind: "buffer", info: got.info, buffer: got.body };
    }
    this.keep(key, { info, checkedAt: now });
    return { kind: "stream", info, open: (range, signal) => store.read(key, range, signal) };
  }

  /**
   * The store work a request for a missing object costs, and nothing else: what a door does
   * for an object the caller may not see, so that hidden and missing cannot be told apart by
   * time or by the store's load. Never answered from memory (missing objects never are), and
   * never reads or keeps the body. `conditional`: the request carries If-None-Match or
   * If-Modified-Since (a missing object then costs a stat, else an open).
   */
  async probe(key: string, conditional: boolean): Promise<void> {
    const { store } = this;
    if (!conditional && store.openFile) {
      const f = await store.openFile(key);
      if (f) fsClose(f.fd, () => undefined);
      return;
    }
    await store.stat(key);
  }

  private fresh(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    return e && now - e.checkedAt < this.opts.revalidateMs ? e : undefined;
  }

  private drop(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.bytes -= old.buffer?.length ?? 0;
    this.entries.delete(key);
  }

  private keep(key: string, e: Entry): void {
    this.drop(key);
    if (this.opts.revalidateMs <= 0) return;
    this.entries.set(key, e);
    this.bytes += e.buffer?.length ?? 0;
    // oldest first; entries without bodies are cheap but still bounded by count
    while (this.bytes > this.opts.maxBytes || this.entries.size > 100_000) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }
}

/** Read `length` bytes at `position` of an open file into one buffer. */
export function readFully(fd: number, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      if (done >= length) return resolve(buf);
      fsRead(fd, buf, done, length - done, position + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new Error("file shrank while being read"));
        step(done + n);
      });
    };
    step(0);
  });
}
