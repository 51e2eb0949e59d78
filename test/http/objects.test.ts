// Hot small objects: served from memory between re-validations, re-read when the stored
// object changes, never cached when large, gone when deleted.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync } from "node:fs";
import { FsStore } from "../../src/store/fs.js";
import { ObjectSource } from "../../src/http/objects.js";
import type { Store } from "../../src/store/store.js";
import { tempDir, type TempDir } from "../harness/services.js";

function counting(store: Store): { store: Store; calls: () => number } {
  let n = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (["stat", "get", "read", "openFile"].includes(String(prop))) n++;
        return v.apply(target, args);
      };
    },
  });
  return { store: wrapped, calls: () => n };
}

describe("ObjectSource", () => {
  let dir: TempDir;
  let fs: FsStore;
  before(async () => {
    dir = await tempDir();
    fs = new FsStore(dir.path);
  });
  after(() => dir.remove());

  test("a small object is read once, then served from memory until re-validation", async () => {
    await fs.put("a/small.json", Buffer.from("one"));
    const { store, calls } = counting(fs);
    const src = new ObjectSource(store, { revalidateMs: 60_000, maxBytes: 1024, maxObjectBytes: 100 });
    const first = await src.body("a/small.json", 0);
    assert.equal(first?.kind, "buffer");
    for (let i = 0; i < 5; i++) await src.body("a/small.json", 10);
    await src.stat("a/small.json", 20);
    assert.equal(calls(), 1);
    assert.equal(src.counters.hits, 5);
  });

  test("a replaced object is seen after the re-validation interval", async () => {
    await fs.put("a/x.json", Buffer.from("old"));
    const src = new ObjectSource(fs, { revalidateMs: 1000, maxBytes: 1024, maxObjectBytes: 100 });
    const b1 = await src.body("a/x.json", 0);
    await fs.put("a/x.json", Buffer.from("newer"));
    const b2 = await src.body("a/x.json", 500);
    assert.equal(b2?.kind === "buffer" && b2.buffer.toString(), "old", "within the interval: memory");
    const b3 = await src.body("a/x.json", 1500);
    assert.equal(b3?.kind === "buffer" && b3.buffer.toString(), "newer");
    assert.notEqual(b1?.info.etag, b3?.info.etag);
  });

  test("large objects are opened every time, never kept", async () => {
    await fs.put("a/big.bin", Buffer.alloc(500, 7));
    const { store, calls } = counting(fs);
    const src = new ObjectSource(store, { revalidateMs: 60_000, maxBytes: 10_000, maxObjectBytes: 100 });
    for (let i = 0; i < 3; i++) {
      const b = await src.body("a/big.bin", i);
      assert.equal(b?.kind, "file");
      if (b?.kind === "file") closeSync(b.fd);
    }
    assert.equal(calls(), 3);
  });

  test("deleted objects are null once re-validated; the byte budget evicts the oldest", async () => {
    await fs.put("a/gone.json", Buffer.from("x"));
    const src = new ObjectSource(fs, { revalidateMs: 10, maxBytes: 8, maxObjectBytes: 100 });
    assert.ok(await src.body("a/gone.json", 0));
    await fs.delete("a/gone.json");
    assert.equal(await src.body("a/gone.json", 100), null);
    assert.equal(await src.stat("a/gone.json", 200), null);
    await fs.put("a/1", Buffer.from("12345"));
    await fs.put("a/2", Buffer.from("67890"));
    await src.body("a/1", 300);
    await src.body("a/2", 300);
    const { store, calls } = counting(fs);
    const again = new ObjectSource(store, { revalidateMs: 10_000, maxBytes: 8, maxObjectBytes: 100 });
    await again.body("a/1", 0);
    await again.body("a/2", 0);
    await again.body("a/1", 1);
    assert.equal(calls(), 3, "a/1 was evicted by a/2 (8-byte budget)");
  });
});
