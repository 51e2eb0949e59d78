// Serving a conda channel: index files filtered to what the caller may see (or passed
// through byte for byte when nothing is hidden from them), CEP-16 shards, and artifacts.
import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { Target } from "./target.js";
import type { Account, Principal } from "../access/model.js";
import type { Store, ObjectInfo } from "../store/store.js";
import { GateError, notFound } from "../errors.js";
import type { Body } from "./send.js";
import { cacheControl, probeObject, send, sendObject, type SendOptions } from "./send.js";
import type { ObjectSource } from "./objects.js";
import { sendArtifact, type DownloadConfig } from "./download.js";
import { roleOn, visibility, type Visibility } from "../access/policy.js";
import { authorize, missing, refusal } from "../access/authorize.js";
import { filterRepodata } from "../conda/repodata.js";
import { filterShardIndex, shardOwners } from "../conda/shards.js";
import { filterChanneldata } from "../conda/channeldata.js";
import { zstdCompressAsync, zstdDecompressAsync } from "../conda/compress.js";
import { bunzip2, bzip2 } from "../conda/bzip2.js";
import type { ViewCache } from "../cache/views.js";

export interface CondaDeps {
  store: Store;
  /** Bodies and validators of stored objects, small hot ones from memory. */
  objects: ObjectSource;
  views: ViewCache;
  /** DOWNLOAD_MODE and its settings; absent: the gateway streams artifacts itself. */
  downloads?: DownloadConfig;
}

type CondaTarget = Extract<Target, { kind: "conda-index" | "conda-shard" | "conda-artifact" | "channeldata" }>;

const INDEX_MAX_AGE = 30;
const ARTIFACT_MAX_AGE = 86400;

export function channelPrefix(t: { channel: string; label?: string }): string {
  return t.label ? `${t.channel}/label/${t.label}/` : `${t.channel}/`;
}

function contentTypeOf(file: string): string {
  if (file.endsWith(".json")) return "application/json";
  if (file.endsWith(".zst")) return "application/zstd";
  if (file.endsWith(".bz2")) return "application/x-bzip2";
  return "application/octet-stream";
}

/** The stored bytes of an index file as the response body, under the given ETag and
 * without Last-Modified (the store's time of the file would move when a hidden package
 * changes). */
async function sendStored(c: Context, objects: ObjectSource, key: string, etag: string, opts: SendOptions, missingErr: GateError): Promise<Response> {
  const body = await objects.body(key);
  if (!body) throw missingErr;
  return send(c, { ...body, info: { size: body.info.size, etag } } as Body, opts);
}

export async function serveConda(c: Context, deps: CondaDeps, t: CondaTarget, principal: Principal, account: Account | null): Promise<Response> {
  switch (t.kind) {
    case "conda-index":
      return serveIndex(c, deps, t, principal, account);
    case "channeldata":
      return serveIndex(c, deps, { ...t, kind: "conda-index", subdir: "", file: "channeldata.json" as never }, principal, account);
    case "conda-shard":
      return serveShard(c, deps, t, principal, account);
    case "conda-artifact": {
      const key = `${channelPrefix(t)}${t.subdir}/${t.file}`;
      const resource = { account, name: t.channel, package: t.package };
      const verdict = authorize(principal, "conda:download", resource);
      // a hidden package costs the store lookup a missing one costs, so time tells nothing
      if (!verdict.allow) throw await refusal(verdict, () => probeObject(c, deps.objects, key));
      const res = await sendArtifact(c, deps.downloads, deps.objects, key, {
        contentType: "application/octet-stream",
        cacheControl: cacheControl(c, ARTIFACT_MAX_AGE),
      });
      if (!res) throw missing(principal, "conda:download", resource);
      return res;
    }
  }
}

type IndexTarget = Extract<Target, { kind: "conda-index" }>;

/** Content-derived ETags of stored index files (key|stored etag → sha256 of the bytes), so a
 * caller's validators change only when what it sees changes. */
const contentTags = new Map<string, Promise<string>>();

