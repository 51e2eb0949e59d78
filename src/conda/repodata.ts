// Hiding private packages from repodata.json (and current_repodata.json, repodata_from_packages.json):
// every record in `packages` and `packages.conda` whose package name the caller may not see is cut out.
//
// A conda-forge subdir is ~240 MB of JSON, so this is not parse + stringify. A byte scanner walks the
// file once, finds the byte range of each record and its `name`, and the output is the input with the
// hidden ranges cut out: every untouched byte (formatting, key order, number spelling, escapes) is
// copied as it was. The scanner trusts the file to be JSON (it was written by conda-index); it checks
// the structure it walks and throws on what it cannot walk, but does not validate records' insides.
//
// The same scanner filters channeldata.json, whose `packages` map is keyed by package name.
//
// The scan and the cut are apart: `mapIndex` walks the bytes once and returns an IndexMap (where
// each member is, which package name it belongs to); `indexCuts` turns a map and the answer per
// name into the byte ranges to drop. The gateway maps a stored index once (in a worker thread,
// src/workers/) and keeps only the cut list of each view over the stored bytes.

import { parseCondaFilename } from "./filename.js";

/** False for a package name the caller may not see. */
export type Visible = (name: string) => boolean;

export interface RepodataFilterOptions {
  /**
   * Also drop the file names of hidden packages from the top-level `removed` list. Off by default:
   * `removed` is kept as stored. Note that a private package's file name in `removed` tells a
   * reader that the package exists.
   */
  hideRemoved?: boolean;
}

/**
 * The repodata without the records of hidden packages, or null when nothing is hidden (the caller then
 * serves the stored bytes). A record's package name is its `name` field; a record without a string
 * `name` falls back to the name in its file name key, and one with neither is removed (fail closed).
 */
export function filterRepodata(
  json: Uint8Array,
  visible: Visible,
  options: RepodataFilterOptions = {},
): Buffer | null {
  return filterIndexMembers(json, repodataMembers(options), visible);
}

/** The members of repodata a view filters. */
export function repodataMembers(options: RepodataFilterOptions = {}): Record<string, MemberKind> {
  const members: Record<string, MemberKind> = {
    packages: MemberKind.Records,
    "packages.conda": MemberKind.Records,
  };
  if (options.hideRemoved) members["removed"] = MemberKind.FileNames;
  return members;
}

/** Every package name with at least one record in `packages` or `packages.conda`. */
export function repodataNames(json: Uint8Array): Set<string> {
  return new Set(mapIndex(json, repodataMembers()).names);
}

/** How the package name of a member of a filtered top-level value is found. */
export const MemberKind = {
  /** Object of file name → record: the record's `name` (else the file name's). */
  Records: 0,
  /** Object keyed by package name (channeldata.json `packages`). */
  Names: 1,
  /** Array of file names (repodata `removed`). */
  FileNames: 2,
} as const;
export type MemberKind = (typeof MemberKind)[keyof typeof MemberKind];

/** A member without a package name: always cut (a record with no name, a foreign file name). */
export const NO_NAME = -1;
/** A member that names no package and is always kept (a non-string entry of `removed`). */
export const NOT_A_NAME = -2;

/**
 * Where the members of the filtered top-level values of one index file are, and whose they are.
 * Plain data (typed arrays and strings), so it crosses between threads as it is.
 */
export interface IndexMap {
  /** Length of the mapped bytes. */
  size: number;
  /** Package names, each once; a member's `name` is an index into this list (or NO_NAME, NOT_A_NAME). */
  names: string[];
  /** Per filtered value: the byte of its opening bracket, of its closing one, and its members [first, first + count). */
  groups: Float64Array; // [open, close, first, count] per group
  /** Per member: its first byte, the byte past it, and the first byte of the next member (or the closing bracket). */
  start: Float64Array;
  end: Float64Array;
  next: Float64Array;
  name: Int32Array;
}

/** A map without its names: all that indexCuts reads (typed arrays only, which a worker reads
 * from shared memory). */
export type IndexLayout = Omit<IndexMap, "names">;

/**
 * Filters the given top-level members of a JSON object. Exposed for the other conda index files;
 * `keep` is called once per package name.
 */
