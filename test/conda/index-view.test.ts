// Views of stored index files computed in the worker pool and kept as cut lists (index-view.ts):
// each view's bytes, as streamed from the store under its cut list, whole or by range, are exactly
// what filterRepodata gives in process, with the sha256 of those bytes as the ETag; compressed
// views decompress to the same; a replaced object is never cut with another version's list.
// Against the fs store and a real S3 server (s3rver).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { computeView, decodeView, encodeView, keptRanges, openStored, StaleIndex, shardOwnersOf, type IndexView } from "../../src/conda/index-view.js";
import { filterRepodata, assembleView, indexCuts, mapIndex, repodataMembers } from "../../src/conda/repodata.js";
import { filterChanneldata } from "../../src/conda/channeldata.js";
import { filterShardIndex, shardOwners } from "../../src/conda/shards.js";
import { zstdCompress, zstdDecompress, zstdCompressAsync, zstdDecompressAsync } from "../../src/conda/compress.js";
import { WorkerPool, WORKER_NICE } from "../../src/workers/pool.js";
import { FsStore } from "../../src/store/fs.js";
import { S3Store } from "../../src/store/s3.js";
import { generateRepodataSet, generateShardIndex } from "./generate.js";
import { startS3, tempDir, type S3Service, type TempDir } from "../harness/services.js";

const tag = (b: Uint8Array) => createHash("sha256").update(b).digest("hex").slice(0, 32);

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("keptRanges: bytes [from, to] of a view → ranges of the stored object", () => {
  // stored 0..19, cuts [3,5) and [10,15): the view is 0-2, 5-9, 15-19 (13 bytes)
  const cuts = [3, 5, 10, 15];
  const table: [number, number, number[]][] = [
    [0, 12, [0, 3, 5, 10, 15, 20]],
    [0, 0, [0, 1]],
    [2, 3, [2, 3, 5, 6]],
    [3, 7, [5, 10]],
    [8, 12, [15, 20]],
    [12, 12, [19, 20]],
    [7, 8, [9, 10, 15, 16]],
  ];
  for (const [from, to, want] of table) {
    test(`[${from}, ${to}] → ${JSON.stringify(want)}`, () => assert.deepEqual(keptRanges(20, cuts, from, to), want));
  }
  test("no cuts", () => assert.deepEqual(keptRanges(20, [], 4, 9), [4, 10]));
  test("a cut at the very start and the very end", () => assert.deepEqual(keptRanges(20, [0, 2, 18, 20], 0, 15), [2, 18]));
});

describe("encodeView / decodeView", () => {
  const views: IndexView[] = [
    { kind: "pass" },
    { kind: "none" },
    { kind: "cuts", tag: "a".repeat(32), size: 1234, cuts: new Float64Array([1, 5, 7, 2 ** 40]) },
    { kind: "bytes", tag: "b".repeat(32), body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2]) },
  ];
  for (const v of views) test(v.kind, () => assert.deepEqual(decodeView(encodeView(v)), v));
});

