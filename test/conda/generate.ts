// Synthetic conda index files for the conda tests and benchmarks: repodata.json shaped like
// conda-forge's (sorted keys, ~500 bytes a record, several builds per name, names that are prefixes
// of other names), with every `privateEvery`-th package name private, and a CEP-16 shard index for
// the same names. Seeded, so a failing randomized case can be replayed.

import { createHash } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import { zstdCompress } from "../../src/conda/compress.js";

export interface RepodataShape {
  /** Number of records over `packages` and `packages.conda`. */
  records: number;
  /** Every n-th package name is private (0: none). */
  privateEvery: number;
  subdir?: string;
  seed?: number;
  /** conda-index writes indent=2 (the default here); "compact" is JSON.stringify's; "random"
   *  puts random whitespace between tokens and \u-escapes random characters. */
  format?: "indent" | "compact" | "random";
  /** Builds per package name, on average. */
  buildsPerName?: number;
}

export interface GeneratedRepodata {
  json: Buffer;
  names: string[];
  privateNames: Set<string>;
}

export function generateRepodata(shape: RepodataShape): Buffer {
  return generateRepodataSet(shape).json;
}

/** A seeded PRNG (mulberry32): same seed, same file. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STEMS = ["py", "lib", "r", "perl", "ros", "jupyter", "font", "x", "data", "go", "rust", "ca"];
const WORDS = ["arrow", "zlib", "numpy", "sci", "core", "tools", "io", "graph", "net", "ssl", "yaml", "http"];
const LICENSES = ["MIT", "BSD-3-Clause", "Apache-2.0", "GPL-3.0-or-later", 'LicenseRef-"quoted"', "café ✓ 许可"];

/** Package names: index i gives a name; every third name has a `-bar` sibling it is a prefix of. */
export function packageName(i: number): string {
  const base = `${STEMS[i % STEMS.length]}-${WORDS[Math.floor(i / STEMS.length) % WORDS.length]}${i}`;
  return i % 3 === 1 ? `${packageName(i - 1)}-bar` : base;
}

export function generateRepodataSet(shape: RepodataShape): GeneratedRepodata {
  const rand = seededRandom(shape.seed ?? 1);
  const subdir = shape.subdir ?? "linux-64";
  const buildsPerName = shape.buildsPerName ?? 10;
  const nameCount = Math.max(1, Math.ceil(shape.records / buildsPerName));
  const names = Array.from({ length: nameCount }, (_, i) => packageName(i));
  const privateNames = new Set(shape.privateEvery > 0 ? names.filter((_, i) => i % shape.privateEvery === 0) : []);
  const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");

  const tarBz2: Array<[string, Record<string, unknown>]> = [];
  const conda: Array<[string, Record<string, unknown>]> = [];
  for (let r = 0; r < shape.records; r++) {
    const name = names[Math.floor((r / shape.records) * nameCount)]!;
    const version = `${Math.floor(rand() * 5)}.${Math.floor(rand() * 20)}.${r % 7}`;
    const build = `py${310 + (r % 4)}h${hex(7)}_${r % 3}`;
    const depends = Array.from({ length: Math.floor(rand() * 6) }, () => {
      const dep = names[Math.floor(rand() * nameCount)]!;
      return rand() < 0.5 ? `${dep} >=${Math.floor(rand() * 4)}.${Math.floor(rand() * 10)}` : dep;
    });
    const record: Record<string, unknown> = {
      build,
      build_number: r % 3,
      ...(rand() < 0.1 ? { constrains: [`${names[Math.floor(rand() * nameCount)]} <2`] } : {}),
      depends,
      license: LICENSES[Math.floor(rand() * LICENSES.length)],
      license_family: "MIT",
      md5: hex(32),
      name,
      sha256: hex(64),
      size: Math.floor(rand() * 5e7),
      subdir,
      timestamp: 1_600_000_000_000 + Math.floor(rand() * 1e11),
      version,
    };
    const file = `${name}-${version}-${build}`;
    if (r % 3 === 0) tarBz2.push([`${file}.tar.bz2`, record]);
    else conda.push([`${file}.conda`, record]);
  }
  const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  tarBz2.sort(byKey);
  conda.sort(byKey);
  const removed = names.slice(0, 4).map((n) => `${n}-0.0.1-0.tar.bz2`);
  const doc = {
    info: { subdir },
    packages: Object.fromEntries(tarBz2),
    "packages.conda": Object.fromEntries(conda),
    removed,
    repodata_version: 1,
  };
  const format = shape.format ?? "indent";
  const json =
    format === "random" ? Buffer.from(randomJson(doc, rand)) : writeLargeJson(doc, format === "indent" ? 2 : 0);
  return { json, names, privateNames };
}