function contentTag(store: Store, key: string, info: ObjectInfo): Promise<string> {
  const k = `${key}|${info.etag}`;
  let tag = contentTags.get(k);
  if (!tag) {
    tag = (async () => {
      const stream = await store.read(key);
      if (!stream) throw notFound();
      const h = createHash("sha256");
      for await (const chunk of stream) h.update(chunk as Buffer);
      return h.digest("hex").slice(0, 32);
    })();
    tag.catch(() => contentTags.delete(k));
    if (contentTags.size >= 256) contentTags.delete(contentTags.keys().next().value!);
    contentTags.set(k, tag);
  }
  return tag;
}

/** The ETag of a filtered view: a hash of its bytes, memoized per buffer. */
const viewTags = new WeakMap<Buffer, string>();
function bytesTag(buf: Buffer): string {
  let tag = viewTags.get(buf);
  if (!tag) {
    tag = createHash("sha256").update(buf).digest("hex").slice(0, 32);
    viewTags.set(buf, tag);
  }
  return tag;
}

/** What a view cache entry holds besides filtered bytes: "nothing hidden, pass the stored
 * bytes", or "nothing visible, answer as missing". Filtered JSON and zstd never look like
 * these. */
const PASS = Buffer.alloc(0);
const NOTHING_VISIBLE = Buffer.from([0]);

async function serveIndex(c: Context, deps: CondaDeps, t: IndexTarget, principal: Principal, account: Account | null): Promise<Response> {
  const { store, views, objects } = deps;
  const dir = t.subdir ? `${channelPrefix(t)}${t.subdir}/` : channelPrefix(t);
  const key = dir + t.file;
  const resource = { account, name: t.channel, package: null };
  const verdict = authorize(principal, "conda:download", resource);
  if (!verdict.allow) throw await refusal(verdict, () => objects.store.stat(key));
  const gone = missing(principal, "conda:download", resource);
  const opts = { contentType: contentTypeOf(t.file), cacheControl: cacheControl(c, INDEX_MAX_AGE) };
  const acc = account!;
  // a role over the whole channel sees it as stored, validators included
  if (roleOn(verdict.as, acc, null) !== "none") {
    const res = await sendObject(c, objects, key, opts);
    if (!res) throw gone;
    return res;
  }
  const vis = visibility(verdict.as, acc);
  const info = await objects.stat(key);
  if (!info) throw gone;
  if (vis.all) return sendStored(c, objects, key, await contentTag(store, key, info), opts, gone);

  let filtered = await viewOf(deps, t.file, key, info, vis);
  if (filtered.length === 0) return sendStored(c, objects, key, await contentTag(store, key, info), opts, gone);
  if (isNothingVisible(filtered)) {
    // An index of nothing but hidden packages is what a missing one is. But conda refuses a
    // channel (or label) without noarch/repodata.json, so noarch answers with its empty view
    // when anything else of the label is visible (the label's channeldata.json names every
    // package of every subdir; conda-index always writes both).
    if (t.subdir !== "noarch" || !(await labelShowsAnything(deps, t, vis))) throw gone;
    // rare and small (a noarch of hidden packages only): its empty view is not cached
    filtered = (await computeView(store, t.file, key, vis.visible))!;
  }
  return send(c, { kind: "buffer", info: { size: filtered.length, etag: bytesTag(filtered) }, buffer: filtered }, opts);
}

const isNothingVisible = (b: Buffer) => b === NOTHING_VISIBLE || (b.length === 1 && b[0] === 0);

/** One view of a stored index file (cached): PASS, NOTHING_VISIBLE, or the filtered bytes. */
function viewOf(deps: CondaDeps, file: string, key: string, info: ObjectInfo, vis: Extract<Visibility, { all: false }>): Promise<Buffer> {
  return deps.views.get(`${key}|${info.etag}|${vis.key}`, async () => {
    let anyVisible = false;
    const visible = (name: string) => {
      const ok = vis.visible(name);
      anyVisible ||= ok;
      return ok;
    };
    const out = await computeView(deps.store, file, key, visible);
    if (out === null) return PASS;
    return anyVisible ? out : NOTHING_VISIBLE;
  });
}

