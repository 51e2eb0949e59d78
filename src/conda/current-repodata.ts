// current_repodata.json: the subset of a subdir's repodata that conda's classic solver tries
// first — the latest version of every package, plus what those need that the subset would not
// otherwise offer. Ported from conda-index (conda_index/index/current_repodata.py,
// `build_current_repodata` and `_shard_newest_packages`), including the conda behaviour it leans
// on (conda/core/subdir_data.py `_process_raw_repodata`, conda/resolve.py `Resolve.groups`,
// `version_key`, `find_matches`):
//
// 1. Records as conda loads them: a `.tar.bz2` whose `.conda` twin exists is left out, and so is a
//    record with `record_version` > 1.
// 2. Per package name, the builds sorted newest first by (version, build_number, timestamp, build);
//    the newest version is kept with every build matching `name=<version>` — conda's fuzzy `=`, so
//    latest 1.0 also keeps 1.0.1 builds sorting below it, such as 1.0.dev1. `pins` (conda-index's
//    --current-index-versions-file) keep more version series, e.g. {python: ["3.11", "3.12"]}.
// 3. One pass over the kept records' `depends`: a spec nothing kept satisfies is satisfied from the
//    whole subdir — its best match's version is added, all builds of it (not recursively).
// 4. A package whose kept builds carry features/track_features also keeps the newest older build
//    without features.
// 5. Each kept `.conda` record gains `legacy_bz2_md5`: the md5 of its `.tar.bz2` twin, or null.
//
// Where conda-index would crash (an unparsable version or dependency spec), this sorts the bad
// version lowest and ignores the bad spec.

import { featureSet, InvalidMatchSpec, matchSpec, type MatchSpec } from "./match-spec.js";
import { tryOrder, VersionOrder } from "./version.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type RepodataRecord = { [key: string]: Json } & { name: string; version: string; build: string };

export interface RepodataDoc {
  info: { subdir: string; [key: string]: Json };
  packages: Record<string, RepodataRecord>;
  "packages.conda": Record<string, RepodataRecord>;
  removed: string[];
  repodata_version: number;
  [key: string]: Json | undefined;
}

/** Package name → version prefixes to keep besides the latest (conda-index's current_index_versions). */
export type CurrentPins = Readonly<Record<string, readonly string[]>>;

interface Prec {
  fn: string;
  record: RepodataRecord;
  /** The record as a spec sees it: its fields plus `fn`. */
  view: RepodataRecord & { fn: string };
  order: VersionOrder | null;
}

export function buildCurrentRepodata(repodata: RepodataDoc, pins: CurrentPins = {}): RepodataDoc {
  const all = new Index(loadedRecords(repodata));
  const kept: Prec[] = [];
  for (const [name, group] of all.groups) {
    const matches = new Set(all.findMatches(exactVersionSpec(name, group[0]!.record.version)));
    for (const pin of pins[name] ?? []) {
      const pinned = all.findMatches(exactVersionSpec(name, pin))[0];
      if (pinned) for (const p of all.findMatches(exactVersionSpec(name, pinned.record.version))) matches.add(p);
    }
    kept.push(...matches);
  }
  const withDeps = new Index(addMissingDeps(new Index(kept), all));
  const keep = addPreviousVersionForFeatures(withDeps, all);

  const out: RepodataDoc = { ...repodata, packages: {}, "packages.conda": {} };
  for (const p of [...keep].sort((a, b) => (a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0))) {
    if (p.fn.endsWith(".conda")) {
      const twin = repodata.packages[`${p.fn.slice(0, -".conda".length)}.tar.bz2`];
      out["packages.conda"][p.fn] = { ...p.record, legacy_bz2_md5: (twin?.["md5"] as Json | undefined) ?? null };
    } else out.packages[p.fn] = p.record;
  }
  return out;
}

/** The records conda builds its index from (subdir_data.py `_process_raw_repodata`). */
function loadedRecords(repodata: RepodataDoc): Prec[] {
  const conda = repodata["packages.conda"];
  const legacy = repodata.packages;
  const out: Prec[] = [];
  const add = (fn: string, record: RepodataRecord) => {
    if (typeof record["record_version"] === "number" && record["record_version"] > 1) return;
    out.push({ fn, record, view: { ...record, fn }, order: tryOrder(String(record.version)) });
  };
  for (const fn of Object.keys(conda).sort()) add(fn, conda[fn]!);
  for (const fn of Object.keys(legacy).sort()) {
    if (!Object.hasOwn(conda, `${fn.slice(0, -".tar.bz2".length)}.conda`)) add(fn, legacy[fn]!);
  }
  return out;
}

