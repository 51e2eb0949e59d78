// The view cache (src/cache/views.ts): computed once for concurrent requests, kept within its
// budget, and small entries (cut lists) never pushed out by big bodies (compressed views).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ViewCache } from "../src/cache/views.js";
import { MemoryCache } from "../src/cache/memory.js";

const MB = 1024 * 1024;

describe("ViewCache", () => {
  test("concurrent gets of a missing view compute it once; later gets are local hits", async () => {
    const views = new ViewCache(new MemoryCache(), { maxLocalBytes: 64 * MB, maxSharedBytes: MB, sharedTtlSeconds: 60 });
    let runs = 0;
    const compute = async () => (runs++, Buffer.from("view"));
    const got = await Promise.all([views.get("k", compute), views.get("k", compute), views.get("k", compute)]);
    assert.equal(runs, 1);
    for (const g of got) assert.equal(g.toString(), "view");
    await views.get("k", compute);
    assert.deepEqual(views.counters, { local: 1, shared: 0, computed: 1 });
  });

  test("big bodies beyond the budget evict each other, never the small entries", async () => {
    const views = new ViewCache(new MemoryCache(), { maxLocalBytes: 64 * MB, maxSharedBytes: 0, sharedTtlSeconds: 60 });
    const computed: string[] = [];
    const get = (key: string, size: number) => views.get(key, async () => (computed.push(key), Buffer.alloc(size, 1)));
    for (let i = 0; i < 20; i++) await get(`cuts${i}`, 16 * 1024);
    for (let i = 0; i < 6; i++) await get(`zst${i}`, 20 * MB);
    computed.length = 0;
    for (let i = 0; i < 20; i++) await get(`cuts${i}`, 16 * 1024);
    assert.deepEqual(computed, [], "every cut list still kept");
    await get("zst5", 20 * MB);
    await get("zst0", 20 * MB);
    assert.deepEqual(computed, ["zst0"], "the least recently used big body went");
  });

  test("a body larger than the whole budget is served, not kept", async () => {
    const views = new ViewCache(new MemoryCache(), { maxLocalBytes: MB, maxSharedBytes: 0, sharedTtlSeconds: 60 });
    let runs = 0;
    const compute = async () => (runs++, Buffer.alloc(2 * MB));
    await views.get("big", compute);
    await views.get("big", compute);
    assert.equal(runs, 2);
  });
});
