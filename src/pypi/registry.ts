// A channel's PyPI store over the Store port. Distribution files live at
// `<channel>/pypi/<normalized>/<filename>`; beside them, under dot-paths no URL can reach,
// the project's index document (`.index.json`, a ProjectIndex) and each wheel's extracted
// core metadata (`.meta/<filename>.metadata`, served as `<filename>.metadata`), and what
// people decided about the project (`.state.json`, a ProjectState: its PEP 792 status and
// its PEP 592 yanks), the one document here that cannot be rebuilt from the files.
//
// The files are the truth, the index document a cache of what was learnt from them: every
// page is rendered from the document reconciled against a listing of the project's prefix,
// so a file dropped into the bucket by other means shows up on the next request (hashed and
// read once, then written into the document) and a deleted one disappears. A steady state
// costs one list call per page: the reconciled index is kept in process under a signature
// of that listing (keys, ETags, sizes), and any change to the files, the metadata or the
// documents changes the signature.
//
// Every write of the documents is one read-modify-write under the project's document lock
// (cache/lock.ts withDocumentLock: the cache lock, then the lock kept in the store), so a
// gateway, another replica and the CLI on the same store never undo each other's change.
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
import { withDocumentLock, withLock, type Lease } from "../cache/lock.js";
import { CATALOG_PREFIX } from "../access/catalog.js";
import { GateError, isGateError } from "../errors.js";
import { DEFAULT_ARCHIVE_LIMITS, parseCoreMetadata, readDistMetadata, type ArchiveLimits, type CoreMetadata } from "./metadata.js";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "./names.js";
import {
  ACTIVE_STATE,
  addFile,
  emptyProjectIndex,
  isActiveState,
  parseProjectIndex,
  parseProjectState,
  pruneYanks,
  serializeProjectIndex,
  serializeProjectState,
  uploadRefusal,
  withState,
  type FileEntry,
  type ProjectIndex,
  type ProjectState,
} from "./project.js";
import type { UploadedFile } from "./upload.js";

export const PYPI_SEGMENT = "pypi";
const INDEX_DOC = ".index.json";
const STATE_DOC = ".state.json";
const META_DIR = ".meta/";
const META_SUFFIX = ".metadata";

export const pypiPrefix = (channel: string) => `${channel}/${PYPI_SEGMENT}/`;
export const projectPrefix = (channel: string, normalized: string) => `${pypiPrefix(channel)}${normalized}/`;
export const fileKey = (channel: string, normalized: string, filename: string) => projectPrefix(channel, normalized) + filename;
export const metadataKey = (channel: string, normalized: string, filename: string) =>
  `${projectPrefix(channel, normalized)}${META_DIR}${filename}${META_SUFFIX}`;
const indexKey = (channel: string, normalized: string) => projectPrefix(channel, normalized) + INDEX_DOC;
const stateKey = (channel: string, normalized: string) => projectPrefix(channel, normalized) + STATE_DOC;

/** How long a replica trusts what it read of a project's status for file downloads (a page
 * sees a change on its next request; a download within this many ms of it may not). */
const STATUS_TTL_MS = 5_000;

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
  state: ListedObject | null;
  /** Changes whenever a file, a metadata object or the index document changes. */
  signature: string;
  lastModified: Date;
}

export interface ResolvedProject {
  /** As installers see it: the state's status and yanks applied (project.ts withState). */
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
  private readonly statuses = new Map<string, { state: ProjectState; until: number }>();
  private readonly scratchKey = `${CATALOG_PREFIX}locks/probe-${randomUUID()}`;
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
   * (with includeEmpty, also prefixes left with only an index document or metadata; with
   * installable, without quarantined projects, as PyPI's root index leaves them out). */
  async projectNames(channel: string, opts: { includeEmpty?: boolean; installable?: boolean } = {}): Promise<{ names: string[]; lastModified: Date }> {
    const prefix = pypiPrefix(channel);
    const names = new Set<string>();
    const withState: string[] = [];
    let lastModified = new Date(0);
    for await (const o of this.store.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash <= 0) continue;
      const project = rest.slice(0, slash);
      const file = rest.slice(slash + 1);
      if (!isValidProjectName(project) || normalizeProjectName(project) !== project) continue;
      if (file === STATE_DOC) withState.push(project);
      if (isDistOf(file, project) || (opts.includeEmpty && (file === INDEX_DOC || file === STATE_DOC || file.startsWith(META_DIR)))) {
        names.add(project);
        if (o.lastModified > lastModified) lastModified = o.lastModified;
      }
    }
    // only projects with a state document can be quarantined: one memoized read each
    if (opts.installable) for (const project of withState) if (names.has(project) && (await this.quarantined(channel, project))) names.delete(project);
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
    const [stored, state] = await Promise.all([this.readIndex(channel, normalized), listing.state ? this.readState(channel, normalized) : ACTIVE_STATE]);
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
    const resolved: ResolvedProject = { index: withState(index, state), signature: listing.signature, lastModified: listing.lastModified };
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
    return this.locked(channel, normalized, async (lease) => {
      const listing = await this.list(channel, normalized);
      const stored = await this.readIndex(channel, normalized);
      if (ours) {
        const refused = uploadRefusal({ name: stored?.name ?? ours.name }, await this.readState(channel, normalized), channel);
        if (refused) throw refused;
      }
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
      lease.check();
      if (changed) {
        if (index.files.length === 0) await this.store.delete(indexKey(channel, normalized));
        else await this.store.put(indexKey(channel, normalized), serializeProjectIndex(index), { contentType: "application/json" });
      }
      // metadata left behind by a deleted file
      for (const filename of listing.metas) {
        if (!listing.files.has(filename)) await this.store.delete(metadataKey(channel, normalized, filename)).catch(() => undefined);
      }
      return { index, added: fresh.size, removed: plan.removed };
    }, waitMs);
  }

