// Core metadata of Python distributions: the METADATA file of a wheel (served as
// `<file>.metadata`, PEP 658/714) and the PKG-INFO of an sdist, read from uploaded or stored
// archives that nobody has vouched for. Every read is bounded in size and in time: a file
// that declares or inflates past the limits, or takes too long to inflate, is refused before
// it costs much memory or CPU.
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import yauzl from "yauzl";
import { GateError, badRequest } from "../errors.js";
import { isValidProjectName, parseDistFilename } from "./names.js";

export interface ArchiveLimits {
  /** Largest METADATA / PKG-INFO accepted, in bytes. */
  maxMetadataBytes: number;
  /** Most archive members looked at before giving up. */
  maxEntries: number;
  /** Most decompressed bytes of a .tar.gz scanned while looking for PKG-INFO. */
  maxUnpackedBytes: number;
  /** Longest time, in ms, spent reading one archive's metadata, decompression included... */
  maxMillis?: number;
  /** ...plus this many ms per MiB of the archive as stored: a large honest sdist inflates for
   * a while; a bomb is small and would inflate for seconds. */
  millisPerMiB?: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxMetadataBytes: 1024 * 1024,
  maxEntries: 100_000,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  // A 1 MB gzip bomb that inflates to 1 GiB cost 3.5 s of CPU; now about 2 s at most. A 300 MB
  // sdist whose PKG-INFO comes last still gets 17 s.
  maxMillis: 2000,
  millisPerMiB: 50,
};

/** The time a read of one archive may take; check() refuses with a 400 once it is over. */
class Deadline {
  private readonly end: number;
  private readonly allowed: number;
  constructor(
    storedBytes: number,
    limits: ArchiveLimits,
    private readonly what: string,
  ) {
    const base = limits.maxMillis ?? DEFAULT_ARCHIVE_LIMITS.maxMillis!;
    const perMiB = limits.millisPerMiB ?? DEFAULT_ARCHIVE_LIMITS.millisPerMiB!;
    this.allowed = base + (perMiB * storedBytes) / (1024 * 1024);
    this.end = performance.now() + this.allowed;
  }

  check(): void {
    if (performance.now() <= this.end) return;
    const seconds = (Math.round(this.allowed / 100) / 10).toFixed(1);
    throw badRequest(`the ${this.what} takes longer than ${seconds} s to decompress; refused as a likely compression bomb`);
  }
}

async function storedSize(source: Buffer | string): Promise<number> {
  return typeof source === "string" ? (await stat(source)).size : source.length;
}

export interface CoreMetadata {
  metadataVersion: string;
  name: string;
  version: string;
  requiresPython?: string;
  summary?: string;
  requiresDist: string[];
  description?: string;
}

// ---------------------------------------------------------------------------------------
// Wheels (zip)

type ZipFile = yauzl.ZipFile;
type ZipEntry = yauzl.Entry;

function openZip(source: Buffer | string): Promise<ZipFile> {
  const options = { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true };
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zip?: ZipFile) =>
      err || !zip ? reject(notAnArchive("zip", err)) : resolve(zip);
    if (typeof source === "string") yauzl.open(source, options, done);
    else yauzl.fromBuffer(source, options, done);
  });
}

function notAnArchive(kind: string, err: unknown): GateError {
  // Only the library's own description of the damage; never a path from the server.
  const detail = err instanceof Error ? `: ${err.message}` : "";
  return badRequest(`the file is not a valid ${kind} archive${detail}`);
}

/** Every member of the zip's central directory, without reading any member's data. */
function listZip(zip: ZipFile, limits: ArchiveLimits, deadline: Deadline): Promise<ZipEntry[]> {
  if (zip.entryCount > limits.maxEntries) {
    return Promise.reject(badRequest(`the archive has ${zip.entryCount} members, more than the ${limits.maxEntries} allowed`));
  }
  return new Promise((resolve, reject) => {
    const entries: ZipEntry[] = [];
    zip.on("entry", (entry: ZipEntry) => {
      try {
        deadline.check();
      } catch (err) {
        reject(err);
        return;
      }
      entries.push(entry);
      zip.readEntry();
    });
    zip.once("end", () => resolve(entries));
    zip.once("error", (err: unknown) => reject(notAnArchive("zip", err)));
    zip.readEntry();
  });
}

