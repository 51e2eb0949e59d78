// Writing channeldata.json, the channel-root summary (per package name: the latest version's
// about fields, the subdirs it is in, run_exports per version, ...), the way conda-index updates it
// (conda_index/index/__init__.py `update_channeldata`, `_update_channeldata`, `_write_channeldata`,
// and the metadata its cache gathers per package, index/sqlitecache.py `load_all_from_cache`,
// index/cache.py `_cache_post_install_details`).
//
// conda-index folds every subdir's repodata.json into the previous channeldata.json; per
// (name, version) it takes the newest build, and a version newer than the entry's replaces the
// about fields (a field the entry lacks is filled from any version). pkgate does the same fold over
// the subdirs it is given — on an upload, the one subdir that changed — with these differences:
//
// - Removal. conda-index never takes anything out of channeldata.json. Here a subdir given whose
//   records no longer hold a name leaves that name's `subdirs`; a name in no subdir leaves the file;
//   and an entry whose `version` (or a run_exports version) is gone is recomputed from the records,
//   when every subdir it is in was given (otherwise it is kept: its version may live elsewhere);
//   the run_exports of the versions that remain are carried over, the on/off flags (binary_prefix,
//   activate.d, ...) are recomputed, a build without facts counting as all off.
// - Facts. conda-index reads each package's about.json, recipe and paths.json from its cache; here
//   they come from `facts(subdir, filename)` (see `packageFacts`), which the upload endpoint has for
//   the files it just received. A build without facts contributes its repodata record only — enough
//   for version, license, subdirs, timestamp; `needsFacts` lists the files whose about.json would
//   have changed the result, so the caller can read those packages and call again.
// - Order. conda-index iterates `.tar.bz2`-only records in Python set order (random per process);
//   here they follow the `.conda` ones sorted by file name, like the `.conda` ones do.
//
// Kept from conda-index as it is: `timestamp` is that of the last (name, version) group folded,
// in subdir order, then file-name order — not the newest (`channel_data.get(name, {})` looks the
// name up at the top level, where it never is, so the `max` is a no-op).

import { compareVersionsLenient } from "./version.js";
import type { Json, RepodataDoc, RepodataRecord } from "./current-repodata.js";
import { byCodePoint, pythonJson, type JsonFormat } from "./index-json.js";

/** The metadata of one package file that channeldata.json draws on besides its repodata record. */
export type PackageFacts = Readonly<Record<string, Json>>;

export interface ChanneldataDoc {
  channeldata_version: number;
  packages: Record<string, Record<string, Json>>;
  subdirs: string[];
  [key: string]: Json;
}

export interface SubdirRecords {
  subdir: string;
  repodata: RepodataDoc;
}

export type FactsLookup = (subdir: string, filename: string) => PackageFacts | undefined;

export interface ChanneldataUpdate {
  channeldata: ChanneldataDoc;
  /** `<subdir>/<filename>` of builds folded without facts whose facts would have counted. */
  needsFacts: string[];
}

const CHANNELDATA_VERSION = 1;

/** Kept from the newest version (or from any version, where the entry has none). */
const NEWER_FIELDS = [
  "description", "dev_url", "doc_url", "doc_source_url", "home", "license", "source_url",
  "source_git_url", "summary", "icon_url", "icon_hash", "tags", "identifiers", "keywords",
  "recipe_origin", "version",
] as const;
/** True when any build says so. */
const ANY_FIELDS = ["binary_prefix", "text_prefix", "activate.d", "deactivate.d", "pre_link", "post_link", "pre_unlink"] as const;

/**
 * The channel's channeldata.json after folding in the given subdirs' current records. `previous`
 * is the stored file (or null for a new channel or a full rebuild, which then gets every subdir).
 * Given every subdir of the label (the changed one as it is now, the others as stored), the result
 * is conda-index's; given the changed subdir alone it is the same for additions, and for removals
 * of names that live in that subdir only (a name also elsewhere keeps its version, run_exports and
 * timestamp until a fold that sees all its subdirs).
 */
