// Computed views of index files (repodata filtered for one caller's view, compressed
// twins, rendered PyPI pages). A view is keyed by what it was computed from (the source's
// ETag and the view key), so it never goes stale: a new source gives new keys. Views are
// kept in process (bounded by bytes) and, when small enough, in the shared cache for the
// other replicas. Concurrent requests for one missing view compute it once.
//
// Small entries (a view kept as its cut list over the stored index, a rendered page) and big
// ones (a compressed view of a conda-forge subdir, ~60 MB) are kept apart, each in its own
// least-recently-used order: a few big bodies must not push out hundreds of cut lists, each of
// which costs a pass over the whole stored index to compute again.
import type { Cache } from "./cache.js";

export interface ViewCounters {
  local: number;
  shared: number;
  computed: number;
}

export interface ViewCacheOptions {
  /** Bytes of views kept in this process. */
  maxLocalBytes: number;
  /** Views larger than this are not copied to the shared cache. */
  maxSharedBytes: number;
  sharedTtlSeconds: number;
}

/** Entries up to this fraction of the budget are small; small ones share 1/8 of the budget. */
const SMALL_SHARE = 64;
const SMALL_BUDGET = 8;

/** Buffers in least-recently-used order, bounded by their total size. */
class Lru {
  readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}
  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // refresh recency
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }
  set(key: string, body: Buffer): void {
    if (body.length > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.length;
    }
    this.entries.set(key, body);
    this.bytes += body.length;
    while (this.bytes > this.maxBytes) {
      const [oldKey, oldBody] = this.entries.entries().next().value as [string, Buffer];
      this.entries.delete(oldKey);
      this.bytes -= oldBody.length;
    }
  }
}

export class ViewCache {
  private readonly small: Lru;
  private readonly big: Lru;
  private readonly smallLimit: number;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  readonly counters: ViewCounters = { local: 0, shared: 0, computed: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly opts: ViewCacheOptions,
  ) {
    const smallBytes = Math.floor(opts.maxLocalBytes / SMALL_BUDGET);
    this.smallLimit = Math.floor(opts.maxLocalBytes / SMALL_SHARE);
    this.small = new Lru(smallBytes);
    this.big = new Lru(opts.maxLocalBytes - smallBytes);
  }

  async get(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.small.get(key) ?? this.big.get(key);
    if (hit) {
      this.counters.local++;
      return hit;
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.fill(key, compute).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async fill(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    const sharedKey = `view:${key}`;
    try {
      const shared = await this.cache.get(sharedKey);
      if (shared) {
        this.counters.shared++;
        this.keep(key, shared);
        return shared;
      }
    } catch {
      // the shared tier is optional
    }
    const body = await compute();
    this.counters.computed++;
    this.keep(key, body);
    if (body.length <= this.opts.maxSharedBytes) {
      this.cache.set(sharedKey, body, this.opts.sharedTtlSeconds).catch(() => undefined);
    }
    return body;
  }

  private keep(key: string, body: Buffer): void {
    (body.length <= this.smallLimit ? this.small : this.big).set(key, body);
  }
}