function readZipMember(zip: ZipFile, entry: ZipEntry, limits: ArchiveLimits, what: string, deadline: Deadline): Promise<Buffer> {
  if (entry.uncompressedSize > limits.maxMetadataBytes) {
    return Promise.reject(tooLarge(what, limits));
  }
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(notAnArchive("zip", err));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (chunk: Buffer) => {
        try {
          deadline.check();
        } catch (late) {
          stream.destroy();
          reject(late);
          return;
        }
        size += chunk.length;
        // yauzl already checks the declared size; this guards the memory regardless.
        if (size > limits.maxMetadataBytes) {
          stream.destroy();
          reject(tooLarge(what, limits));
          return;
        }
        chunks.push(chunk);
      });
      stream.once("error", (e) => reject(notAnArchive("zip", e)));
      stream.once("end", () => resolve(Buffer.concat(chunks)));
    });
  });
}

function tooLarge(what: string, limits: ArchiveLimits): GateError {
  return badRequest(`${what} is larger than ${limits.maxMetadataBytes} bytes`);
}

/**
 * The raw bytes of `<name>-<version>.dist-info/METADATA` of a wheel (a Buffer, or a path to
 * one). A wheel must have exactly one `.dist-info` directory at its root, as pip requires.
 */
export async function readWheelMetadata(
  wheel: Buffer | string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<Buffer> {
  const deadline = new Deadline(await storedSize(wheel), limits, "wheel");
  const zip = await openZip(wheel);
  try {
    const entries = await listZip(zip, limits, deadline);
    const infoDirs = new Set<string>();
    for (const entry of entries) {
      const top = entry.fileName.split("/", 1)[0]!;
      if (top.endsWith(".dist-info") && entry.fileName.includes("/")) infoDirs.add(top);
    }
    if (infoDirs.size === 0) throw badRequest("the wheel has no .dist-info directory");
    if (infoDirs.size > 1) {
      throw badRequest(`the wheel has ${infoDirs.size} .dist-info directories; a wheel must have exactly one`);
    }
    const [infoDir] = infoDirs;
    const metadata = entries.find((e) => e.fileName === `${infoDir}/METADATA`);
    if (!metadata) throw badRequest(`the wheel has no ${infoDir}/METADATA`);
    return await readZipMember(zip, metadata, limits, "the wheel's METADATA", deadline);
  } finally {
    zip.close();
  }
}

// ---------------------------------------------------------------------------------------
// Sdists (.tar.gz, or .zip for old ones)

const PKG_INFO = /^(?:\.\/)?[^/]+\/PKG-INFO$/;

/** The raw bytes of `<name>-<version>/PKG-INFO` of an sdist (.tar.gz or .zip, by content). */
export async function readSdistMetadata(
  sdist: Buffer | string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<Buffer> {
  const magic = await leadingBytes(sdist, 4);
  if (magic[0] === 0x1f && magic[1] === 0x8b) return readTarGzMember(sdist, limits);
  if (magic.toString("latin1") === "PK\x03\x04") return readZipPkgInfo(sdist, limits);
  throw badRequest("the sdist is neither a .tar.gz nor a .zip archive");
}

async function leadingBytes(source: Buffer | string, n: number): Promise<Buffer> {
  if (typeof source !== "string") return source.subarray(0, n);
  const fh = await open(source, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function readZipPkgInfo(source: Buffer | string, limits: ArchiveLimits): Promise<Buffer> {
  const deadline = new Deadline(await storedSize(source), limits, "sdist");
  const zip = await openZip(source);
  try {
    const candidates = (await listZip(zip, limits, deadline)).filter((e) => PKG_INFO.test(e.fileName));
    if (candidates.length !== 1) {
      throw badRequest(candidates.length === 0 ? "the sdist has no <name>-<version>/PKG-INFO" : "the sdist has more than one top-level PKG-INFO");
    }
    return await readZipMember(zip, candidates[0]!, limits, "the sdist's PKG-INFO", deadline);
  } finally {
    zip.close();
  }
}

async function readTarGzMember(source: Buffer | string, limits: ArchiveLimits): Promise<Buffer> {
  const deadline = new Deadline(await storedSize(source), limits, "sdist");
  const raw = typeof source === "string" ? createReadStream(source) : Readable.from([source]);
  const gunzip = createGunzip();
  raw.once("error", (err: Error) => gunzip.destroy(err));
  raw.pipe(gunzip);
  const scanner = new TarScanner((path) => PKG_INFO.test(path), limits);
  try {
    for await (const chunk of gunzip) {
      deadline.check();
      const found = scanner.feed(chunk as Buffer);
      if (found) return found;
      if (scanner.ended) break;
    }
  } catch (err) {
    if (err instanceof GateError) throw err;
    throw notAnArchive("gzip-compressed tar", err);
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
  throw badRequest("the sdist has no <name>-<version>/PKG-INFO");
}

/**
 * A push parser for tar (ustar, pax and GNU long names) that keeps only the first member
 * whose path is wanted and skips every other byte without buffering it.
 */
export class TarScanner {
  ended = false;
  private header = Buffer.alloc(512);
  private headerFill = 0;
  private skip = 0;
  private collect: { buf: Buffer; fill: number; padding: number; use: "member" | "pax" | "longname" } | null = null;
  private nextPath: string | undefined;
  private unpacked = 0;
  private entries = 0;

  constructor(
    private readonly wanted: (path: string) => boolean,
    private readonly limits: ArchiveLimits,
  ) {}

  /** Feeds decompressed bytes; returns the wanted member's bytes once complete. */
  feed(chunk: Buffer): Buffer | undefined {
    this.unpacked += chunk.length;
    if (this.unpacked > this.limits.maxUnpackedBytes) {
      throw badRequest(`the sdist is larger than ${this.limits.maxUnpackedBytes} bytes once decompressed`);
    }
    let off = 0;
    while (off < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        this.skip -= n;
        off += n;
      } else if (this.collect) {
        const c = this.collect;
        const n = Math.min(c.buf.length - c.fill, chunk.length - off);
        chunk.copy(c.buf, c.fill, off, off + n);
        c.fill += n;
        off += n;
        if (c.fill === c.buf.length) {
          this.collect = null;
          this.skip = c.padding;
          if (c.use === "member") return c.buf;
          if (c.use === "longname") this.nextPath = cString(c.buf, 0, c.buf.length);
          else this.nextPath = paxPath(c.buf) ?? this.nextPath;
        }
      } else {
        const n = Math.min(512 - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill === 512) {
          this.headerFill = 0;
          const empty = this.onHeader();
          if (empty) return empty;
        }
      }
    }
    return undefined;
  }

  /** Reads one header; returns the wanted member when it is empty (complete at once). */
  private onHeader(): Buffer | undefined {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.ended = true;
      return undefined;
    }
    if (++this.entries > this.limits.maxEntries) {
      throw badRequest(`the sdist has more than ${this.limits.maxEntries} members`);
    }
    if (!checksumOk(h)) throw badRequest("the sdist is not a valid tar archive (bad header checksum)");
    const size = readSize(h);
    const padding = (512 - (size % 512)) % 512;
    const type = String.fromCharCode(h[156]!);
    const name = cString(h, 0, 100);
    const prefix = h.toString("latin1", 257, 262) === "ustar" ? cString(h, 345, 155) : "";
    const path = this.nextPath ?? (prefix ? `${prefix}/${name}` : name);
    const isExtension = type === "x" || type === "L";
    if (!isExtension) this.nextPath = undefined;

    if (isExtension) {
      // Extended headers name the next member; they are small unless hostile.
      if (size > this.limits.maxMetadataBytes) throw badRequest("the sdist has an oversized tar extended header");
      this.collect = { buf: Buffer.alloc(size), fill: 0, padding, use: type === "x" ? "pax" : "longname" };
    } else if ((type === "0" || type === "\0") && this.wanted(path)) {
      if (size > this.limits.maxMetadataBytes) {
        throw badRequest(`the sdist's PKG-INFO is larger than ${this.limits.maxMetadataBytes} bytes`);
      }
      this.collect = { buf: Buffer.alloc(size), fill: 0, padding, use: "member" };
    } else {
      this.skip = size + padding;
    }
    // A member without data bytes completes at once.
    const c = this.collect;
    if (c && size === 0) {
      this.collect = null;
      this.skip = c.padding;
      if (c.use === "member") return c.buf;
      // An empty extended header names nothing.
    }
    return undefined;
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("utf8", start, end === -1 || end > start + length ? start + length : end);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const stored = parseInt(cString(h, 148, 8).trim() || "NaN", 8);
  return stored === sum;
}

function readSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    // GNU base-256: big-endian binary in the remaining bytes of the field.
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    return n;
  }
  const text = cString(h, 124, 12).trim();
  const n = text === "" ? 0 : parseInt(text, 8);
  if (!Number.isSafeInteger(n) || n < 0) throw badRequest("the sdist is not a valid tar archive (bad member size)");
  return n;
}

/** The `path` record of a pax extended header ("<len> path=<value>\n" records). */
function paxPath(buf: Buffer): string | undefined {
  let off = 0;
  let path: string | undefined;
  while (off < buf.length) {
    const space = buf.indexOf(0x20, off);
    if (space === -1) break;
    const len = parseInt(buf.toString("latin1", off, space), 10);
    if (!Number.isInteger(len) || len <= 0 || off + len > buf.length) break;
    const record = buf.toString("utf8", space + 1, off + len - 1);
    const eq = record.indexOf("=");
    if (eq !== -1 && record.slice(0, eq) === "path") path = record.slice(eq + 1);
    off += len;
  }
  return path;
}

/** METADATA of a wheel or PKG-INFO of an sdist, chosen by the distribution's file name. */
export async function readDistMetadata(
  filename: string,
  source: Buffer | string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<Buffer> {
  const dist = parseDistFilename(filename);
  if (!dist) throw badRequest(`${JSON.stringify(filename.slice(0, 255))} is not a wheel or sdist file name`);
  return dist.kind === "wheel" ? readWheelMetadata(source, limits) : readSdistMetadata(source, limits);
}

// ---------------------------------------------------------------------------------------
// Core metadata (RFC 822 style headers, PEP 566 / the Core Metadata specification)

/**
 * Parses METADATA / PKG-INFO. Headers run to the first blank line; a line starting with
 * whitespace continues the previous header; the body after the blank line is the
 * description. Name, Version and Metadata-Version are required.
 */
export function parseCoreMetadata(raw: Buffer): CoreMetadata {
  let text = raw.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);
  const headers: Array<[string, string[]]> = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") {
      i++;
      break;
    }
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last[1].push(line);
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
    // Anything else ends the headers, as Python's email parser does.
    if (!m) break;
    headers.push([m[1]!.toLowerCase(), [m[2]!]]);
  }
  const body = lines.slice(i).join("\n");

  // Folded lines of ordinary fields join with a space; the description keeps its lines.
  const one = (field: string): string | undefined => {
    const found = headers.find(([k]) => k === field);
    return found ? unfold(found[1]) : undefined;
  };
  const all = (field: string): string[] => headers.filter(([k]) => k === field).map(([, v]) => unfold(v));

  const metadataVersion = one("metadata-version");
  const name = one("name");
  const version = one("version");
  if (!metadataVersion) throw badRequest("the core metadata has no Metadata-Version field");
  if (!name) throw badRequest("the core metadata has no Name field");
  if (!isValidProjectName(name)) throw badRequest(`the core metadata names an invalid project: ${JSON.stringify(name.slice(0, 100))}`);
  if (!version) throw badRequest("the core metadata has no Version field");

  const out: CoreMetadata = { metadataVersion, name, version, requiresDist: all("requires-dist") };
  const requiresPython = one("requires-python");
  if (requiresPython) out.requiresPython = requiresPython;
  const summary = one("summary");
  if (summary) out.summary = summary;
  const descriptionHeader = headers.find(([k]) => k === "description");
  const description = body.trim() !== "" ? body : descriptionHeader ? descriptionHeader[1].join("\n") : undefined;
  if (description !== undefined) out.description = description;
  return out;
}

function unfold(parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .join(" ");
}
