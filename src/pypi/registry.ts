// A channel's PyPI store over the Store port. Distribution files live at
// `<channel>/pypi/<normalized>/<filename>`; beside them, under dot-paths no URL can reach,
// the project's index document (`.index.json`, a ProjectIndex) and each wheel's extracted
// core metadata (`.meta/<filename>.metadata`, served as `<filename>.metadata`).
//
// The files are the truth, the index document a cache of what was learnt from them: every
// page is rendered from the document reconciled against a listing of the project's prefix,
// so a file dropped into the bucket by other means shows up on the next request (hashed and
// read once, then written into the document) and a deleted one disappears. A steady state
// costs one list call per page: the reconciled index is kept in process under a signature
// of that listing (keys, ETags, sizes), and any change to the files, the metadata or the
// document changes the signature.
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ListedObject, Store } from "../store/store.js";
import { StoreConflict } from "../store/store.js";
import type { Cache } from "../cache/cache.js";
import { withLock } from "../cache/lock.js";
import { GateError, isGateError } from "../errors.js";
import { Blake2b } from "./blake2b.js";
import { DEFAULT_ARCHIVE_LIMITS, parseCoreMetadata, readDistMetadata, type ArchiveLimits, type CoreMetadata } from "./metadata.js";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "./names.js";
import { addFile, emptyProjectIndex, parseProjectIndex, serializeProjectIndex, type FileEntry, type ProjectIndex } from "./project.js";
import type { UploadedFile } from "./upload.js";

export const PYPI_SEGMENT = "pypi";
const INDEX_DOC = ".index.json";
const META_DIR = ".meta/";
const META_SUFFIX = ".metadata";

export const pypiPrefix = (channel: string) => `${channel}/${PYPI_SEGMENT}/`;
export const projectPrefix = (channel: string, normalized: string) => `${pypiPrefix(channel)}${normalized}/`;
export const fileKey = (channel: string, normalized: string, filename: string) => projectPrefix(channel, normalized) + filename;
export const metadataKey = (channel: string, normalized: string, filename: string) =>
  `${projectPrefix(channel, normalized)}${META_DIR}${filename}${META_SUFFIX}`;
const indexKey = (channel: string, normalized: string) => projectPrefix(channel, normalized) + INDEX_DOC;

export function distContentType(filename: string): string {
  if (filename.endsWith(".tar.gz")) return "application/gzip";
  if (filename.endsWith(".whl") || filename.toLowerCase().endsWith(".zip")) return "application/zip";
  return "application/octet-stream";
}

/** What a project's prefix holds, as one list call saw it. */
interface Listing {
  files: Map<string, ListedObject>;
  metas: Set<string>;
  index: ListedObject | null;
  /** Changes whenever a file, a metadata object or the index document changes. */
  signature: string;
  lastModified: Date;
}

export interface ResolvedProject {
  index: ProjectIndex;
  /** Names the state the index was reconciled against: a cache key for rendered pages. */
  signature: string;
  lastModified: Date;
}

export interface ReindexResult {
  files: number;
  added: number;
  removed: number;
}

export interface RegistryOptions {
  archiveLimits?: ArchiveLimits;
  /** Where files of a remote store are copied while they are hashed and read. */
  tmpDir?: string;
  /** Projects whose reconciled index is kept in process. */
  memoEntries?: number;
}

/** A FileEntry computed from a stored file, with the display name its metadata gives. */
interface Learnt {
  entry: FileEntry;
  name?: string;
  /** The object it was learnt from: reused only while the listing shows the same bytes. */
  etag: string;
}

