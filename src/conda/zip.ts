// A streaming reader for the zip container of a `.conda` package, fed as the bytes arrive.
// yauzl (and Python's zipfile, which conda reads packages with) start from the central
// directory at the end, which a stream only reaches last; this reader walks the local headers
// in order instead, hands each member's bytes over as they pass, and at the end checks the
// central directory against what it walked: same members, names, offsets, sizes, methods and
// CRCs, and nothing between or after them. So what pkgate reads from a package is what conda
// will read from it, and a file cut short anywhere is refused (its central directory is gone).
//
// Members must carry their sizes in the local header (no data descriptor), as every conda
// tool writes them (Python's zipfile and rattler write to seekable files). Stored members'
// CRC-32s are checked as they pass; zip64 sizes and offsets are understood.
import * as zlib from "node:zlib";

export interface ZipMember {
  name: string;
  /** Offset of the member's local header in the file. */
  offset: number;
  /** 0 stored, 8 deflate, ... */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
}

export interface ZipHandler {
  /** A member's local header was read; its data follows. May throw to stop. */
  member(m: ZipMember): void;
  /** The next bytes of the member's (compressed) data; a view valid only during the call. */
  data(m: ZipMember, chunk: Uint8Array): void;
  /** All of the member's data passed (and, if stored, its CRC-32 matched). */
  memberEnd(m: ZipMember): void;
}

export class ZipError extends Error {
  constructor(
    message: string,
    readonly kind: "malformed" | "truncated" | "limit",
  ) {
    super(message);
    this.name = "ZipError";
  }
}

export interface ZipLimits {
  maxMembers: number;
  /** Largest central directory plus end records (and comment) kept in memory. */
  maxDirectoryBytes: number;
}

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const LOCAL_FIXED = 30;
const CENTRAL_FIXED = 46;
const EOCD_FIXED = 22;
const U32_MAX = 0xffffffff;

type Phase =
  | { kind: "signature" }
  | { kind: "local" }
  | { kind: "data"; member: ZipMember; left: number; crc: number }
  | { kind: "directory" };

export class ZipStreamReader {
  private phase: Phase = { kind: "signature" };
  private pending: Buffer = Buffer.alloc(0);
  /** Absolute offset of pending[0]. */
  private offset = 0;
  private readonly members: ZipMember[] = [];
  private directoryStart = -1;
  private directory: Buffer[] = [];
  private directoryBytes = 0;

  constructor(
    private readonly handler: ZipHandler,
    private readonly limits: ZipLimits,
  ) {}

  push(chunk: Uint8Array): void {
    let input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (input.length > 0) {
      const phase = this.phase;
      if (phase.kind === "data") {
        const n = Math.min(phase.left, input.length);
        const piece = input.subarray(0, n);
        if (phase.member.method === 0) phase.crc = crc32(piece, phase.crc);
        this.handler.data(phase.member, piece);
        phase.left -= n;
        this.offset += n;
        input = input.subarray(n);
        if (phase.left === 0) this.finishMember(phase.member, phase.crc);
        continue;
      }
      if (phase.kind === "directory") {
        this.directoryBytes += input.length;
        if (this.directoryBytes > this.limits.maxDirectoryBytes) {
          throw new ZipError(`the zip central directory is larger than ${this.limits.maxDirectoryBytes} bytes`, "limit");
        }
        this.directory.push(Buffer.from(input));
        return;
      }
      // Headers: gather their bytes, then read them whole.
      this.pending = this.pending.length === 0 ? Buffer.from(input) : Buffer.concat([this.pending, input]);
      input = Buffer.alloc(0);
      input = this.readHeaders();
    }
  }

  /** Called when the input ended: checks the central directory, returns the members in file order. */
  end(): ZipMember[] {
    if (this.phase.kind !== "directory") {
      if (this.phase.kind === "signature" && this.offset === 0 && this.pending.length === 0) {
        throw new ZipError("the file is empty", "truncated");
      }
      throw new ZipError("the zip archive ends before its central directory: the file is truncated", "truncated");
    }
    this.checkDirectory(Buffer.concat(this.directory));
    return this.members;
  }

