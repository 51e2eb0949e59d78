// The three index filters as properties over thousands of generated indexes with random
// hidden sets: filterRepodata (with `removed` filtered, as http/conda.ts calls it),
// filterChanneldata and filterShardIndex. Each generated index is written piece by piece, so
// the test knows the exact text of every member and of every separator between members, and
// what each member's package is. For each:
//   - the output is null exactly when no member is hidden;
//   - otherwise it parses, and holds exactly the visible members (the input, parsed, minus
//     the hidden ones);
//   - and it is the input's bytes with the hidden members cut out: everything else is copied
//     byte for byte, in order, except that the separators next to a cut member (whitespace and
//     commas, each run whole) may go with it. For the msgpack shard index the `shards` map's
//     header (its count) is the one other thing that changes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decode, encode } from "@msgpack/msgpack";
import { filterRepodata } from "../../src/conda/repodata.js";
import { filterChanneldata } from "../../src/conda/channeldata.js";
import { decodeShardIndex, filterShardIndex } from "../../src/conda/shards.js";
import { zstdCompress, zstdDecompress } from "../../src/conda/compress.js";
import { parseCondaFilename } from "../../src/conda/filename.js";
import { seededRandom } from "./generate.js";

const RUNS = 2000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---- package names and hidden sets -----------------------------------------------------------

const wellFormed = (s: string) => Buffer.from(s).toString() === s;
/** Real names, names that are prefixes of others, conda's `_` names, and odd strings (quotes,
 * backslashes, unicode) a hostile index could hold. */
const packageName = fc.oneof(
  { arbitrary: fc.constantFrom("foo", "foo-bar", "foo.bar", "zlib", "_openmp_mutex", "numpy", "python", "r-base", "name", "packages"), weight: 3 },
  { arbitrary: fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,8}$/), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 6 }), weight: 1 },
);
const pool = fc.uniqueArray(packageName, { minLength: 1, maxLength: 6 });

// ---- JSON written with its separators known --------------------------------------------------

type Style = "compact" | "indented" | "random";

/** Whitespace and string spelling for one document: compact, indented, or random whitespace
 * with random \u escapes (and `\/`) in keys and strings, seeded so a case replays. */
