// The Store contract: one suite that every Store adapter must pass (fs and s3 today). A
// behaviour the gateway relies on belongs here, so no adapter can quietly differ.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { StoreConflict, type Store } from "../src/store/store.js";

export interface StoreFixture {
  store: Store;
  stop(): Promise<void>;
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** A body delivered in small chunks, as an upload arrives. */
function chunked(body: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) parts.push(body.subarray(i, i + size));
  return Readable.from(parts);
}

export interface StoreTraits {
  /** Readers racing an overwrite see whole versions. Every S3 service guarantees it, but
   * s3rver (the test stand-in) writes in place, so its suite leaves that test out. */
  atomicOverwrite?: boolean;
}

export function storeContract(name: string, make: () => Promise<StoreFixture>, traits: StoreTraits = {}): void {
  const { atomicOverwrite = true } = traits;
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let fixture: StoreFixture;

    before(async () => {
      fixture = await make();
      store = fixture.store;
    });
    after(async () => {
      await fixture?.stop();
    });

    test("ping answers when the store is reachable", async () => {
      await store.ping();
    });

    test("put, then stat and get describe the same bytes", async () => {
      const body = Buffer.from("hello, pkgate\n");
      const before = Date.now();
      const put = await store.put("basic/hello.txt", body, { contentType: "text/plain" });
      assert.equal(put.size, body.length);
      assert.ok(put.etag.length > 0 && !put.etag.includes('"'), `etag without quotes: ${put.etag}`);
      const st = await store.stat("basic/hello.txt");
      assert.deepEqual(st, put);
      const got = await store.get("basic/hello.txt");
      assert.ok(got);
      assert.deepEqual(got.body, body);
      assert.deepEqual(got.info, put);
      // Last-Modified has second resolution on S3.
      assert.ok(Math.abs(put.lastModified.getTime() - before) < 60_000, "lastModified is now");
    });

    test("a missing key is null for stat, get and read", async () => {
      assert.equal(await store.stat("missing/nothing.bin"), null);
      assert.equal(await store.get("missing/nothing.bin"), null);
      assert.equal(await store.read("missing/nothing.bin"), null);
      assert.equal(await store.read("missing/nothing.bin", { start: 0, end: 0 }), null);
    });

    describe("read returns the whole object or exactly the range asked for", () => {
      const body = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz");
      const last = body.length - 1;
      const cases: { name: string; range?: { start: number; end: number }; want: string }[] = [
        { name: "no range", want: body.toString() },
        { name: "first byte", range: { start: 0, end: 0 }, want: "0" },
        { name: "first bytes", range: { start: 0, end: 3 }, want: "0123" },
        { name: "middle", range: { start: 10, end: 15 }, want: "abcdef" },
        { name: "last byte", range: { start: last, end: last }, want: "z" },
        { name: "tail", range: { start: last - 2, end: last }, want: "xyz" },
        { name: "whole as a range", range: { start: 0, end: last }, want: body.toString() },
      ];
      before(async () => {
        await store.put("ranges/obj.txt", body);
      });
      for (const c of cases) {
        test(c.name, async () => {
          const stream = await store.read("ranges/obj.txt", c.range);
          assert.ok(stream);
          assert.equal((await drain(stream)).toString(), c.want);
        });
      }
    });

    test("put with ifNotExists creates once, then fails with StoreConflict", async () => {
      await store.put("create-only/doc.json", Buffer.from("first"), { ifNotExists: true });
      await assert.rejects(
        store.put("create-only/doc.json", Buffer.from("second"), { ifNotExists: true }),
        (err: unknown) => err instanceof StoreConflict && err.key === "create-only/doc.json",
      );
      assert.equal((await store.get("create-only/doc.json"))?.body.toString(), "first");
    });

    test("where exclusiveCreate says so, of concurrent creators of one key exactly one wins", async () => {
      const exclusive = store.exclusiveCreate ? await store.exclusiveCreate("create-only/probe") : false;
      assert.equal(await store.stat("create-only/probe"), null, "the probe leaves nothing behind");
      if (!exclusive) return;
      for (let round = 0; round < 5; round++) {
        const key = `create-only/race-${round}`;
        const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.put(key, Buffer.from(`writer ${i}`), { ifNotExists: true })));
        const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
        assert.equal(won.length, 1, `round ${round}: exactly one creator succeeds`);
        assert.ok(results.every((r) => r.status === "fulfilled" || r.reason instanceof StoreConflict), "the others get StoreConflict");
        assert.equal((await store.get(key))?.body.toString(), `writer ${won[0]}`);
      }
    });

    test("overwrite replaces the object and changes the etag", async () => {
      const a = await store.put("overwrite/x", Buffer.from("version-a"));
      const b = await store.put("overwrite/x", Buffer.from("version-b")); // same size
      assert.notEqual(a.etag, b.etag);
      const got = await store.get("overwrite/x");
      assert.equal(got?.body.toString(), "version-b");
      assert.equal(got?.info.etag, b.etag);
    });

    if (atomicOverwrite) test("readers during overwrites see the old bytes or the new ones, never a mix", async () => {
      const size = 1024 * 1024;
      const bodies = [Buffer.alloc(size, "a"), Buffer.alloc(size, "b")];
      await store.put("atomic/blob", bodies[0]!);
      let writing = true;
      const writer = (async () => {
        for (let i = 1; i <= 6; i++) await store.put("atomic/blob", chunked(bodies[i % 2]!));
        writing = false;
      })();
      let reads = 0;
      while (writing || reads < 3) {
        const got = await store.get("atomic/blob");
        assert.ok(got, "the object never disappears while being replaced");
        assert.equal(got.body.length, size);
        const first = got.body[0]!;
        assert.ok(got.body.every((x) => x === first), "one version only");
        reads++;
      }
      await writer;
    });

    test("delete removes, and deleting a missing key is not an error", async () => {
      await store.put("delete/me", Buffer.from("x"));
      await store.delete("delete/me");
      assert.equal(await store.stat("delete/me"), null);
      await store.delete("delete/me");
      await store.delete("delete/never-existed");
    });

    describe("list gives every key under a prefix, in key order", () => {
      const keys = ["ls/b", "ls/a/2", "ls/a.b", "ls/a/x/y", "ls/a/1", "lsx/other", "l/s"];
      before(async () => {
        for (const k of keys) await store.put(k, Buffer.from(k));
      });
      const cases: { prefix: string; want: string[] }[] = [
        { prefix: "ls/", want: ["ls/a.b", "ls/a/1", "ls/a/2", "ls/a/x/y", "ls/b"] },
        { prefix: "ls/a/", want: ["ls/a/1", "ls/a/2", "ls/a/x/y"] },
        { prefix: "ls/a", want: ["ls/a.b", "ls/a/1", "ls/a/2", "ls/a/x/y"] },
        { prefix: "ls/a/x/", want: ["ls/a/x/y"] },
        { prefix: "ls", want: ["ls/a.b", "ls/a/1", "ls/a/2", "ls/a/x/y", "ls/b", "lsx/other"] },
        { prefix: "ls/c", want: [] },
        { prefix: "nothing/here/", want: [] },
      ];
      for (const c of cases) {
        test(`prefix ${JSON.stringify(c.prefix)}`, async () => {
          const got: string[] = [];
          for await (const o of store.list(c.prefix)) got.push(o.key);
          assert.deepEqual(got, c.want);
        });
      }
      test("with a limit, at most that many keys, each under the prefix", async () => {
        for (const [prefix, limit, want] of [["ls/", 1, 1], ["ls/", 2, 2], ["ls/a/", 10, 3], ["ls/c", 1, 0], ["ls/", 0, 0]] as const) {
          const got: string[] = [];
          for await (const o of store.list(prefix, { limit })) got.push(o.key);
          assert.equal(got.length, want, `${prefix} limit ${limit}`);
          assert.ok(got.every((k) => k.startsWith(prefix)));
        }
      });
      test("listed objects carry the same size and etag as stat", async () => {
        for await (const o of store.list("ls/a/")) {
          const st = await store.stat(o.key);
          assert.equal(o.size, Buffer.byteLength(o.key));
          assert.equal(o.size, st?.size);
          assert.equal(o.etag, st?.etag);
        }
      });
    });

    test("keys with many nested directories", async () => {
      const key = "deep/a/b/c/d/e/f/g/linux-64/pkg-1.0-0.conda";
      await store.put(key, Buffer.from("deep"));
      assert.equal((await store.get(key))?.body.toString(), "deep");
      const listed: string[] = [];
      for await (const o of store.list("deep/")) listed.push(o.key);
      assert.deepEqual(listed, [key]);
    });

    test("binary content round-trips byte for byte", async () => {
      const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
      await store.put("binary/all-bytes.bin", body);
      assert.deepEqual((await store.get("binary/all-bytes.bin"))?.body, body);
      const stream = await store.read("binary/all-bytes.bin");
      assert.ok(stream);
      assert.deepEqual(await drain(stream), body);
    });

    test("an empty object is stored and read as zero bytes", async () => {
      const info = await store.put("empty/zero", Buffer.alloc(0));
      assert.equal(info.size, 0);
      assert.equal((await store.get("empty/zero"))?.body.length, 0);
    });

    test("a large object (8 MiB) put as a stream reads back identical", async () => {
      const body = randomBytes(8 * 1024 * 1024);
      const info = await store.put("large/eight.bin", chunked(body));
      assert.equal(info.size, body.length);
      const stream = await store.read("large/eight.bin");
      assert.ok(stream);
      assert.equal(sha256(await drain(stream)), sha256(body));
      const tail = await store.read("large/eight.bin", { start: body.length - 1000, end: body.length - 1 });
      assert.ok(tail);
      assert.deepEqual(await drain(tail), body.subarray(body.length - 1000));
    });

    test("aborting the signal stops a read part-way", async () => {
      const size = 8 * 1024 * 1024;
      await store.put("abort/big.bin", randomBytes(size));
      const ac = new AbortController();
      const stream = await store.read("abort/big.bin", undefined, ac.signal);
      assert.ok(stream);
      let received = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) {
            received += (chunk as Buffer).length;
            ac.abort();
          }
        })(),
        { name: "AbortError" },
      );
      assert.ok(received > 0 && received < size, `read stopped early (${received} of ${size} bytes)`);
      assert.ok(stream.destroyed);
    });

    test("an already aborted signal refuses to start a read", async () => {
      await store.put("abort/small", Buffer.from("x"));
      await assert.rejects(store.read("abort/small", undefined, AbortSignal.abort()), { name: "AbortError" });
    });
  });
}
