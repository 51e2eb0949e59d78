// Locks around a read-modify-write of documents in the store, so that two writers of one
// document never both read the old version and the second write silently undoes the first.
//
// - withLock: a named lock in the Cache (SET NX PX on Redis, so it holds across the replicas
//   sharing that Redis; in-process with the memory cache).
// - withStoreLock: a named lock kept in the store itself, so it holds across every process
//   that shares the store, whatever cache each has (a gateway and a CLI run without
//   REDIS_URL on one DATA_DIR). It rests on the store's exclusive create.
// - withDocumentLock: what a writer of shared documents takes: the cache lock, then the
//   store lock where the store can keep one, else the cache lock alone when it is Redis's,
//   else nothing is written.
import { hostname } from "node:os";
import { readFileSync, readlinkSync } from "node:fs";
import { randomUUID } from "node:crypto";
import type { Cache } from "./cache.js";
import { StoreConflict, type Store } from "../store/store.js";
import { GateError } from "../errors.js";

export interface LockOptions {
  /** How long the lock lives if its holder dies without releasing it. */
  ttlMs?: number;
  /** How long to wait for a lock held elsewhere before giving up. */
  waitMs?: number;
  /** How a store lock is named in messages (its key prefix is never shown). */
  label?: string;
}

/** What a holder is given: a check to call right before each write. It throws once the lock
 * may have passed to someone else (its time is nearly up), so nothing is written then. */
export interface Lease {
  /** Epoch ms (this process's clock) at which the lock stops being ours. */
  readonly until: number;
  check(): void;
}

/**
 * Runs fn while holding `lock:<name>` in the cache. Throws GateError "unavailable" (503,
 * retry later) when the cache cannot be reached or the lock stays busy past opts.waitMs:
 * without the lock a concurrent writer could lose an update, so nothing is written.
 */
export async function withLock<T>(cache: Cache, name: string, fn: (lease: Lease) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const ttlMs = opts.ttlMs ?? 15_000;
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  let release: (() => Promise<void>) | null = null;
  let taken = 0;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    taken = Date.now();
    try {
      release = await cache.tryLock(`lock:${name}`, ttlMs);
    } catch {
      throw new GateError("unavailable", "the cache is unavailable, so writes are refused to avoid lost updates; retry later", { "retry-after": "5" });
    }
    if (release) break;
    if (Date.now() > deadline) throw busy(name);
    await sleep(wait);
  }
  try {
    return await fn(lease(name, taken + ttlMs, Math.min(5_000, ttlMs / 3)));
  } finally {
    await release().catch(() => undefined);
  }
}

// ---- the lock kept in the store ------------------------------------------------------------
//
// A store lock is a log of small immutable entries, `<prefix><seq>.json` (seq zero-padded, so
// key order is seq order). The entry with the highest seq is the lock's state: held by a
// holder until a time, or free. Every change of state (take, release, take over from a dead
// holder) is the exclusive create of the next seq, so of two processes acting on one state
// exactly one succeeds: a holder is never displaced except by someone who judged that very
// entry stale, and no delete-then-create window exists in which two could take it. Entries
// below the top are garbage and are removed by whoever writes the next one.
//
// A held entry is stale when its holder runs on this machine (same host name, boot and pid
// namespace) and its process is gone: taken over at once, as after a CLI killed mid-write.
// Otherwise only when its lease has run out by GRACE_MS more (by the waiter's clock). The
// holder checks its lease before every write (Lease.check) and stops MARGIN_MS before the
// lease ends (by its own clock): a holder that stalls writes nothing after someone else
// could have taken over, as long as the two clocks agree within MARGIN_MS + GRACE_MS.

const STORE_LEASE_MS = 60_000;
const MARGIN_MS = 20_000;
const GRACE_MS = 10_000;
const SEQ_DIGITS = 16;
const ENTRY = /^(\d{16})\.json$/;

interface Holder {
  /** Host name, boot id and pid namespace: where `pid` means this process. */
  machine: string;
  pid: number;
  /** This acquisition (one process may hold several locks, or the same one again later). */
  id: string;
}

