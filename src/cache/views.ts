// Computed views of index files (repodata filtered for one caller's view, compressed
// twins, rendered PyPI pages). A view is keyed by what it was computed from (the source's
// ETag and the view key), so it never goes stale: a new source gives new keys. Views are
// kept in process (bounded by bytes) and, when small enough, in the shared cache for the
// other replicas. Concurrent requests for one missing view compute it once.
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

export class ViewCache {
  private readonly local = new Map<string, Buffer>();
  private localBytes = 0;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  readonly counters: ViewCounters = { local: 0, shared: 0, computed: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly opts: ViewCacheOptions,
  ) {}

  async get(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.local.get(key);
    if (hit) {
      // refresh recency
      this.local.delete(key);
      this.local.set(key, hit);
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
    if (body.length > this.opts.maxLocalBytes) return;
    this.local.set(key, body);
    this.localBytes += body.length;
    while (this.localBytes > this.opts.maxLocalBytes) {
      const [oldKey, oldBody] = this.local.entries().next().value as [string, Buffer];
      this.local.delete(oldKey);
      this.localBytes -= oldBody.length;
    }
  }
}