describe("index views over a store", () => {
  const g = generateRepodataSet({ records: 3000, privateEvery: 7, subdir: "linux-64" });
  const hidden = new Set(g.privateNames);
  const visible = (n: string) => !hidden.has(n);
  const onlyOne = [...g.names].find((n) => !hidden.has(n))!;
  const other = generateRepodataSet({ records: 800, privateEvery: 3, subdir: "osx-64" });
  const channeldata = Buffer.from(JSON.stringify({ channeldata_version: 1, packages: Object.fromEntries(g.names.map((n) => [n, { version: "1" }])), subdirs: ["linux-64"] }, null, 1));
  const shards = generateShardIndex(g.names);
  let dir: TempDir;
  let s3: S3Service;
  let fs: FsStore;
  let s3store: S3Store;
  let workers: WorkerPool;

  before(async () => {
    dir = await tempDir("pkgate-index-view-");
    fs = new FsStore(dir.path);
    s3 = await startS3();
    s3store = new S3Store({ endPoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, bucket: s3.bucket });
    workers = new WorkerPool({ size: 2, maxQueued: 16 });
    for (const store of [fs, s3store]) {
      await store.put("c/linux-64/repodata.json", g.json);
      await store.put("c/linux-64/repodata.json.zst", zstdCompress(g.json));
      await store.put("c/channeldata.json", channeldata);
      await store.put("c/linux-64/repodata_shards.msgpack.zst", shards);
      // a .zst twin that does not hold its .json (stale, or written by hand)
      await store.put("c/osx-64/repodata.json", g.json);
      await store.put("c/osx-64/repodata.json.zst", zstdCompress(other.json));
    }
  });
  after(async () => {
    await workers.close();
    await s3store.close();
    await s3.stop();
    await dir.remove();
  });

  for (const name of ["fs", "s3"] as const) {
    describe(name, () => {
      const store = () => (name === "fs" ? fs : s3store);
      const src = () => ({ store: store(), workers });
      const view = async (key: string, file: string, vis = visible) => {
        const info = (await store().stat(key))!;
        return { info, view: decodeView(await computeView(src(), file, key, info, vis)) };
      };

      test("repodata.json: the cut view streams filterRepodata's bytes, tagged with their sha256", async () => {
        const want = filterRepodata(g.json, visible, { hideRemoved: true })!;
        const { info, view: v } = await view("c/linux-64/repodata.json", "repodata.json");
        assert.equal(v.kind, "cuts");
        if (v.kind !== "cuts") return;
        assert.equal(v.size, want.length);
        assert.equal(v.tag, tag(want));
        const opened = (await openStored(store(), "c/linux-64/repodata.json"))!;
        assert.equal(opened.info.etag, info.etag);
        assert.ok((await bytesOf(opened.open(v))).equals(want));
        for (const [s, e] of [[0, 0], [0, 99], [1000, 70_000], [want.length - 10, want.length - 1], [12345, 12345]] as const) {
          const part = await bytesOf((await openStored(store(), "c/linux-64/repodata.json"))!.open(v, { start: s, end: e }));
          assert.ok(part.equals(want.subarray(s, e + 1)), `range ${s}-${e}`);
        }
      });

      test("repodata.json.zst: the compressed view decompresses to the filtered JSON", async () => {
        const want = filterRepodata(g.json, visible, { hideRemoved: true })!;
        const { view: v } = await view("c/linux-64/repodata.json.zst", "repodata.json.zst");
        assert.equal(v.kind, "bytes");
        if (v.kind !== "bytes") return;
        assert.equal(v.tag, tag(v.body));
        assert.ok(zstdDecompress(v.body).equals(want));
      });

      test("a .zst twin that differs from its .json is filtered for what it holds itself", async () => {
        const vis = (n: string) => !hidden.has(n) && !other.privateNames.has(n);
        const want = filterRepodata(other.json, vis, { hideRemoved: true })!;
        const { view: v } = await view("c/osx-64/repodata.json.zst", "repodata.json.zst", vis);
        assert.equal(v.kind, "bytes");
        if (v.kind !== "bytes") return;
        assert.ok(zstdDecompress(v.body).equals(want));
      });

      test("channeldata.json: hidden names leave `packages`", async () => {
        const want = filterChanneldata(channeldata, visible)!;
        const { view: v } = await view("c/channeldata.json", "channeldata.json");
        assert.equal(v.kind, "cuts");
        if (v.kind !== "cuts") return;
        assert.ok((await bytesOf((await openStored(store(), "c/channeldata.json"))!.open(v))).equals(want));
      });

      test("the shard index: hidden names leave it; owners of every shard", async () => {
        const want = filterShardIndex(shards, visible)!;
        const { view: v } = await view("c/linux-64/repodata_shards.msgpack.zst", "repodata_shards.msgpack.zst");
        assert.equal(v.kind, "bytes");
        if (v.kind !== "bytes") return;
        assert.ok(zstdDecompress(v.body).equals(zstdDecompress(want)));
        assert.deepEqual(await shardOwnersOf(src(), "c/linux-64/repodata_shards.msgpack.zst"), shardOwners(shards));
      });

      test("nothing hidden → pass; nothing visible → none (a noarch view can still be asked for)", async () => {
        for (const file of ["repodata.json", "repodata.json.zst"]) {
          const key = `c/linux-64/${file}`;
          assert.equal((await view(key, file, () => true)).view.kind, "pass");
          assert.equal((await view(key, file, () => false)).view.kind, "none");
          const info = (await store().stat(key))!;
          const empty = decodeView(await computeView(src(), file, key, info, () => false, true));
          assert.ok(empty.kind === "cuts" || empty.kind === "bytes");
        }
        assert.equal((await view("c/linux-64/repodata_shards.msgpack.zst", "repodata_shards.msgpack.zst", () => false)).view.kind, "none");
        const one = (await view("c/linux-64/repodata.json", "repodata.json", (n) => n === onlyOne)).view;
        assert.equal(one.kind, "cuts");
      });

      test("a view asked for a version the store no longer holds: StaleIndex, never another version's cuts", async () => {
        const key = "c/linux-64/repodata.json";
        const old = (await store().stat(key))!;
        if (name === "fs") {
          const later = new Date(Date.now() + 5000);
          await utimes(join(dir.path, key), later, later);
        } else {
          await store().put(key, Buffer.concat([g.json.subarray(0, g.json.length - 1), Buffer.from(" }")]));
        }
        await assert.rejects(computeView(src(), "repodata.json", key, old, visible), StaleIndex);
        const opened = (await openStored(store(), key))!;
        assert.notEqual(opened.info.etag, old.etag);
        opened.close();
      });
    });
  }
});

