// Environments (environment.yml) and notebooks (.ipynb): files an account hosts beside its
// packages, as Anaconda Repository's dashboard lists them (issue #12). Each is a package name of
// the channel, so its privacy, groups and tokens are the package's (authorized as conda content:
// conda:upload to publish, conda:download to read). Pure: what a kind is, how its files are
// named and where they lie in the store, and whether a document is one.
//
// Store layout: `<channel>/environments/<name>/<version>/<file>` and
// `<channel>/notebooks/<name>/<version>/<file>` — neither folder is a conda subdir, a label or
// PyPI's `pypi/`, so no index, listing or survey of packages takes them for one.
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import { GateError } from "../errors.js";
import { CONDA_PACKAGE_NAME, CONDA_VERSION, KIND_FILE, requireName } from "../access/names.js";

// The YAML parser is loaded by the first environment checked, not by every command that
// names a kind (the CLI's start: yaml takes 30-45 ms to load)
let yaml: typeof Yaml | undefined;
const parseYaml = (text: string, options: Yaml.ParseOptions & Yaml.DocumentOptions & Yaml.SchemaOptions & Yaml.ToJSOptions): unknown => (yaml ??= createRequire(import.meta.url)("yaml") as typeof Yaml).parse(text, options);

/** anaconda-client's names for the two (its `distribution_type` / package_type). */
export type KindName = "env" | "ipynb";

export interface Kind {
  name: KindName;
  /** The store folder and the API's and the pages' word for them. */
  folder: "environments" | "notebooks";
  /** "environment", "notebook" (messages). */
  one: string;
  /** "an environment", "a notebook" (messages). */
  anOne: string;
  extensions: readonly string[];
  contentType: string;
  /** The largest file accepted (bytes). */
  maxBytes: number;
}

export const KINDS: Readonly<Record<KindName, Kind>> = Object.freeze({
  env: { name: "env", folder: "environments", one: "environment", anOne: "an environment", extensions: [".yml", ".yaml"], contentType: "application/x-yaml; charset=utf-8", maxBytes: 1024 * 1024 },
  ipynb: { name: "ipynb", folder: "notebooks", one: "notebook", anOne: "a notebook", extensions: [".ipynb"], contentType: "application/x-ipynb+json", maxBytes: 25 * 1024 * 1024 },
});

/** The kind a file name says (its extension), or null: a conda package or anything else. */
export function kindOfFile(filename: string): Kind | null {
  const lower = filename.toLowerCase();
  return Object.values(KINDS).find((k) => k.extensions.some((e) => lower.endsWith(e))) ?? null;
}

/** The kind of an anaconda-client distribution_type ("env", "ipynb"), or null. */
export const kindOfType = (type: unknown): Kind | null => (type === "env" || type === "ipynb" ? KINDS[type] : null);

export const kindOfFolder = (folder: string): Kind | null => Object.values(KINDS).find((k) => k.folder === folder) ?? null;

/** One file of a kind in a channel. */
export interface KindFile {
  kind: Kind;
  channel: string;
  name: string;
  version: string;
  basename: string;
}

/** A file's name, version and basename checked against names.ts's rules (400 naming the rule),
 * and its extension against its kind. */
export function checkKindFile(f: KindFile): KindFile {
  requireName(CONDA_PACKAGE_NAME, f.name, `${f.kind.one} name`);
  requireName(CONDA_VERSION, f.version, `${f.kind.one} version`);
  requireName(KIND_FILE, f.basename, `${f.kind.one} file name`);
  if (kindOfFile(f.basename) !== f.kind) throw new GateError("bad_request", `${f.basename} is not ${f.kind.anOne} file: it must end in ${f.kind.extensions.join(" or ")}`);
  return f;
}

export const kindFolder = (channel: string, kind: Kind): string => `${channel}/${kind.folder}/`;
export const kindKey = (f: KindFile): string => `${kindFolder(f.channel, f.kind)}${f.name}/${f.version}/${f.basename}`;

