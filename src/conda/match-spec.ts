// conda's MatchSpec, as far as an indexer needs it: does a dependency string such as
// `python >=3.8,<3.12`, `numpy 1.2.* py3*`, `foo=1.0=h123_0` or `bar[version='>=2',build_number=3]`
// match a repodata record? Ported from conda/models/match_spec.py (`_parse_spec_str`,
// `_parse_version_plus_build`, `_sanitize_version_str`, GlobStrMatch, ...), the parser conda uses
// with its default (libmamba/classic) solver, which is the one conda-index runs.
//
// Not carried over: tarball paths and URLs as specs, and channels. A spec naming a channel
// (`conda-forge::numpy`, `[channel=...]`) matches nothing here: conda-index resolves inside a dummy
// channel, where such a spec finds nothing either.

import { buildNumberSpec, InvalidVersion, versionSpec } from "./version.js";

export class InvalidMatchSpec extends Error {
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`invalid match spec "${spec}": ${reason}`);
  }
}

/** The fields of a repodata record a spec can look at (plus `fn`, the file name). */
export type MatchableRecord = Readonly<Record<string, unknown>> & { name: string; version: string; build?: string };

export interface MatchSpec {
  /** The exact package name, or undefined when the name is a glob. */
  readonly name: string | undefined;
  match(record: MatchableRecord): boolean;
}

const BRACKETS = /.*(?:(\[.*\]))/;
const BRACKETS_KV = /([a-zA-Z0-9_-]+?)=(["']?)([^'"]*?)(\2)(?:[, ]|$)/g;
const PARENS = /.*(?:(\(.*\)))/;
const NAME_VERSION = /^([^ =<>!~]+)?([><!=~ ].+)?/;
const VERSION_BUILD = /((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[ =])([^-=,|<>~]+?))?$/;

// PackageRecord's fields (conda/models/records.py) that a bracket may name.
const FIELDS = new Set([
  "channel", "subdir", "name", "version", "build", "build_number", "track_features", "features",
  "url", "fn", "md5", "license", "license_family", "target", "namespace", "sha256",
]);

const cache = new Map<string, MatchSpec>();

/** Parses a spec string; throws InvalidMatchSpec. */
export function matchSpec(spec: string): MatchSpec {
  let m = cache.get(spec);
  if (m === undefined) {
    m = build(parse(spec), spec);
    if (cache.size > 100_000) cache.clear();
    cache.set(spec, m);
  }
  return m;
}

/** The components of a spec string, as conda's `_parse_spec_str` returns them. */
export function parse(original: string): Record<string, string> {
  let spec = original;
  if (spec.endsWith("@")) return { name: "*", track_features: spec.slice(0, -1) };
  const hash = spec.indexOf("#");
  if (hash >= 0) spec = spec.slice(0, hash);
  spec = spec.split(" if ")[0]!;
  if (/\.(conda|tar\.bz2|whl)$/.test(spec)) throw new InvalidMatchSpec(original, "package files and URLs are not supported here");

  const brackets: Record<string, string> = {};
  const b = BRACKETS.exec(spec);
  if (b) {
    const text = b[1]!;
    spec = spec.replace(text, "");
    for (const kv of text.slice(1, -1).matchAll(BRACKETS_KV)) {
      const key = kv[1];
      let value = kv[3];
      if (!key || !value) throw new InvalidMatchSpec(original, "key-value mismatch in brackets");
      if (key === "version") value = sanitizeVersion(value, undefined);
      brackets[key] = value;
    }
  }
  const p = PARENS.exec(spec);
  if (p) spec = spec.replace(p[1]!, ""); // legacy parentheses: parsed and ignored by conda

  // channel::name (or channel:namespace:name)
  const parts = rsplit(spec, ":", 2);
  spec = parts[parts.length - 1]!;
  const channel = parts.length === 3 ? parts[0] : undefined;

  const nv = NAME_VERSION.exec(spec);
  const name = nv?.[1];
  if (!nv || name === undefined) throw new InvalidMatchSpec(original, "no package name found");
  const rest = nv[2]?.trim();

  const components: Record<string, string> = { name };
  if (channel) components["channel"] = channel;
  if (rest) {
    if (rest.includes("[")) throw new InvalidMatchSpec(original, "multiple brackets sections not allowed");
    const [version, build] = versionPlusBuild(rest);
    components["version"] = sanitizeVersion(version, build);
    if (build !== undefined) components["build"] = build;
  }
  delete brackets["name"]; // conda keeps the name outside the brackets
  return { ...components, ...brackets };
}

