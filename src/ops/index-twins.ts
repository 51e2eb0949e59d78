// Index files that must say the same thing: a conda subdir's `repodata.json` and its
// compressed twins (`.zst`, `.bz2`; likewise current_repodata.json and
// repodata_from_packages.json), and the CEP-16 shard index beside them. The gateway serves each
// file as stored (http/conda.ts judges each on its own bytes), and clients pick different
// ones (conda, mamba and pixi the `.zst` or the shards, older clients the `.json`), so a twin
// left behind by a partial copy or an indexer run that stopped halfway gives them different
// packages. This compares them: bytes first, then, when the bytes differ, the parsed content,
// so that formatting alone never counts as a disagreement.
import type { ListedObject, Store } from "../store/store.js";
import { zstdDecompressAsync, bz2DecompressAsync } from "../conda/compress.js";
import { bunzip2 } from "../conda/bzip2.js";
import { repodataNames } from "../conda/repodata.js";
import { decodeShardIndex } from "../conda/shards.js";
import { count, quote, reason } from "./words.js";

const PLAIN = ["repodata.json", "current_repodata.json", "repodata_from_packages.json"] as const;
const COMPRESSED = [".zst", ".bz2"] as const;
const SHARD_INDEX = "repodata_shards.msgpack.zst";
/** Above this, twins whose bytes differ are not parsed to say how (two parsed copies of a
 * conda-forge-sized repodata take gigabytes). */
const PARSE_BYTES = 64 * 1024 * 1024;

export interface Disagreement {
  message: string;
  action: string;
}

export interface TwinReport {
  /** Pairs of files compared. */
  compared: number;
  disagreements: Disagreement[];
  /** Files not compared, and why. */
  skipped: string[];
}

/** Compare the index files of one directory (`acme/linux-64/`) as the survey listed them.
 * Files larger than `maxBytes` (stored size) are not read. */
export async function compareIndexTwins(store: Store, dir: string, files: ReadonlyMap<string, ListedObject>, maxBytes: number): Promise<TwinReport> {
  const report: TwinReport = { compared: 0, disagreements: [], skipped: [] };
  const bodies = new Map<string, Buffer | null>();
  /** The stored bytes, or null (skipped: too large, or gone since the listing). */
  const read = async (file: string): Promise<Buffer | null> => {
    if (bodies.has(file)) return bodies.get(file)!;
    const info = files.get(file)!;
    let body: Buffer | null = null;
    if (info.size > maxBytes) report.skipped.push(`${dir}${file}: ${mib(info.size)}, above the bound of ${mib(maxBytes)}`);
    else body = (await store.get(dir + file))?.body ?? null;
    bodies.set(file, body);
    return body;
  };

  for (const plain of PLAIN) {
    const twins = COMPRESSED.map((ext) => plain + ext).filter((f) => files.has(f));
    if (twins.length === 0) continue;
    if (!files.has(plain)) {
      report.disagreements.push({
        message: `${dir} has ${twins.join(" and ")} but no ${plain}: clients that ask for ${plain} get 404 there`,
        action: `re-run conda-index on ${dir}`,
      });
      continue;
    }
    for (const twin of twins) {
      const [json, packed] = [await read(plain), await read(twin)];
      if (!json || !packed) continue;
      report.compared++;
      let unpacked: Buffer;
      try {
        unpacked = twin.endsWith(".zst") ? await zstdDecompressAsync(packed) : ((await bunzip2(packed)) ?? (await bz2DecompressAsync(packed)));
      } catch (err) {
        report.disagreements.push({
          message: `${dir}${twin} cannot be decompressed (${reason(err)}): clients that ask for it fail`,
          action: `re-run conda-index on ${dir}, or delete ${dir}${twin}`,
        });
        continue;
      }
      if (unpacked.equals(json)) continue;
      const difference =
        Math.max(json.length, unpacked.length) > PARSE_BYTES
          ? `the bytes differ (${json.length} against ${unpacked.length} decompressed; too large to compare record by record)`
          : describeDifference(plain, json, unpacked);
      if (difference === null) continue;
      const older = files.get(twin)!.lastModified < files.get(plain)!.lastModified;
      report.disagreements.push({
        message: `${dir}${twin} disagrees with ${plain}: ${difference}; it is ${older ? "older" : "newer"} (${stamp(files.get(twin)!)} vs ${stamp(files.get(plain)!)}), so clients reading ${twin} and clients reading ${plain} see different packages`,
        action: older
          ? `re-run conda-index on ${dir}, or delete the stale ${dir}${twin} (clients then read ${plain})`
          : `re-run conda-index on ${dir} (${plain} looks like the stale one)`,
      });
    }
  }

  if (files.has(SHARD_INDEX) && files.has("repodata.json")) {
    const [json, shards] = [await read("repodata.json"), await read(SHARD_INDEX)];
    if (json && shards) {
      report.compared++;
      let sharded: Set<string>;
      try {
        sharded = new Set(decodeShardIndex(shards).shards.keys());
      } catch (err) {
        report.disagreements.push({
          message: `${dir}${SHARD_INDEX} cannot be read (${reason(err)}): clients that use shards (pixi, recent conda) fail on it`,
          action: `re-index ${dir} with the indexer that writes shards, or delete ${dir}${SHARD_INDEX}`,
        });
        return report;
      }
      const indexed = repodataNames(json);
      const onlyShards = [...sharded].filter((n) => !indexed.has(n)).sort();
      const onlyJson = [...indexed].filter((n) => !sharded.has(n)).sort();
      if (onlyShards.length + onlyJson.length > 0) {
        const parts = [
          onlyShards.length ? `lists ${count(onlyShards.length, "package")} repodata.json has not (${quote(onlyShards)})` : "",
          onlyJson.length ? `lacks ${count(onlyJson.length, "package")} repodata.json has (${quote(onlyJson)})` : "",
        ].filter(Boolean);
        report.disagreements.push({
          message: `${dir}${SHARD_INDEX} ${parts.join(" and ")}: clients that use shards (pixi, recent conda) and clients reading repodata.json see different packages`,
          action: `re-index ${dir} with the indexer that writes shards (rattler-index, conda-index), or delete the stale ${dir}${SHARD_INDEX}`,
        });
      }
    }
  }
  return report;
}