describe("worker jobs", () => {
  let workers: WorkerPool;
  before(() => {
    workers = new WorkerPool({ size: 1, maxQueued: 2 });
  });
  after(() => workers.close());

  test("map in a worker = map in process; its cuts assemble filterRepodata's bytes", async () => {
    const g = generateRepodataSet({ records: 500, privateEvery: 5, subdir: "noarch" });
    const members = repodataMembers({ hideRemoved: true });
    const there = await workers.run("map", { src: { data: g.json }, members });
    assert.deepEqual(there, mapIndex(g.json, members));
    const cuts = indexCuts(there, there.names.map((n) => !g.privateNames.has(n)));
    assert.ok(assembleView(g.json, cuts).equals(filterRepodata(g.json, (n) => !g.privateNames.has(n), { hideRemoved: true })!));
  });

  test("the map comes back in shared memory, and the cuts job reads it there: indexCuts' list", async () => {
    const g = generateRepodataSet({ records: 500, privateEvery: 5, subdir: "noarch" });
    const there = await workers.run("map", { src: { data: g.json }, members: repodataMembers({ hideRemoved: true }) });
    for (const a of [there.groups, there.start, there.end, there.next, there.name]) assert.ok(a.buffer instanceof SharedArrayBuffer, "not copied to cross threads");
    const keep = Uint8Array.from(there.names, (n) => (g.privateNames.has(n) ? 0 : 1));
    const { names: _names, ...layout } = there;
    const cuts = await workers.run("cuts", { map: layout, keep });
    assert.ok(cuts.length > 0);
    assert.deepEqual([...cuts], indexCuts(there, [...keep].map((k) => k === 1)));
  });

  test("workers run below the event loop's priority (a nice value per thread, on Linux)", async () => {
    // field 19 of /proc/<pid>/task/<tid>/stat: the thread's nice value
    const nices = async () => new Map(await Promise.all((await readdir("/proc/self/task")).map(async (t) => [t, Number((await readFile(`/proc/self/task/${t}/stat`, "latin1")).split(") ")[1]!.split(" ")[16])] as const)));
    const before = await nices();
    const pool = new WorkerPool({ size: 1, maxQueued: 1 });
    try {
      await pool.run("sha256", { data: Buffer.from("x") });
      const after = await nices();
      const started = [...after].filter(([t]) => !before.has(t)).map(([, n]) => n);
      assert.ok(started.includes(WORKER_NICE), `threads started: nice ${started.join(", ")}`);
      assert.equal(after.get(String(process.pid)), 0, "the event loop's thread keeps its priority");
    } finally {
      await pool.close();
    }
  });

  test("the queue is bounded: beyond it a job is refused with 503", async () => {
    const big = Buffer.alloc(8 << 20, 0x61);
    const jobs = Array.from({ length: 6 }, () => workers.run("sha256", { data: big }));
    const settled = await Promise.allSettled(jobs);
    const refused = settled.filter((s) => s.status === "rejected");
    assert.ok(refused.length >= 1, "some jobs refused");
    for (const r of refused) assert.equal((r as PromiseRejectedResult).reason.status, 503);
  });

  test("a failing job rejects with its reason; the pool goes on", async () => {
    await assert.rejects(workers.run("zstdDecompress", { data: Buffer.from("not zstd") }), /zstdDecompress failed/);
    assert.equal(await workers.run("sha256", { data: Buffer.from("x") }), tag(Buffer.from("x")));
  });

  test("compress.ts async variants run in the pool and round-trip", async () => {
    const data = Buffer.from(JSON.stringify({ a: "b".repeat(10_000) }));
    const z = await zstdCompressAsync(data);
    assert.ok(zstdDecompress(z).equals(data));
    assert.ok((await zstdDecompressAsync(z)).equals(data));
  });
});
