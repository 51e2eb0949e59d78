// The in-process Cache: used when no REDIS_URL is configured, i.e. a single replica. It keeps
// Redis's semantics (one keyspace for values, counters and locks; expiry per key; pub/sub
// delivered asynchronously) so code tested against it behaves the same against Redis. Memory
// is bounded by bytes, least recently used entries leaving first.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import type { Cache } from "./cache.js";

export interface MemoryCacheOptions {
  /** Upper bound of keys plus values held, in bytes (default 256 MiB). */
  maxBytes?: number;
  /** Clock, for tests that move time. */
  now?: () => number;
}

interface Entry {
  value: Buffer;
  /** Epoch ms after which the entry is gone. */
  expires: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** How often expired entries are swept even if nobody reads them. */
const SWEEP_MS = 30_000;

export class MemoryCache implements Cache {
  readonly kind = "memory" as const;
  /** Map order is recency order: a hit moves its entry to the end, eviction takes the front. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly bus = new EventEmitter();
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: MemoryCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.now = opts.now ?? Date.now;
    this.bus.setMaxListeners(0);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Bytes currently held (keys and values). */
  get size(): number {
    return this.bytes;
  }

  async get(key: string): Promise<Buffer | null> {
    const e = this.live(key);
    if (!e) return null;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  async set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void> {
    const ms = ttlMs(ttlSeconds * 1000);
    // A copy: the caller may reuse its buffer, and a cache must not change under it.
    this.store(key, Buffer.from(value), this.now() + ms);
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.drop(k);
  }

  async incr(key: string, ttlSeconds: number): Promise<number> {
    const ms = ttlMs(ttlSeconds * 1000);
    const e = this.live(key);
    if (!e) {
      this.store(key, Buffer.from("1"), this.now() + ms);
      return 1;
    }
    const text = e.value.toString();
    if (!/^-?\d+$/.test(text)) throw new Error("value is not an integer");
    const n = Number(text) + 1;
    // Like INCR: the count grows, the expiry set by the first increment stays.
    this.store(key, Buffer.from(String(n)), e.expires);
    return n;
  }

  async tryLock(key: string, ttl: number): Promise<(() => Promise<void>) | null> {
    const ms = ttlMs(ttl);
    if (this.live(key)) return null;
    const token = randomBytes(16);
    this.store(key, token, this.now() + ms);
    return async () => {
      // Only the holder's own lock: after expiry someone else may hold the key.
      const e = this.live(key);
      if (e && e.value.equals(token)) this.drop(key);
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    // Asynchronous like a Redis round trip, so no subscriber runs inside the publisher.
    setImmediate(() => this.bus.emit(channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const listener = (message: string) => {
      try {
        onMessage(message);
      } catch {
        // one subscriber's failure is not the publisher's nor the other subscribers'
      }
    };
    this.bus.on(channel, listener);
    return async () => {
      this.bus.off(channel, listener);
    };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.bus.removeAllListeners();
    this.entries.clear();
    this.bytes = 0;
  }

  private live(key: string): Entry | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.expires <= this.now()) {
      this.drop(key);
      return null;
    }
    return e;
  }

  private store(key: string, value: Buffer, expires: number): void {
    this.drop(key);
    const cost = weigh(key, value);
    if (cost > this.maxBytes) return; // would evict everything and still not fit
    this.entries.set(key, { value, expires });
    this.bytes += cost;
    for (const [k] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(k);
    }
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= weigh(key, e.value);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.drop(k);
  }
}

function weigh(key: string, value: Buffer): number {
  return Buffer.byteLength(key) + value.length;
}

/** A positive whole number of milliseconds, as Redis's PX requires. */
function ttlMs(ms: number): number {
  const whole = Math.ceil(ms);
  if (!Number.isFinite(whole) || whole <= 0) throw new RangeError(`ttl must be positive, got ${ms} ms`);
  return whole;
}