/** What differs between two repodata documents, in words; null when they hold the same
 * content (formatting and key order aside). */
export function describeDifference(plain: string, a: Buffer, b: Buffer): string | null {
  let docA: unknown;
  let docB: unknown;
  try {
    docA = JSON.parse(a.toString("utf8"));
  } catch {
    return `${plain} is not valid JSON`;
  }
  try {
    docB = JSON.parse(b.toString("utf8"));
  } catch {
    return "it does not hold valid JSON";
  }
  if (!isObject(docA) || !isObject(docB)) return sameJson(docA, docB) ? null : "one of them is not a repodata document";
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  const changed: string[] = [];
  for (const member of ["packages", "packages.conda"]) {
    const recA = isObject(docA[member]) ? docA[member] : {};
    const recB = isObject(docB[member]) ? docB[member] : {};
    for (const fn of Object.keys(recA)) {
      if (!(fn in recB)) onlyA.push(fn);
      else if (!sameJson(recA[fn], recB[fn])) changed.push(fn);
    }
    for (const fn of Object.keys(recB)) if (!(fn in recA)) onlyB.push(fn);
  }
  const otherKeys = [...new Set([...Object.keys(docA), ...Object.keys(docB)])]
    .filter((k) => k !== "packages" && k !== "packages.conda" && !sameJson(docA[k], docB[k]))
    .sort();
  const parts = [
    onlyA.length ? `${count(onlyA.length, "package")} only in ${plain} (${quote(onlyA.sort())})` : "",
    onlyB.length ? `${count(onlyB.length, "package")} only in the twin (${quote(onlyB.sort())})` : "",
    changed.length ? `${count(changed.length, "record")} different (${quote(changed.sort())})` : "",
    otherKeys.length ? `${otherKeys.map((k) => `"${k}"`).join(", ")} different` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Equal as JSON values: key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (!isObject(a) || !isObject(b) || Array.isArray(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
}

const stamp = (o: ListedObject) => o.lastModified.toISOString().replace(/\.\d{3}Z$/, "Z");
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
