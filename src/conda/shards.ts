// CEP-16 sharded repodata: hiding private packages from the shard index, and telling which package
// a shard file belongs to.
//
// The index `<subdir>/repodata_shards.msgpack.zst` is zstd-compressed msgpack
// `{version: 1, info: {subdir, base_url, shards_base_url, created_at, ...}, shards: {<name>: <32-byte
// sha256 as bin>}}`. A shard is fetched as `<shards_base_url><hex sha256>.msgpack.zst`, the URL taken
// relative to the index (rattler-index writes `./shards/`; conda-index puts shards beside the index);
// the hash is that of the shard file's (compressed) bytes, so shard URLs are content-addressed.
// Hiding a package = dropping its name from `shards`, and answering 404 for its shard file.
//
// Filtering splices the msgpack bytes: only the `shards` map header and the hidden entries change, so
// `info` (conda needs `base_url` present) and any key a newer writer adds pass through exactly.
//
// The gateway runs these in a worker thread (src/workers/jobs.ts): the names first, then the filter
// with the names the main thread found hidden.

import { decode } from "@msgpack/msgpack";
import { zstdCompress, zstdDecompress } from "./compress.js";
import type { Visible } from "./repodata.js";

export interface ShardIndexInfo {
  subdir?: string;
  base_url?: string;
  shards_base_url?: string;
  created_at?: string;
  [key: string]: unknown;
}

export interface ShardIndex {
  version: number;
  info: ShardIndexInfo;
  /** Package name → sha256 of its shard file (32 bytes). */
  shards: Map<string, Uint8Array>;
}

/** Decodes a stored `repodata_shards.msgpack.zst`; throws on anything that is not a shard index. */
export function decodeShardIndex(buf: Uint8Array): ShardIndex {
  const raw = zstdDecompress(buf);
  const names = new ShardIndexReader(raw).entries();
  const doc = decode(raw, { useBigInt64: true }) as unknown;
  if (!isRecord(doc)) throw new Error("shard index is not a msgpack map");
  const info = doc["info"];
  if (!isRecord(info)) throw new Error("shard index has no info map");
  const version = doc["version"];
  const shards = new Map<string, Uint8Array>();
  for (const entry of names) {
    if (entry.hash.length !== 32) throw new Error(`shard index: hash of ${entry.name} is not 32 bytes`);
    shards.set(entry.name, new Uint8Array(entry.hash)); // a copy, not a view pinning the whole index
  }
  return { version: typeof version === "bigint" ? Number(version) : typeof version === "number" ? version : 1, info, shards };
}

/**
 * The shard index without the hidden names, zstd-compressed, or null when nothing is hidden (the
 * caller then serves the stored bytes).
 */
export function filterShardIndex(buf: Uint8Array, visible: Visible, level?: number): Buffer | null {
  const raw = zstdDecompress(buf);
  const map = new ShardIndexReader(raw).shardsMap();
  if (map === null) return null;
  const kept: Array<[number, number]> = [];
  let keptCount = 0;
  let from = map.firstEntry; // start of the run of kept entries being collected
  for (const entry of map.entries) {
    if (visible(entry.name)) {
      keptCount++;
      continue;
    }
    if (entry.start > from) kept.push([from, entry.start]);
    from = entry.end;
  }
  if (keptCount === map.entries.length) return null;
  if (map.end > from) kept.push([from, map.end]);
  const header = mapHeader(keptCount);
  const parts: Uint8Array[] = [raw.subarray(0, map.headerStart), header];
  for (const [s, e] of kept) parts.push(raw.subarray(s, e));
  parts.push(raw.subarray(map.end));
  return zstdCompress(Buffer.concat(parts), level);
}

/** Every package name the shard index lists (to decide which are hidden, away from the filter). */
export function shardIndexNames(buf: Uint8Array): string[] {
  return new ShardIndexReader(zstdDecompress(buf)).entries().map((e) => e.name);
}

/** sha256 hex of each shard → the package name it holds (to answer 404 for a hidden package's shard). */
export function shardOwners(buf: Uint8Array): Map<string, string> {
  const owners = new Map<string, string>();
  for (const { name, hash } of new ShardIndexReader(zstdDecompress(buf)).entries()) {
    owners.set(Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString("hex"), name);
  }
  return owners;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function mapHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x80 | count);
  if (count < 0x10000) return Uint8Array.of(0xde, count >> 8, count & 0xff);
  return Uint8Array.of(0xdf, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}

interface ShardEntry {
  name: string;
  hash: Uint8Array;
  /** Byte range of the key and value in the decompressed index. */
  start: number;
  end: number;
}

interface ShardsMap {
  headerStart: number;
  firstEntry: number;
  end: number;
  entries: ShardEntry[];
}

const utf8 = new TextDecoder("utf-8");

/** Just enough msgpack to find the top-level `shards` map and walk its entries by byte range. */
class ShardIndexReader {
  constructor(private readonly buf: Uint8Array) {}

  entries(): ShardEntry[] {
    const map = this.shardsMap();
    if (map === null) throw new Error("shard index has no shards map");
    return map.entries;
  }