/** JSON.stringify(doc, null, indent), written record by record so a 240 MB file needs no 240 MB string. */
function writeLargeJson(doc: Record<string, unknown>, indent: number): Buffer {
  const nl = indent ? "\n" : "";
  const pad = (level: number) => " ".repeat(indent * level);
  const colon = indent ? ": " : ":";
  const parts: Buffer[] = [];
  let chunk: string[] = [];
  let chunkLength = 0;
  const push = (s: string) => {
    chunk.push(s);
    chunkLength += s.length;
    if (chunkLength > 1 << 20) flush();
  };
  const flush = () => {
    parts.push(Buffer.from(chunk.join("")));
    chunk = [];
    chunkLength = 0;
  };
  const keys = Object.keys(doc);
  push(`{${nl}`);
  keys.forEach((key, i) => {
    const value = doc[key];
    push(`${pad(1)}${JSON.stringify(key)}${colon}`);
    const entries = key.startsWith("packages") ? Object.entries(value as object) : null;
    if (entries && entries.length > 0) {
      push(`{${nl}`);
      entries.forEach(([file, record], j) => {
        const body = JSON.stringify(record, null, indent || undefined).replaceAll("\n", `\n${pad(2)}`);
        push(`${pad(2)}${JSON.stringify(file)}${colon}${body}${j < entries.length - 1 ? "," : ""}${nl}`);
      });
      push(`${pad(1)}}`);
    } else {
      push(JSON.stringify(value, null, indent || undefined).replaceAll("\n", `\n${pad(1)}`));
    }
    push(`${i < keys.length - 1 ? "," : ""}${nl}`);
  });
  push("}");
  flush();
  return Buffer.concat(parts);
}

/** Valid JSON for `value` with random whitespace between tokens and random \u escapes in strings. */
export function randomJson(value: unknown, rand: () => number): string {
  const ws = () => {
    let s = "";
    while (rand() < 0.3) s += [" ", "\n", "\t", "\r\n", "  "][Math.floor(rand() * 5)];
    return s;
  };
  const str = (s: string) =>
    JSON.stringify(s).replace(/[a-z]/g, (c) => (rand() < 0.05 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c));
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => `${write(x)}${ws()}`).join(`,${ws()}`)}]`;
    if (v !== null && typeof v === "object")
      return `{${ws()}${Object.entries(v)
        .map(([k, x]) => `${str(k)}${ws()}:${ws()}${write(x)}${ws()}`)
        .join(`,${ws()}`)}}`;
    return typeof v === "string" ? str(v) : JSON.stringify(v);
  };
  return `${ws()}${write(value)}${ws()}`;
}

/** A CEP-16 shard index (zstd msgpack) naming a shard for each name; hashes are of a stand-in shard. */
export function generateShardIndex(names: string[], subdir = "linux-64"): Buffer {
  const shards: Record<string, Uint8Array> = {};
  for (const name of names) shards[name] = createHash("sha256").update(`shard of ${name}`).digest();
  return zstdCompress(
    encode({
      version: 1,
      info: { subdir, base_url: "", shards_base_url: "./shards/", created_at: "2026-01-01T00:00:00Z" },
      shards,
    }),
  );
}
