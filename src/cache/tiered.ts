// A read-through lookup over three tiers: an in-process map (fastest, trusted for `localTtl`
// seconds), the shared Cache (Redis across replicas, or memory), and the loader (the store).
// Misses are cached too ("negative" entries), so a flood of unknown keys reaches the store
// once per key and TTL. Concurrent lookups of one key share a single load.
// A generation (set by the owner when the store says its documents moved) is part of every
// shared key: changing it drops this process's entries and stops trusting every shared entry
// written before, whichever process wrote them.
// A caller may guard the store load (the one step that costs): a LoadGuard is asked right
// before a key that no tier holds is read from the store, may refuse that read, and hears
// what it found. A hit in any tier never reaches the guard.
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

/** Asked right before a store load of a key no tier holds (only by the caller that starts
 * the load; concurrent callers of the key share it). Throwing refuses the load: the caller
 * gets the error, and callers that joined it ask their own guards. The function it returns,
 * if any, is told what the load found. */
export interface LoadGuard<T> {
  beforeLoad(key: string): Promise<((value: T | null) => void) | void>;
}

interface Inflight<T> {
  promise: Promise<T | null>;
  /** The load was refused by the guard of the caller that started it. */
  refused: boolean;
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
  private readonly inflight = new Map<string, Inflight<T>>();
  private generation = "0";
  /** Bumped with the generation: a load that started before must not be remembered. */
  private epoch = 0;
  readonly counters: TierCounters = { local: 0, shared: 0, loaded: 0, sharedErrors: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly load: (key: string) => Promise<T | null>,
    private readonly opts: TieredLookupOptions,
  ) {}

  async get(key: string, guard?: LoadGuard<T>): Promise<T | null> {
    const hit = this.local.get(key);
    if (hit && hit.expires > Date.now()) {
      this.counters.local++;
      return hit.value;
    }
    for (let running = this.inflight.get(key); running; running = this.inflight.get(key)) {
      try {
        return await running.promise;
      } catch (err) {
        // refused to the caller that started it, by its guard: not an answer for this one
        if (!running.refused) throw err;
      }
    }
    const entry: Inflight<T> = { promise: Promise.resolve(null), refused: false };
    const p = this.fetch(key, guard, entry).finally(() => {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    });
    entry.promise = p;
    this.inflight.set(key, entry);
    return p;
  }

  /** Put a value just written to the store into this process and the shared tier, so that
   * every replica sharing the cache finds it without a store load. */
  async prime(key: string, value: T): Promise<void> {
    this.remember(key, value, this.epoch);
    if (this.cache.kind === "memory") return;
    try {
      await this.cache.set(this.sharedKey(key), JSON.stringify({ v: value }), this.opts.sharedTtlSeconds);
    } catch {
      this.counters.sharedErrors++;
    }
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

  /** The store load, after the guard (if any) let it happen. */
  private async loadGuarded(key: string, guard: LoadGuard<T> | undefined, entry: Inflight<T>): Promise<T | null> {
    let found: ((value: T | null) => void) | void = undefined;
    if (guard) {
      try {
        found = await guard.beforeLoad(key);
      } catch (err) {
        entry.refused = true;
        throw err;
      }
    }
    this.counters.loaded++;
    const value = await this.load(key);
    found?.(value);
    return value;
  }

  private async fetch(key: string, guard: LoadGuard<T> | undefined, entry: Inflight<T>): Promise<T | null> {
    const epoch = this.epoch;
    // an in-process Cache is no shared tier: it would only outlive the local TTL that bounds
    // how long a replica without Redis may act on a revoked token
    if (this.cache.kind === "memory") {
      const value = await this.loadGuarded(key, guard, entry);
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
    const value = await this.loadGuarded(key, guard, entry);
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