  shardsMap(): ShardsMap | null {
    const top = this.containerHeader(0);
    if (top.kind !== "map") throw new Error("shard index is not a msgpack map");
    let p = top.next;
    let found: ShardsMap | null = null;
    for (let i = 0; i < top.count; i++) {
      const key = this.readKey(p);
      p = key.next;
      const valueStart = p;
      if (key.text === "shards") {
        const header = this.containerHeader(valueStart);
        if (header.kind !== "map") throw new Error("shard index: shards is not a map");
        const entries: ShardEntry[] = [];
        let q = header.next;
        for (let j = 0; j < header.count; j++) {
          const start = q;
          const name = this.readKey(q);
          const hash = this.readBin(name.next);
          entries.push({ name: name.text, hash: hash.data, start, end: hash.next });
          q = hash.next;
        }
        // A later duplicate `shards` key would win in a decoder; take the last one, like it.
        found = { headerStart: valueStart, firstEntry: header.next, end: q, entries };
        p = q;
      } else p = this.skip(valueStart);
    }
    if (this.skip(0) !== this.buf.length) throw new Error("shard index has trailing bytes");
    return found;
  }

  private byte(p: number): number {
    const b = this.buf[p];
    if (b === undefined) throw new Error("shard index is truncated");
    return b;
  }

  private uint(p: number, size: number): number {
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + this.byte(p + i);
    return n;
  }

  private containerHeader(p: number): { kind: "map" | "array" | "other"; count: number; next: number } {
    const b = this.byte(p);
    if (b >= 0x80 && b <= 0x8f) return { kind: "map", count: b & 0x0f, next: p + 1 };
    if (b >= 0x90 && b <= 0x9f) return { kind: "array", count: b & 0x0f, next: p + 1 };
    if (b === 0xde) return { kind: "map", count: this.uint(p + 1, 2), next: p + 3 };
    if (b === 0xdf) return { kind: "map", count: this.uint(p + 1, 4), next: p + 5 };
    if (b === 0xdc) return { kind: "array", count: this.uint(p + 1, 2), next: p + 3 };
    if (b === 0xdd) return { kind: "array", count: this.uint(p + 1, 4), next: p + 5 };
    return { kind: "other", count: 0, next: p };
  }

  private readKey(p: number): { text: string; next: number } {
    const b = this.byte(p);
    let len: number;
    let start: number;
    if (b >= 0xa0 && b <= 0xbf) [len, start] = [b & 0x1f, p + 1];
    else if (b === 0xd9) [len, start] = [this.uint(p + 1, 1), p + 2];
    else if (b === 0xda) [len, start] = [this.uint(p + 1, 2), p + 3];
    else if (b === 0xdb) [len, start] = [this.uint(p + 1, 4), p + 5];
    else throw new Error(`shard index: expected a string key at byte ${p}`);
    if (start + len > this.buf.length) throw new Error("shard index is truncated");
    return { text: utf8.decode(this.buf.subarray(start, start + len)), next: start + len };
  }

  private readBin(p: number): { data: Uint8Array; next: number } {
    const b = this.byte(p);
    let len: number;
    let start: number;
    if (b === 0xc4) [len, start] = [this.uint(p + 1, 1), p + 2];
    else if (b === 0xc5) [len, start] = [this.uint(p + 1, 2), p + 3];
    else if (b === 0xc6) [len, start] = [this.uint(p + 1, 4), p + 5];
    else throw new Error(`shard index: expected a binary sha256 at byte ${p}`);
    if (start + len > this.buf.length) throw new Error("shard index is truncated");
    return { data: this.buf.subarray(start, start + len), next: start + len };
  }

  /** Index just past the msgpack value at `p`. */
  skip(p: number): number {
    let pending = 1;
    while (pending > 0) {
      pending--;
      const b = this.byte(p);
      if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) p += 1;
      else if (b <= 0x8f) [pending, p] = [pending + 2 * (b & 0x0f), p + 1];
      else if (b <= 0x9f) [pending, p] = [pending + (b & 0x0f), p + 1];
      else if (b <= 0xbf) p += 1 + (b & 0x1f);
      else
        switch (b) {
          case 0xc4: case 0xd9: p += 2 + this.uint(p + 1, 1); break;
          case 0xc5: case 0xda: p += 3 + this.uint(p + 1, 2); break;
          case 0xc6: case 0xdb: p += 5 + this.uint(p + 1, 4); break;
          case 0xc7: p += 3 + this.uint(p + 1, 1); break;
          case 0xc8: p += 4 + this.uint(p + 1, 2); break;
          case 0xc9: p += 6 + this.uint(p + 1, 4); break;
          case 0xca: case 0xce: case 0xd2: p += 5; break;
          case 0xcb: case 0xcf: case 0xd3: p += 9; break;
          case 0xcc: case 0xd0: p += 2; break;
          case 0xcd: case 0xd1: p += 3; break;
          case 0xd4: p += 3; break;
          case 0xd5: p += 4; break;
          case 0xd6: p += 6; break;
          case 0xd7: p += 10; break;
          case 0xd8: p += 18; break;
          case 0xdc: pending += this.uint(p + 1, 2); p += 3; break;
          case 0xdd: pending += this.uint(p + 1, 4); p += 5; break;
          case 0xde: pending += 2 * this.uint(p + 1, 2); p += 3; break;
          case 0xdf: pending += 2 * this.uint(p + 1, 4); p += 5; break;
          default: throw new Error(`shard index: invalid msgpack byte 0x${b.toString(16)} at ${p}`);
        }
    }
    if (p > this.buf.length) throw new Error("shard index is truncated");
    return p;
  }
}
