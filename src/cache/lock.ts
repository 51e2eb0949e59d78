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
//
// Listings are only hints. A listing is not a picture of one instant: on the fs store it is a
// readdir followed by a stat of each name, and an entry that was the top when the directory
// was read can be collected before its stat while the next top was created after the read.
// So while the lock changes hands a listing can show a lower top than the real one, or
// nothing at all. And a seq, once collected, can be created again (the create is exclusive
// only among entries that exist). So a create that succeeds proves nothing by itself: a taker
// that listed an out-of-date top creates a seq the log has left behind, and one that listed
// nothing creates seq 1. What makes an entry ours, and a take a take (see take()):
//
//  1. Built on the entry that is still there: the entry below ours (seq - 1) still has the
//     very bytes we read and judged free or stale (every entry carries a random id, so an
//     entry made again under the same seq by someone else does not pass for it). Entries are
//     collected only by whoever wrote a higher seq, so the log has not moved past it.
//  2. Nothing above: a listing made after our create shows no higher seq.
//  3. Still ours after that listing: our entry is still there, with our bytes. This is what
//     makes a listing that came back short harmless. Say a higher entry existed when the
//     listing began and the listing missed it: then the highest one was collected before the
//     listing ended, by someone who created a still higher seq after the listing began and
//     then listed the log to collect below it. That listing saw our entry (it existed from
//     our create to this check), and collection goes up from the lowest seq and stops at the
//     first failure, so ours was deleted first. Our entry still being ours afterwards
//     therefore proves the listing missed nothing above us. Seq 1 (a listing that showed no
//     entry: a new lock, or a short listing of a busy one) has no entry below it to check,
//     and rests on 2 and 3 alone.
//
// An earlier version had 1 without the byte comparison and 2 without 3: on a busy machine a
// taker's listing came back empty while the lock changed hands, it created seq 1 (no check
// below), its entry was collected by the real holder as garbage, its second listing came back
// empty the same way, and it wrote the account while that holder did (a lost update in
// test/integration/catalog-processes.test.ts, 1 run in 4 to 8 on a loaded 2-core machine).
//
// A taker that backs off withdraws its entry only while it is still its own (checked just
// before the delete): once collected, the same seq may be someone else's by then.

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

/** `id` on a free entry: its own, so that a free entry written again under the same seq is
 * not taken for the one a taker read (entries written before it was added have none). */
type Entry = { state: "held"; holder: Holder; until: number } | { state: "free"; id?: string };

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
  let mine: Buffer = Buffer.alloc(0);
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    const top = await topEntry(store, prefix);
    if (top && top.entry.state === "held" && !isStale(top.entry)) {
      if (Date.now() > deadline) throw busy(label);
      await sleep(wait);
      continue;
    }
    seq = (top?.seq ?? 0) + 1;
    until = Date.now() + leaseMs;
    mine = entryBody({ state: "held", holder, until });
    if (await take(store, prefix, seq, mine, top?.body ?? null)) break;
    // someone else moved the lock first, or our listing was out of date: look again
    if (Date.now() > deadline) throw busy(label);
  }
  await collect(store, prefix, seq);
  try {
    return await fn(lease(label, until, margin));
  } finally {
    await releaseStoreLock(store, prefix, seq, mine);
  }
}

/** Creates entry `seq` (`body`) on top of the entry below it, whose bytes were read as
 * `below` (null: no entry was listed, so this is seq 1). True when the lock is ours; false
 * when it is not, and then our entry is withdrawn. See the comment above (1, 2, 3). */
async function take(store: Store, prefix: string, seq: number, body: Buffer, below: Buffer | null): Promise<boolean> {
  const key = entryKey(prefix, seq);
  try {
    await store.put(key, body, { ifNotExists: true, contentType: "application/json" });
  } catch (err) {
    if (err instanceof StoreConflict) return false;
    throw err;
  }
  let ours: boolean;
  try {
    ours =
      (below === null || (await holds(store, entryKey(prefix, seq - 1), below))) && // 1
      !(await seqsOf(store, prefix)).some((s) => s > seq) && // 2
      (await holds(store, key, body)); // 3
  } catch (err) {
    await withdraw(store, key, body);
    throw err;
  }
  if (!ours) await withdraw(store, key, body);
  return ours;
}

async function releaseStoreLock(store: Store, prefix: string, seq: number, mine: Buffer): Promise<void> {
  const next = entryKey(prefix, seq + 1);
  const free = entryBody({ state: "free", id: randomUUID() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await store.put(next, free, { ifNotExists: true, contentType: "application/json" });
    } catch (err) {
      // taken over after our lease ran out: there is nothing of ours left to release (and
      // lease.check() kept us from writing after that)
      if (err instanceof StoreConflict) return;
      continue;
    }
    try {
      // Our held entry gone (collected: the lock was taken over after our lease ran out and
      // has moved on since): this free entry would stand on nothing, take it back.
      if (!(await holds(store, entryKey(prefix, seq), mine))) return await withdraw(store, next, free);
      await collect(store, prefix, seq + 1);
    } catch {
      // the free entry stands; collecting is left to the next writer
    }
    return;
  }
  // the store is unreachable: the entry stays held until its lease runs out
}

/** Whether `key` holds exactly `body`. */
async function holds(store: Store, key: string, body: Buffer): Promise<boolean> {
  const got = await store.get(key);
  return got !== null && got.body.equals(body);
}

/** Delete our entry `key`, unless it is no longer ours (collected, and made again by someone
 * else). Best effort: a failure leaves an entry that someone else will collect, or that is
 * judged stale. */
async function withdraw(store: Store, key: string, body: Buffer): Promise<void> {
  try {
    if (await holds(store, key, body)) await store.delete(key);
  } catch {
    // see above
  }
}

async function topEntry(store: Store, prefix: string): Promise<{ seq: number; entry: Entry; body: Buffer } | null> {
  for (;;) {
    const seqs = await seqsOf(store, prefix);
    if (seqs.length === 0) return null;
    const seq = Math.max(...seqs);
    const got = await store.get(entryKey(prefix, seq));
    if (!got) continue; // superseded and collected since the listing: list again
    return { seq, entry: parseEntry(got.body), body: got.body };
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

/** Drop the entries below `seq`, lowest first, stopping at the first failure: an entry is
 * never gone while one below it that this listing saw is still there (take() check 3 rests
 * on that). A failure only leaves garbage that the next writer drops. */
async function collect(store: Store, prefix: string, seq: number): Promise<void> {
  try {
    const below = (await seqsOf(store, prefix)).filter((s) => s < seq).sort((a, b) => a - b);
    for (const s of below) await store.delete(entryKey(prefix, s));
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