/** conda's `_parse_version_plus_build`: `>=1.0 , < 2.0 py34_0` → [">=1.0,<2.0", "py34_0"]. */
export function versionPlusBuild(text: string): [string, string | undefined] {
  const m = VERSION_BUILD.exec(text);
  let version = text;
  let build: string | undefined;
  if (m) {
    version = m[1]!;
    build = m[2]?.trim();
  }
  return [version.replaceAll(" ", ""), build === "" ? undefined : build];
}

/** conda's `_sanitize_version_str`: `=1.2` is `1.2*`, `==1.2` is `1.2`. */
function sanitizeVersion(version: string, build: string | undefined): string {
  if (version === "==" || version === "=") return version;
  if (!version.startsWith("=")) return version;
  const bare = version.replace(/^=+/, "");
  if (version.startsWith("==") && build === undefined) return bare;
  if (!/[=,|]/.test(bare)) return build === undefined && !bare.endsWith("*") ? `${bare}*` : bare;
  return version;
}

function rsplit(s: string, sep: string, max: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < max) {
    const at = rest.lastIndexOf(sep);
    if (at < 0) break;
    out.unshift(rest.slice(at + sep.length));
    rest = rest.slice(0, at);
  }
  out.unshift(rest);
  return out;
}

type FieldTest = (record: MatchableRecord) => boolean;

function build(components: Record<string, string>, original: string): MatchSpec {
  const tests: FieldTest[] = [];
  let exactName: string | undefined;
  try {
    for (const [field, value] of Object.entries(components)) {
      if (!FIELDS.has(field)) throw new InvalidMatchSpec(original, `Cannot match on field(s): ${field}`);
      switch (field) {
        case "name": {
          const g = glob(value.toLowerCase());
          if (g.exact !== undefined) exactName = g.exact;
          tests.push((r) => g.test(r.name));
          break;
        }
        case "version": {
          const spec = versionSpec(value);
          tests.push((r) => {
            try {
              return spec.match(String(r.version));
            } catch (err) {
              if (err instanceof InvalidVersion) return false;
              throw err;
            }
          });
          break;
        }
        case "build": {
          const g = glob(value);
          tests.push((r) => g.test(String(r.build ?? "")));
          break;
        }
        case "build_number": {
          const test = buildNumberSpec(value);
          tests.push((r) => test(Number(r["build_number"] ?? 0)));
          break;
        }
        case "channel":
          tests.push(() => false);
          break;
        case "track_features":
        case "features": {
          const wanted = featureSet(value);
          tests.push((r) => featureSet(r[field]).some((f) => wanted.includes(f)));
          break;
        }
        case "license":
        case "license_family":
          tests.push((r) => String(r[field] ?? "").toLowerCase() === value.toLowerCase());
          break;
        default:
          tests.push((r) => String(r[field] ?? "") === value);
      }
    }
  } catch (err) {
    if (err instanceof InvalidVersion) throw new InvalidMatchSpec(original, err.message);
    throw err;
  }
  return { name: exactName, match: (r) => tests.every((t) => t(r)) };
}

/** conda's GlobStrMatch: `^...$` is a regex, `*` a wildcard, anything else exact. */
function glob(value: string): { exact?: string; test: (s: string) => boolean } {
  if (value.startsWith("^") && value.endsWith("$")) {
    const rx = new RegExp(value);
    return { test: (s) => rx.test(s) };
  }
  if (value.includes("*")) {
    const rx = new RegExp(`^(?:${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("\\*", ".*")})$`);
    return { test: (s) => rx.test(s) };
  }
  return { exact: value, test: (s) => s === value };
}

/** `track_features`/`features` as conda reads them: a string split at spaces and commas, or a list. */
export function featureSet(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter((s) => s !== "");
  if (typeof value === "string") return value.split(/[ ,]+/).filter((s) => s !== "");
  return [];
}