export function updateChanneldata(
  previous: Uint8Array | ChanneldataDoc | null,
  subdirs: readonly SubdirRecords[],
  facts: FactsLookup = () => undefined,
): ChanneldataUpdate {
  const doc = parseChanneldata(previous);
  const given = [...subdirs].sort((a, b) => byCodePoint(a.subdir, b.subdir));
  const givenNames = new Set(given.map((s) => s.subdir));
  const namesIn = new Map(given.map((s) => [s.subdir, recordNames(s.repodata)]));
  const before = structuredClone(doc.packages);
  const needsFacts = new Set<string>();

  // A subdir given without any record of a name no longer lists it.
  for (const [name, entry] of Object.entries(doc.packages)) {
    const listed = stringList(entry["subdirs"]);
    const kept = listed.filter((s) => !givenNames.has(s) || namesIn.get(s)!.has(name));
    if (kept.length === 0) delete doc.packages[name];
    else if (kept.length !== listed.length) entry["subdirs"] = kept;
  }

  for (const s of given) foldSubdir(doc, s, facts, needsFacts);

  for (const [name, entry] of Object.entries(doc.packages)) {
    const listed = stringList(entry["subdirs"]);
    if (!listed.every((s) => givenNames.has(s))) {
      // conda-index would end its fold on a later subdir not given here: its timestamp stands.
      const last = given.filter((s) => namesIn.get(s.subdir)!.has(name)).pop()?.subdir;
      const previousEntry = before[name];
      if (previousEntry && listed.some((s) => last === undefined || byCodePoint(s, last) > 0)) {
        entry["timestamp"] = previousEntry["timestamp"] ?? null;
      }
      continue;
    }
    const versions = new Set(given.flatMap((s) => recordsNamed(s.repodata, name).map((r) => String(r.version))));
    const exportsVersions = Object.keys(asObject(entry["run_exports"]) ?? {});
    if (versions.has(String(entry["version"])) && exportsVersions.every((v) => versions.has(v))) continue;
    // It names a version that is gone: recompute it from the records. The run_exports of versions
    // still there are carried over, so only the new newest build's facts are needed.
    const carried = Object.fromEntries(Object.entries(asObject(entry["run_exports"]) ?? {}).filter(([v]) => versions.has(v)));
    delete doc.packages[name];
    for (const s of given) foldSubdir(doc, s, facts, needsFacts, name);
    const fresh = doc.packages[name];
    if (fresh) fresh["run_exports"] = { ...carried, ...(asObject(fresh["run_exports"]) ?? {}) };
  }

  return { channeldata: doc, needsFacts: [...needsFacts].sort() };
}

/** channeldata.json bytes as conda-index writes them: null fields and `commits` left out, then "\n". */
export function serializeChanneldata(doc: ChanneldataDoc, format: JsonFormat): Buffer {
  const packages: Record<string, Record<string, Json>> = {};
  for (const [name, entry] of Object.entries(doc.packages)) {
    packages[name] = Object.fromEntries(Object.entries(entry).filter(([k, v]) => v !== null && k !== "commits"));
  }
  return Buffer.from(`${pythonJson({ ...doc, packages }, format)}\n`);
}

/** conda-index's `_update_channeldata` for one subdir (for one name only, when `only` is given). */
function foldSubdir(doc: ChanneldataDoc, s: SubdirRecords, facts: FactsLookup, needsFacts: Set<string>, only?: string): void {
  const packages = doc.packages;
  for (const [fn, record] of newestByNameAndVersion(s.repodata)) {
    if (only !== undefined && record.name !== only) continue;
    const known = facts(s.subdir, fn);
    const data: Record<string, Json> = { ...(known ?? {}), ...record };
    const name = String(data["name"]);
    const existing: Record<string, Json> = Object.hasOwn(packages, name) ? packages[name]! : {};
    const dataVersion = String(data["version"] ?? "0");
    const existingVersion = String(existing["version"] ?? "0");
    const newer =
      compareVersionsLenient(dataVersion, existingVersion) > 0 ||
      (dataVersion === existingVersion && makeSeconds(data["timestamp"] ?? 0) > makeSeconds(existing["timestamp"] ?? 0));
    if (newer && known === undefined) needsFacts.add(`${s.subdir}/${fn}`);

    const entry: Record<string, Json> = Object.hasOwn(packages, name) ? existing : {};
    for (const k of NEWER_FIELDS) {
      entry[k] = truthy(data[k]) && (newer || !truthy(existing[k])) ? data[k]! : (existing[k] ?? null);
    }
    for (const k of ANY_FIELDS) entry[k] = truthy(data[k]) || truthy(existing[k]);
    entry["subdirs"] = [...new Set([...stringList(existing["subdirs"]), s.subdir])].sort(byCodePoint);
    const runExports = asObject(existing["run_exports"]) ?? {};
    if (truthy(data["run_exports"])) runExports[dataVersion] = data["run_exports"]!;
    entry["run_exports"] = runExports;
    entry["timestamp"] = makeSeconds(Math.max(num(data["timestamp"]), 0));
    packages[name] = entry;
  }
  doc.channeldata_version = CHANNELDATA_VERSION;
  doc.subdirs = [...new Set([...doc.subdirs, s.subdir])].sort(byCodePoint);
}

/** Per (name, version) the build with the greatest timestamp, in conda-index's order. */
function newestByNameAndVersion(repodata: RepodataDoc): Array<[string, RepodataRecord]> {
  const conda = repodata["packages.conda"];
  const legacy = repodata.packages;
  const all: Array<[string, RepodataRecord]> = Object.keys(conda)
    .sort(byCodePoint)
    .map((fn) => [fn, conda[fn]!]);
  for (const fn of Object.keys(legacy).sort(byCodePoint)) {
    if (!Object.hasOwn(conda, `${fn.slice(0, -".tar.bz2".length)}.conda`)) all.push([fn, legacy[fn]!]);
  }
  const groups = new Map<string, [string, RepodataRecord]>();
  for (const [fn, record] of all) {
    const key = `${record.name}\u0000${record.version}`;
    const seen = groups.get(key);
    if (!seen || num(seen[1]["timestamp"]) < num(record["timestamp"])) groups.set(key, [fn, record]);
  }
  return [...groups.values()];
}