function formatter(style: Style, seed: number) {
  const rand = seededRandom(seed);
  const ws = (): string => {
    if (style === "compact") return "";
    if (style === "indented") return rand() < 0.7 ? "\n  " : " ";
    let s = "";
    while (rand() < 0.35) s += [" ", "\n", "\t", "\r\n", "  "][Math.floor(rand() * 5)];
    return s;
  };
  const str = (s: string): string => {
    const plain = JSON.stringify(s);
    if (style !== "random") return plain;
    const inner = plain.slice(1, -1);
    let out = "";
    for (let i = 0; i < inner.length; ) {
      if (inner[i] === "\\") {
        const len = inner[i + 1] === "u" ? 6 : 2;
        out += inner.slice(i, i + len);
        i += len;
        continue;
      }
      const c = String.fromCodePoint(inner.codePointAt(i)!);
      i += c.length;
      if (rand() < 0.15) {
        // every UTF-16 unit of the character, so a pair is never split
        const upper = rand() < 0.5;
        const hex = (k: number) => c.charCodeAt(k).toString(16).padStart(4, "0")[upper ? "toUpperCase" : "toLowerCase"]();
        out += c === "/" && rand() < 0.5 ? "\\/" : [...Array(c.length).keys()].map((k) => `\\u${hex(k)}`).join("");
      } else out += c;
    }
    return `"${out}"`;
  };
  const value = (v: Json): string => {
    if (Array.isArray(v)) return v.length === 0 ? `[${ws()}]` : `[${ws()}${v.map((x) => value(x)).join(`${ws()},${ws()}`)}${ws()}]`;
    if (v !== null && typeof v === "object") return entries(Object.entries(v));
    return typeof v === "string" ? str(v) : JSON.stringify(v);
  };
  /** An object from a list of entries: keys may repeat, as a hostile file may repeat them. */
  const entries = (list: [string, Json][]): string =>
    list.length === 0 ? `{${ws()}}` : `{${ws()}${list.map(([k, x]) => `${str(k)}${ws()}:${ws()}${value(x)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  return { ws, str, value, entries };
}

type Piece = { kind: "fixed"; text: string } | { kind: "gap"; text: string } | { kind: "member"; text: string; hidden: boolean };

/** The document as pieces: fixed text, members of filtered containers (hidden or not), and
 * the separators between them. Consecutive fixed text is merged, so every anchor (fixed text
 * or a member) after a separator starts with a character no separator holds. */
class Pieces {
  readonly list: Piece[] = [];
  fixed(text: string): void {
    const last = this.list.at(-1);
    if (last?.kind === "fixed") last.text += text;
    else this.list.push({ kind: "fixed", text });
  }
  gap(text: string): void {
    this.list.push({ kind: "gap", text });
  }
  member(text: string, hidden: boolean): void {
    this.list.push({ kind: "member", text, hidden });
  }
  text(): string {
    return this.list.map((p) => p.text).join("");
  }
}

interface Member {
  text: string;
  hidden: boolean;
  /** The member's key (decoded), for members of an object. */
  key?: string;
}

/** A top-level member: a filtered container (its members written) or any other value. */
type Top = { key: string; open: "{" | "["; members: Member[] } | { key: string; value: string };

function writeDocument(fmt: ReturnType<typeof formatter>, top: Top[]): Pieces {
  const out = new Pieces();
  out.fixed(`${fmt.ws()}{`);
  top.forEach((m, i) => {
    out.fixed(`${fmt.ws()}${fmt.str(m.key)}${fmt.ws()}:${fmt.ws()}`);
    if ("value" in m) out.fixed(m.value);
    else {
      const close = m.open === "{" ? "}" : "]";
      out.fixed(m.open);
      if (m.members.length === 0) out.fixed(fmt.ws());
      else {
        out.gap(fmt.ws());
        m.members.forEach((x, j) => {
          out.member(x.text, x.hidden);
          out.gap(j < m.members.length - 1 ? `${fmt.ws()},${fmt.ws()}` : fmt.ws());
        });
      }
      out.fixed(close);
    }
    out.fixed(i < top.length - 1 ? `${fmt.ws()},` : "");
  });
  out.fixed(`${fmt.ws()}}${fmt.ws()}`);
  return out;
}

/** `run` is some of `gaps`, each whole, in order. */
function someOf(run: string, gaps: string[]): boolean {
  let reach = new Set([0]);
  for (const g of gaps) {
    const next = new Set(reach);
    for (const p of reach) if (run.startsWith(g, p)) next.add(p + g.length);
    reach = next;
  }
  return reach.has(run.length);
}

/** The output is the input with exactly the hidden members cut, each separator kept or cut
 * whole: anchors verbatim and in order, nothing else. */
function assertCutFrom(out: string, pieces: Pieces): void {
  let pos = 0;
  let gaps: string[] = [];
  const separators = () => {
    if (gaps.length === 0) return;
    let end = pos;
    while (end < out.length && " \t\r\n,".includes(out[end]!)) end++;
    const run = out.slice(pos, end);
    assert.ok(someOf(run, gaps), `at ${pos}: ${JSON.stringify(run)} is not made of the separators ${JSON.stringify(gaps)}`);
    pos = end;
    gaps = [];
  };
  for (const p of pieces.list) {
    if (p.kind === "gap") gaps.push(p.text);
    else if (p.kind === "member" && p.hidden) continue;
    else {
      separators();
      assert.equal(out.slice(pos, pos + p.text.length), p.text, `at ${pos}: expected ${p.kind} ${JSON.stringify(p.text.slice(0, 80))}`);
      pos += p.text.length;
    }
  }
  separators();
  assert.equal(pos, out.length, "the output goes on past the input's end");
}

// built once: a stringMatching arbitrary is costly to build, cheap to draw from
const version = fc.stringMatching(/^[0-9][0-9.]{0,4}$/);
const build = fc.stringMatching(/^[a-z0-9_]{1,6}$/);
const extension = fc.constantFrom(".conda", ".tar.bz2");
const junk = fc.string({ unit: "binary", maxLength: 12 });

/** A package file name, usually of a pool name, sometimes not a conda file name at all. */
const fileName = (names: string[]) =>
  fc.oneof(
    { arbitrary: fc.tuple(fc.constantFrom(...names), version, build, extension).map(([n, v, b, e]) => `${n}-${v}-${b}${e}`), weight: 8 },
    { arbitrary: junk, weight: 1 },
  );

const leaf = fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }) as fc.Arbitrary<Json>;

/** A record: fields in any order, 0-2 `name` fields (the last wins, as in JSON.parse; a
 * non-string one means "no name"), `name` keys nested deeper as decoys; sometimes not an
 * object at all. */