export class PypiRegistry {
  private readonly memo = new Map<string, ResolvedProject>();
  private readonly inflight = new Map<string, Promise<ResolvedProject | null>>();
  private readonly limits: ArchiveLimits;
  private readonly memoEntries: number;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    private readonly opts: RegistryOptions = {},
  ) {
    this.limits = opts.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS;
    this.memoEntries = opts.memoEntries ?? 4096;
  }

  // ---- reading ------------------------------------------------------------------------

  /** Normalized names of the channel's projects that hold at least one distribution file
   * (with includeEmpty, also prefixes left with only an index document or metadata). */
  async projectNames(channel: string, opts: { includeEmpty?: boolean } = {}): Promise<{ names: string[]; lastModified: Date }> {
    const prefix = pypiPrefix(channel);
    const names = new Set<string>();
    let lastModified = new Date(0);
    for await (const o of this.store.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash <= 0) continue;
      const project = rest.slice(0, slash);
      const file = rest.slice(slash + 1);
      if (!isValidProjectName(project) || normalizeProjectName(project) !== project) continue;
      if (isDistOf(file, project) || (opts.includeEmpty && (file === INDEX_DOC || file.startsWith(META_DIR)))) {
        names.add(project);
        if (o.lastModified > lastModified) lastModified = o.lastModified;
      }
    }
    return { names: [...names].sort(), lastModified };
  }

  /**
   * The project's index, reconciled with the files in the store; null when the project has
   * no file. Files not yet indexed are hashed and read now and the document rewritten; when
   * the document cannot be written (the cache that holds the lock is down or busy), the
   * reconciled index is still served and the next request tries again.
   */
  /** The one listing a lookup of a missing project costs: what the gate spends on a project
   * the caller may not see, so hidden and missing take the same time (and a hidden project
   * is never reconciled on an outsider's request). */
  async probe(channel: string, normalized: string): Promise<void> {
    await this.list(channel, normalized);
  }

  async project(channel: string, normalized: string): Promise<ResolvedProject | null> {
    const prefix = projectPrefix(channel, normalized);
    const listing = await this.list(channel, normalized);
    if (listing.files.size === 0) return null;
    const known = this.memo.get(prefix);
    if (known && known.signature === listing.signature) {
      // refresh recency
      this.memo.delete(prefix);
      this.memo.set(prefix, known);
      return known;
    }
    const flightKey = `${prefix}\n${listing.signature}`;
    const running = this.inflight.get(flightKey);
    if (running) return running;
    const p = this.resolve(channel, normalized, listing).finally(() => this.inflight.delete(flightKey));
    this.inflight.set(flightKey, p);
    return p;
  }

  private async resolve(channel: string, normalized: string, listing: Listing): Promise<ResolvedProject> {
    const stored = await this.readIndex(channel, normalized);
    const plan = planReconcile(stored, listing, normalized);
    let index = plan.base;
    let settled = true;
    if (plan.changed) {
      const learnt = await this.learnAll(channel, normalized, plan.missing, listing);
      try {
        // a page waits briefly for the lock; an upload holding it writes the same entries
        index = (await this.persist(channel, normalized, learnt, undefined, 2_000)).index;
      } catch (err) {
        if (!(isGateError(err) && err.code === "unavailable")) throw err;
        // served all the same, and not remembered, so the next request writes it
        index = mergeLearnt(plan.base, plan.missing, learnt);
        settled = false;
      }
    }
    const resolved: ResolvedProject = { index, signature: listing.signature, lastModified: listing.lastModified };
    if (settled) this.remember(projectPrefix(channel, normalized), resolved);
    return resolved;
  }

  /** Learn files outside any lock: hashing a large file must not hold one. */
  private async learnAll(channel: string, normalized: string, filenames: string[], listing: Listing): Promise<Map<string, Learnt>> {
    const learnt = new Map<string, Learnt>();
    for (const filename of filenames) {
      const l = await this.learn(channel, normalized, filename, listing.files.get(filename)!);
      if (l) learnt.set(filename, l);
    }
    return learnt;
  }

  private remember(prefix: string, resolved: ResolvedProject): void {
    this.memo.delete(prefix);
    this.memo.set(prefix, resolved);
    while (this.memo.size > this.memoEntries) this.memo.delete(this.memo.keys().next().value!);
  }

  // ---- (re)building the index document -----------------------------------------------

  /** Reconciles one project's document with its files and writes it; what the CLI runs. */
  async reindex(channel: string, normalized: string): Promise<ReindexResult> {
    const listing = await this.list(channel, normalized);
    const plan = planReconcile(await this.readIndex(channel, normalized), listing, normalized);
    const learnt = await this.learnAll(channel, normalized, plan.missing, listing);
    const r = await this.persist(channel, normalized, learnt);
    return { files: r.index.files.length, added: r.added, removed: r.removed };
  }

  /**
   * Under the project's lock: list again, read the document again, index what is missing
   * (reusing `learnt` entries whose object is unchanged), drop what is gone, and write the
   * document when it changed. `ours` is an upload's entry, added last (409 on a duplicate).
   */
  private persist(
    channel: string,
    normalized: string,
    learnt: Map<string, Learnt>,
    ours?: { entry: FileEntry; name: string },
    waitMs = 10_000,
  ): Promise<{ index: ProjectIndex; added: number; removed: number }> {
    return withLock(this.cache, `pypi:${projectPrefix(channel, normalized)}`, async () => {
      const listing = await this.list(channel, normalized);
      const stored = await this.readIndex(channel, normalized);
      const plan = planReconcile(stored, listing, normalized, ours?.entry.filename);
      const fresh = new Map<string, Learnt>();
      for (const filename of plan.missing) {
        const obj = listing.files.get(filename)!;
        const prior = learnt.get(filename);
        const l = prior && prior.etag === obj.etag ? prior : await this.learn(channel, normalized, filename, obj);
        if (l) fresh.set(filename, l);
      }
      let index = mergeLearnt(plan.base, plan.missing, fresh);
      if (ours) {
        if (index.files.length === 0 && !stored) index = { ...index, name: ours.name };
        index = addFile(index, ours.entry);
      }
      const changed = plan.changed || ours !== undefined;
      if (changed) {
        if (index.files.length === 0) await this.store.delete(indexKey(channel, normalized));
        else await this.store.put(indexKey(channel, normalized), serializeProjectIndex(index), { contentType: "application/json" });
      }
      // metadata left behind by a deleted file
      for (const filename of listing.metas) {
        if (!listing.files.has(filename)) await this.store.delete(metadataKey(channel, normalized, filename)).catch(() => undefined);
      }
      return { index, added: fresh.size, removed: plan.removed };
    }, { ttlMs: 60_000, waitMs });
  }

  // ---- uploads ------------------------------------------------------------------------

  /**
   * Stores an uploaded (already validated) distribution: the file (create-only: 409 when
   * it exists), its core metadata, then the index document. On any failure what was written
   * is removed again, so a refused upload leaves nothing behind.
   */
  async addUpload(channel: string, upload: { file: UploadedFile; metadataRaw: Buffer; metadata: CoreMetadata }): Promise<FileEntry> {
    const { file, metadataRaw, metadata } = upload;
    const dist = parseDistFilename(file.filename);
    if (!dist) throw new GateError("bad_request", `${JSON.stringify(file.filename.slice(0, 255))} is not a wheel or sdist file name`);
    const normalized = dist.name;
    const entry: FileEntry = {
      filename: file.filename,
      size: file.size,
      sha256: file.sha256,
      blake2b_256: file.blake2b_256,
      uploadTime: new Date().toISOString(),
    };
    if (metadata.requiresPython) entry.requiresPython = metadata.requiresPython;
    if (dist.kind === "wheel") entry.coreMetadata = { sha256: sha256Hex(metadataRaw) };

    // refuse a duplicate before sending the bytes to the store
    const current = await this.project(channel, normalized);
    if (current) addFile(current.index, entry);

    const key = fileKey(channel, normalized, file.filename);
    // S3's create-only put is stat-then-put: one writer per file name at a time. The lock
    // lives as long as storing a large file may take.
    const ttlMs = 120_000 + Math.ceil(file.size / 1000);
    return withLock(this.cache, `pypi-file:${key}`, async () => {
      const written: string[] = [];
      try {
        try {
          await this.store.put(key, createReadStream(file.tmpPath), { ifNotExists: true, contentType: distContentType(file.filename) });
        } catch (err) {
          if (err instanceof StoreConflict) throw duplicate(file.filename);
          throw err;
        }
        written.push(key);
        if (entry.coreMetadata) {
          const mkey = metadataKey(channel, normalized, file.filename);
          await this.store.put(mkey, metadataRaw, { contentType: "text/plain; charset=utf-8" });
          written.push(mkey);
        }
        await this.persist(channel, normalized, new Map(), { entry, name: metadata.name });
        return entry;
      } catch (err) {
        for (const k of written.reverse()) await this.store.delete(k).catch(() => undefined);
        throw err;
      }
    }, { ttlMs, waitMs: 10_000 });
  }

  // ---- plumbing -----------------------------------------------------------------------

  private async list(channel: string, normalized: string): Promise<Listing> {
    const prefix = projectPrefix(channel, normalized);
    const files = new Map<string, ListedObject>();
    const metas = new Set<string>();
    let index: ListedObject | null = null;
    let lastModified = new Date(0);
    const sig = createHash("sha256");
    for await (const o of this.store.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      if (rest === INDEX_DOC) index = o;
      else if (rest.startsWith(META_DIR) && rest.endsWith(META_SUFFIX) && !rest.slice(META_DIR.length).includes("/")) {
        metas.add(rest.slice(META_DIR.length, -META_SUFFIX.length));
      } else if (isDistOf(rest, normalized)) files.set(rest, o);
      else continue;
      sig.update(`${rest}\0${o.etag}\0${o.size}\n`);
      if (o.lastModified > lastModified) lastModified = o.lastModified;
    }
    return { files, metas, index, signature: sig.digest("hex").slice(0, 32), lastModified };
  }

  private async readIndex(channel: string, normalized: string): Promise<ProjectIndex | null> {
    const got = await this.store.get(indexKey(channel, normalized));
    if (!got) return null;
    try {
      const index = parseProjectIndex(got.body);
      return index.normalized === normalized ? index : null;
    } catch {
      // a document edited by hand or half-copied: rebuilt from the files
      return null;
    }
  }

  /** Hash a stored file and read its core metadata; stores the metadata of wheels. Null
   * when the file vanished since it was listed. */
  private async learn(channel: string, normalized: string, filename: string, obj: ListedObject): Promise<Learnt | null> {
    const key = fileKey(channel, normalized, filename);
    const local = this.store.localPath?.(key);
    let path: string;
    let tmp: string | null = null;
    let digests: { size: number; sha256: string; blake2b_256: string };
    if (local) {
      path = local;
      try {
        digests = await hashStream(createReadStream(local), null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    } else {
      const stream = await this.store.read(key);
      if (!stream) return null;
      tmp = join(this.opts.tmpDir ?? tmpdir(), `pkgate-index-${randomUUID()}.part`);
      path = tmp;
      digests = await hashStream(stream, tmp);
    }
    try {
      const entry: FileEntry = { filename, size: digests.size, sha256: digests.sha256, blake2b_256: digests.blake2b_256, uploadTime: obj.lastModified.toISOString() };
      let name: string | undefined;
      try {
        const raw = await readDistMetadata(filename, path, this.limits);
        const meta = parseCoreMetadata(raw);
        if (normalizeProjectName(meta.name) === normalized) {
          name = meta.name;
          if (meta.requiresPython) entry.requiresPython = meta.requiresPython;
          if (filename.endsWith(".whl")) {
            await this.store.put(metadataKey(channel, normalized, filename), raw, { contentType: "text/plain; charset=utf-8" });
            entry.coreMetadata = { sha256: sha256Hex(raw) };
          }
        }
      } catch (err) {
        // an archive we cannot read is still served; pip then reads it itself
        if (!isGateError(err) || err.code !== "bad_request") throw err;
      }
      return { entry, name, etag: obj.etag };
    } finally {
      if (tmp) await unlink(tmp).catch(() => undefined);
    }
  }
}

export function duplicate(filename: string): GateError {
  return new GateError("conflict", `${filename} already exists; files cannot be replaced, upload a new version instead`);
}

function isDistOf(file: string, normalized: string): boolean {
  return !file.includes("/") && !file.startsWith(".") && parseDistFilename(file)?.name === normalized;
}

const sha256Hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * What reconciling the stored document with a listing takes: `base` is the document
 * without the entries whose file is gone, changed in size or lost its metadata (and without
 * `except`, the file an upload is adding); `missing` are the listed files it lacks.
 */
function planReconcile(stored: ProjectIndex | null, listing: Listing, normalized: string, except?: string) {
  const base0 = stored ?? { name: normalized, normalized, files: [] };
  const kept = base0.files.filter((f) => {
    if (f.filename === except) return false;
    const obj = listing.files.get(f.filename);
    return obj !== undefined && obj.size === f.size && (!f.coreMetadata || listing.metas.has(f.filename));
  });
  const removed = base0.files.filter((f) => f.filename !== except).length - kept.length;
  const have = new Set(kept.map((f) => f.filename));
  const missing = [...listing.files.keys()].filter((name) => !have.has(name) && name !== except).sort();
  const changed = removed > 0 || missing.length > 0 || (stored === null && listing.files.size > 0);
  return { base: { ...base0, files: kept }, missing, removed, changed };
}

function mergeLearnt(base: ProjectIndex, missing: string[], learnt: Map<string, Learnt>): ProjectIndex {
  let index = base;
  if (index.files.length === 0) {
    // a project first seen through its files takes the name its metadata spells
    const named = missing.map((m) => learnt.get(m)?.name).find((n) => n !== undefined);
    if (named) index = { ...emptyProjectIndex(named), files: [] };
  }
  for (const filename of missing) {
    const l = learnt.get(filename);
    if (!l) continue;
    try {
      index = addFile(index, l.entry);
    } catch (err) {
      // two files pip would see as one (foo-1.0 and foo-1.0.0): the first one stays listed
      if (!isGateError(err)) throw err;
    }
  }
  return index;
}

async function hashStream(source: Readable, copyTo: string | null): Promise<{ size: number; sha256: string; blake2b_256: string }> {
  const sha256 = createHash("sha256");
  const blake = new Blake2b(32);
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sha256.update(chunk);
      blake.update(chunk);
      size += chunk.length;
      cb(null, copyTo ? chunk : undefined);
    },
  });
  if (copyTo) await pipeline(source, hashing, createWriteStream(copyTo, { flags: "wx", mode: 0o600 }));
  else {
    await pipeline(source, hashing, async function* (chunks) {
      for await (const _ of chunks) {
        // nothing to keep: the hashes are the point
      }
    });
  }
  return { size, sha256: sha256.digest("hex"), blake2b_256: blake.digest("hex") };
}