  /** Reads the headers in `pending`; returns the bytes that follow them once data or the directory starts. */
  private readHeaders(): Buffer {
    for (;;) {
      const p = this.pending;
      if (this.phase.kind === "signature") {
        if (p.length < 4) return Buffer.alloc(0);
        const sig = p.readUInt32LE(0);
        if (sig === LOCAL_SIG) this.phase = { kind: "local" };
        else if (sig === CENTRAL_SIG || sig === EOCD_SIG) {
          this.phase = { kind: "directory" };
          this.directoryStart = this.offset;
          this.pending = Buffer.alloc(0);
          return p;
        } else if (this.offset === 0) throw new ZipError("not a zip archive", "malformed");
        else throw new ZipError(`unexpected bytes at offset ${this.offset} of the zip archive`, "malformed");
      }
      if (this.phase.kind === "local") {
        if (p.length < LOCAL_FIXED) return Buffer.alloc(0);
        const nameLength = p.readUInt16LE(26);
        const extraLength = p.readUInt16LE(28);
        const headerLength = LOCAL_FIXED + nameLength + extraLength;
        if (p.length < headerLength) return Buffer.alloc(0);
        const member = this.readLocal(p.subarray(0, headerLength));
        this.members.push(member);
        if (this.members.length > this.limits.maxMembers) {
          throw new ZipError(`the zip archive has more than ${this.limits.maxMembers} members`, "limit");
        }
        this.offset += headerLength;
        this.pending = Buffer.alloc(0);
        this.handler.member(member);
        const rest = p.subarray(headerLength);
        if (member.compressedSize === 0) {
          this.finishMember(member, 0);
          this.pending = Buffer.from(rest);
          continue;
        }
        this.phase = { kind: "data", member, left: member.compressedSize, crc: 0 };
        return rest;
      }
      return Buffer.alloc(0);
    }
  }

  private readLocal(h: Buffer): ZipMember {
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const name = decodeName(h.subarray(LOCAL_FIXED, LOCAL_FIXED + h.readUInt16LE(26)), flags);
    if (flags & 0x1) throw new ZipError(`the zip member ${name} is encrypted`, "malformed");
    if (flags & 0x8) {
      throw new ZipError(
        `the zip member ${name} has no sizes in its local header (written by a streaming zip writer); conda's tools write them`,
        "malformed",
      );
    }
    const sizes = { size: h.readUInt32LE(22), compressedSize: h.readUInt32LE(18) };
    zip64(h.subarray(LOCAL_FIXED + h.readUInt16LE(26)), sizes, null, name);
    return { name, offset: this.offset, method, crc32: h.readUInt32LE(14), ...sizes };
  }

  private finishMember(member: ZipMember, crc: number): void {
    if (member.method === 0) {
      if (member.size !== member.compressedSize) throw new ZipError(`the zip member ${member.name} has inconsistent sizes`, "malformed");
      if (crc !== member.crc32) throw new ZipError(`the zip member ${member.name} fails its CRC-32 check: the file is corrupt`, "malformed");
    }
    this.phase = { kind: "signature" };
    this.handler.memberEnd(member);
  }