/** Whether the caller sees any package of the label (or channel root) at all. */
async function labelShowsAnything(deps: CondaDeps, t: IndexTarget, vis: Extract<Visibility, { all: false }>): Promise<boolean> {
  const key = `${channelPrefix(t)}channeldata.json`;
  const info = await deps.objects.stat(key);
  if (!info) return true;
  return !isNothingVisible(await viewOf(deps, "channeldata.json", key, info, vis));
}

/** `removed` lists file names: a hidden package's must go too, or its existence leaks. */
const FILTER = { hideRemoved: true };

async function readWhole(store: Store, key: string): Promise<Buffer> {
  const got = await store.get(key);
  if (!got) throw notFound();
  return got.body;
}

/** The filtered bytes of one index file for one view, or null when nothing is hidden. Each
 * file is judged on its own bytes: a compressed twin that disagrees with its .json (stale,
 * or written by hand) is filtered for what it holds itself. */
async function computeView(store: Store, file: string, key: string, visible: (name: string) => boolean): Promise<Buffer | null> {
  const stored = await readWhole(store, key);
  if (file === "repodata_shards.msgpack.zst") return filterShardIndex(stored, visible);
  if (file === "channeldata.json") return filterChanneldata(stored, visible);
  if (file.endsWith(".json")) return filterRepodata(stored, visible, FILTER);
  const json = file.endsWith(".zst") ? await zstdDecompressAsync(stored) : await bz2Json(stored);
  const filtered = filterRepodata(json, visible, FILTER);
  if (!filtered) return null;
  return file.endsWith(".zst") ? zstdCompressAsync(filtered) : bz2View(filtered);
}

/** A stored .bz2 decompressed by the system's bzip2 (404 without one, as for compressing). */
async function bz2Json(body: Buffer): Promise<Buffer> {
  const out = await bunzip2(body);
  if (!out) throw notFound();
  return out;
}

/** bzip2 in pure JS runs at ~0.3 MB/s, far too slow for a filtered view: use the system's
 * bzip2 and, without one, answer 404 (conda and mamba never ask for .bz2; rattler then
 * takes repodata.json). */
async function bz2View(json: Buffer): Promise<Buffer> {
  const out = await bzip2(json);
  if (!out) throw notFound();
  return out;
}

type ShardTarget = Extract<Target, { kind: "conda-shard" }>;

const ownersByIndex = new Map<string, Map<string, string>>();

async function serveShard(c: Context, deps: CondaDeps, t: ShardTarget, principal: Principal, account: Account | null): Promise<Response> {
  const { store, objects } = deps;
  const dir = `${channelPrefix(t)}${t.subdir}/`;
  const key = dir + t.file;
  const resource = { account, name: t.channel, package: null };
  const verdict = authorize(principal, "conda:download", resource);
  if (!verdict.allow) throw await refusal(verdict, () => objects.store.stat(key));
  const gone = missing(principal, "conda:download", resource);
  const vis = visibility(verdict.as, account!);
  if (!vis.all) {
    // a shard holds one package name's records: serve it only if that name is visible
    const indexKey = `${dir}repodata_shards.msgpack.zst`;
    const index = await objects.stat(indexKey);
    if (!index) throw gone;
    const cacheKey = `${indexKey}|${index.etag}`;
    let owners = ownersByIndex.get(cacheKey);
    if (!owners) {
      owners = shardOwners(await readWhole(store, indexKey));
      if (ownersByIndex.size >= 64) ownersByIndex.delete(ownersByIndex.keys().next().value!);
      ownersByIndex.set(cacheKey, owners);
    }
    const name = owners.get(t.sha256);
    if (name === undefined || !vis.visible(name)) {
      await objects.store.stat(key); // the lookup a missing shard costs, never from memory
      throw gone;
    }
  }
  const res = await sendObject(c, objects, key, { contentType: "application/octet-stream", cacheControl: cacheControl(c, ARTIFACT_MAX_AGE) });
  if (!res) throw gone;
  return res;
}
