// A whole gateway in this process, without a socket, Redis or S3: createApp wired as
// server.ts wires it, over a store the caller gives (an FsStore in a temp directory), with
// an in-process cache, fresh caches of every tier, and a silent logger. Requests go in with
// `app.request()`. The store is wrapped so that a test can say how much store work a
// request cost, per kind of call, split into catalog documents and channel content.
import { Writable } from "node:stream";
import type { Store } from "../../src/store/store.js";
import { createApp } from "../../src/app.js";
import { Catalog, CATALOG_PREFIX } from "../../src/access/catalog.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { ViewCache } from "../../src/cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "../../src/http/objects.js";
import { Metrics } from "../../src/metrics.js";
import { createLogger } from "../../src/log.js";
import { loadConfig } from "../../src/config.js";
import { appDeps } from "../../src/server.js";

/** Store calls by kind: `stat:content`, `openFile:content`, `get:catalog`, `list:content`… */
export type StoreWork = Record<string, number>;

/** The store, with every method call counted (optional methods included, and any a later
 * Store gains): the count goes by the method's name and whether its first argument is a
 * catalog key. */
export function countingStore(inner: Store): { store: Store; take(): StoreWork } {
  let work: StoreWork = {};
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string" || prop === "constructor") return value;
      return (...args: unknown[]) => {
        const first = args[0];
        const area = typeof first === "string" ? (first.startsWith(CATALOG_PREFIX) ? "catalog" : "content") : "-";
        const k = `${prop}:${area}`;
        work[k] = (work[k] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    take() {
      const taken = work;
      work = {};
      return Object.fromEntries(Object.entries(taken).sort(([a], [b]) => a.localeCompare(b)));
    },
  };
}

export interface InProcessGateway {
  app: ReturnType<typeof createApp>;
  /** The store work done since the last take(). */
  work(): StoreWork;
  close(): Promise<void>;
}

const silent = () => createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() }));

/** A gateway over `inner` with every cache empty: what a replica that just started costs. */
export function inProcessGateway(inner: Store, opts: { signup?: "open" | "admin" } = {}): InProcessGateway {
  const counted = countingStore(inner);
  const store = counted.store;
  const cache = new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: 60 });
  const views = new ViewCache(cache, { maxLocalBytes: 16 * 1024 * 1024, maxSharedBytes: 1024 * 1024, sharedTtlSeconds: 3600 });
  // validators trusted for a minute rather than a second, so "warm" means the same on a slow machine
  const objects = new ObjectSource(store, { ...DEFAULT_HOT, revalidateMs: 60_000 });
  // the gateway's own wiring (src/server.ts appDeps), over the counted store
  const config = loadConfig({ SIGNUP: opts.signup ?? "admin", AUTH_FAILURE_LIMIT: "1000", SIGNUP_LIMIT: "1000" });
  const app = createApp(appDeps({ store, cache, catalog, objects, views, logger: silent(), metrics: new Metrics() }, config));
  return {
    app,
    work: () => counted.take(),
    async close() {
      await catalog.close();
      await cache.close();
    },
  };
}