  private checkDirectory(d: Buffer): void {
    const bad = (why: string) => new ZipError(`the zip central directory ${why}`, "malformed");
    // The end record is the last thing in the file: found from the end, its comment running to the end.
    let eocd = -1;
    for (let at = d.length - EOCD_FIXED; at >= 0 && at >= d.length - EOCD_FIXED - 0xffff; at--) {
      if (d.readUInt32LE(at) === EOCD_SIG && at + EOCD_FIXED + d.readUInt16LE(at + 20) === d.length) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw new ZipError("the zip archive has no end record: the file is truncated or not a zip", "truncated");
    let count = d.readUInt16LE(eocd + 10);
    let size = d.readUInt32LE(eocd + 12);
    let start = d.readUInt32LE(eocd + 16);
    if (d.readUInt16LE(eocd + 4) !== 0 || d.readUInt16LE(eocd + 6) !== 0) throw bad("spans several disks");
    let directoryEnd = eocd;
    const locator = eocd - 20;
    if (locator >= 0 && d.readUInt32LE(locator) === ZIP64_LOCATOR_SIG) {
      const record = Number(d.readBigUInt64LE(locator + 8)) - this.directoryStart;
      if (record < 0 || record + 56 > locator || d.readUInt32LE(record) !== ZIP64_EOCD_SIG) throw bad("has a bad zip64 end record");
      count = safe(d.readBigUInt64LE(record + 32));
      size = safe(d.readBigUInt64LE(record + 40));
      start = safe(d.readBigUInt64LE(record + 48));
      directoryEnd = record;
    }
    if (start !== this.directoryStart || size !== directoryEnd) throw bad("is not where its end record says");
    if (count !== this.members.length) throw bad(`lists ${count} members, the archive holds ${this.members.length}`);

    const byOffset = new Map(this.members.map((m) => [m.offset, m]));
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + CENTRAL_FIXED > directoryEnd || d.readUInt32LE(at) !== CENTRAL_SIG) throw bad("is malformed");
      const flags = d.readUInt16LE(at + 8);
      const nameLength = d.readUInt16LE(at + 28);
      const extraLength = d.readUInt16LE(at + 30);
      const commentLength = d.readUInt16LE(at + 32);
      const next = at + CENTRAL_FIXED + nameLength + extraLength + commentLength;
      if (next > directoryEnd) throw bad("is malformed");
      const name = decodeName(d.subarray(at + CENTRAL_FIXED, at + CENTRAL_FIXED + nameLength), flags);
      const sizes = { size: d.readUInt32LE(at + 24), compressedSize: d.readUInt32LE(at + 20) };
      const where = { offset: d.readUInt32LE(at + 42) };
      zip64(d.subarray(at + CENTRAL_FIXED + nameLength, at + CENTRAL_FIXED + nameLength + extraLength), sizes, where, name);
      const local = byOffset.get(where.offset);
      byOffset.delete(where.offset);
      if (
        !local ||
        local.name !== name ||
        local.method !== d.readUInt16LE(at + 10) ||
        local.crc32 !== d.readUInt32LE(at + 16) ||
        local.size !== sizes.size ||
        local.compressedSize !== sizes.compressedSize
      ) {
        throw bad(`does not match the member ${JSON.stringify(name)} it describes`);
      }
      at = next;
    }
    if (at !== directoryEnd) throw bad("has bytes after its last entry");
  }
}

/** Reads a zip64 extended-information field over the 32-bit values that are 0xffffffff. */
function zip64(
  extra: Buffer,
  sizes: { size: number; compressedSize: number },
  where: { offset: number } | null,
  name: string,
): void {
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    const body = extra.subarray(at + 4, at + 4 + length);
    if (body.length < length) break;
    if (id === 0x0001) {
      let k = 0;
      const next = () => {
        if (k + 8 > body.length) throw new ZipError(`the zip member ${name} has a bad zip64 field`, "malformed");
        const v = safe(body.readBigUInt64LE(k));
        k += 8;
        return v;
      };
      if (sizes.size === U32_MAX) sizes.size = next();
      if (sizes.compressedSize === U32_MAX) sizes.compressedSize = next();
      if (where && where.offset === U32_MAX) where.offset = next();
    }
    at += 4 + length;
  }
}

function safe(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError("a zip size or offset is out of range", "malformed");
  return Number(n);
}

function decodeName(bytes: Buffer, flags: number): string {
  // Bit 11: UTF-8; otherwise CP437, which agrees with latin1 on the ASCII names conda uses.
  return flags & 0x800 ? bytes.toString("utf8") : bytes.toString("latin1");
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** zlib's CRC-32 (native from Node 20.15), or a table-driven one before that. */
const crc32: (data: Uint8Array, value: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === "function"
    ? (data, value) => zlib.crc32(data, value) >>> 0
    : (data, value) => {
        let c = ~value;
        for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
        return ~c >>> 0;
      };
