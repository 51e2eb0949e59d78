// A streaming tar reader for conda packages: bytes are pushed in as they are decompressed, and
// each entry is offered to a handler that either collects it whole or lets it pass. It reads
// what Python's tarfile writes and reads (conda-package-handling and conda-build make packages
// with it, conda and conda-index read them with it): ustar headers, pax extended headers
// (local and global: path, linkpath, size), GNU long names and links, base-256 sizes. Where
// tarfile has a rule of its own, the same rule is followed here, so that the entry pkgate
// reads is the entry conda reads: a ustar prefix joins the name, only regular files (and
// unknown types) are followed by data, a '\0'-type name ending in '/' is a directory, and the
// first zero block ends the archive. GNU sparse files are refused: no conda tool writes them.

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarEntry {
  name: string;
  type: TarEntryType;
  /** Bytes of data that follow the header (0 for links and directories). */
  size: number;
  /** Target of a symlink or hardlink. */
  linkname: string;
}

export interface TarHandler {
  /** Each entry in archive order: "collect" to have its data handed to `file`, else "skip". May throw to stop. */
  entry(entry: TarEntry): "collect" | "skip";
  file(entry: TarEntry, data: Buffer): void;
}

export class TarError extends Error {
  constructor(
    message: string,
    readonly kind: "malformed" | "truncated" | "limit",
  ) {
    super(message);
    this.name = "TarError";
  }
}

export interface TarLimits {
  /** Most entries (of any type; pax and long-name headers not counted). */
  maxEntries: number;
  /** Largest pax header or GNU long name/link. */
  maxExtendedHeaderBytes?: number;
}

const BLOCK = 512;
const DEFAULT_MAX_EXTENDED = 1024 * 1024;
const decoder = new TextDecoder("utf-8");

type Phase =
  | { kind: "header" }
  | { kind: "data"; entry: TarEntry; left: number; padding: number; collect: Buffer[] | null }
  | { kind: "extended"; type: "x" | "g" | "L" | "K"; left: number; padding: number; parts: Buffer[] }
  | { kind: "padding"; left: number }
  | { kind: "done" };

export class TarReader {
  private phase: Phase = { kind: "header" };
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private entries = 0;
  private globalPax: Record<string, string> = {};
  private localPax: Record<string, string> | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;
  private readonly maxExtended: number;

  constructor(
    private readonly handler: TarHandler,
    private readonly limits: TarLimits,
  ) {
    this.maxExtended = limits.maxExtendedHeaderBytes ?? DEFAULT_MAX_EXTENDED;
  }

