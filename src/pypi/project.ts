// The per-project index document the gateway keeps beside a project's files
// (`<channel>/pypi/<normalized>/`): what it knows of each file (hashes, size, upload time,
// requires-python, yanked, core metadata) so pages render without opening any archive.
// Pure functions over plain data; the gateway reads and writes the document.
import { GateError, badRequest } from "../errors.js";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "./names.js";
import { canonicalizeVersion, compareVersions, normalizeVersion } from "./version.js";

export interface FileEntry {
  filename: string;
  size: number;
  /** Lowercase hex. */
  sha256: string;
  blake2b_256?: string;
  /** ISO 8601, UTC. */
  uploadTime: string;
  requiresPython?: string;
  /** PEP 592: false (or absent) when not yanked; the reason ("" for none) when yanked. Set
   * from the project's state (withState) for the pages; the index document never needs it. */
  yanked?: false | string;
  /** PEP 658: present when `<filename>.metadata` is served; the hash of those bytes. */
  coreMetadata?: { sha256: string };
}

export interface ProjectIndex {
  /** The display name, as the first upload's metadata spelled it. */
  name: string;
  normalized: string;
  files: FileEntry[];
  /** PEP 792, from the project's state document (never stored in the index document);
   * absent: active. */
  status?: ProjectStatusMarker;
}

// ---------------------------------------------------------------------------------------
// What people decided about a project, kept in its own document (`.state.json`) beside the
// files: the files and the index document can be rebuilt from the bucket, this cannot.

/** PEP 792 project status markers. */
export const PROJECT_STATUSES = ["active", "archived", "quarantined", "deprecated"] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export interface ProjectStatusMarker {
  status: ProjectStatus;
  /** Free text shown to installers (PEP 792 `reason`). */
  reason?: string;
}

export interface ProjectState {
  status: ProjectStatusMarker;
  /** PEP 592: yanked files and the reason ("" for none). */
  yanked: Record<string, string>;
}

/** Longest status or yank reason kept (it is printed by installers). */
export const MAX_REASON_LENGTH = 1000;

export const ACTIVE_STATE: ProjectState = { status: { status: "active" }, yanked: {} };

export const isProjectStatus = (s: unknown): s is ProjectStatus => typeof s === "string" && (PROJECT_STATUSES as readonly string[]).includes(s);

