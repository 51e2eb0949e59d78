// Counting wrappers around the Store and Cache ports, so a benchmark can say how many store
// reads and cache round trips a request cost without any counter in the gateway itself.
// Store operations are counted per kind and split into catalog documents (`.pkgate/`) and
// channel content; each Cache call is one round trip when the Cache is Redis.
import type { Readable } from "node:stream";
import type { Store, ObjectInfo, PutOptions, ReadRange, ListedObject } from "../../src/store/store.js";
import type { Cache } from "../../src/cache/cache.js";
import { CATALOG_PREFIX } from "../../src/access/catalog.js";

export interface StoreCounts {
  stat: number;
  get: number;
  read: number;
  put: number;
  delete: number;
  list: number;
  /** get/stat/read of catalog documents: what token and account lookups cost. */
  catalogReads: number;
  /** get/stat/read of channel content (index files, artifacts). */
  contentReads: number;
  /** How often each key was read with get(), for "computed once" checks. */
  getsByKey: Map<string, number>;
}

export function emptyStoreCounts(): StoreCounts {
  return { stat: 0, get: 0, read: 0, put: 0, delete: 0, list: 0, catalogReads: 0, contentReads: 0, getsByKey: new Map() };
}

export class CountingStore implements Store {
  counts: StoreCounts = emptyStoreCounts();
  readonly localPath?: (key: string) => string;
  /** Present exactly when the wrapped store has it, so the gateway takes the same path as
   * in production (the fs store's open + fstat + fd streaming). */
  readonly openFile?: Store["openFile"];
  /** Present exactly when the wrapped store has it (DOWNLOAD_MODE redirect and accel on S3);
   * a signature, no store work, so not counted. */
  readonly presignGet?: Store["presignGet"];

  constructor(private readonly inner: Store) {
    if (inner.localPath) this.localPath = (key) => inner.localPath!(key);
    if (inner.presignGet) this.presignGet = (key, ttl, opts) => inner.presignGet!(key, ttl, opts);
    if (inner.openFile) {
      this.openFile = (key) => {
        this.counts.read++;
        this.read_(key);
        return inner.openFile!(key);
      };
    }
  }

  get kind() {
    return this.inner.kind;
  }

  reset(): StoreCounts {
    const old = this.counts;
    this.counts = emptyStoreCounts();
    return old;
  }

  private read_(key: string): void {
    if (key.startsWith(CATALOG_PREFIX)) this.counts.catalogReads++;
    else this.counts.contentReads++;
  }

  stat(key: string): Promise<ObjectInfo | null> {
    this.counts.stat++;
    this.read_(key);
    return this.inner.stat(key);
  }

  get(key: string): Promise<{ body: Buffer; info: ObjectInfo } | null> {
    this.counts.get++;
    this.read_(key);
    this.counts.getsByKey.set(key, (this.counts.getsByKey.get(key) ?? 0) + 1);
    return this.inner.get(key);
  }

  read(key: string, range?: ReadRange, signal?: AbortSignal): Promise<Readable | null> {
    this.counts.read++;
    this.read_(key);
    return this.inner.read(key, range, signal);
  }

  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<ObjectInfo> {
    this.counts.put++;
    return this.inner.put(key, body, opts);
  }

  delete(key: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key);
  }

  list(prefix: string): AsyncIterable<ListedObject> {
    this.counts.list++;
    return this.inner.list(prefix);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface CacheCounts {
  get: number;
  set: number;
  del: number;
  incr: number;
  tryLock: number;
  publish: number;
  /** Every call above: one round trip each when the Cache is Redis. */
  roundTrips: number;
}

export function emptyCacheCounts(): CacheCounts {
  return { get: 0, set: 0, del: 0, incr: 0, tryLock: 0, publish: 0, roundTrips: 0 };
}

export class CountingCache implements Cache {
  counts: CacheCounts = emptyCacheCounts();

  constructor(private readonly inner: Cache) {}

  get kind() {
    return this.inner.kind;
  }

  reset(): CacheCounts {
    const old = this.counts;
    this.counts = emptyCacheCounts();
    return old;
  }

  private count(op: Exclude<keyof CacheCounts, "roundTrips">): void {
    this.counts[op]++;
    this.counts.roundTrips++;
  }

  get(key: string): Promise<Buffer | null> {
    this.count("get");
    return this.inner.get(key);
  }

  set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void> {
    this.count("set");
    return this.inner.set(key, value, ttlSeconds);
  }

  del(...keys: string[]): Promise<void> {
    this.count("del");
    return this.inner.del(...keys);
  }

  incr(key: string, ttlSeconds: number): Promise<number> {
    this.count("incr");
    return this.inner.incr(key, ttlSeconds);
  }

  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    this.count("tryLock");
    return this.inner.tryLock(key, ttlMs);
  }

  publish(channel: string, message: string): Promise<void> {
    this.count("publish");
    return this.inner.publish(channel, message);
  }

  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    return this.inner.subscribe(channel, onMessage);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