/**
 * What conda-index's cache returns for a package besides index.json (`load_all_from_cache`): the
 * rendered recipe, then about.json over it, then the post-install flags read from paths.json;
 * `source_<key>` for each key of the recipe's `source`; description and summary on one line;
 * run_exports.json (or {}).
 */
export function packageFacts(parts: {
  about?: Readonly<Record<string, Json>> | null;
  recipe?: Readonly<Record<string, Json>> | null;
  /** info/paths.json, parsed; absent = no flags set. */
  paths?: { paths?: ReadonlyArray<Readonly<Record<string, Json>>> } | null;
  runExports?: Readonly<Record<string, Json>> | null;
}): PackageFacts {
  const data: Record<string, Json> = { ...(parts.recipe ?? {}), ...(parts.about ?? {}), ...postInstallDetails(parts.paths) };
  const source = asObject(data["source"]);
  if (source) for (const [k, v] of Object.entries(source)) data[`source_${k}`] = v;
  for (const field of ["description", "summary"]) {
    const v = data[field];
    if (typeof v === "string") data[field] = v.trim().replaceAll("\n", " ");
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) data[field] = v.join("").trim().replaceAll("\n", " ");
  }
  data["run_exports"] = parts.runExports ? { ...parts.runExports } : {};
  return data;
}

/** cache.py `_cache_post_install_details`. */
export function postInstallDetails(paths: { paths?: ReadonlyArray<Readonly<Record<string, Json>>> } | null | undefined): Record<string, boolean> {
  const flags: Record<string, boolean> = {
    binary_prefix: false,
    text_prefix: false,
    "activate.d": false,
    "deactivate.d": false,
    pre_link: false,
    post_link: false,
    pre_unlink: false,
  };
  // paths.json comes from an uploaded archive: anything but a list of objects counts as nothing
  const list: unknown = paths?.paths;
  for (const entry of Array.isArray(list) ? (list as unknown[]) : []) {
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) continue;
    const f = entry as Readonly<Record<string, Json>>;
    if (truthy(f["prefix_placeholder"])) {
      if (f["file_mode"] === "binary") flags["binary_prefix"] = true;
      else if (f["file_mode"] === "text") flags["text_prefix"] = true;
    }
    const path = String(f["_path"] ?? "");
    for (const k of ["activate.d", "deactivate.d"]) if (path.startsWith(`etc/conda/${k}`)) flags[k] = true;
    // fnmatch(path, "*/.*-pre-link.*"): a dot-file named <x>-pre-link.<ext> in some folder
    for (const pat of ["pre-link", "post-link", "pre-unlink"]) {
      if (new RegExp(`^[\\s\\S]*/\\.[\\s\\S]*-${pat}\\.[\\s\\S]*$`).test(path)) flags[pat.replace("-", "_")] = true;
    }
  }
  return flags;
}

function parseChanneldata(previous: Uint8Array | ChanneldataDoc | null): ChanneldataDoc {
  if (previous === null) return { channeldata_version: CHANNELDATA_VERSION, packages: {}, subdirs: [] };
  const parsed: unknown = previous instanceof Uint8Array ? JSON.parse(Buffer.from(previous).toString("utf8")) : structuredClone(previous);
  const doc = asObject(parsed as Json);
  if (!doc || !asObject(doc["packages"] ?? {})) throw new Error("channeldata.json is not a channeldata document");
  return {
    ...doc,
    channeldata_version: typeof doc["channeldata_version"] === "number" ? doc["channeldata_version"] : CHANNELDATA_VERSION,
    packages: (asObject(doc["packages"] ?? {}) ?? {}) as ChanneldataDoc["packages"],
    subdirs: stringList(doc["subdirs"]),
  };
}

function recordNames(repodata: RepodataDoc): Set<string> {
  const names = new Set<string>();
  for (const r of Object.values(repodata.packages)) names.add(r.name);
  for (const r of Object.values(repodata["packages.conda"])) names.add(r.name);
  return names;
}

function recordsNamed(repodata: RepodataDoc, name: string): RepodataRecord[] {
  return [...Object.values(repodata.packages), ...Object.values(repodata["packages.conda"])].filter((r) => r.name === name);
}

/** conda-index's `_make_seconds`. */
function makeSeconds(v: Json): number {
  const t = Math.trunc(num(v));
  return t > 253402300799 ? Math.floor(t / 1000) : t;
}

const num = (v: Json | undefined): number => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : 0);

/** Python truthiness of a JSON value. */
function truthy(v: Json | undefined): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

function asObject(v: Json | undefined): Record<string, Json> | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
}

function stringList(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}