export function filterIndexMembers(
  json: Uint8Array,
  members: Record<string, MemberKind>,
  keep: Visible,
): Buffer | null {
  const map = mapIndex(json, members);
  const cuts = indexCuts(map, map.names.map((n) => keep(n)));
  return cuts.length === 0 ? null : assembleView(json, cuts);
}

/** Walks the bytes once: where every member of the given top-level values is, and its package name. */
export function mapIndex(json: Uint8Array, members: Record<string, MemberKind>): IndexMap {
  return new IndexScanner(json).map(members);
}

/**
 * The byte ranges to leave out for the given answers (`keep[i]`, true or 1, for `map.names[i]`): flat
 * [start, end, start, end, ...], ascending, never touching. Empty when nothing is hidden. Each hidden
 * member goes with a separator next to it, so the rest stays valid JSON in the file's own formatting.
 */
export function indexCuts(map: IndexLayout, keep: ArrayLike<boolean | number>): number[] {
  const cuts: number[] = [];
  const cut = (start: number, end: number) => {
    const n = cuts.length;
    if (n > 0 && cuts[n - 1] === start) cuts[n - 1] = end;
    else cuts.push(start, end);
  };
  const { groups, start, end, next, name } = map;
  for (let g = 0; g < groups.length; g += 4) {
    const count = groups[g + 3]!;
    if (count === 0) continue;
    const first = groups[g + 2]!;
    const last = first + count - 1;
    const mark = cuts.length;
    let kept = 0;
    let previousEnd = -1;
    for (let i = first; i <= last; i++) {
      const id = name[i]!;
      const show = id >= 0 ? Boolean(keep[id]) : id === NOT_A_NAME;
      if (show) kept++;
      else if (kept > 0) cut(previousEnd, end[i]!); // with the separator before it
      else if (i !== last) cut(start[i]!, next[i]!); // first so far: with the separator after it
      previousEnd = end[i]!;
    }
    if (kept === 0) {
      // Everything hidden: an empty `{}` rather than the whitespace that surrounded the members.
      cuts.length = mark;
      cut(groups[g]! + 1, groups[g + 1]!);
    }
  }
  return cuts;
}

/** Bytes left once the cuts are made. */
export function viewSize(size: number, cuts: ArrayLike<number>): number {
  let removed = 0;
  for (let i = 0; i < cuts.length; i += 2) removed += cuts[i + 1]! - cuts[i]!;
  return size - removed;
}

/** The bytes without the cut ranges, in one new buffer. */
export function assembleView(buf: Uint8Array, cuts: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(viewSize(buf.length, cuts));
  let from = 0;
  let at = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    out.set(buf.subarray(from, cuts[i]!), at);
    at += cuts[i]! - from;
    from = cuts[i + 1]!;
  }
  out.set(buf.subarray(from), at);
  return out;
}

