// Publishing conda packages into a channel's label: the writer behind `pkgate upload`, the upload
// endpoint and `pkgate index --conda`. Per change, under the label's document lock (every process
// sharing the store: the cache lock, then the store lock, see cache/lock.ts), it reads the stored
// repodata.json and shard index of each subdir touched, changes them with index-writer.ts, folds
// channeldata.json, and writes what publishPlan lists, in its order, one atomic put at a time:
// the package first, repodata.json (the commit point) last of a subdir's documents.
//
// Layout: label `main` is the channel's root, any other label lives under `label/<name>/`.
// Everything in an index comes from the archives (readCondaPackage); nothing from the client.
//
// Gateways serve index objects from a small hot cache that re-checks the store at most once a
// second (http/objects.ts, revalidateMs), and filtered views are keyed by the source's ETag
// (cache/views.ts): a published change shows on every replica within that second, with no hook.
import { randomUUID } from "node:crypto";
import { PassThrough, type Readable } from "node:stream";
import { parse as parseYaml } from "yaml";
import type { Cache } from "../cache/cache.js";
import { withDocumentLock, type Lease } from "../cache/lock.js";
import { CATALOG_PREFIX } from "../access/catalog.js";
import { isAccountName, isLabelName } from "../access/names.js";
import { GateError } from "../errors.js";
import type { Store } from "../store/store.js";
import { readCondaPackage, type CondaArchiveLimits, type CondaPackage } from "./archive.js";
import { packageFacts, serializeChanneldata, updateChanneldata, type PackageFacts } from "./channeldata-writer.js";
import { isCondaSubdir, parseCondaFilename } from "./filename.js";
import { detectJsonFormat } from "./index-json.js";
import {
  parseRepodata,
  publishPlan,
  rebuildSubdir,
  REPODATA_DOCUMENTS,
  SHARD_INDEX,
  updateSubdir,
  type PackageEntry,
  type RepodataDocument,
  type RepodataRecord,
  type SubdirIndex,
} from "./index-writer.js";

export const MAIN_LABEL = "main";

/** What to do with a file name the label already holds: 409, replace it (--force), or leave it (--skip). */
export type OnExisting = "refuse" | "replace" | "skip";

/** A package read and checked (readCondaPackage), and how to get its bytes again for the put. */
export interface IncomingPackage {
  pkg: CondaPackage;
  body: () => Buffer | Readable;
}

export interface PublishResult {
  channel: string;
  label: string;
  /** `<subdir>/<filename>` written. */
  published: string[];
  /** `<subdir>/<filename>` left as they were (--skip). */
  skipped: string[];
}

export interface RemoveResult {
  channel: string;
  label: string;
  removed: string[];
}

/** What a removal or a label change takes: a package, one version of it, or one file of that
 * version (`<subdir>/<filename>`). The grammar users type is the CLI's (verbs.ts). */
export interface PackageSelector {
  name: string;
  version?: string;
  file?: string;
}

/** Whether a label's file is one the selector takes (null: every file of the label). */
export function selects(sel: PackageSelector | null, path: string, record: { name?: unknown; version?: unknown }): boolean {
  if (sel === null) return true;
  if (sel.file !== undefined) return path === sel.file;
  return record.name === sel.name && (sel.version === undefined || record.version === sel.version);
}

/** How a selector is written in messages: `acme/pkg`, `acme/pkg/1.2`, `acme/noarch/pkg-1.2-0.conda`. */
export function selectorPath(channel: string, sel: PackageSelector | null): string {
  if (sel === null) return `${channel}'s files`;
  if (sel.file !== undefined) return `${channel}/${sel.file}`;
  return `${channel}/${sel.name}${sel.version === undefined ? "" : `/${sel.version}`}`;
}

export interface LabelSummary {
  label: string;
  /** Package files the label's indexes hold, all subdirs together. */
  files: number;
  subdirs: { subdir: string; files: number }[];
}

export interface CopyResult {
  channel: string;
  from: string;
  to: string;
  /** `<subdir>/<filename>` written into `to`. */
  copied: string[];
  /** `<subdir>/<filename>` `to` already held with the same sha256. */
  skipped: string[];
  /** With a move: `<subdir>/<filename>` taken out of `from`. */
  removed: string[];
  /** The channel copied into, when it is another (anaconda copy --to-owner). */
  toChannel?: string;
}

export interface RebuildResult {
  channel: string;
  labels: { label: string; subdirs: { subdir: string; packages: number }[] }[];
}

