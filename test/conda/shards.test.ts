import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decode, encode } from "@msgpack/msgpack";
import { zstdCompress, zstdDecompress } from "../../src/conda/compress.js";
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
      for (const n of expected) assert.deepEqual((doc["shards"] as Record<string, Uint8Array>)[n], sha(n));
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
