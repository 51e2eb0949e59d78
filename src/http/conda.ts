// Serving a conda channel: index files filtered to what the caller may see (or passed
// through byte for byte when nothing is hidden from them), CEP-16 shards, and artifacts.
import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { Target } from "./target.js";
import type { Account, Principal } from "../access/model.js";
import type { Store, ObjectInfo } from "../store/store.js";
import { GateError, notFound } from "../errors.js";
import { cacheControl, send, sendObject, type SendOptions } from "./send.js";
import type { ObjectSource } from "./objects.js";
import { decide as decideAccess, notFound as hiddenOrMissing, visibility } from "../access/policy.js";
import { filterRepodata } from "../conda/repodata.js";
import { filterShardIndex, shardOwners } from "../conda/shards.js";
import { filterChanneldata } from "../conda/channeldata.js";
import { zstdCompressAsync, zstdDecompressAsync } from "../conda/compress.js";
import { bzip2 } from "../conda/bzip2.js";
import type { ViewCache } from "../cache/views.js";

export interface CondaDeps {
  store: Store;
  /** Bodies and validators of stored objects, small hot ones from memory. */
  objects: ObjectSource;
  views: ViewCache;
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

async function sendOr404(c: Context, objects: ObjectSource, key: string, opts: SendOptions): Promise<Response> {
  const res = await sendObject(c, objects, key, opts);
  if (!res) throw notFound();
  return res;
}

async function statOr404(objects: ObjectSource, key: string): Promise<ObjectInfo> {
  const info = await objects.stat(key);
  if (!info) throw notFound();
  return info;
}

export async function serveConda(c: Context, deps: CondaDeps, t: CondaTarget, principal: Principal, account: Account): Promise<Response> {
  switch (t.kind) {
    case "conda-index":
      return serveIndex(c, deps, t, principal, account);
    case "channeldata":
      return serveIndex(c, deps, { ...t, kind: "conda-index", subdir: "", file: "channeldata.json" as never }, principal, account);
    case "conda-shard":
      return serveShard(c, deps, t, principal, account);
    case "conda-artifact": {
      const verdict = decideAccess(principal, "conda:download", account, t.package);
      if (!verdict.allow) throw new GateError(verdict.code as never, verdict.message);
      const key = `${channelPrefix(t)}${t.subdir}/${t.file}`;
      const res = await sendObject(c, deps.objects, key, {
        contentType: "application/octet-stream",
        cacheControl: cacheControl(c, ARTIFACT_MAX_AGE),
      });
      // a missing file answers exactly like a hidden one, so existence never leaks
      if (!res) throw new GateError("not_found", hiddenOrMissing(principal, t.package).message);
      return res;
    }
  }
}

type IndexTarget = Extract<Target, { kind: "conda-index" }>;

async function serveIndex(c: Context, deps: CondaDeps, t: IndexTarget, principal: Principal, account: Account): Promise<Response> {
  const { store, views, objects } = deps;
  const dir = t.subdir ? `${channelPrefix(t)}${t.subdir}/` : channelPrefix(t);
  const key = dir + t.file;
  const opts = { contentType: contentTypeOf(t.file), cacheControl: cacheControl(c, INDEX_MAX_AGE) };
  const vis = visibility(principal, account, "conda:download");
  if (vis.all) return sendOr404(c, objects, key, opts);
  const info = await statOr404(objects, key);

  // the uncompressed twin, when there is one, is cheaper to filter than the compressed file
  const twinKey = /\.(zst|bz2)$/.test(t.file) && !t.file.endsWith(".msgpack.zst") ? key.replace(/\.(zst|bz2)$/, "") : null;
  const twin = twinKey ? await objects.stat(twinKey) : null;
  const viewKey = `${key}|${info.etag}|${twin?.etag ?? ""}|${vis.key}`;
  const filtered = await views.get(viewKey, async () => {
    const out = await computeView(store, t.file, key, twin ? twinKey : null, vis.visible);
    // an empty buffer means "nothing hidden here": pass the stored bytes through
    return out ?? Buffer.alloc(0);
  });
  if (filtered.length === 0) return sendOr404(c, objects, key, opts);
  const etag = `v-${createHash("sha256").update(viewKey).digest("hex").slice(0, 32)}`;
  return send(c, { kind: "buffer", info: { size: filtered.length, etag, lastModified: info.lastModified }, buffer: filtered }, opts);
}

/** `removed` lists file names: a hidden package's must go too, or its existence leaks. */
const FILTER = { hideRemoved: true };

async function readWhole(store: Store, key: string): Promise<Buffer> {
  const got = await store.get(key);
  if (!got) throw notFound();
  return got.body;
}

/** The filtered bytes of one index file for one view, or null when nothing is hidden. */
async function computeView(store: Store, file: string, key: string, twinKey: string | null, visible: (name: string) => boolean): Promise<Buffer | null> {
  if (file === "repodata_shards.msgpack.zst") return filterShardIndex(await readWhole(store, key), visible);
  if (file === "channeldata.json") return filterChanneldata(await readWhole(store, key), visible);
  if (file.endsWith(".json")) return filterRepodata(await readWhole(store, key), visible, FILTER);
  const json = twinKey ? await readWhole(store, twinKey) : await decompress(file, await readWhole(store, key));
  const filtered = filterRepodata(json, visible, FILTER);
  if (!filtered) return null;
  return file.endsWith(".zst") ? zstdCompressAsync(filtered) : bz2View(filtered);
}

/** bzip2 in pure JS runs at ~0.3 MB/s, far too slow for a filtered view: use the system's
 * bzip2 and, without one, answer 404 (conda and mamba never ask for .bz2; rattler then
 * takes repodata.json). */
async function bz2View(json: Buffer): Promise<Buffer> {
  const out = await bzip2(json);
  if (!out) throw notFound();
  return out;
}

async function decompress(file: string, body: Buffer): Promise<Buffer> {
  if (file.endsWith(".zst")) return zstdDecompressAsync(body);
  throw notFound(); // a .bz2 without its .json twin: conda-index always writes both
}

type ShardTarget = Extract<Target, { kind: "conda-shard" }>;

const ownersByIndex = new Map<string, Map<string, string>>();

async function serveShard(c: Context, deps: CondaDeps, t: ShardTarget, principal: Principal, account: Account): Promise<Response> {
  const { store, objects } = deps;
  const dir = `${channelPrefix(t)}${t.subdir}/`;
  const key = dir + t.file;
  const vis = visibility(principal, account, "conda:download");
  if (!vis.all) {
    // a shard holds one package name's records: serve it only if that name is visible
    const indexKey = `${dir}repodata_shards.msgpack.zst`;
    const index = await statOr404(objects, indexKey);
    const cacheKey = `${indexKey}|${index.etag}`;
    let owners = ownersByIndex.get(cacheKey);
    if (!owners) {
      owners = shardOwners(await readWhole(store, indexKey));
      if (ownersByIndex.size >= 64) ownersByIndex.delete(ownersByIndex.keys().next().value!);
      ownersByIndex.set(cacheKey, owners);
    }
    const name = owners.get(t.sha256);
    if (name === undefined || !vis.visible(name)) throw notFound();
  }
  return sendOr404(c, objects, key, {
    contentType: "application/octet-stream",
    cacheControl: cacheControl(c, ARTIFACT_MAX_AGE),
  });
}
