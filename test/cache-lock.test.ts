// Locks around read-modify-writes (src/cache/lock.ts): the lock kept in the store, which
// holds across processes whatever cache each has, and withDocumentLock, which picks the
// locks a store and cache can give and refuses the write when none is safe. Holders in other
// processes are real child processes (this file, run with PKGATE_LOCK_CHILD set).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FsStore } from "../src/store/fs.js";
import { S3Store } from "../src/store/s3.js";
import type { ListedObject, ListOptions, ObjectInfo, PutOptions, ReadRange, Store } from "../src/store/store.js";
import type { Readable } from "node:stream";
import { MemoryCache } from "../src/cache/memory.js";
import { RedisCache } from "../src/cache/redis.js";
import { withDocumentLock, withStoreLock } from "../src/cache/lock.js";
import { GateError } from "../src/errors.js";
import { startRedis, startS3, tempDir, type TempDir } from "./harness/services.js";

const CHILD = process.env.PKGATE_LOCK_CHILD;

if (CHILD) {
  // child mode: take the lock, say so, and hold it until killed
  const [root, prefix] = JSON.parse(CHILD) as [string, string];
  const store = new FsStore(root);
  await withStoreLock(store, prefix, async () => {
    process.stdout.write("held\n");
    await new Promise<void>((resolve) => {
      process.stdin.on("data", () => resolve());
      setInterval(() => undefined, 1000);
    });
  });
  process.stdout.write("released\n");
  process.exit(0);
} else {
  suite();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function entries(store: Store, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key.slice(prefix.length));
  return keys;
}

/** The fs store with a list() that can be held up between reading the directory and looking
 * at each name, as FsStore.list does it (readdir, then a stat per name) on a busy machine: a
 * name collected meanwhile is left out, an entry created meanwhile was never read. Before
 * looking at the names of its n-th listing (from 1) it awaits stall(n). */