type Entry = { state: "held"; holder: Holder; until: number } | { state: "free" };

/**
 * Runs fn while holding the lock kept in the store under `prefix` (a key prefix ending in
 * '/', used by nothing else). The store must have an exclusive create (see
 * Store.exclusiveCreate); withDocumentLock checks that. fn must finish its writes within
 * STORE_LEASE_MS - MARGIN_MS (40 s) and call lease.check() before each of them.
 */
export async function withStoreLock<T>(store: Store, prefix: string, fn: (lease: Lease) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  if (!prefix.endsWith("/")) throw new Error("a store lock's prefix ends with '/'");
  const leaseMs = opts.ttlMs ?? STORE_LEASE_MS;
  const margin = Math.min(MARGIN_MS, leaseMs / 3);
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  const holder: Holder = { machine: machineId(), pid: process.pid, id: randomUUID() };
  const label = opts.label ?? "the store lock";
  let seq = 0;
  let until = 0;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    const top = await topEntry(store, prefix);
    if (top && top.entry.state === "held" && !isStale(top.entry)) {
      if (Date.now() > deadline) throw busy(label);
      await sleep(wait);
      continue;
    }
    seq = (top?.seq ?? 0) + 1;
    until = Date.now() + leaseMs;
    try {
      await store.put(entryKey(prefix, seq), entryBody({ state: "held", holder, until }), { ifNotExists: true, contentType: "application/json" });
    } catch (err) {
      if (!(err instanceof StoreConflict)) throw err;
      if (Date.now() > deadline) throw busy(label);
      continue; // someone else moved the lock first: look again
    }
    // The create can succeed on a seq picked from a listing that was already out of date
    // when the log had moved past it and its old entries were collected: then a higher seq
    // exists, and our entry means nothing. A listing alone cannot prove that (a directory
    // read racing a holder that writes seq+1 and collects seq may see neither), so the
    // entry we built on must still be there too: it is collected only by whoever wrote a
    // higher seq than ours.
    const predecessorGone = seq > 1 && !(await store.stat(entryKey(prefix, seq - 1)));
    if (predecessorGone || (await seqsOf(store, prefix).then((all) => all.some((s) => s > seq)))) {
      await store.delete(entryKey(prefix, seq)).catch(() => undefined);
      continue;
    }
    break;
  }
  await collect(store, prefix, seq);
  try {
    return await fn(lease(label, until, margin));
  } finally {
    await releaseStoreLock(store, prefix, seq);
  }
}

async function releaseStoreLock(store: Store, prefix: string, seq: number): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await store.put(entryKey(prefix, seq + 1), entryBody({ state: "free" }), { ifNotExists: true, contentType: "application/json" });
      await collect(store, prefix, seq + 1);
      return;
    } catch (err) {
      // taken over after our lease ran out: there is nothing of ours left to release (and
      // lease.check() kept us from writing after that)
      if (err instanceof StoreConflict) return;
    }
  }
  // the store is unreachable: the entry stays held until its lease runs out
}

async function topEntry(store: Store, prefix: string): Promise<{ seq: number; entry: Entry } | null> {
  for (;;) {
    const seqs = await seqsOf(store, prefix);
    if (seqs.length === 0) return null;
    const seq = Math.max(...seqs);
    const got = await store.get(entryKey(prefix, seq));
    if (!got) continue; // superseded and collected since the listing: list again
    return { seq, entry: parseEntry(got.body) };
  }
}

async function seqsOf(store: Store, prefix: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const o of store.list(prefix)) {
    const m = ENTRY.exec(o.key.slice(prefix.length));
    if (m) seqs.push(Number(m[1]));
  }
  return seqs;
}

/** Drop the entries below `seq`; a failure only leaves garbage that the next writer drops. */
async function collect(store: Store, prefix: string, seq: number): Promise<void> {
  try {
    for (const s of await seqsOf(store, prefix)) if (s < seq) await store.delete(entryKey(prefix, s));
  } catch {
    // garbage, not state
  }
}