export interface PublisherOptions {
  limits?: CondaArchiveLimits;
  /** Wait for the label's lock this long before answering "busy" (ms). */
  lockWaitMs?: number;
}

/** The store prefix of a label: `acme/` for main, `acme/label/dev/` otherwise. */
export function labelRoot(channel: string, label: string): string {
  return label === MAIN_LABEL ? `${channel}/` : `${channel}/label/${label}/`;
}

export function checkChannelAndLabel(channel: string, label: string): void {
  if (!isAccountName(channel)) throw new GateError("bad_request", `${JSON.stringify(channel)} is not a channel name`);
  if (!isLabelName(label)) throw new GateError("bad_request", `${JSON.stringify(label)} is not a label name`);
}


export class CondaPublisher {
  private readonly scratchKey = `${CATALOG_PREFIX}locks/probe-${randomUUID()}`;
  private readonly limits: CondaArchiveLimits;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    private readonly opts: PublisherOptions = {},
  ) {
    this.limits = opts.limits ?? { maxFileBytes: 1024 * 1024 * 1024 };
  }

  /** Adds packages to a label (their subdirs come from their metadata), all in one change. */
  async publish(channel: string, label: string, files: readonly IncomingPackage[], existing: OnExisting = "refuse"): Promise<PublishResult> {
    checkChannelAndLabel(channel, label);
    const names = new Set<string>();
    for (const f of files) {
      const key = `${f.pkg.record.subdir}/${f.pkg.filename}`;
      if (names.has(key)) throw new GateError("bad_request", `${key} is given twice`);
      names.add(key);
    }
    const root = labelRoot(channel, label);
    return this.locked(channel, label, async (lease) => {
      const bySubdir = groupBy(files, (f) => f.pkg.record.subdir);
      const published: string[] = [];
      const skipped: string[] = [];
      const indexes: SubdirIndex[] = [];
      const packages: { path: string; body: () => Buffer | Readable }[] = [];
      const facts = new Map<string, PackageFacts>();
      for (const [subdir, group] of bySubdir) {
        const previous = await this.previous(root, subdir);
        const held = previous.repodata ? parseRepodata(previous.repodata) : null;
        const add: PackageEntry[] = [];
        for (const f of group) {
          const path = `${subdir}/${f.pkg.filename}`;
          const there = held?.packages[f.pkg.filename] ?? held?.["packages.conda"][f.pkg.filename];
          if (there) {
            if (existing === "skip") {
              skipped.push(path);
              continue;
            }
            if (existing === "refuse") {
              throw new GateError("conflict", `${channel}${label === MAIN_LABEL ? "" : `/label/${label}`}/${path} already exists; upload with --force to replace it or --skip to leave it`);
            }
          }
          add.push({ filename: f.pkg.filename, record: f.pkg.record as unknown as RepodataRecord });
          packages.push({ path, body: f.body });
          facts.set(path, factsOf(f.pkg));
          published.push(path);
        }
        if (add.length === 0) continue;
        indexes.push(await updateSubdir(subdir, previous, { add, remove: [] }, { bz2: await this.bz2Twins(root, subdir) }));
      }
      if (indexes.length > 0) await this.write(root, lease, indexes, packages, [], facts);
      return { channel, label, published: published.sort(), skipped: skipped.sort() };
    });
  }

  /** Takes files (`<subdir>/<filename>`) out of a label; a file it does not hold is 404. */
  async remove(channel: string, label: string, paths: readonly string[]): Promise<RemoveResult> {
    checkChannelAndLabel(channel, label);
    const wanted = paths.map((p) => {
      const [subdir, filename, ...rest] = p.split("/");
      if (rest.length || !subdir || !filename || !isCondaSubdir(subdir) || !parseCondaFilename(filename)) {
        throw new GateError("bad_request", `${JSON.stringify(p)} is not <subdir>/<package file name>`);
      }
      return { subdir, filename };
    });
    const root = labelRoot(channel, label);
    return this.locked(channel, label, async (lease) => {
      const indexes: SubdirIndex[] = [];
      const removed: string[] = [];
      for (const [subdir, group] of groupBy(wanted, (w) => w.subdir)) {
        const previous = await this.previous(root, subdir);
        const held = previous.repodata ? parseRepodata(previous.repodata) : null;
        for (const w of group) {
          if (!held?.packages[w.filename] && !held?.["packages.conda"][w.filename]) {
            throw new GateError("not_found", `${channel}${label === MAIN_LABEL ? "" : `/label/${label}`}/${subdir}/${w.filename} was not found`);
          }
          removed.push(`${subdir}/${w.filename}`);
        }
        const remove = group.map((w) => w.filename);
        indexes.push(await updateSubdir(subdir, previous, { add: [], remove }, { bz2: await this.bz2Twins(root, subdir) }));
      }
      await this.write(root, lease, indexes, [], removed, new Map());
      await this.retireIfEmpty(channel, label, lease);
      return { channel, label, removed: removed.sort() };
    });
  }

  /** Every index of every label of a channel from the package files in the store (idempotent). */
  async rebuild(channel: string): Promise<RebuildResult> {
    if (!isAccountName(channel)) throw new GateError("bad_request", `${JSON.stringify(channel)} is not a channel name`);
    // label → subdir → file names
    const found = new Map<string, Map<string, string[]>>();
    const note = (label: string, subdir: string, file: string | null) => {
      let subdirs = found.get(label);
      if (!subdirs) found.set(label, (subdirs = new Map()));
      let files = subdirs.get(subdir);
      if (!files) subdirs.set(subdir, (files = []));
      if (file) files.push(file);
    };
    for await (const o of this.store.list(`${channel}/`)) {
      const parts = o.key.slice(channel.length + 1).split("/");
      let label = MAIN_LABEL;
      if (parts[0] === "label" && parts.length === 4 && isLabelName(parts[1]!)) {
        label = parts[1]!;
        parts.splice(0, 2);
      }
      if (parts.length !== 2 || !isCondaSubdir(parts[0]!)) continue;
      const [subdir, file] = parts as [string, string];
      if (parseCondaFilename(file)) note(label, subdir, file);
      else if (file === "repodata.json") note(label, subdir, null);
    }
    const result: RebuildResult = { channel, labels: [] };
    for (const [label, subdirs] of [...found].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!subdirs.has("noarch")) subdirs.set("noarch", []);
      const root = labelRoot(channel, label);
      const summary = await this.locked(channel, label, async (lease) => {
        const indexes: SubdirIndex[] = [];
        const facts = new Map<string, PackageFacts>();
        const counts: { subdir: string; packages: number }[] = [];
        for (const [subdir, files] of [...subdirs].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const entries: PackageEntry[] = [];
          for (const file of files.sort()) {
            const pkg = await this.readStored(`${root}${subdir}/${file}`, file);
            if (pkg.record.subdir !== subdir) {
              throw new GateError("bad_request", `${root}${subdir}/${file} is built for ${pkg.record.subdir}, not ${subdir}: move it, then index again`);
            }
            entries.push({ filename: file, record: pkg.record as unknown as RepodataRecord });
            facts.set(`${subdir}/${file}`, factsOf(pkg));
          }
          const previousShardIndex = (await this.store.get(`${root}${subdir}/${SHARD_INDEX}`))?.body ?? null;
          const previousRepodata = (await this.store.get(`${root}${subdir}/repodata.json`))?.body ?? null;
          indexes.push(
            await rebuildSubdir(subdir, entries, {
              previousShardIndex,
              format: previousRepodata ? detectJsonFormat(previousRepodata) : "compact",
              bz2: await this.bz2Twins(root, subdir),
            }),
          );
          counts.push({ subdir, packages: entries.length });
        }
        await this.write(root, lease, indexes, [], [], facts, true);
        return counts;
      });
      result.labels.push({ label, subdirs: summary });
    }
    return result;
  }

  /** The labels of a channel that hold indexes, each with the subdirs it has a repodata.json for. */
  async labels(channel: string): Promise<Map<string, string[]>> {
    if (!isAccountName(channel)) throw new GateError("bad_request", `${JSON.stringify(channel)} is not a channel name`);
    const found = new Map<string, string[]>();
    // a listing of the channel: indexes are few, but the listing walks the package files too
    for await (const o of this.store.list(`${channel}/`)) {
      if (!o.key.endsWith("/repodata.json")) continue;
      const parts = o.key.slice(channel.length + 1).split("/");
      let label = MAIN_LABEL;
      if (parts[0] === "label" && parts.length === 4 && isLabelName(parts[1]!)) {
        label = parts[1]!;
        parts.splice(0, 2);
      }
      if (parts.length !== 2 || !isCondaSubdir(parts[0]!)) continue;
      const subdirs = found.get(label) ?? [];
      subdirs.push(parts[0]!);
      found.set(label, subdirs);
    }
    return new Map([...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([l, s]) => [l, s.sort()]));
  }

  /** Each label of a channel and how many package files its indexes hold. */
  async labelSummaries(channel: string): Promise<LabelSummary[]> {
    const out: LabelSummary[] = [];
    for (const [label, subdirs] of await this.labels(channel)) {
      const root = labelRoot(channel, label);
      const counts = await Promise.all(
        subdirs.map(async (subdir) => {
          const held = await this.held(root, subdir);
          return { subdir, files: held ? Object.keys(held.packages).length + Object.keys(held["packages.conda"]).length : 0 };
        }),
      );
      out.push({ label, files: counts.reduce((n, c) => n + c.files, 0), subdirs: counts });
    }
    return out;
  }

  /** The package files a label's indexes hold (`<subdir>/<filename>`, with the record's name
   * and version), sorted; none for a label that does not exist. */
  async files(channel: string, label: string): Promise<{ path: string; name: string; version: string }[]> {
    checkChannelAndLabel(channel, label);
    const root = labelRoot(channel, label);
    const out: { path: string; name: string; version: string }[] = [];
    for (const subdir of (await this.labels(channel)).get(label) ?? []) {
      const held = await this.held(root, subdir);
      if (!held) continue;
      for (const [filename, record] of [...Object.entries(held.packages), ...Object.entries(held["packages.conda"])]) {
        const r = record as { name?: unknown; version?: unknown };
        out.push({ path: `${subdir}/${filename}`, name: String(r.name), version: String(r.version) });
      }
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Takes what `sel` selects (null: every file) out of one label, in one change under its lock
   * (every subdir it touches updated); nothing selected: nothing written, an empty `removed`. */
  async removeSelected(channel: string, label: string, sel: PackageSelector | null): Promise<RemoveResult> {
    checkChannelAndLabel(channel, label);
    const subdirs = sel !== null && sel.file !== undefined ? [sel.file.split("/")[0]!] : ((await this.labels(channel)).get(label) ?? []);
    return this.removeWhere(channel, label, subdirs, (path, record) => selects(sel, path, record));
  }

  /** Copies what `sel` selects (null: every file of `from`) from label `from` into label `to`
   * under `to`'s lock: the package objects first, then `to`'s indexes. A file `to` holds with the
   * same sha256 is skipped; with other bytes, `existing` decides: 409 (refuse), left as it is
   * (skip) or overwritten (replace). With `move`, the files then leave `from` (under `from`'s
   * lock). `toChannel`: label `to` of another channel (no move then). Nothing selected: 404. */
  async copy(channel: string, from: string, to: string, sel: PackageSelector | null, move = false, existing: OnExisting = "refuse", toChannel: string = channel): Promise<CopyResult> {
    checkChannelAndLabel(channel, from);
    checkChannelAndLabel(toChannel, to);
    if (from === to && toChannel === channel) throw new GateError("bad_request", `copying from label ${from} to itself changes nothing`);
    if (move && toChannel !== channel) throw new GateError("bad_request", "a move stays within one channel: copy, then remove");
    const source = labelRoot(channel, from);
    const target = labelRoot(toChannel, to);
    const subdirs = sel !== null && sel.file !== undefined ? [sel.file.split("/")[0]!] : ((await this.labels(channel)).get(from) ?? []);
    // the source's records as its indexes hold them (each object is written atomically, and an
    // indexed file is in the store before its record)
    const chosen = new Map<string, PackageEntry[]>();
    for (const subdir of subdirs) {
      const held = await this.held(source, subdir);
      if (!held) continue;
      const entries: PackageEntry[] = [];
      for (const [filename, record] of [...Object.entries(held.packages), ...Object.entries(held["packages.conda"])]) {
        if (selects(sel, `${subdir}/${filename}`, record as { name?: unknown; version?: unknown })) entries.push({ filename, record });
      }
      if (entries.length) chosen.set(subdir, entries);
    }
    if (chosen.size === 0) throw new GateError("not_found", `${selectorPath(channel, sel)} was not found in label ${from}`);
    const kept = new Set<string>();
    const result = await this.locked(toChannel, to, async (lease) => {
      const indexes: SubdirIndex[] = [];
      const packages: { path: string; body: () => Buffer | Readable }[] = [];
      const facts = new Map<string, PackageFacts>();
      const copied: string[] = [];
      const skipped: string[] = [];
      for (const [subdir, entries] of chosen) {
        const previous = await this.previous(target, subdir);
        const held = previous.repodata ? parseRepodata(previous.repodata) : null;
        const add: PackageEntry[] = [];
        for (const e of entries) {
          const path = `${subdir}/${e.filename}`;
          const there = held?.packages[e.filename] ?? held?.["packages.conda"][e.filename];
          if (there) {
            if ((there as { sha256?: unknown }).sha256 === (e.record as { sha256?: unknown }).sha256) {
              skipped.push(path);
              continue;
            }
            if (existing === "skip") {
              skipped.push(path);
              kept.add(path);
              continue;
            }
            if (existing === "refuse") throw new GateError("conflict", `${toChannel}${to === MAIN_LABEL ? "" : `/label/${to}`}/${path} already exists with other bytes; remove it from label ${to} first`);
          }
          // channeldata.json's facts come from the archive, read where it already is
          facts.set(path, factsOf(await this.readStored(`${source}${path}`, e.filename)));
          add.push(e);
          packages.push({ path, body: () => this.streamOf(`${source}${path}`) });
          copied.push(path);
        }
        if (add.length) indexes.push(await updateSubdir(subdir, previous, { add, remove: [] }, { bz2: await this.bz2Twins(target, subdir) }));
      }
      if (indexes.length) await this.write(target, lease, indexes, packages, [], facts);
      return { copied: copied.sort(), skipped: skipped.sort() };
    });
    let removed: string[] = [];
    if (move) {
      // exactly the files now in `to`: one uploaded to `from` meanwhile stays there
      // (not one left in `to` with other bytes: that one stays in `from` too)
      const moved = new Set([...result.copied, ...result.skipped].filter((p) => !kept.has(p)));
      removed = (await this.removeWhere(channel, from, [...chosen.keys()], (path) => moved.has(path))).removed;
    }
    return { channel, from, to, ...(toChannel === channel ? {} : { toChannel }), ...result, removed };
  }

  // ---- steps ------------------------------------------------------------------------------

  private locked<T>(channel: string, label: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return withDocumentLock(
      {
        cache: this.cache,
        store: this.store,
        name: `conda:${channel}/${label}`,
        storePrefix: `${CATALOG_PREFIX}locks/conda/${channel}/${label}/`,
        scratchKey: this.scratchKey,
      },
      fn,
      this.opts.lockWaitMs === undefined ? {} : { waitMs: this.opts.lockWaitMs },
    );
  }

  private async held(root: string, subdir: string): Promise<ReturnType<typeof parseRepodata> | null> {
    const body = (await this.store.get(`${root}${subdir}/repodata.json`))?.body;
    return body ? parseRepodata(body) : null;
  }

  /** A stored object as a stream handed over at once (a plan's put takes a body synchronously). */
  private streamOf(key: string): Readable {
    const out = new PassThrough();
    this.store.read(key).then(
      (s) => (s ? s.on("error", (err) => out.destroy(err)).pipe(out) : out.destroy(new GateError("not_found", `${key} is gone`))),
      (err: Error) => out.destroy(err),
    );
    return out;
  }

  /** Under the label's lock: the files of `subdirs` that `match` takes leave the indexes, then the store. */
  private removeWhere(channel: string, label: string, subdirs: readonly string[], match: (path: string, record: { name?: unknown; version?: unknown }) => boolean): Promise<RemoveResult> {
    const root = labelRoot(channel, label);
    return this.locked(channel, label, async (lease) => {
      const indexes: SubdirIndex[] = [];
      const removed: string[] = [];
      for (const subdir of subdirs) {
        const previous = await this.previous(root, subdir);
        if (!previous.repodata) continue;
        const held = parseRepodata(previous.repodata);
        const remove = [...Object.entries(held.packages), ...Object.entries(held["packages.conda"])]
          .filter(([filename, record]) => match(`${subdir}/${filename}`, record as { name?: unknown; version?: unknown }))
          .map(([filename]) => filename);
        if (!remove.length) continue;
        removed.push(...remove.map((f) => `${subdir}/${f}`));
        indexes.push(await updateSubdir(subdir, previous, { add: [], remove }, { bz2: await this.bz2Twins(root, subdir) }));
      }
      if (indexes.length) {
        await this.write(root, lease, indexes, [], removed, new Map());
        await this.retireIfEmpty(channel, label, lease);
      }
      return { channel, label, removed: removed.sort() };
    });
  }

  /** A label other than main left without a package file is no label any more (anaconda.org's
   * empty labels vanish too): its indexes go, each subdir's repodata.json (what marks a label)
   * first, so pkgate label --list and the label's URL stop showing it. Under the label's lock. */
  private async retireIfEmpty(channel: string, label: string, lease: Lease): Promise<void> {
    if (label === MAIN_LABEL) return;
    const keys: string[] = [];
    for await (const o of this.store.list(labelRoot(channel, label))) {
      if (parseCondaFilename(o.key.slice(o.key.lastIndexOf("/") + 1))) return;
      keys.push(o.key);
    }
    keys.sort((a, b) => Number(b.endsWith("/repodata.json")) - Number(a.endsWith("/repodata.json")));
    for (const key of keys) {
      lease.check();
      await this.store.delete(key);
    }
  }

  private async previous(root: string, subdir: string): Promise<{ repodata: Buffer | null; shardIndex: Buffer | null }> {
    const [repodata, shardIndex] = await Promise.all([this.store.get(`${root}${subdir}/repodata.json`), this.store.get(`${root}${subdir}/${SHARD_INDEX}`)]);
    return { repodata: repodata?.body ?? null, shardIndex: shardIndex?.body ?? null };
  }

  /** The documents that already have a .bz2 twin in the store keep getting one. */
  private async bz2Twins(root: string, subdir: string): Promise<RepodataDocument[]> {
    const has = await Promise.all(REPODATA_DOCUMENTS.map((d) => this.store.stat(`${root}${subdir}/${d}.bz2`)));
    return REPODATA_DOCUMENTS.filter((_, i) => has[i] !== null);
  }

  private async readStored(key: string, filename: string): Promise<CondaPackage> {
    const stream = await this.store.read(key);
    if (!stream) throw new GateError("not_found", `${key} is gone`);
    return readCondaPackage(stream, filename, this.limits);
  }

  /** channeldata.json folded, then every write of the plan in its order. */
  private async write(
    root: string,
    lease: Lease,
    indexes: SubdirIndex[],
    packages: { path: string; body: () => Buffer | Readable }[],
    removedPackages: string[],
    facts: Map<string, PackageFacts>,
    fromScratch = false,
  ): Promise<void> {
    const previousChanneldata = fromScratch ? null : ((await this.store.get(`${root}channeldata.json`))?.body ?? null);
    const format = previousChanneldata ? detectJsonFormat(previousChanneldata) : "indented";
    const subdirs = indexes.map((s) => ({ subdir: s.subdir, repodata: s.repodata }));
    let update = updateChanneldata(previousChanneldata, subdirs, (subdir, filename) => facts.get(`${subdir}/${filename}`));
    if (update.needsFacts.length > 0) {
      // builds whose about.json counts now (a newer one removed, or first seen here): read them
      for (const path of update.needsFacts) {
        const filename = path.slice(path.lastIndexOf("/") + 1);
        const pkg = await this.readStored(`${root}${path}`, filename).catch(() => null);
        if (pkg) facts.set(path, factsOf(pkg));
      }
      update = updateChanneldata(previousChanneldata, subdirs, (subdir, filename) => facts.get(`${subdir}/${filename}`));
    }
    const channeldata = serializeChanneldata(update.channeldata, format);
    const plan = publishPlan({ packages: packages.map((p) => ({ path: p.path, body: p.body })), subdirs: indexes, channeldata, removedPackages });
    for (const step of plan) {
      lease.check();
      const key = `${root}${step.path}`;
      if (step.op === "delete") await this.store.delete(key);
      else if (step.op === "put-package") await this.store.put(key, step.body(), { contentType: "application/octet-stream" });
      else await this.store.put(key, Buffer.from(step.body.buffer, step.body.byteOffset, step.body.byteLength), { contentType: contentTypeOf(step.path) });
    }
  }
}

function contentTypeOf(path: string): string {
  if (path.endsWith(".json")) return "application/json";
  if (path.endsWith(".zst")) return "application/zstd";
  if (path.endsWith(".bz2")) return "application/x-bzip2";
  return "application/octet-stream";
}

/** What channeldata.json draws from a package besides its record (conda-index's cache fields). */
export function factsOf(pkg: CondaPackage): PackageFacts {
  let recipe: Record<string, never> | null = null;
  if (pkg.recipe) {
    try {
      const parsed: unknown = parseYaml(pkg.recipe);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) recipe = parsed as Record<string, never>;
    } catch {
      // conda-index ignores a recipe it cannot parse
    }
  }
  const facts = packageFacts({ about: pkg.about as Record<string, never>, recipe, runExports: pkg.runExports as Record<string, never> });
  return { ...facts, ...pkg.postInstall };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

