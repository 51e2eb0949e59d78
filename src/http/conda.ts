// Serving a conda channel: index files filtered to what the caller may see (or passed
// through byte for byte when nothing is hidden from them), CEP-16 shards, and artifacts.
import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { Target } from "./target.js";
import type { Account, Principal } from "../access/model.js";
import type { Store, ObjectInfo, ReadRange } from "../store/store.js";
import { GateError, notFound, unavailable } from "../errors.js";
import type { Body } from "./send.js";
import { cacheControl, probeObject, send, sendObject, type SendOptions } from "./send.js";
import type { ObjectSource } from "./objects.js";
import { sendArtifact, type DownloadConfig } from "./download.js";
import { roleOn, visibility, type Visibility } from "../access/policy.js";
import { authorize, missing, refusal } from "../access/authorize.js";
import { computeView, decodeView, openStored, shardOwnersOf, StaleIndex, type IndexView } from "../conda/index-view.js";
import { header } from "./headers.js";
import type { ViewCache } from "../cache/views.js";
import { indexWorkers, type WorkerPool } from "../workers/pool.js";

export interface CondaDeps {
  store: Store;
  /** Bodies and validators of stored objects, small hot ones from memory. */
  objects: ObjectSource;
  views: ViewCache;
  /** Where index views are computed, off the event loop (default: the process's pool). */
  workers?: WorkerPool;
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
async function sendStored(c: Context, objects: ObjectSource, key: string, etag: string, opts: SendOptions, missingErr: () => GateError): Promise<Response> {
  const body = await objects.body(key);
  if (!body) throw missingErr();
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

async function serveIndex(c: Context, deps: CondaDeps, t: IndexTarget, principal: Principal, account: Account | null): Promise<Response> {
  const { store, objects } = deps;
  const dir = t.subdir ? `${channelPrefix(t)}${t.subdir}/` : channelPrefix(t);
  const key = dir + t.file;
  const resource = { account, name: t.channel, package: null };
  const verdict = authorize(principal, "conda:download", resource);
  if (!verdict.allow) throw await refusal(verdict, () => objects.store.stat(key));
  // made only when it is the answer (no error object on the path of a served index)
  const gone = () => missing(principal, "conda:download", resource);
  const opts = { contentType: contentTypeOf(t.file), cacheControl: cacheControl(c, INDEX_MAX_AGE) };
  const acc = account!;
  // a role over the whole channel sees it as stored, validators included (a token limited to
  // some packages, a trusted publisher's, sees only those)
  if (roleOn(verdict.as, acc, null) !== "none" && verdict.as.packages === undefined) {
    const res = await sendObject(c, objects, key, opts);
    if (!res) throw gone();
    return res;
  }
  const vis = visibility(verdict.as, acc);
  let info = await objects.stat(key);
  if (!info) throw gone();
  if (vis.all) return sendStored(c, objects, key, await contentTag(store, key, info), opts, gone);

  for (let attempt = 0; ; attempt++) {
    let view: IndexView;
    try {
      view = await viewOf(deps, t.file, key, info, vis);
    } catch (err) {
      // replaced since the (cached) stat: take the version the store has now
      if (!(err instanceof StaleIndex) || attempt > 2) throw err;
      info = await store.stat(key);
      if (!info) throw gone();
      continue;
    }
    if (view.kind === "pass") return sendStored(c, objects, key, await contentTag(store, key, info), opts, gone);
    if (view.kind === "none") {
      // An index of nothing but hidden packages is what a missing one is. But conda refuses a
      // channel (or label) without noarch/repodata.json, so noarch answers with its empty view
      // when anything else of the label is visible (the label's channeldata.json names every
      // package of every subdir; conda-index always writes both).
      if (t.subdir !== "noarch" || !(await labelShowsAnything(deps, t, vis))) throw gone();
      // rare and small (a noarch of hidden packages only): its empty view is not cached
      view = decodeView(await computeView(viewSource(deps), t.file, key, info, vis.visible, true));
      if (view.kind === "pass" || view.kind === "none") throw gone();
    }
    if (view.kind === "bytes") return send(c, { kind: "buffer", info: { size: view.body.length, etag: view.tag }, buffer: view.body }, opts);
    const cut = view;
    const validators = { size: cut.size, etag: cut.tag };
    if (header(c, "if-none-match")?.includes(`"${cut.tag}"`)) {
      // a revalidation that matches is answered from the view alone (as stored objects are, from validators cached for a second)
      const version = info.etag;
      const openVersion = async () => {
        const stored = await openStored(store, key);
        if (stored && stored.info.etag === version) return stored;
        stored?.close();
        throw unavailable("the index (it was replaced just now)", 1);
      };
      const open = async (range?: ReadRange, signal?: AbortSignal) => (await openVersion()).open(cut, range, signal);
      const openRanges = async (range?: ReadRange) => {
        const stored = await openVersion();
        if (stored.file) return stored.file(cut, range);
        stored.close();
        return null;
      };
      return send(c, { kind: "stream", info: validators, open, openRanges: store.openFile ? openRanges : undefined }, opts);
    }
    // the bytes of the version the cuts were made for, or that version's own view
    const stored = await openStored(store, key);
    if (!stored) throw gone();
    if (stored.info.etag !== info.etag) {
      stored.close();
      info = stored.info;
      continue;
    }
    try {
      const file = stored.file;
      const openRanges = file && (async (range?: ReadRange) => file(cut, range));
      return await send(c, { kind: "stream", info: validators, open: async (range, signal) => stored.open(cut, range, signal), openRanges }, opts);
    } finally {
      stored.close(); // unless the body was opened
    }
  }
}

const viewSource = (deps: CondaDeps) => ({ store: deps.store, workers: deps.workers ?? indexWorkers() });

/** One view of a stored index file (cached): keyed by the stored version and the caller's view
 * of the channel, so it never goes stale. */
async function viewOf(deps: CondaDeps, file: string, key: string, info: ObjectInfo, vis: Extract<Visibility, { all: false }>): Promise<IndexView> {
  const encoded = await deps.views.get(`${key}|${info.etag}|${vis.key}|cut`, () => computeView(viewSource(deps), file, key, info, vis.visible));
  return decodeView(encoded);
}

/** Whether the caller sees any package of the label (or channel root) at all. */
async function labelShowsAnything(deps: CondaDeps, t: IndexTarget, vis: Extract<Visibility, { all: false }>): Promise<boolean> {
  const key = `${channelPrefix(t)}channeldata.json`;
  const info = await deps.objects.stat(key);
  if (!info) return true;
  return (await viewOf(deps, "channeldata.json", key, info, vis)).kind !== "none";
}

type ShardTarget = Extract<Target, { kind: "conda-shard" }>;

const ownersByIndex = new Map<string, Promise<Map<string, string>>>();

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
      owners = shardOwnersOf(viewSource(deps), indexKey);
      owners.catch(() => ownersByIndex.delete(cacheKey));
      if (ownersByIndex.size >= 64) ownersByIndex.delete(ownersByIndex.keys().next().value!);
      ownersByIndex.set(cacheKey, owners);
    }
    const name = (await owners).get(t.sha256);
    if (name === undefined || !vis.visible(name)) {
      await objects.store.stat(key); // the lookup a missing shard costs, never from memory
      throw gone;
    }
  }
  const res = await sendObject(c, objects, key, { contentType: "application/octet-stream", cacheControl: cacheControl(c, ARTIFACT_MAX_AGE) });
  if (!res) throw gone;
  return res;
}