/** A growable list of numbers in a typed array. */
class NumberList<T extends Float64Array | Int32Array> {
  length = 0;
  constructor(private items: T) {}
  push(x: number): void {
    if (this.length === this.items.length) {
      const bigger = new (this.items.constructor as { new (n: number): T })(this.items.length * 2);
      bigger.set(this.items);
      this.items = bigger;
    }
    this.items[this.length++] = x;
  }
  done(): T {
    return this.items.slice(0, this.length) as T;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** 1 for the bytes the record scanner must look at outside strings: quote and brackets. */
const TOKEN = new Uint8Array(256);
for (const b of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) TOKEN[b] = 1;

class IndexScanner {
  private readonly buf: Uint8Array;
  private readonly end: number;
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly groups = new NumberList(new Float64Array(16));
  private readonly starts = new NumberList(new Float64Array(4096));
  private readonly ends = new NumberList(new Float64Array(4096));
  private readonly nexts = new NumberList(new Float64Array(4096));
  private readonly nameIds = new NumberList(new Int32Array(4096));
  // Where scanRecord found the record's last `name` member: content bounds of a string value, or
  // nameStart = -1 when there is none or it is not a string.
  private nameStart = -1;
  private nameEnd = -1;
  private nameEscaped = false;
  // The previous record's name bytes and id: records of one package sit next to each other.
  private lastStart = -1;
  private lastEnd = -1;
  private lastId = NO_NAME;

  constructor(json: Uint8Array) {
    this.buf = json;
    this.end = json.length;
  }

  map(members: Record<string, MemberKind>): IndexMap {
    const buf = this.buf;
    let p = 0;
    // A UTF-8 byte order mark is not JSON, but some writers add one; keep it where it is.
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3;
    p = this.skipWs(p);
    this.expect(p, OPEN_BRACE, "the repodata to be a JSON object");
    p = this.skipWs(p + 1);
    if (buf[p] !== CLOSE_BRACE) {
      for (;;) {
        this.expect(p, QUOTE, "a key");
        const keyEnd = this.stringEnd(p);
        const key = this.decodeString(p + 1, keyEnd - 1);
        p = this.skipWs(keyEnd);
        this.expect(p, COLON, "':'");
        p = this.skipWs(p + 1);
        const kind = Object.hasOwn(members, key) ? members[key] : undefined;
        if (kind === MemberKind.FileNames && buf[p] === OPEN_BRACKET) p = this.filterMembers(p, kind);
        else if (kind !== undefined && kind !== MemberKind.FileNames && buf[p] === OPEN_BRACE)
          p = this.filterMembers(p, kind);
        else p = this.skipValue(p);
        p = this.skipWs(p);
        if (buf[p] === COMMA) {
          p = this.skipWs(p + 1);
          continue;
        }
        this.expect(p, CLOSE_BRACE, "',' or '}'");
        break;
      }
    }
    if (this.skipWs(p + 1) !== this.end) this.fail(p + 1, "the end of the document");
    return {
      size: this.end,
      names: this.names,
      groups: this.groups.done(),
      start: this.starts.done(),
      end: this.ends.done(),
      next: this.nexts.done(),
      name: this.nameIds.done(),
    };
  }

  private idOf(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  /** Notes where each member of the object (or array) opening at `open` is, and whose it is. */
  private filterMembers(open: number, kind: MemberKind): number {
    const buf = this.buf;
    const close = kind === MemberKind.FileNames ? CLOSE_BRACKET : CLOSE_BRACE;
    let p = this.skipWs(open + 1);
    const first = this.starts.length;
    if (buf[p] === close) {
      this.groups.push(open);
      this.groups.push(p);
      this.groups.push(first);
      this.groups.push(0);
      return p + 1;
    }
    for (;;) {
      const start = p;
      let id: number;
      if (kind === MemberKind.FileNames) {
        p = this.skipValue(p);
        id = buf[start] === QUOTE ? this.fileNameId(start, p) : NOT_A_NAME;
      } else {
        this.expect(p, QUOTE, "a key");
        const keyEnd = this.stringEnd(p);
        p = this.skipWs(keyEnd);
        this.expect(p, COLON, "':'");
        p = this.skipWs(p + 1);
        if (kind === MemberKind.Names) {
          p = this.skipValue(p);
          id = this.idOf(this.decodeString(start + 1, keyEnd - 1));
        } else {
          if (buf[p] === OPEN_BRACE) p = this.scanRecord(p);
          else {
            p = this.skipValue(p);
            this.nameStart = -1;
          }
          id = this.nameStart >= 0 ? this.recordNameId() : this.fileNameId(start, keyEnd);
        }
      }
      const memberEnd = p;
      p = this.skipWs(p);
      const last = buf[p] !== COMMA;
      if (last) this.expect(p, close, kind === MemberKind.FileNames ? "',' or ']'" : "',' or '}'");
      const next = last ? p : this.skipWs(p + 1);
      this.starts.push(start);
      this.ends.push(memberEnd);
      this.nexts.push(next);
      this.nameIds.push(id);
      if (last) break;
      p = next;
    }
    this.groups.push(open);
    this.groups.push(p);
    this.groups.push(first);
    this.groups.push(this.starts.length - first);
    return p + 1;
  }

  /** Scans the record object at `p` to its end, noting where its `name` string is. */
  private scanRecord(p: number): number {
    const buf = this.buf;
    const end = this.end;
    let depth = 0;
    this.nameStart = -1;
    while (p < end) {
      const c = buf[p]!;
      const cls = TOKEN[c]!;
      if (cls === 0) {
        p++;
        continue;
      }
      if (c === QUOTE) {
        const s = p++;
        let escaped = false;
        for (;;) {
          if (p >= end) this.fail(s, "the end of a string");
          const d = buf[p]!;
          if (d === QUOTE) break;
          if (d === BACKSLASH) {
            escaped = true;
            p += 2;
          } else p++;
        }
        p++;
        if (depth === 1 && this.isNameKey(s, p, escaped)) {
          let q = this.skipWs(p);
          if (buf[q] === COLON) {
            // The last `name` wins, as in JSON.parse; a non-string one means "no name".
            this.nameStart = -1;
            q = this.skipWs(q + 1);
            if (buf[q] === QUOTE) {
              let v = q + 1;
              let valueEscaped = false;
              for (;;) {
                if (v >= end) this.fail(q, "the end of a string");
                const d = buf[v]!;
                if (d === QUOTE) break;
                if (d === BACKSLASH) {
                  valueEscaped = true;
                  v += 2;
                } else v++;
              }
              this.nameStart = q + 1;
              this.nameEnd = v;
              this.nameEscaped = valueEscaped;
              p = v + 1;
            }
          }
        }
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (--depth === 0) return p + 1;
      }
      p++;
    }
    return this.fail(p, "the end of a record");
  }

  private isNameKey(s: number, e: number, escaped: boolean): boolean {
    const buf = this.buf;
    if (!escaped)
      return e - s === 6 && buf[s + 1] === 0x6e && buf[s + 2] === 0x61 && buf[s + 3] === 0x6d && buf[s + 4] === 0x65;
    return e - s < 64 && this.decodeString(s + 1, e - 1) === "name";
  }

  private recordNameId(): number {
    const buf = this.buf;
    const s = this.nameStart;
    const e = this.nameEnd;
    const ls = this.lastStart;
    if (ls >= 0 && e - s === this.lastEnd - ls) {
      let i = 0;
      while (i < e - s && buf[s + i] === buf[ls + i]) i++;
      if (i === e - s) return this.lastId;
    }
    const name = this.nameEscaped ? this.decodeString(s, e) : utf8.decode(buf.subarray(s, e));
    const id = this.idOf(name);
    if (!this.nameEscaped) {
      this.lastStart = s;
      this.lastEnd = e;
      this.lastId = id;
    }
    return id;
  }

  /** For a file name string spanning [s, e) with its quotes: the package it names, or NO_NAME (hidden). */
  private fileNameId(s: number, e: number): number {
    const parsed = parseCondaFilename(this.decodeString(s + 1, e - 1));
    return parsed === null ? NO_NAME : this.idOf(parsed.name);
  }

  /** Index just past the value starting at `p` (string, object, array, number or literal). */
  private skipValue(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const c = buf[p];
    if (c === QUOTE) return this.stringEnd(p);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      while (p < end) {
        const d = buf[p]!;
        if (d === QUOTE) {
          p = this.stringEnd(p);
          continue;
        }
        if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
        else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
          if (--depth === 0) return p + 1;
        }
        p++;
      }
      return this.fail(p, "the end of a value");
    }
    const s = p;
    while (p < end) {
      const d = buf[p]!;
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 0x20) break;
      p++;
    }
    if (p === s) this.fail(p, "a value");
    return p;
  }

  /** `p` is at an opening quote; index just past the closing one. */
  private stringEnd(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const s = p++;
    while (p < end) {
      const d = buf[p]!;
      if (d === QUOTE) return p + 1;
      p += d === BACKSLASH ? 2 : 1;
    }
    return this.fail(s, "the end of a string");
  }

  private skipWs(p: number): number {
    const buf = this.buf;
    const end = this.end;
    while (p < end) {
      const c = buf[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    return p;
  }

  /** The string whose content (between the quotes) is [s, e), with escapes resolved. */
  private decodeString(s: number, e: number): string {
    const raw = utf8.decode(this.buf.subarray(s, e));
    return raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  private expect(p: number, byte: number, what: string): void {
    if (this.buf[p] !== byte) this.fail(p, what);
  }

  private fail(p: number, what: string): never {
    throw new SyntaxError(`conda index is not valid JSON: expected ${what} at byte ${p}`);
  }
}
