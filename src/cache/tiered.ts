// A read-through lookup over three tiers: an in-process map (fastest, trusted for `localTtl`
// seconds), the shared Cache (Redis across replicas, or memory), and the loader (the store).
// Misses are cached too ("negative" entries), so a flood of unknown keys reaches the store
// once per key and TTL. Concurrent lookups of one key share a single load.
// A generation (set by the owner when the store says its documents moved) is part of every
// shared key: changing it drops this process's entries and stops trusting every shared entry
// written before, whichever process wrote them.
import type { Cache } from "./cache.js";

export interface TierCounters {
  local: number;
  shared: number;
  loaded: number;
  sharedErrors: number;
}

interface LocalEntry<T> {
  value: T | null;
  expires: number;
}

export interface TieredLookupOptions {
  /** Namespace of this lookup's keys in the shared cache. */
  prefix: string;
  localTtlMs: () => number;
  sharedTtlSeconds: number;
  negativeTtlSeconds: number;
  /** Bound on in-process entries (oldest dropped first). */
  maxLocal?: number;
}

export class TieredLookup<T> {
  private readonly local = new Map<string, LocalEntry<T>>();
  private readonly inflight = new Map<string, Promise<T | null>>();
  private generation = "0";
  /** Bumped with the generation: a load that started before must not be remembered. */
  private epoch = 0;
  readonly counters: TierCounters = { local: 0, shared: 0, loaded: 0, sharedErrors: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly load: (key: string) => Promise<T | null>,
    private readonly opts: TieredLookupOptions,
  ) {}

  async get(key: string): Promise<T | null> {
    const hit = this.local.get(key);
    if (hit && hit.expires > Date.now()) {
      this.counters.local++;
      return hit.value;
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.fetch(key).finally(() => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  /** Start a new generation: forget every entry of this process, and key shared entries by
   * the new generation (entries of others are left to expire). No-op when unchanged. */
  setGeneration(generation: string): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.epoch++;
    this.local.clear();
    // lookups from now on must not join a load that may have read the older documents
    this.inflight.clear();
  }

  /** Drop a key from this process and the shared tier (after a write). */
  async invalidate(key: string): Promise<void> {
    this.local.delete(key);
    try {
      await this.cache.del(this.sharedKey(key));
    } catch {
      this.counters.sharedErrors++;
    }
  }

  /** Drop a key from this process only (another replica announced a change). */
  forgetLocal(key: string): void {
    this.local.delete(key);
  }

  forgetAllLocal(): void {
    this.local.clear();
  }

  private sharedKey(key: string): string {
    return `${this.opts.prefix}${this.generation}:${key}`;
  }

  private remember(key: string, value: T | null, epoch: number): void {
    if (epoch !== this.epoch) return;
    const ttl = this.opts.localTtlMs();
    if (ttl <= 0) return;
    const max = this.opts.maxLocal ?? 100_000;
    if (this.local.size >= max) {
      const oldest = this.local.keys().next().value;
      if (oldest !== undefined) this.local.delete(oldest);
    }
    this.local.set(key, { value, expires: Date.now() + ttl });
  }

  private async fetch(key: string): Promise<T | null> {
    const epoch = this.epoch;
    // an in-process Cache is no shared tier: it would only outlive the local TTL that bounds
    // how long a replica without Redis may act on a revoked token
    if (this.cache.kind === "memory") {
      this.counters.loaded++;
      const value = await this.load(key);
      this.remember(key, value, epoch);
      return value;
    }
    const sharedKey = this.sharedKey(key);
    let sharedUp = true;
    try {
      const raw = await this.cache.get(sharedKey);
      if (raw) {
        this.counters.shared++;
        const parsed = JSON.parse(raw.toString("utf8")) as { v: T | null };
        this.remember(key, parsed.v, epoch);
        return parsed.v;
      }
    } catch {
      // a broken shared cache degrades to the store, it never fails the request
      this.counters.sharedErrors++;
      sharedUp = false;
    }
    this.counters.loaded++;
    const value = await this.load(key);
    this.remember(key, value, epoch);
    // read under an older generation: it may be what the new one replaced, so it is kept
    // nowhere (its key names the old generation anyway)
    if (sharedUp && epoch === this.epoch) {
      const ttl = value === null ? this.opts.negativeTtlSeconds : this.opts.sharedTtlSeconds;
      this.cache.set(sharedKey, JSON.stringify({ v: value }), ttl).catch(() => this.counters.sharedErrors++);
    }
    return value;
  }
}