  /** The project's document lock: every process sharing the store (cache/lock.ts). */
  private locked<T>(channel: string, normalized: string, fn: (lease: Lease) => Promise<T>, waitMs = 10_000): Promise<T> {
    return withDocumentLock(
      {
        cache: this.cache,
        store: this.store,
        name: `pypi:${projectPrefix(channel, normalized)}`,
        storePrefix: `${CATALOG_PREFIX}locks/pypi/${channel}/${normalized}/`,
        scratchKey: this.scratchKey,
      },
      fn,
      { waitMs },
    );
  }

  // ---- status and yanks (PEP 792, PEP 592) ----------------------------------------------

  /**
   * Changes the project's state under its lock: `change` gets the project's index (as the
   * files are now, without any state) and the stored state, and returns the new state (or
   * throws its refusal). 404 when the project has no file. Yanks of files that are gone are
   * dropped on the way.
   */
  async updateState(channel: string, normalized: string, change: (index: ProjectIndex, state: ProjectState) => ProjectState): Promise<{ index: ProjectIndex; state: ProjectState }> {
    // settle the index first (files dropped into the bucket are learnt outside the lock)
    if (!(await this.project(channel, normalized))) throw new GateError("not_found", `package "${normalized}" was not found in this channel`);
    return this.locked(channel, normalized, async (lease) => {
      const listing = await this.list(channel, normalized);
      const index = await this.readIndex(channel, normalized);
      if (!index) throw new GateError("unavailable", `the index of ${normalized} in ${channel} is being rebuilt; retry`, { "retry-after": "1" });
      const before = await this.readState(channel, normalized);
      const next = pruneYanks(change(index, before), new Set(listing.files.keys()));
      lease.check();
      if (isActiveState(next)) await this.store.delete(stateKey(channel, normalized));
      else await this.store.put(stateKey(channel, normalized), serializeProjectState(next), { contentType: "application/json" });
      this.statuses.delete(projectPrefix(channel, normalized));
      return { index: withState(index, next), state: next };
    });
  }

  /** Whether the project's files are withheld from installers (PEP 792 quarantined): what a
   * file download asks, from a short-lived memo (STATUS_TTL_MS) so a download costs no
   * extra store read in the steady state. */
  async quarantined(channel: string, normalized: string): Promise<boolean> {
    const key = projectPrefix(channel, normalized);
    const now = Date.now();
    const known = this.statuses.get(key);
    if (known && known.until > now) return known.state.status.status === "quarantined";
    const state = await this.readState(channel, normalized);
    this.statuses.delete(key);
    this.statuses.set(key, { state, until: now + STATUS_TTL_MS });
    while (this.statuses.size > this.memoEntries) this.statuses.delete(this.statuses.keys().next().value!);
    return state.status.status === "quarantined";
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
      ...(file.blake2b_256 ? { blake2b_256: file.blake2b_256 } : {}),
      uploadTime: new Date().toISOString(),
    };
    if (metadata.requiresPython) entry.requiresPython = metadata.requiresPython;
    if (dist.kind === "wheel") entry.coreMetadata = { sha256: sha256Hex(metadataRaw) };

    // refuse a duplicate, or a project that takes no uploads, before sending the bytes
    const current = await this.project(channel, normalized);
    if (current) {
      addFile(current.index, entry);
      const refused = uploadRefusal(current.index, await this.readState(channel, normalized), channel);
      if (refused) throw refused;
    }

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
    let state: ListedObject | null = null;
    let lastModified = new Date(0);
    const sig = createHash("sha256");
    for await (const o of this.store.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      if (rest === INDEX_DOC) index = o;
      else if (rest === STATE_DOC) state = o;
      else if (rest.startsWith(META_DIR) && rest.endsWith(META_SUFFIX) && !rest.slice(META_DIR.length).includes("/")) {
        metas.add(rest.slice(META_DIR.length, -META_SUFFIX.length));
      } else if (isDistOf(rest, normalized)) files.set(rest, o);
      else continue;
      sig.update(`${rest}\0${o.etag}\0${o.size}\n`);
      if (o.lastModified > lastModified) lastModified = o.lastModified;
    }
    return { files, metas, index, state, signature: sig.digest("hex").slice(0, 32), lastModified };
  }

  /** The stored state; active when there is none. A document that cannot be read is an
   * error (503), never taken as active: that would un-quarantine a project. */
  private async readState(channel: string, normalized: string): Promise<ProjectState> {
    const got = await this.store.get(stateKey(channel, normalized));
    if (!got) return ACTIVE_STATE;
    try {
      return parseProjectState(got.body);
    } catch (err) {
      throw new GateError("unavailable", `the status document of ${normalized} in ${channel} cannot be read (${(err as Error).message}); fix or remove ${STATE_DOC} in the store`);
    }
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
    let digests: { size: number; sha256: string };
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
      const entry: FileEntry = { filename, size: digests.size, sha256: digests.sha256, uploadTime: obj.lastModified.toISOString() };
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

/** Size and sha256 of a file (BLAKE2b-256 is served nowhere, and costs a minute a GiB in JS). */
async function hashStream(source: Readable, copyTo: string | null): Promise<{ size: number; sha256: string }> {
  const sha256 = createHash("sha256");
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sha256.update(chunk);
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
  return { size, sha256: sha256.digest("hex") };
}