/** A reason as given: trimmed, one line, bounded; or 400. */
export function checkReason(reason: unknown): string {
  if (reason === undefined || reason === null) return "";
  if (typeof reason !== "string") throw badRequest("a reason is text");
  const r = reason.trim();
  if (r.length > MAX_REASON_LENGTH) throw badRequest(`a reason is at most ${MAX_REASON_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(r)) throw badRequest("a reason is one line of text, without control characters");
  return r;
}

/** Whether the project takes new files (PEP 792: archived and quarantined do not); the
 * refusal says why and how to change it. */
export function uploadRefusal(index: { name: string }, state: ProjectState, channel: string): GateError | null {
  const { status, reason } = state.status;
  if (status !== "archived" && status !== "quarantined") return null;
  return badRequest(
    `project ${index.name} is ${status} (PEP 792${reason ? `: ${reason}` : ""}) and takes no new uploads; ` +
      `an owner can set it active again: pkgate project-status ${channel}/${normalizeProjectName(index.name)} active`,
  );
}

/** The index as installers see it: the state's status and yanks applied; a quarantined
 * project lists no file (PEP 792: none is offered for download). */
export function withState(index: ProjectIndex, state: ProjectState): ProjectIndex {
  const files = state.status.status === "quarantined"
    ? []
    : index.files.map((f) => {
        const { yanked: _, ...rest } = f;
        const reason = state.yanked[f.filename];
        return reason === undefined ? rest : { ...rest, yanked: reason };
      });
  const out: ProjectIndex = { ...index, files };
  if (state.status.status !== "active" || state.status.reason) out.status = state.status;
  else delete out.status;
  return out;
}

/** Which files of `index` a yank selects: one file, or every file of one release. */
export function selectFiles(index: ProjectIndex, sel: { version?: string; file?: string }): string[] {
  if (sel.file !== undefined) {
    if (!findFile(index, sel.file)) throw new GateError("not_found", `no file ${sel.file} in ${index.name}`);
    if (sel.version !== undefined && !sameRelease(sel.file, sel.version)) throw badRequest(`${sel.file} is not a file of ${index.name} ${sel.version}`);
    return [sel.file];
  }
  if (sel.version === undefined) throw badRequest("name a version or a file to yank");
  const files = index.files.filter((f) => sameRelease(f.filename, sel.version!)).map((f) => f.filename);
  if (files.length === 0) throw new GateError("not_found", `no release ${sel.version} of ${index.name}`);
  return files;
}

function sameRelease(filename: string, version: string): boolean {
  const v = parseDistFilename(filename)?.version;
  if (v === undefined) return false;
  const a = canonicalizeVersion(v);
  const b = canonicalizeVersion(version);
  return a !== null && a === b;
}

/** The state with `files` yanked (reason a string) or un-yanked (false). */
export function yankFiles(state: ProjectState, files: readonly string[], reason: string | false): ProjectState {
  const yanked = { ...state.yanked };
  for (const f of files) {
    if (reason === false) delete yanked[f];
    else yanked[f] = reason;
  }
  return { ...state, yanked };
}

/** The state's yanks of files that no longer exist are dropped (a file deleted, then uploaded
 * again under the same name, starts unyanked). */
export function pruneYanks(state: ProjectState, existing: ReadonlySet<string>): ProjectState {
  const yanked = Object.fromEntries(Object.entries(state.yanked).filter(([f]) => existing.has(f)));
  return { ...state, yanked };
}

export const isActiveState = (s: ProjectState): boolean => s.status.status === "active" && !s.status.reason && Object.keys(s.yanked).length === 0;

export function serializeProjectState(state: ProjectState): Buffer {
  const yanked = Object.fromEntries(Object.entries(state.yanked).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Buffer.from(JSON.stringify({ status: state.status, yanked }, null, 1));
}

/** Reads a stored state document; throws an Error naming the first thing wrong with it. */
export function parseProjectState(bytes: Buffer | string): ProjectState {
  const doc: unknown = JSON.parse(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
  const fail = (why: string): never => {
    throw new Error(`invalid PyPI project state: ${why}`);
  };
  if (!isRecord(doc)) return fail("not an object");
  const { status, yanked } = doc;
  if (!isRecord(status) || !isProjectStatus(status.status)) return fail("status");
  if (status.reason !== undefined && typeof status.reason !== "string") return fail("status.reason");
  if (!isRecord(yanked)) return fail("yanked");
  const out: ProjectState = { status: { status: status.status }, yanked: {} };
  if (typeof status.reason === "string" && status.reason !== "") out.status.reason = status.reason;
  for (const [file, reason] of Object.entries(yanked)) {
    if (typeof reason !== "string" || !parseDistFilename(file)) return fail(`yanked[${JSON.stringify(file)}]`);
    out.yanked[file] = reason;
  }
  return out;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function emptyProjectIndex(name: string): ProjectIndex {
  if (!isValidProjectName(name)) throw badRequest(`invalid project name: ${JSON.stringify(name.slice(0, 100))}`);
  return { name, normalized: normalizeProjectName(name), files: [] };
}

/**
 * The file's identity within a project: two files that pip would see as the same
 * distribution (Foo-1.0.tar.gz and foo-1.0.0.tar.gz) cannot both be there.
 */
function distributionKey(filename: string): string {
  const d = parseDistFilename(filename);
  if (!d) return `file:${filename}`;
  const version = canonicalizeVersion(d.version) ?? d.version;
  return d.kind === "wheel"
    ? `wheel:${d.name}:${version}:${d.buildTag ?? ""}:${d.pythonTag}-${d.abiTag}-${d.platformTag}`
    : `sdist:${d.name}:${version}:${d.extension}`;
}

/**
 * A new index with the file added. Refuses (409) a file that is already there under the
 * same or an equivalent name, and (400) a file that is not a distribution of this project.
 */
export function addFile(index: ProjectIndex, entry: FileEntry): ProjectIndex {
  const dist = parseDistFilename(entry.filename);
  if (!dist) throw badRequest(`${JSON.stringify(entry.filename.slice(0, 255))} is not a wheel or sdist file name`);
  if (dist.name !== index.normalized) {
    throw badRequest(`${entry.filename} belongs to project ${dist.name}, not ${index.normalized}`);
  }
  if (!SHA256_HEX.test(entry.sha256)) throw badRequest(`the sha256 of ${entry.filename} is not 64 lowercase hex digits`);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw badRequest(`the size of ${entry.filename} is invalid`);
  const key = distributionKey(entry.filename);
  const existing = index.files.find((f) => f.filename === entry.filename || distributionKey(f.filename) === key);
  if (existing) {
    throw new GateError(
      "conflict",
      `${existing.filename} already exists in ${index.name}; files cannot be replaced, upload a new version instead`,
    );
  }
  return { ...index, files: sortFiles([...index.files, entry]) };
}

export function findFile(index: ProjectIndex, filename: string): FileEntry | undefined {
  return index.files.find((f) => f.filename === filename);
}

/** Files in release order (PEP 440), then by file name; a new array. */
export function sortFiles(files: readonly FileEntry[]): FileEntry[] {
  const version = (f: FileEntry) => parseDistFilename(f.filename)?.version ?? "";
  return [...files].sort(
    (a, b) => compareVersions(version(a), version(b)) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0),
  );
}

/** PEP 700 `versions`: every version with a file, canonical spelling, in release order. */
export function projectVersions(index: ProjectIndex): string[] {
  // One entry per release (1.0 and 1.0.0 are one), spelled in normal form.
  const seen = new Map<string, string>();
  for (const f of index.files) {
    const v = parseDistFilename(f.filename)?.version;
    if (v === undefined) continue;
    const key = canonicalizeVersion(v) ?? v;
    if (!seen.has(key)) seen.set(key, normalizeVersion(v) ?? v);
  }
  return [...seen.values()].sort(compareVersions);
}

// ---------------------------------------------------------------------------------------
// The stored form: JSON, checked on the way in, since a bucket can be edited by hand.

export function serializeProjectIndex(index: ProjectIndex): Buffer {
  return Buffer.from(JSON.stringify({ ...index, files: sortFiles(index.files) }, null, 1));
}

/** Reads a stored index document; throws an Error naming the first thing wrong with it. */
export function parseProjectIndex(bytes: Buffer | string): ProjectIndex {
  const doc: unknown = JSON.parse(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
  const fail = (why: string): never => {
    throw new Error(`invalid PyPI project index: ${why}`);
  };
  if (!isRecord(doc)) return fail("not an object");
  const { name, normalized, files } = doc;
  if (typeof name !== "string" || !isValidProjectName(name)) return fail("bad name");
  if (normalized !== normalizeProjectName(name)) return fail("normalized does not match name");
  if (!Array.isArray(files)) return fail("files is not a list");
  const out: FileEntry[] = files.map((f: unknown, i): FileEntry => {
    if (!isRecord(f)) return fail(`files[${i}] is not an object`);
    const { filename, size, sha256, blake2b_256, uploadTime, requiresPython, yanked, coreMetadata } = f;
    if (typeof filename !== "string" || !parseDistFilename(filename)) return fail(`files[${i}].filename`);
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return fail(`files[${i}].size`);
    if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) return fail(`files[${i}].sha256`);
    if (typeof uploadTime !== "string" || Number.isNaN(Date.parse(uploadTime))) return fail(`files[${i}].uploadTime`);
    const entry: FileEntry = { filename, size, sha256, uploadTime };
    if (blake2b_256 !== undefined) {
      if (typeof blake2b_256 !== "string" || !SHA256_HEX.test(blake2b_256)) return fail(`files[${i}].blake2b_256`);
      entry.blake2b_256 = blake2b_256;
    }
    if (requiresPython !== undefined) {
      if (typeof requiresPython !== "string") return fail(`files[${i}].requiresPython`);
      entry.requiresPython = requiresPython;
    }
    if (yanked !== undefined && yanked !== false) {
      if (typeof yanked !== "string") return fail(`files[${i}].yanked`);
      entry.yanked = yanked;
    }
    if (coreMetadata !== undefined) {
      if (!isRecord(coreMetadata) || typeof coreMetadata.sha256 !== "string" || !SHA256_HEX.test(coreMetadata.sha256)) {
        return fail(`files[${i}].coreMetadata`);
      }
      entry.coreMetadata = { sha256: coreMetadata.sha256 };
    }
    return entry;
  });
  return { name, normalized, files: sortFiles(out) };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
