import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decode, encode } from "@msgpack/msgpack";
import {
  bz2Compress,
  bz2CompressAsync,
  bz2Decompress,
  bz2DecompressAsync,
  zstdCompress,
  zstdCompressAsync,
  zstdDecompress,
  zstdDecompressAsync,
} from "../../src/conda/compress.js";
import { decodeShardIndex, filterShardIndex, shardOwners } from "../../src/conda/shards.js";
import { generateShardIndex, packageName } from "./generate.js";

const sha = (s: string) => new Uint8Array(createHash("sha256").update(s).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function index(names: string[], extra: Record<string, unknown> = {}): Buffer {
  return zstdCompress(
    encode({
      version: 1,
      info: { subdir: "noarch", base_url: "", shards_base_url: "./shards/", created_at: "2026-01-01T00:00:00Z" },
      shards: Object.fromEntries(names.map((n) => [n, sha(n)])),
      ...extra,
    }),
  );
}

describe("filterShardIndex", () => {
  const names = ["foo", "foo-bar", "numpy", "zlib"];
  const cases: Array<[string, string[], string[] | null]> = [
    ["nothing hidden → null", [], null],
    ["unknown name hidden → null", ["scipy"], null],
    ["one name dropped, its prefix sibling kept", ["foo"], ["foo-bar", "numpy", "zlib"]],
    ["the longer name dropped", ["foo-bar"], ["foo", "numpy", "zlib"]],
    ["first and last dropped", ["foo", "zlib"], ["foo-bar", "numpy"]],
    ["all hidden", names, []],
  ];
  for (const [why, hidden, expected] of cases) {
    test(why, () => {
      const input = index(names, { removed: [], future_key: { a: [1, 2.5, null, true] } });
      const out = filterShardIndex(input, (n) => !hidden.includes(n));
      if (expected === null) return assert.equal(out, null);
      const doc = decode(zstdDecompress(out!)) as Record<string, unknown>;
      const before = decode(zstdDecompress(input)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(doc["shards"] as object), expected);
      for (const n of expected) assert.equal(hex((doc["shards"] as Record<string, Uint8Array>)[n]!), hex(sha(n)));
      assert.deepEqual({ ...doc, shards: null }, { ...before, shards: null }, "everything but shards kept");
    });
  }

  test("map header shrinks across the msgpack size classes (map16 → fixmap, map32 → map16)", () => {
    for (const [count, hiddenCount] of [[20, 10], [70000, 1]] as const) {
      const many = Array.from({ length: count }, (_, i) => packageName(i));
      const hidden = new Set(many.slice(0, hiddenCount));
      const out = filterShardIndex(generateShardIndex(many), (n) => !hidden.has(n));
      const shards = decodeShardIndex(out!).shards;
      assert.equal(shards.size, count - hiddenCount);
      assert.ok(!shards.has(many[0]!) && shards.has(many[count - 1]!));
    }
  });

  test("throws on an index that is not msgpack of the shape", () => {
    assert.throws(() => filterShardIndex(zstdCompress(encode([1, 2])), () => false));
    assert.throws(() => filterShardIndex(zstdCompress(encode({ shards: { a: "not bytes" } })), () => false));
    assert.throws(() => filterShardIndex(zstdCompress(encode({ shards: { a: sha("a") } }).subarray(0, 10)), () => false));
  });
});

describe("decodeShardIndex", () => {
  test("reads version, info and shards", () => {
    const decoded = decodeShardIndex(index(["foo", "bar"]));
    assert.equal(decoded.version, 1);
    assert.deepEqual(decoded.info, { subdir: "noarch", base_url: "", shards_base_url: "./shards/", created_at: "2026-01-01T00:00:00Z" });
    assert.deepEqual([...decoded.shards.keys()], ["foo", "bar"]);
    assert.deepEqual(decoded.shards.get("bar"), sha("bar"));
  });
  test("rejects a hash that is not 32 bytes", () => {
    assert.throws(() => decodeShardIndex(zstdCompress(encode({ version: 1, info: {}, shards: { a: new Uint8Array(3) } }))));
  });
});

describe("shardOwners", () => {
  test("sha256 hex → package name", () => {
    const owners = shardOwners(index(["foo", "foo-bar"]));
    assert.deepEqual(
      [...owners].sort(),
      [[hex(sha("foo")), "foo"], [hex(sha("foo-bar")), "foo-bar"]].sort(),
    );
  });
});

describe("compress (the codecs shards and index views are served in)", () => {
  const inputs: Array<[string, Buffer]> = [
    ["empty", Buffer.alloc(0)],
    ["text", Buffer.from('{"packages":{"café-1-0.conda":{}}}'.repeat(500))],
    ["binary", Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + (i >> 7)) & 0xff))],
  ];
  for (const [what, input] of inputs) {
    test(`zstd and bzip2 round trips, sync and async: ${what}`, async () => {
      assert.deepEqual(zstdDecompress(zstdCompress(input)), input);
      assert.deepEqual(zstdDecompress(zstdCompress(input, 19)), input);
      assert.deepEqual(bz2Decompress(bz2Compress(input)), input);
      assert.deepEqual(zstdDecompress(await zstdCompressAsync(input)), input);
      assert.deepEqual(await zstdDecompressAsync(zstdCompress(input)), input);
      assert.deepEqual(await bz2DecompressAsync(await bz2CompressAsync(input)), input);
    });
  }
  test("bzip2 output is standard bzip2 (magic BZh9)", () => {
    assert.equal(bz2Compress(Buffer.from("x")).subarray(0, 4).toString("latin1"), "BZh9");
  });
  test("async jobs run concurrently from the caller's view and keep their order", async () => {
    const many = inputs.map(([, b]) => zstdCompressAsync(b));
    const out = await Promise.all(many);
    out.forEach((c, i) => assert.deepEqual(zstdDecompress(c), inputs[i]![1]));
  });
  test("a corrupt input rejects", async () => {
    await assert.rejects(zstdDecompressAsync(Buffer.from("not zstd")));
    assert.throws(() => zstdDecompress(Buffer.from("not zstd")));
  });
});