const record = (names: string[]) =>
  fc.oneof(
    {
      arbitrary: fc
        .tuple(
          fc.array(fc.tuple(fc.constantFrom("build", "version", "depends", "license", "summary", "names", "name_", "Name"), leaf), { maxLength: 4 }),
          fc.array(fc.oneof(fc.constantFrom(...names), fc.constantFrom<Json>(7, null, ["x"], { name: "x" })), { maxLength: 2 }),
          fc.option(fc.constantFrom(...names), { nil: undefined }),
          fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        )
        .map(([fields, nameValues, decoy, at]) => {
          const list: [string, Json][] = [...fields];
          if (decoy !== undefined) list.splice(at[0]! % (list.length + 1), 0, ["about", { name: decoy, packages: { [decoy]: decoy } }]);
          nameValues.forEach((v, i) => list.splice(at[1 + i]! % (list.length + 1), 0, ["name", v]));
          return { entries: list } as const;
        }),
      weight: 9,
    },
    { arbitrary: leaf.filter((v) => v === null || typeof v !== "object" || Array.isArray(v)).map((value) => ({ value }) as const), weight: 1 },
  );

/** What filterRepodata must read as a record's package: its last `name` when that is a
 * string, else the package of its file name; none means hidden (fail closed). */
function recordPackage(file: string, r: { entries: readonly [string, Json][] } | { value: Json }): string | undefined {
  if ("entries" in r) {
    const names = r.entries.filter(([k]) => k === "name");
    const last = names.at(-1)?.[1];
    if (typeof last === "string") return last;
  }
  return parseCondaFilename(file)?.name;
}

// ---- repodata.json -----------------------------------------------------------------------------

const repodataCase = pool.chain((names) =>
  fc.record({
    names: fc.constant(names),
    hidden: fc.subarray(names),
    hideRemoved: fc.boolean(),
    style: fc.constantFrom<Style>("compact", "indented", "random"),
    seed: fc.integer(),
    order: fc.shuffledSubarray(["info", "packages", "packages.conda", "removed", "repodata_version", "signatures", "packages.extra"], { minLength: 2 }),
    packages: fc.uniqueArray(fc.record({ file: fileName(names), record: record(names) }), { selector: (m) => m.file, maxLength: 20 }),
    conda: fc.uniqueArray(fc.record({ file: fileName(names), record: record(names) }), { selector: (m) => m.file, maxLength: 20 }),
    decoy: fc.uniqueArray(fc.record({ file: fileName(names), record: record(names) }), { selector: (m) => m.file, maxLength: 4 }),
    removed: fc.array(fc.oneof({ arbitrary: fileName(names), weight: 4 }, { arbitrary: leaf, weight: 1 }), { maxLength: 8 }),
    notAnObject: fc.constantFrom<Json | undefined>(undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, null, []),
  }),
);

