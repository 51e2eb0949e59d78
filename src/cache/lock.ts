// A named lock in the Cache (SET NX PX on Redis, so it holds across replicas) around a
// read-modify-write of one document in the store. The store has no compare-and-swap that
// every S3-compatible server honours, so writers of one document take this lock first.
import type { Cache } from "./cache.js";
import { GateError } from "../errors.js";

export interface LockOptions {
  /** How long the lock lives if its holder dies without releasing it. */
  ttlMs?: number;
  /** How long to wait for a lock held elsewhere before giving up. */
  waitMs?: number;
}

/**
 * Runs fn while holding `lock:<name>`. Throws GateError "unavailable" (503, retry later)
 * when the cache cannot be reached or the lock stays busy past opts.waitMs: without the
 * lock a concurrent writer could lose an update, so nothing is written.
 */
export async function withLock<T>(cache: Cache, name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const ttlMs = opts.ttlMs ?? 15_000;
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  let release: (() => Promise<void>) | null = null;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      release = await cache.tryLock(`lock:${name}`, ttlMs);
    } catch {
      throw new GateError("unavailable", "the cache is unavailable, so writes are refused to avoid lost updates; retry later", { "retry-after": "5" });
    }
    if (release) break;
    if (Date.now() > deadline) throw new GateError("unavailable", `${name} is busy, retry later`, { "retry-after": "1" });
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
