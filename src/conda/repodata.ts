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
  const members: Record<string, MemberKind> = {
    packages: MemberKind.Records,
    "packages.conda": MemberKind.Records,
  };
  if (options.hideRemoved) members["removed"] = MemberKind.FileNames;
  return new IndexScanner(json, memoize(visible)).filter(members);
}

/** Every package name with at least one record in `packages` or `packages.conda`. */
export function repodataNames(json: Uint8Array): Set<string> {
  const names = new Set<string>();
  new IndexScanner(json, (name) => {
    names.add(name);
    return true;
  }).filter({ packages: MemberKind.Records, "packages.conda": MemberKind.Records });
  return names;
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

/**
 * Filters the given top-level members of a JSON object. Exposed for the other conda index files;
 * `keep` is called once per member (memoize it when it is costly).
 */
export function filterIndexMembers(
  json: Uint8Array,
  members: Record<string, MemberKind>,
  keep: Visible,
): Buffer | null {
  return new IndexScanner(json, keep).filter(members);
}

function memoize(visible: Visible): Visible {
  const seen = new Map<string, boolean>();
  return (name) => {
    let answer = seen.get(name);
    if (answer === undefined) {
      answer = visible(name);
      seen.set(name, answer);
    }
    return answer;
  };
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
  private readonly keep: Visible;
  /** Byte ranges to leave out of the output, flat [start, end, start, end, ...], ascending. */
  private readonly cuts: number[] = [];
  // Where scanRecord found the record's last `name` member: content bounds of a string value, or
  // nameStart = -1 when there is none or it is not a string.
  private nameStart = -1;
  private nameEnd = -1;
  private nameEscaped = false;
  // The previous record's name bytes and answer: records of one package sit next to each other.
  private lastStart = -1;
  private lastEnd = -1;
  private lastKeep = false;

  constructor(json: Uint8Array, keep: Visible) {
    this.buf = json;
    this.end = json.length;
    this.keep = keep;
  }

  filter(members: Record<string, MemberKind>): Buffer | null {
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
    return this.cuts.length === 0 ? null : this.assemble();
  }

  /**
   * Walks the members of the object (or array) opening at `open` and cuts out the hidden ones with a
   * separator next to them, so the rest stays valid JSON in the file's own formatting.
   */
  private filterMembers(open: number, kind: MemberKind): number {
    const buf = this.buf;
    const close = kind === MemberKind.FileNames ? CLOSE_BRACKET : CLOSE_BRACE;
    let p = this.skipWs(open + 1);
    if (buf[p] === close) return p + 1;
    const mark = this.cuts.length;
    let kept = 0;
    let previousEnd = -1;
    for (;;) {
      const start = p;
      let show: boolean;
      if (kind === MemberKind.FileNames) {
        p = this.skipValue(p);
        show = buf[start] === QUOTE ? this.keepFileName(start, p) : true;
      } else {
        this.expect(p, QUOTE, "a key");
        const keyEnd = this.stringEnd(p);
        p = this.skipWs(keyEnd);
        this.expect(p, COLON, "':'");
        p = this.skipWs(p + 1);
        if (kind === MemberKind.Names) {
          p = this.skipValue(p);
          show = this.keep(this.decodeString(start + 1, keyEnd - 1));
        } else {
          if (buf[p] === OPEN_BRACE) p = this.scanRecord(p);
          else {
            p = this.skipValue(p);
            this.nameStart = -1;
          }
          show = this.nameStart >= 0 ? this.keepRecordName() : this.keepFileName(start, keyEnd);
        }
      }
      const memberEnd = p;
      p = this.skipWs(p);
      const last = buf[p] !== COMMA;
      if (last) this.expect(p, close, kind === MemberKind.FileNames ? "',' or ']'" : "',' or '}'");
      const next = last ? p : this.skipWs(p + 1);
      if (show) kept++;
      else if (kept > 0) this.cut(previousEnd, memberEnd); // with the separator before it
      else if (!last) this.cut(start, next); // first so far: with the separator after it
      previousEnd = memberEnd;
      if (last) break;
      p = next;
    }
    if (kept === 0) {
      // Everything hidden: an empty `{}` rather than the whitespace that surrounded the members.
      this.cuts.length = mark;
      this.cut(open + 1, p);
    }
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

  private keepRecordName(): boolean {
    const buf = this.buf;
    const s = this.nameStart;
    const e = this.nameEnd;
    const ls = this.lastStart;
    if (ls >= 0 && e - s === this.lastEnd - ls) {
      let i = 0;
      while (i < e - s && buf[s + i] === buf[ls + i]) i++;
      if (i === e - s) return this.lastKeep;
    }
    const name = this.nameEscaped ? this.decodeString(s, e) : utf8.decode(buf.subarray(s, e));
    const answer = this.keep(name);
    if (!this.nameEscaped) {
      this.lastStart = s;
      this.lastEnd = e;
      this.lastKeep = answer;
    }
    return answer;
  }

  /** For a file name string spanning [s, e) with its quotes: hidden unless it names a visible package. */
  private keepFileName(s: number, e: number): boolean {
    const parsed = parseCondaFilename(this.decodeString(s + 1, e - 1));
    return parsed !== null && this.keep(parsed.name);
  }

  private cut(start: number, end: number): void {
    const cuts = this.cuts;
    const n = cuts.length;
    if (n > 0 && cuts[n - 1] === start) cuts[n - 1] = end;
    else cuts.push(start, end);
  }

  private assemble(): Buffer {
    const buf = this.buf;
    const cuts = this.cuts;
    let removed = 0;
    for (let i = 0; i < cuts.length; i += 2) removed += cuts[i + 1]! - cuts[i]!;
    const out = Buffer.allocUnsafe(this.end - removed);
    let from = 0;
    let at = 0;
    for (let i = 0; i < cuts.length; i += 2) {
      out.set(buf.subarray(from, cuts[i]!), at);
      at += cuts[i]! - from;
      from = cuts[i + 1]!;
    }
    out.set(buf.subarray(from, this.end), at);
    return out;
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