describe("filterRepodata, as http/conda.ts calls it", () => {
  test("null when nothing is hidden; else the visible records, the input's bytes with the hidden ones cut", () => {
    let filtered = 0;
    let unchanged = 0;
    fc.assert(
      fc.property(repodataCase, (c) => {
        const fmt = formatter(c.style, c.seed);
        const hidden = new Set(c.hidden);
        const visible = (n: string) => !hidden.has(n);
        const recordWritten = (m: { file: string; record: { entries: readonly [string, Json][] } | { value: Json } }) =>
          `${fmt.str(m.file)}${fmt.ws()}:${fmt.ws()}${"entries" in m.record ? fmt.entries([...m.record.entries]) : fmt.value(m.record.value)}`;
        const records = (list: typeof c.packages, filtered: boolean): Member[] =>
          list.map((m) => {
            const pkg = recordPackage(m.file, m.record);
            return { text: recordWritten(m), hidden: filtered && (pkg === undefined || hidden.has(pkg)), key: m.file };
          });
        const top: Top[] = c.order.map((key): Top => {
          switch (key) {
            case "packages":
              return c.notAnObject !== undefined ? { key, value: fmt.value(c.notAnObject) } : { key, open: "{", members: records(c.packages, true) };
            case "packages.conda":
              return { key, open: "{", members: records(c.conda, true) };
            case "removed":
              return {
                key,
                open: "[",
                members: c.removed.map((f) => {
                  const pkg = typeof f === "string" ? parseCondaFilename(f)?.name : null;
                  return { text: fmt.value(f), hidden: c.hideRemoved && pkg !== null && (pkg === undefined || hidden.has(pkg)) };
                }),
              };
            // look like records, are not filtered
            case "packages.extra":
            case "signatures":
              return { key, open: "{", members: records(c.decoy, false) };
            case "info":
              return { key, value: fmt.value({ subdir: "linux-64", packages: { [c.names[0]!]: c.names[0]! } }) };
            default:
              return { key, value: fmt.value(1) };
          }
        });
        const pieces = writeDocument(fmt, top);
        const input = Buffer.from(pieces.text());
        const anyHidden = pieces.list.some((p) => p.kind === "member" && p.hidden);

        const out = filterRepodata(input, visible, { hideRemoved: c.hideRemoved });
        if (!anyHidden) {
          assert.equal(out, null, "nothing is hidden, yet the document was rewritten");
          unchanged++;
          return;
        }
        assert.ok(out !== null, "members are hidden, yet the stored document would be served");
        filtered++;
        const text = out.toString("utf8");
        assert.ok(Buffer.from(text).equals(out), "the output is not well-formed UTF-8");
        // exactly the visible members: the input, parsed, without the hidden ones
        const want = JSON.parse(input.toString("utf8")) as Record<string, Json>;
        for (const m of top) {
          if (!("members" in m)) continue;
          const container = want[m.key] as Json;
          if (Array.isArray(container)) want[m.key] = container.filter((_, i) => !m.members[i]!.hidden);
          else if (container && typeof container === "object") for (const x of m.members) if (x.hidden) delete container[x.key!];
        }
        assert.deepEqual(JSON.parse(text), want);
        assertCutFrom(text, pieces);
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    assert.ok(filtered > RUNS / 5 && unchanged > RUNS / 20, `${filtered} filtered, ${unchanged} unchanged: the generator misses a side`);
  });
});

// ---- channeldata.json --------------------------------------------------------------------------

const channeldataCase = pool.chain((names) =>
  fc.record({
    hidden: fc.subarray(names),
    style: fc.constantFrom<Style>("compact", "indented", "random"),
    seed: fc.integer(),
    order: fc.shuffledSubarray(["channeldata_version", "packages", "subdirs", "packages.conda"], { minLength: 1 }),
    packages: fc.uniqueArray(fc.record({ name: fc.oneof(fc.constantFrom(...names), fc.string({ unit: "binary", maxLength: 6 })), value: leaf }), { selector: (m) => m.name, maxLength: 20 }),
  }),
);

describe("filterChanneldata", () => {
  test("null when nothing is hidden; else the visible packages, the input's bytes with the hidden ones cut", () => {
    let filtered = 0;
    fc.assert(
      fc.property(channeldataCase, (c) => {
        const fmt = formatter(c.style, c.seed);
        const hidden = new Set(c.hidden);
        const entries = (filtered: boolean): Member[] => c.packages.map((m) => ({ text: `${fmt.str(m.name)}${fmt.ws()}:${fmt.ws()}${fmt.value(m.value)}`, hidden: filtered && hidden.has(m.name) }));
        const top: Top[] = c.order.map((key): Top => {
          if (key === "packages") return { key, open: "{", members: entries(true) };
          if (key === "packages.conda") return { key, open: "{", members: entries(false) };
          return { key, value: fmt.value(key === "subdirs" ? ["linux-64", "noarch"] : 1) };
        });
        const pieces = writeDocument(fmt, top);
        const input = Buffer.from(pieces.text());
        const out = filterChanneldata(input, (n) => !hidden.has(n));
        const anyHidden = pieces.list.some((p) => p.kind === "member" && p.hidden);
        if (!anyHidden) return assert.equal(out, null);
        assert.ok(out !== null);
        filtered++;
        const want = JSON.parse(input.toString("utf8")) as Record<string, Record<string, Json>>;
        for (const name of hidden) delete want["packages"]![name];
        assert.deepEqual(JSON.parse(out.toString("utf8")), want);
        assertCutFrom(out.toString("utf8"), pieces);
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    assert.ok(filtered > RUNS / 5, `only ${filtered} cases hid anything`);
  });
});

// ---- repodata_shards.msgpack.zst ------------------------------------------------------------------

/** msgpack strings, binaries and map headers in any of their legal sizes (writers differ:
 * the smallest form, or a fixed one), so the filter meets every header it can meet. */
function str(s: string, wide: number): Buffer {
  const b = Buffer.from(s);
  const n = b.length;
  const form = n < 32 && wide === 0 ? 0 : n < 256 && wide <= 1 ? 1 : n < 65536 && wide <= 2 ? 2 : 3;
  const head = [Buffer.of(0xa0 | n), Buffer.of(0xd9, n), Buffer.of(0xda, n >> 8, n & 0xff), Buffer.of(0xdb, 0, 0, n >> 8, n & 0xff)][form]!;
  return Buffer.concat([head, b]);
}
function bin(b: Uint8Array, wide: number): Buffer {
  const n = b.length;
  const head = [Buffer.of(0xc4, n), Buffer.of(0xc5, n >> 8, n & 0xff), Buffer.of(0xc6, 0, 0, n >> 8, n & 0xff)][Math.min(wide, 2)]!;
  return Buffer.concat([head, b]);
}
function mapHeader(n: number, wide: number): Buffer {
  if (n < 16 && wide === 0) return Buffer.of(0x80 | n);
  if (n < 65536 && wide <= 1) return Buffer.of(0xde, n >> 8, n & 0xff);
  return Buffer.of(0xdf, 0, 0, n >> 8, n & 0xff);
}
/** The count of the map header at the start of `b`, and its length. */
function readMapHeader(b: Buffer): { count: number; length: number } {
  if (b[0]! >= 0x80 && b[0]! <= 0x8f) return { count: b[0]! & 0x0f, length: 1 };
  if (b[0] === 0xde) return { count: b.readUInt16BE(1), length: 3 };
  if (b[0] === 0xdf) return { count: b.readUInt32BE(1), length: 5 };
  throw new Error(`not a map header: 0x${b[0]?.toString(16)}`);
}

const shardCase = pool.chain((names) =>
  fc.record({
    hidden: fc.subarray(names),
    order: fc.shuffledSubarray(["version", "info", "shards", "extra"], { minLength: 1 }),
    shards: fc.uniqueArray(
      fc.record({ name: fc.oneof(fc.constantFrom(...names), fc.string({ unit: "grapheme", maxLength: 40 })), hash: fc.uint8Array({ minLength: 32, maxLength: 32 }), keyWide: fc.nat(3), binWide: fc.nat(2) }),
      { selector: (m) => m.name, maxLength: 24 },
    ),
    topWide: fc.nat(2),
    shardsWide: fc.nat(2),
    extra: leaf.filter((v) => !JSON.stringify(v).includes('"__proto__"')),
  }),
);

describe("filterShardIndex", () => {
  test("null when nothing is hidden; else the visible shards, the input's bytes with the hidden entries cut and the map's count changed", () => {
    let filtered = 0;
    fc.assert(
      fc.property(shardCase, (c) => {
        const hidden = new Set(c.hidden);
        // @msgpack/msgpack's decode (used below to check the output parses) refuses a
        // `__proto__` key; the filter itself reads keys as bytes and does not care
        const shards = c.shards.filter((s) => wellFormed(s.name) && s.name !== "__proto__");
        // the index in three runs of bytes: up to the shards map, the map, after it
        const before: Buffer[] = [mapHeader(c.order.length, c.topWide)];
        const after: Buffer[] = [];
        const entries = shards.map((s) => ({ bytes: Buffer.concat([str(s.name, s.keyWide), bin(s.hash, s.binWide)]), hidden: hidden.has(s.name), name: s.name, hash: s.hash }));
        let seen = false;
        for (const key of c.order) {
          (seen ? after : before).push(str(key, 0));
          if (key === "shards") {
            seen = true;
            continue;
          }
          (seen ? after : before).push(Buffer.from(encode(key === "version" ? 1 : key === "info" ? { subdir: "noarch", base_url: "", shards_base_url: "./shards/" } : c.extra)));
        }
        const prefix = Buffer.concat(before);
        const suffix = Buffer.concat(after);
        const raw = seen ? Buffer.concat([prefix, mapHeader(entries.length, c.shardsWide), ...entries.map((e) => e.bytes), suffix]) : prefix;

        const out = filterShardIndex(zstdCompress(raw), (n) => !hidden.has(n));
        if (!seen || !entries.some((e) => e.hidden)) return assert.equal(out, null);
        assert.ok(out !== null);
        filtered++;
        const got = zstdDecompress(out);
        const kept = entries.filter((e) => !e.hidden);
        // byte for byte: everything before the map, its new count, the kept entries, the rest
        assert.ok(got.subarray(0, prefix.length).equals(prefix), "the bytes before the shards map changed");
        const header = readMapHeader(got.subarray(prefix.length));
        assert.equal(header.count, kept.length);
        assert.ok(got.subarray(prefix.length + header.length).equals(Buffer.concat([...kept.map((e) => e.bytes), suffix])), "the kept entries or what follows them changed");
        // and it parses, as a msgpack reader and as the gateway's decoder read it
        const doc = decode(got) as Record<string, unknown>;
        assert.deepEqual(Object.keys(doc["shards"] as object).sort(), kept.map((e) => e.name).sort());
        if (c.order.includes("info")) {
          const index = decodeShardIndex(out);
          assert.deepEqual([...index.shards.keys()], kept.map((e) => e.name));
          for (const e of kept) assert.deepEqual(index.shards.get(e.name), new Uint8Array(e.hash));
        }
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    assert.ok(filtered > RUNS / 5, `only ${filtered} cases hid anything`);
  });
});