/** The file a listed key of `<channel>/<folder>/` is, or null for anything else. */
export function parseKindKey(channel: string, kind: Kind, key: string): KindFile | null {
  const prefix = kindFolder(channel, kind);
  if (!key.startsWith(prefix)) return null;
  const parts = key.slice(prefix.length).split("/");
  if (parts.length !== 3) return null;
  const [name, version, basename] = parts as [string, string, string];
  const f = { kind, channel, name, version, basename };
  try {
    return checkKindFile(f);
  } catch {
    return null;
  }
}

/** What a document says of itself. */
export interface KindDocument {
  /** An environment's `name:` (absent: none). */
  name?: string;
  /** A notebook's metadata.summary, or what an environment is ("Environment file"). */
  summary: string;
}

/** Reads and checks a document: an environment is a YAML mapping (name a string, channels and
 * dependencies lists when present); a notebook is a JSON object with an integer nbformat and
 * its cells (v4) or worksheets (v3). Anything else: 400 saying what is wrong. */
export function readKindDocument(kind: Kind, bytes: Buffer, filename: string): KindDocument {
  if (bytes.length > kind.maxBytes) throw new GateError("payload_too_large", `${filename} is larger than the ${kind.maxBytes} bytes ${kind.anOne} may have`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new GateError("bad_request", `${filename} is not UTF-8 text`);
  }
  const bad = (why: string) => new GateError("bad_request", `${filename} is not ${kind.anOne}: ${why}`);
  if (kind.name === "env") {
    let doc: unknown;
    try {
      // the yaml package bounds alias expansion (maxAliasCount): no billion laughs
      doc = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
    } catch (e) {
      throw bad(`its YAML does not parse (${String((e as Error).message).split("\n")[0]!.slice(0, 160)})`);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("it is not a YAML mapping (name, channels, dependencies)");
    const env = doc as Record<string, unknown>;
    if (env.name !== undefined && typeof env.name !== "string") throw bad("name: must be a string");
    for (const field of ["channels", "dependencies"]) {
      if (env[field] !== undefined && env[field] !== null && !Array.isArray(env[field])) throw bad(`${field}: must be a list`);
    }
    if (env.dependencies === undefined && env.channels === undefined && env.name === undefined) throw bad("it has none of name, channels and dependencies");
    return { ...(typeof env.name === "string" ? { name: env.name } : {}), summary: "Environment file" };
  }
  let nb: unknown;
  try {
    nb = JSON.parse(text);
  } catch {
    throw bad("its JSON does not parse");
  }
  if (nb === null || typeof nb !== "object" || Array.isArray(nb)) throw bad("it is not a JSON object");
  const o = nb as Record<string, unknown>;
  if (!Number.isInteger(o.nbformat)) throw bad("nbformat: must be an integer");
  if ((o.nbformat as number) >= 4 ? !Array.isArray(o.cells) : !Array.isArray(o.worksheets)) throw bad((o.nbformat as number) >= 4 ? "cells: must be a list" : "worksheets: must be a list");
  const meta = o.metadata && typeof o.metadata === "object" ? (o.metadata as Record<string, unknown>) : {};
  return { summary: typeof meta.summary === "string" ? meta.summary.slice(0, 200) : "Jupyter Notebook" };
}

/** A file's name when none is given: an environment's own `name:`, else the file's stem, as
 * anaconda-client makes it (lower case, anything else than letters and digits a '-'). */
export function defaultKindName(kind: Kind, doc: KindDocument, filename: string): string {
  if (kind.name === "env" && doc.name) return doc.name;
  const stem = filename.replace(/\.(?:ya?ml|ipynb)$/i, "");
  return stem.toLowerCase().replace(/[^a-z0-9_]+/g, "-").replace(/^-+|-+$/g, "") || kind.one;
}

/** A version when none is given: the time, as anaconda-client makes one (YYYY.MM.DD.HHMMSS). */
export function defaultKindVersion(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getUTCFullYear()}.${p(now.getUTCMonth() + 1)}.${p(now.getUTCDate())}.${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}
