// Wiring: the configured Store and Cache, and the catalog over them. Shared by the
// gateway process and the command line, so both act on the same data. The S3 and Redis
// clients are loaded only when configured: a CLI run on a directory store starts without them.
import type { Config } from "./config.js";
import type { Store } from "./store/store.js";
import type { Cache } from "./cache/cache.js";
import { FsStore } from "./store/fs.js";
import { MemoryCache } from "./cache/memory.js";
import { Catalog } from "./access/catalog.js";
import { GateError } from "./errors.js";
import { errnoOf } from "./errno.js";

export interface Runtime {
  config: Config;
  store: Store;
  cache: Cache;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function createRuntime(config: Config): Promise<Runtime> {
  let store: Store;
  if (config.s3) {
    const { S3Store } = await import("./store/s3.js");
    const s3 = new S3Store({
      endPoint: config.s3.endpoint,
      bucket: config.s3.bucket,
      accessKey: config.s3.accessKey,
      secretKey: config.s3.secretKey,
      region: config.s3.region,
    });
    try {
      await s3.ensureBucket();
    } catch {
      // the gateway starts anyway and answers 503 until the store is reachable (/readyz says so)
    }
    store = s3;
  } else {
    const fs = new FsStore(config.dataDir);
    try {
      await fs.ensureRoot();
    } catch (err) {
      throw new GateError("bad_config", `DATA_DIR ${config.dataDir} cannot be created (${whyNot(err)}): create it, or set DATA_DIR to a directory this user may write`);
    }
    store = fs;
  }
  const cache: Cache = config.redisUrl
    ? new (await import("./cache/redis.js")).RedisCache(config.redisUrl, config.redisSentinels ? { sentinels: config.redisSentinels, sentinelName: config.redisSentinelName } : {})
    : new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: config.tokenCacheTtl });
  return {
    config,
    store,
    cache,
    catalog,
    async close() {
      await catalog.close().catch(() => undefined);
      await cache.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };
}

/** A file-system error in words: why a directory could not be made (for mkdir -p, EEXIST
 * means a file stands at the path itself, as ENOTDIR means one stands above it). */
function whyNot(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return errnoOf(code === "EEXIST" ? { code: "ENOTDIR" } : err)?.words ?? code ?? (err instanceof Error ? err.message : String(err));
}