function entryKey(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(SEQ_DIGITS, "0")}.json`;
}

function entryBody(entry: Entry): Buffer {
  return Buffer.from(JSON.stringify(entry) + "\n");
}

function parseEntry(body: Buffer): Entry {
  try {
    const e = JSON.parse(body.toString("utf8")) as Entry;
    if (e.state === "free") return e;
    if (e.state === "held" && typeof e.until === "number" && typeof e.holder?.pid === "number" && typeof e.holder.machine === "string") return e;
  } catch {
    // fall through
  }
  // entries are written whole (put is atomic), so this is not ours: it holds nothing
  return { state: "free" };
}

function isStale(entry: Entry & { state: "held" }): boolean {
  if (entry.holder.machine === machineId() && !processAlive(entry.holder.pid)) return true;
  return Date.now() > entry.until + GRACE_MS;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is someone else's
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

let machine: string | undefined;

/** Where a pid names one process: the host name, and on Linux the boot and the pid
 * namespace (containers on one host share a boot but not a pid namespace). */
function machineId(): string {
  if (machine !== undefined) return machine;
  const parts = [hostname()];
  try {
    parts.push(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
  } catch {
    // not Linux
  }
  try {
    parts.push(readlinkSync("/proc/self/ns/pid"));
  } catch {
    // not Linux
  }
  return (machine = parts.join(" "));
}

// ---- both ---------------------------------------------------------------------------------

export interface DocumentLock {
  cache: Cache;
  store: Store;
  /** The cache lock's name ("account:acme"). */
  name: string;
  /** The store lock's key prefix, ending in '/' (".pkgate/locks/accounts/acme/"). */
  storePrefix: string;
  /** A key the store may create and delete once to learn whether it can keep locks. */
  scratchKey: string;
}

/**
 * Runs fn while no other writer of the same documents, in any process, runs: the cache lock
 * (in-process, or across the replicas of one Redis), then the store lock where the store can
 * keep one (the fs store always; S3 when the server honours If-None-Match), so that a writer
 * with another cache (a CLI without REDIS_URL) is excluded too. On an S3 server that ignores
 * conditional writes only a Redis lock serializes writers: without REDIS_URL the write is
 * refused, never done unsafely.
 */
export function withDocumentLock<T>(lock: DocumentLock, fn: (lease: Lease) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  return withLock(lock.cache, lock.name, async (cacheLease) => {
    if (await storeKeepsLocks(lock.store, lock.scratchKey)) return withStoreLock(lock.store, lock.storePrefix, fn, { waitMs: opts.waitMs, label: lock.name });
    if (lock.cache.kind === "redis") return fn(cacheLease);
    throw new GateError(
      "unavailable",
      "this change is refused: the S3 server ignores conditional writes (If-None-Match), so only a lock in a shared Redis keeps concurrent writers (gateways, the pkgate CLI) from undoing each other's changes, and REDIS_URL is not set; set REDIS_URL to the deployment's Redis and retry",
    );
  }, opts);
}

/** Whether the store can keep a lock (its create-only put is atomic across processes). */
export async function storeKeepsLocks(store: Store, scratchKey: string): Promise<boolean> {
  if (store.exclusiveCreate) return store.exclusiveCreate(scratchKey);
  return store.kind === "fs";
}

// ---- plumbing -----------------------------------------------------------------------------

function lease(name: string, until: number, margin: number): Lease {
  return {
    until,
    check() {
      if (Date.now() > until - margin) {
        throw new GateError("unavailable", `the write lock ${name} was held too long (the store is slow?); nothing more was written, retry`, { "retry-after": "1" });
      }
    },
  };
}

function busy(name: string): GateError {
  return new GateError("unavailable", `${name} is busy, retry later`, { "retry-after": "1" });
}

function sleep(ms: number): Promise<void> {
  // jitter, so that waiters polling one lock do not move in step
  return new Promise((r) => setTimeout(r, ms + Math.random() * ms));
}