  /** True once the end-of-archive block was read; anything after it is ignored. */
  get done(): boolean {
    return this.phase.kind === "done";
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const phase = this.phase;
      switch (phase.kind) {
        case "done":
          return;
        case "header": {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
          this.header.set(chunk.subarray(at, at + n), this.headerFill);
          this.headerFill += n;
          at += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.readHeader(this.header);
          }
          break;
        }
        case "data": {
          const n = Math.min(phase.left, chunk.length - at);
          if (phase.collect && n > 0) phase.collect.push(Buffer.from(chunk.subarray(at, at + n)));
          phase.left -= n;
          at += n;
          if (phase.left === 0) {
            this.phase = phase.padding > 0 ? { kind: "padding", left: phase.padding } : { kind: "header" };
            if (phase.collect) this.handler.file(phase.entry, Buffer.concat(phase.collect));
          }
          break;
        }
        case "extended": {
          const n = Math.min(phase.left, chunk.length - at);
          phase.parts.push(Buffer.from(chunk.subarray(at, at + n)));
          phase.left -= n;
          at += n;
          if (phase.left === 0) {
            this.phase = phase.padding > 0 ? { kind: "padding", left: phase.padding } : { kind: "header" };
            this.readExtended(phase.type, Buffer.concat(phase.parts));
          }
          break;
        }
        case "padding": {
          const n = Math.min(phase.left, chunk.length - at);
          phase.left -= n;
          at += n;
          if (phase.left === 0) this.phase = { kind: "header" };
          break;
        }
      }
    }
  }

  /** Checks that the input did not stop inside a header or an entry. */
  end(): void {
    const k = this.phase.kind;
    if (k === "done") return;
    if (k === "header" && this.headerFill === 0 && this.localPax === null && this.longName === null && this.longLink === null) {
      return; // tarfile accepts an archive that ends at a header boundary without the zero blocks
    }
    throw new TarError("the tar archive ends in the middle of an entry", "truncated");
  }

  private readHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.phase = { kind: "done" };
      return;
    }
    const stored = octal(h, 148, 8);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    if (stored === null || (stored !== unsigned && stored !== signed)) {
      throw new TarError("not a tar archive (bad header checksum)", "malformed");
    }
    const flag = String.fromCharCode(h[156]!);
    const rawSize = number(h, 124, 12);
    if (rawSize === null) throw new TarError("a tar header has an invalid size", "malformed");
    const padding = (BLOCK - (rawSize % BLOCK)) % BLOCK;

    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (rawSize > this.maxExtended) {
        throw new TarError(`a tar extended header is ${rawSize} bytes; at most ${this.maxExtended} are read`, "limit");
      }
      this.phase = rawSize > 0 ? { kind: "extended", type: flag, left: rawSize, padding, parts: [] } : { kind: "header" };
      return;
    }
    if (flag === "S") throw new TarError("the tar archive holds a GNU sparse file, which conda packages never do", "malformed");

    this.entries++;
    if (this.entries > this.limits.maxEntries) {
      throw new TarError(`the tar archive has more than ${this.limits.maxEntries} entries`, "limit");
    }

    const pax = { ...this.globalPax, ...(this.localPax ?? {}) };
    let name = this.longName ?? cString(h, 0, 100);
    const prefix = cString(h, 345, 155);
    if (this.longName === null && prefix) name = `${prefix}/${name}`;
    if (pax.path !== undefined) name = pax.path;
    const linkname = pax.linkpath ?? this.longLink ?? cString(h, 157, 100);
    let size = rawSize;
    if (pax.size !== undefined) {
      if (!/^\d{1,16}$/.test(pax.size) || !Number.isSafeInteger(Number(pax.size))) {
        throw new TarError("a tar pax header has an invalid size", "malformed");
      }
      size = Number(pax.size);
    }
    this.localPax = null;
    this.longName = null;
    this.longLink = null;

    let type: TarEntryType;
    switch (flag) {
      case "0":
      case "7":
        type = "file";
        break;
      case "\0":
        type = name.endsWith("/") ? "directory" : "file";
        break;
      case "1":
        type = "hardlink";
        break;
      case "2":
        type = "symlink";
        break;
      case "5":
        type = "directory";
        break;
      default:
        type = "other";
    }
    // tarfile skips data only after regular files and types it does not know (links,
    // directories, devices and fifos have none, whatever their size field says).
    const dataSize = type === "file" || (type === "other" && !"346".includes(flag)) ? size : 0;
    const entry: TarEntry = { name, type, size: dataSize, linkname };
    const collect = this.handler.entry(entry) === "collect";
    const entryPadding = (BLOCK - (dataSize % BLOCK)) % BLOCK;
    if (dataSize === 0) {
      this.phase = { kind: "header" };
      if (collect) this.handler.file(entry, Buffer.alloc(0));
    } else {
      this.phase = { kind: "data", entry, left: dataSize, padding: entryPadding, collect: collect ? [] : null };
    }
  }

  private readExtended(type: "x" | "g" | "L" | "K", data: Buffer): void {
    if (type === "L") this.longName = cString(data, 0, data.length);
    else if (type === "K") this.longLink = cString(data, 0, data.length);
    else {
      const records = paxRecords(data);
      if (type === "g") Object.assign(this.globalPax, records);
      else this.localPax = { ...(this.localPax ?? {}), ...records };
    }
  }
}

/** "<length> <key>=<value>\n" records. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // tarfile stops at padding NULs too
    const space = data.indexOf(0x20, at);
    const lenText = space > at ? data.toString("latin1", at, space) : "";
    const length = /^\d{1,8}$/.test(lenText) ? Number(lenText) : NaN;
    if (!(length > 0) || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw new TarError("a tar pax header is malformed", "malformed");
    }
    const record = data.subarray(space + 1, at + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new TarError("a tar pax header is malformed", "malformed");
    out[decoder.decode(record.subarray(0, eq))] = decoder.decode(record.subarray(eq + 1));
    at += length;
  }
  return out;
}

function cString(buf: Uint8Array, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul >= 0 ? field.subarray(0, nul) : field);
}

function octal(buf: Uint8Array, start: number, length: number): number | null {
  const text = String.fromCharCode(...buf.subarray(start, start + length)).replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  const n = parseInt(text, 8);
  return Number.isSafeInteger(n) ? n : null;
}

/** A numeric field: octal, or GNU base-256 (high bit of the first byte set). */
function number(buf: Uint8Array, start: number, length: number): number | null {
  const first = buf[start]!;
  if (first & 0x80) {
    if (first !== 0x80) return null; // negative, or beyond what a size can be
    let n = 0;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + buf[i]!;
    return Number.isSafeInteger(n) ? n : null;
  }
  return octal(buf, start, length);
}
