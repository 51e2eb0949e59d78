// The Cache port: everything here can be rebuilt from the store, so flushing it loses
// nothing. Adapters: memory.ts (in-process, one instance) and redis.ts (ioredis, shared by
// every replica). Implementations never throw on a miss; a broken backend throws
// CacheUnavailable so callers can fall back to the store.

export interface Cache {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Increment a counter that expires ttlSeconds after its first increment; returns the new value. */
  incr(key: string, ttlSeconds: number): Promise<number>;
  /** Take a lock (SET NX PX). Returns a release function, or null when it is held elsewhere. */
  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /** Announce to every replica (pub/sub); the local subscribers hear it too. */
  publish(channel: string, message: string): Promise<void>;
  /** Listen on a channel; returns an unsubscribe function. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class CacheUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CacheUnavailable";
  }
}
