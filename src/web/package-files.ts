// One package of a channel as its page shows it: its conda files per label and platform (from
// each label's channeldata.json and the records of that package in each platform's
// repodata.json, cut out of the file by the gate's own repodata scanner) and its PyPI
// releases (from the PyPI door's project index). A package is one name whatever the
// ecosystem, normalized as PEP 503 does: one privacy per channel and name (policy.ts), so the
// page of `foo_bar` shows the conda package `foo_bar` and the PyPI project `foo-bar`.
import type { Store } from "../store/store.js";
import type { FileEntry } from "../pypi/project.js";
import { sortFiles } from "../pypi/project.js";
import type { PypiRegistry } from "../pypi/registry.js";
import { normalizeProjectName, parseDistFilename } from "../pypi/names.js";
import { canonicalizeVersion } from "../pypi/version.js";
import { filterRepodata } from "../conda/repodata.js";
import { channelLabels, labelPrefix, type Label } from "./channel.js";

export interface CondaFile {
  filename: string;
  version: string;
  build: string;
  size: number | null;
  sha256: string | null;
  /** When the file reached the store (ISO 8601); null when it is not there. */
  uploaded: string | null;
}

/** The files of one platform of one label. */
export interface CondaPlatform {
  label: string;
  subdir: string;
  /** Newest version first. */
  files: CondaFile[];
}

export interface PypiRelease {
  version: string;
  files: FileEntry[];
}

export interface PackageDetail {
  /** As the channel spells it: the conda name, else the PyPI project's display name. */
  name: string;
  normalized: string;
  /** By label (`main` first), then platform. */
  conda: CondaPlatform[];
  /** Newest release first; null when the channel has no PyPI project of this name. */
  pypi: { name: string; releases: PypiRelease[] } | null;
}

interface RepodataRecord {
  name?: unknown;
  version?: unknown;
  build?: unknown;
  build_number?: unknown;
  size?: unknown;
  sha256?: unknown;
}

/** The package `name` of `channel`, or null when the channel holds nothing of that name. */
export async function packageDetail(store: Store, pypi: PypiRegistry, channel: string, name: string): Promise<PackageDetail | null> {
  const normalized = normalizeProjectName(name);
  const [labels, project] = await Promise.all([channelLabels(store, channel), pypi.project(channel, normalized)]);
  const platforms = platformsOf(labels, normalized);
  const conda = (await Promise.all(platforms.map((p) => condaPlatform(store, channel, p.label, p.subdir, p.names, normalized)))).filter((p) => p.files.length > 0);
  if (conda.length === 0 && project === null) return null;
  const condaName = conda.length > 0 ? platforms[0]!.names[0] : undefined;
  return {
    name: condaName || project?.index.name || name,
    normalized,
    conda,
    pypi: project ? { name: project.index.name, releases: releasesOf(project.index.files) } : null,
  };
}

/** The store work a look-up of a package costs when it finds nothing: what a page spends on
 * a package the visitor may not see (never reconciling a hidden PyPI project). */
export async function probePackage(store: Store, pypi: PypiRegistry, channel: string, name: string): Promise<void> {
  await Promise.all([channelLabels(store, channel), pypi.probe(channel, normalizeProjectName(name))]);
}

/** Where the package has files: each label and platform, with the conda names there. */
function platformsOf(labels: Label[], normalized: string): { label: string; subdir: string; names: string[] }[] {
  const out: { label: string; subdir: string; names: string[] }[] = [];
  for (const label of labels) {
    const bySubdir = new Map<string, string[]>();
    for (const [n, p] of label.packages) {
      if (normalizeProjectName(n) !== normalized) continue;
      for (const s of p.subdirs) bySubdir.set(s, [...(bySubdir.get(s) ?? []), n]);
    }
    for (const subdir of [...bySubdir.keys()].sort()) out.push({ label: label.name, subdir, names: bySubdir.get(subdir)! });
  }
  return out;
}

const VERSIONS = new Intl.Collator("en", { numeric: true });

async function condaPlatform(store: Store, channel: string, label: string, subdir: string, names: string[], normalized: string): Promise<CondaPlatform> {
  const dir = `${labelPrefix(channel, label)}${subdir}/`;
  const [got, uploaded] = await Promise.all([store.get(`${dir}repodata.json`), uploadTimes(store, dir, names)]);
  const files: CondaFile[] = [];
  if (got) {
    const mine = (n: string) => normalizeProjectName(n) === normalized;
    let doc: { packages?: Record<string, RepodataRecord>; "packages.conda"?: Record<string, RepodataRecord> };
    try {
      doc = JSON.parse((filterRepodata(got.body, mine) ?? got.body).toString("utf8"));
    } catch {
      doc = {};
    }
    for (const records of [doc.packages, doc["packages.conda"]]) {
      for (const [filename, r] of Object.entries(records ?? {})) {
        if (typeof r?.name !== "string" || !mine(r.name)) continue;
        files.push({
          filename,
          version: typeof r.version === "string" ? r.version : "?",
          build: typeof r.build === "string" ? r.build : "",
          size: typeof r.size === "number" ? r.size : null,
          sha256: typeof r.sha256 === "string" ? r.sha256 : null,
          uploaded: uploaded.get(filename) ?? null,
        });
      }
    }
  }
  files.sort((a, b) => VERSIONS.compare(b.version, a.version) || VERSIONS.compare(b.build, a.build) || (a.filename < b.filename ? -1 : 1));
  return { label, subdir, files };
}

/** When each file of the package's names in a platform folder reached the store: one
 * listing of `<dir><name>-` a name. */
async function uploadTimes(store: Store, dir: string, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of names) {
    for await (const o of store.list(`${dir}${name}-`)) out.set(o.key.slice(dir.length), o.lastModified.toISOString());
  }
  return out;
}

/** A project's files by release (1.0 and 1.0.0 are one), newest first. */
export function releasesOf(files: readonly FileEntry[]): PypiRelease[] {
  const releases = new Map<string, PypiRelease>();
  for (const f of sortFiles(files).reverse()) {
    const version = parseDistFilename(f.filename)?.version ?? "?";
    const key = canonicalizeVersion(version) ?? version;
    const release = releases.get(key);
    if (release) release.files.push(f);
    else releases.set(key, { version, files: [f] });
  }
  for (const r of releases.values()) r.files.sort((a, b) => (a.filename < b.filename ? -1 : 1));
  return [...releases.values()];
}