class StallingStore implements Store {
  readonly kind = "fs" as const;
  private listings = 0;
  constructor(
    private readonly inner: FsStore,
    private readonly stall: (n: number) => Promise<void> | void,
  ) {}
  stat(key: string): Promise<ObjectInfo | null> {
    return this.inner.stat(key);
  }
  get(key: string): Promise<{ body: Buffer; info: ObjectInfo } | null> {
    return this.inner.get(key);
  }
  read(key: string, range?: ReadRange, signal?: AbortSignal): Promise<Readable | null> {
    return this.inner.read(key, range, signal);
  }
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, opts);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListedObject> {
    const names: string[] = [];
    for await (const o of this.inner.list(prefix, opts)) names.push(o.key);
    await this.stall(++this.listings);
    for (const key of names) {
      const info = await this.inner.stat(key);
      if (info) yield { key, ...info };
    }
  }
  exclusiveCreate(scratchKey: string): Promise<boolean> {
    return this.inner.exclusiveCreate(scratchKey);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function gate(): { open(): void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** A child process holding the store lock at `prefix` until told to let go (or killed). */
async function holderProcess(root: string, prefix: string): Promise<{ child: ChildProcess; release(): Promise<void>; output(): string }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, PKGATE_LOCK_CHILD: JSON.stringify([root, prefix]) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child never held the lock:\n${out}`)), 20_000);
    child.stdout!.on("data", () => {
      if (out.includes("held\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`the child exited (${code}):\n${out}`)));
  });
  return {
    child,
    output: () => out,
    async release() {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin!.write("go\n");
      await exited;
    },
  };
}

function suite(): void {
  describe("the lock kept in the store", () => {
    let dir: TempDir;
    let root: string;
    let store: FsStore;
    before(async () => {
      dir = await tempDir("pkgate-lock-");
      root = join(dir.path, "store");
      store = new FsStore(root);
    });
    after(() => dir.remove());

    test("concurrent holders never overlap, and no read-modify-write is lost", async () => {
      const prefix = "locks/counter/";
      await store.put("counter", Buffer.from("0"));
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 25 }, () =>
          withStoreLock(store, prefix, async (lease) => {
            most = Math.max(most, ++inside);
            const n = Number((await store.get("counter"))!.body.toString());
            await sleep(Math.random() * 4);
            lease.check();
            await store.put("counter", Buffer.from(String(n + 1)));
            inside--;
          }, { waitMs: 30_000 }),
        ),
      );
      assert.equal(most, 1, "one holder at a time");
      assert.equal((await store.get("counter"))!.body.toString(), "25");
      const left = await entries(store, prefix);
      assert.equal(left.length, 1, `old entries are collected: ${left.join(" ")}`);
      assert.match(left[0]!, /^\d{16}\.json$/);
    });

    test("a taker whose listings come back short while the lock changes hands never holds it with the holder", async () => {
      // The interleaving of a lost update seen in catalog-processes.test.ts (each step there
      // was a process starved of CPU between reading the lock's directory and looking at its
      // names): B's listing shows nothing, so B creates seq 1, which nothing lies under; B's
      // listing for higher seqs shows nothing either, because the lock changed hands during
      // it (and the new holder collected B's seq 1 as garbage). B must not believe it.
      const prefix = "locks/short/";
      await store.put("short-counter", Buffer.from("0"));
      for (let i = 0; i < 3; i++) await withStoreLock(store, prefix, async () => undefined);
      assert.deepEqual(await entries(store, prefix), ["0000000000000006.json"], "a log well past seq 1");

      let inside = 0;
      let most = 0;
      const increment = async (lease: { check(): void }, hold?: Promise<void>) => {
        most = Math.max(most, ++inside);
        const n = Number((await store.get("short-counter"))!.body.toString());
        await hold;
        lease.check();
        await store.put("short-counter", Buffer.from(String(n + 1)));
        inside--;
      };
      const holding = (started: { open(): void }, go: Promise<void>) => withStoreLock(store, prefix, async (lease) => {
        started.open();
        await increment(lease, go);
      });

      const reached = [gate(), gate(), gate()];
      const resume = [gate(), gate(), gate()];
      const slow = new StallingStore(store, (n) => {
        if (n > reached.length) return;
        reached[n - 1]!.open();
        return resume[n - 1]!.opened;
      });
      const b = withStoreLock(slow, prefix, (lease) => increment(lease), { waitMs: 20_000 });

      await reached[0]!.opened; // B has read the directory: 6 (free)
      const aHolds = gate();
      const aGo = gate();
      const a = holding(aHolds, aGo.opened);
      await aHolds.opened; // A took 7 and collected 6
      resume[0]!.open(); // B: 6 is gone and 7 was never read, so the lock looks new: B creates seq 1

      await reached[1]!.opened; // B lists, for a seq above its 1: the directory shows 1 and 7
      aGo.open();
      await a; // A released (8) and collected 7 and B's 1
      const cHolds = gate();
      const cGo = gate();
      const c = holding(cHolds, cGo.opened);
      await cHolds.opened; // C took 9 and collected 8
      resume[1]!.open(); // B: 1 and 7 are gone, 9 was never read: nothing above seq 1

      await reached[2]!.opened; // B has decided (looks again, or collects as the holder)
      resume[2]!.open();
      await sleep(200); // a B that believed it would be inside by now
      assert.equal(most, 1, "B held the lock while C did");
      cGo.open();
      await Promise.all([b, c]);
      assert.equal(most, 1, "one holder at a time");
      assert.equal((await store.get("short-counter"))!.body.toString(), "3", "no read-modify-write lost");
      const left = await entries(store, prefix);
      assert.equal(left.length, 1, `old entries are collected: ${left.join(" ")}`);
    });

    test("a holder in another process is never displaced: the waiter gives up with 503 busy", async () => {
      const prefix = "locks/live/";
      const holder = await holderProcess(root, prefix);
      try {
        const started = Date.now();
        await assert.rejects(
          withStoreLock(store, prefix, async () => assert.fail("ran while another process held the lock"), { waitMs: 800 }),
          (err: unknown) => err instanceof GateError && err.status === 503 && /busy/.test(err.message),
        );
        assert.ok(Date.now() - started >= 800);
      } finally {
        await holder.release();
      }
      assert.match(holder.output(), /released/);
      // released: taken at once
      assert.equal(await withStoreLock(store, prefix, async () => "mine", { waitMs: 2000 }), "mine");
    });

    test("a holder killed while holding (its process is gone) is taken over at once, not after its lease", async () => {
      const prefix = "locks/killed/";
      const holder = await holderProcess(root, prefix);
      const exited = new Promise((r) => holder.child.once("exit", r));
      holder.child.kill("SIGKILL");
      await exited;
      const started = Date.now();
      assert.equal(await withStoreLock(store, prefix, async () => "recovered", { waitMs: 5000 }), "recovered");
      assert.ok(Date.now() - started < 5000, "well before the 60 s lease ends");
    });

    test("a lock held from another machine is respected until its lease has run out (plus a grace period)", async () => {
      const held = (until: number) => Buffer.from(JSON.stringify({ state: "held", holder: { machine: "another-host", pid: process.pid, id: "x" }, until }));
      await store.put("locks/remote/0000000000000001.json", held(Date.now() + 60_000));
      await assert.rejects(
        withStoreLock(store, "locks/remote/", async () => assert.fail("took a live lock"), { waitMs: 300 }),
        (err: unknown) => err instanceof GateError && /busy/.test(err.message),
      );
      // lease ended, but within the grace period (clocks may differ): still respected
      await store.put("locks/remote2/0000000000000001.json", held(Date.now() - 2000));
      await assert.rejects(withStoreLock(store, "locks/remote2/", async () => undefined, { waitMs: 300 }), /busy/);
      // long over: taken over, by a new entry above it
      await store.put("locks/remote3/0000000000000001.json", held(Date.now() - 11_000));
      assert.equal(await withStoreLock(store, "locks/remote3/", async () => entries(store, "locks/remote3/"), { waitMs: 300 }).then((e) => e.join(" ")), "0000000000000002.json");
    });

    test("the lease refuses writes once the lock may have passed on", async () => {
      await assert.rejects(
        withStoreLock(store, "locks/slow/", async (lease) => {
          lease.check();
          await sleep(350);
          lease.check();
          assert.fail("a write after the lease");
        }, { ttlMs: 300 }),
        (err: unknown) => err instanceof GateError && err.status === 503 && /held too long/.test(err.message),
      );
      // and released all the same
      assert.equal(await withStoreLock(store, "locks/slow/", async () => 1, { waitMs: 500 }), 1);
    });

    test("a failing holder releases the lock", async () => {
      await assert.rejects(withStoreLock(store, "locks/throws/", async () => { throw new Error("boom"); }), /boom/);
      assert.equal(await withStoreLock(store, "locks/throws/", async () => 2, { waitMs: 500 }), 2);
    });
  });

  describe("withDocumentLock picks what is safe", () => {
    test("fs store, in-process cache: the store lock is taken too (a process with another cache is excluded)", async () => {
      const dir = await tempDir("pkgate-doclock-");
      const store = new FsStore(dir.path);
      const cache = new MemoryCache();
      try {
        const seen = await withDocumentLock({ cache, store, name: "doc:a", storePrefix: "locks/doc-a/", scratchKey: "probe" }, async () => entries(store, "locks/doc-a/"));
        assert.equal(seen.length, 1, "a store lock entry exists while the holder runs");
      } finally {
        await cache.close();
        await dir.remove();
      }
    });

    describe("S3 that ignores conditional writes (s3rver)", () => {
      let s3: Awaited<ReturnType<typeof startS3>>;
      let redis: Awaited<ReturnType<typeof startRedis>>;
      let store: S3Store;
      before(async () => {
        [s3, redis] = await Promise.all([startS3(), startRedis()]);
        store = new S3Store({ endPoint: s3.endpoint, bucket: s3.bucket, accessKey: s3.accessKey, secretKey: s3.secretKey });
      });
      after(async () => {
        await store.close();
        await s3.stop();
        await redis.stop();
      });

      test("without Redis the write is refused, saying REDIS_URL", async () => {
        const cache = new MemoryCache();
        let ran = false;
        try {
          await assert.rejects(
            withDocumentLock({ cache, store, name: "doc:b", storePrefix: "locks/doc-b/", scratchKey: "probe" }, async () => {
              ran = true;
            }),
            (err: unknown) => err instanceof GateError && err.status === 503 && /REDIS_URL/.test(err.message) && /If-None-Match/.test(err.message),
          );
          assert.equal(ran, false, "nothing ran, so nothing was written");
        } finally {
          await cache.close();
        }
      });

      test("with Redis, the Redis lock serializes writers", async () => {
        const a = new RedisCache(redis.url);
        const b = new RedisCache(redis.url);
        try {
          let inside = 0;
          let most = 0;
          await Promise.all(
            [a, b, a, b, a, b].map((cache) =>
              withDocumentLock({ cache, store, name: "doc:c", storePrefix: "locks/doc-c/", scratchKey: "probe" }, async (lease) => {
                most = Math.max(most, ++inside);
                await sleep(20);
                lease.check();
                inside--;
              }),
            ),
          );
          assert.equal(most, 1);
          assert.deepEqual(await entries(store, "locks/"), [], "no store lock on a store that cannot keep one");
        } finally {
          await a.close();
          await b.close();
        }
      });
    });
  });
}