/** conda's Resolve, reduced to its groups (newest first) and find_matches. */
class Index {
  readonly groups = new Map<string, Prec[]>();

  constructor(readonly precs: Iterable<Prec>) {
    for (const p of precs) {
      const group = this.groups.get(p.record.name);
      if (group) group.push(p);
      else this.groups.set(p.record.name, [p]);
    }
    for (const group of this.groups.values()) group.sort(newestFirst);
  }

  findMatches(spec: MatchSpec): Prec[] {
    const candidates = spec.name !== undefined ? (this.groups.get(spec.name) ?? []) : [...this.groups.values()].flat();
    return candidates.filter((p) => spec.match(p.view));
  }
}

/** Resolve.version_key, descending: version, build_number, timestamp (in seconds), build string. */
function newestFirst(a: Prec, b: Prec): number {
  const byVersion = compareOrders(b.order, a.order);
  if (byVersion !== 0) return byVersion;
  const bn = num(b.record["build_number"]) - num(a.record["build_number"]);
  if (bn !== 0) return bn;
  const ts = seconds(b.record["timestamp"]) - seconds(a.record["timestamp"]);
  if (ts !== 0) return ts;
  const ba = String(a.record.build ?? "");
  const bb = String(b.record.build ?? "");
  if (ba !== bb) return bb < ba ? -1 : 1;
  return a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0;
}

function compareOrders(a: VersionOrder | null, b: VersionOrder | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return a.lessThan(b) ? -1 : b.lessThan(a) ? 1 : 0;
}

const num = (v: Json | undefined): number => (typeof v === "number" ? v : 0);

/** conda's TimestampField: milliseconds after 9999-12-31 in seconds are taken as milliseconds. */
export function seconds(v: Json | undefined): number {
  const t = num(v);
  return t > 253402300799 ? t / 1000 : t;
}

/** `MatchSpec(f"{name}={version}")`: every build whose version starts with `version`. */
function exactVersionSpec(name: string, version: string): MatchSpec {
  try {
    return matchSpec(`${name}=${version}`);
  } catch (err) {
    if (!(err instanceof InvalidMatchSpec)) throw err;
    return { name, match: (r) => r.name === name && r.version === version };
  }
}

function addMissingDeps(kept: Index, all: Index): Prec[] {
  const expanded = new Map<string, Set<Prec>>([...kept.groups].map(([n, g]) => [n, new Set(g)]));
  const seen = new Set<string>();
  for (const group of kept.groups.values()) {
    for (const p of group) {
      const depends = Array.isArray(p.record["depends"]) ? p.record["depends"] : [];
      for (const dep of depends) {
        if (typeof dep !== "string" || seen.has(dep)) continue;
        seen.add(dep);
        let spec: MatchSpec;
        try {
          spec = matchSpec(dep);
        } catch (err) {
          if (err instanceof InvalidMatchSpec) continue;
          throw err;
        }
        if (kept.findMatches(spec).length > 0) continue;
        const best = all.findMatches(spec)[0];
        if (!best) continue;
        const name = spec.name ?? "*";
        const into = expanded.get(name) ?? new Set<Prec>();
        for (const m of all.findMatches(exactVersionSpec(name, best.record.version))) into.add(m);
        expanded.set(name, into);
      }
    }
  }
  return [...expanded.values()].flatMap((s) => [...s]);
}

const hasFeatures = (p: Prec): boolean =>
  featureSet(p.record["track_features"]).length > 0 || featureSet(p.record["features"]).length > 0;

function addPreviousVersionForFeatures(kept: Index, all: Index): Set<Prec> {
  const out = new Set(kept.precs);
  for (const [name, group] of kept.groups) {
    if (!group.some(hasFeatures)) continue;
    const latest = group[0]!.order;
    const previous = (all.groups.get(name) ?? []).find(
      (p) => !hasFeatures(p) && (latest === null || p.order === null || !latest.lessThan(p.order)),
    );
    if (previous) out.add(previous);
  }
  return out;
}
