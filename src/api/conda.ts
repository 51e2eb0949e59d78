// Publishing conda packages through the API: an upload is the package file as the raw request
// body (`POST /api/channels/{channel}/conda?filename=…&label=…&force=1|skip=1`, Content-Type
// application/octet-stream), read as it arrives — spooled to a temporary file while
// readCondaPackage checks it and hashes it, never held in memory — then published by
// conda/publish.ts. A removal names the file (`DELETE …/conda?file=<subdir>/<filename>&label=…`).
//
// Authorization mirrors the PyPI door (http/pypi.ts): before a byte of the body is read, the
// caller needs write on some package of the channel (and the token the conda scope); once
// the archive is read, write on the package its metadata names (`record.name`), never the
// name the client gave. A refused or unreadable upload leaves nothing behind; when its body
// was not read to the end, the answer carries `Connection: close`.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { once } from "node:events";
import type { Cache } from "../cache/cache.js";
import type { Store } from "../store/store.js";
import { authorize, enforce, type Resource } from "../access/authorize.js";
import { GateError, closing } from "../errors.js";
import { CONDA_ARCHIVE_DEFAULTS, readCondaPackage, type CondaPackage } from "../conda/archive.js";
import { parseCondaFilename, isCondaSubdir } from "../conda/filename.js";
import { CondaPublisher, MAIN_LABEL, selectorPath, type CopyResult, type LabelSummary, type OnExisting, type PackageSelector, type PublishResult, type RemoveResult } from "../conda/publish.js";
import { isLabelName } from "../access/names.js";
import { KINDS } from "../kinds/kinds.js";
import type { KindFiles } from "../kinds/files.js";
import { acting, named, param, type Acting, type ApiCall, type ApiDeps, type ApiRoute } from "./route.js";
import * as v from "./validate.js";

/** Largest conda package an upload may carry unless MAX_CONDA_UPLOAD says otherwise. */
export const DEFAULT_MAX_CONDA_UPLOAD = 1024 * 1024 * 1024;

export function condaDeps(store: Store | undefined, cache: Cache, maxUploadBytes = DEFAULT_MAX_CONDA_UPLOAD): ApiDeps["conda"] {
  if (!store) return undefined;
  return { publisher: new CondaPublisher(store, cache, { limits: { maxFileBytes: maxUploadBytes } }), maxUploadBytes };
}

function publishing(call: ApiCall): NonNullable<ApiDeps["conda"]> {
  if (!call.deps.conda) throw new GateError("unavailable", "this gateway does not publish conda packages");
  return call.deps.conda;
}

/** A label as given (empty: main), or 400. */
export function checkLabel(given: string | undefined): string {
  const label = given || MAIN_LABEL;
  if (!isLabelName(label)) throw new GateError("bad_request", `${JSON.stringify(label.slice(0, 80))} is not a label name`);
  return label;
}

function labelOf(call: ApiCall): string {
  return checkLabel(call.query?.["label"]);
}

function onExisting(call: ApiCall): OnExisting {
  const flag = (n: string) => ["1", "true", "yes"].includes(call.query?.[n] ?? "");
  if (flag("force") && flag("skip")) throw new GateError("bad_request", "force and skip exclude each other");
  return flag("force") ? "replace" : flag("skip") ? "skip" : "refuse";
}

/** The body's chunks, each written to `path` before it is handed on (backpressure kept). */
async function* teeToFile(body: Readable, path: string): AsyncGenerator<Uint8Array> {
  const out = createWriteStream(path, { flags: "wx" });
  try {
    for await (const chunk of body) {
      if (!out.write(chunk)) await once(out, "drain");
      yield chunk as Uint8Array;
    }
    out.end();
    await once(out, "finish");
  } finally {
    if (!out.writableFinished) out.destroy();
  }
}

/** One upload, as the route and `pkgate upload --local` both make it: the label and what to do
 * with a file of the same name already checked (checkLabel), the body not yet read. */
export interface CondaUpload {
  filename: string;
  label: string;
  existing: OnExisting;
  body: Readable;
  contentLength?: number;
  /** The subdir the client declared (anaconda-client's stage names `<subdir>/<file>`): an
   * archive built for another is refused before anything is published. */
  subdir?: string;
}

export type CondaUploadResult = PublishResult & { record: CondaPackage["record"] };

async function upload(call: ApiCall): Promise<unknown> {
  const stream = call.stream;
  if (!stream) throw new GateError("internal", "the upload route was not given its body");
  const channel = param(call, "channel");
  return uploadCondaPackage(acting(call), publishing(call), channel, () => ({
    filename: call.query?.["filename"] ?? "",
    label: labelOf(call),
    existing: onExisting(call),
    body: stream.body,
    contentLength: stream.contentLength,
  }));
}

/** What an upload into `channel` (a conda package, an environment, a notebook) decides before a
 * byte of its body is read: the channel, write on some package of it (and the conda scope),
 * then the upload's parameters, read and checked by `parameters`. A refusal from the last two
 * carries Connection: close, as the body stays unread. */
export async function beforeTheBody<T>(a: Acting, channel: string, parameters: () => T): Promise<{ resource: Resource & { name: string }; up: T }> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  const early = authorize(a.principal, "conda:upload", { ...resource, package: null });
  if (!early.allow) throw closing(early.error);
  try {
    return { resource, up: parameters() };
  } catch (err) {
    throw closing(err);
  }
}

/** Reads, checks and publishes one package into `channel` as `a.principal`. The upload's
 * parameters come from `parameters`, read only once the channel has been decided on (their
 * errors then carry Connection: close, as the body was not read). */
export async function uploadCondaPackage(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, parameters: () => CondaUpload): Promise<CondaUploadResult> {
  const { publisher, maxUploadBytes, tmpDir } = conda;
  const { resource, up } = await beforeTheBody(a, channel, () => {
    const up = parameters();
    if (!parseCondaFilename(up.filename)) throw new GateError("bad_request", `?filename= must be the package's file name (<name>-<version>-<build>.conda or .tar.bz2), got ${JSON.stringify(up.filename.slice(0, 200))}`);
    if (up.contentLength !== undefined && up.contentLength > maxUploadBytes) {
      throw new GateError("payload_too_large", `${up.filename} is larger than the ${maxUploadBytes} bytes this gateway accepts (MAX_CONDA_UPLOAD)`);
    }
    return up;
  });
  const { filename, body } = up;
  const dir = await mkdtemp(join(tmpDir ?? tmpdir(), "pkgate-conda-upload-"));
  try {
    const spooled = join(dir, "package");
    let pkg;
    try {
      pkg = await readCondaPackage(teeToFile(body, spooled), filename, { ...CONDA_ARCHIVE_DEFAULTS, maxFileBytes: maxUploadBytes });
    } catch (err) {
      body.destroy();
      throw closing(err);
    }
    // the package named by its own metadata, not by the client
    enforce(authorize(a.principal, "conda:upload", { ...resource, package: pkg.record.name }));
    if (up.subdir !== undefined && pkg.record.subdir !== up.subdir) {
      throw new GateError("bad_request", `${filename} is built for ${pkg.record.subdir}, not ${up.subdir} as the upload was staged: upload it as ${pkg.record.subdir}/${filename}`);
    }
    const result = await publisher.publish(resource.account!.name, up.label, [{ pkg, body: () => createReadStream(spooled) }], up.existing);
    return { ...result, record: pkg.record };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function remove(call: ApiCall): Promise<unknown> {
  return removeCondaPackage(acting(call), publishing(call), param(call, "channel"), call.query?.["file"] ?? "", call.query?.["label"]);
}

/** Takes `<subdir>/<filename>` out of a label of `channel` (empty: main), as `a.principal`. */
export async function removeCondaPackage(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, file: string, label: string | undefined): Promise<RemoveResult> {
  const [subdir = "", filename = "", ...rest] = file.split("/");
  if (rest.length) throw new GateError("bad_request", "?file= is <subdir>/<package file name>");
  const parsed = parseCondaFilename(filename);
  if (!parsed || !isCondaSubdir(subdir)) throw new GateError("bad_request", `${subdir}/${filename} is not <subdir>/<package file name>`);
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  enforce(authorize(a.principal, "conda:upload", { ...resource, package: parsed.name }));
  return conda.publisher.remove(resource.account!.name, checkLabel(label), [`${subdir}/${filename}`]);
}

/** A selector as given (query or JSON body), checked: a package name, an optional version, an
 * optional `<subdir>/<filename>` whose name (and version) must be the package's. */
export function checkSelector(name: unknown, version: unknown, file: unknown): PackageSelector {
  if (typeof name !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(name) || name.length > 200) throw new GateError("bad_request", `${JSON.stringify(String(name).slice(0, 80))} is not a package name`);
  const sel: PackageSelector = { name };
  if (version !== undefined && version !== "") {
    if (typeof version !== "string" || !/^[A-Za-z0-9_.+!*]+$/.test(version) || version.length > 200) throw new GateError("bad_request", `${JSON.stringify(String(version).slice(0, 80))} is not a conda version`);
    sel.version = version;
  }
  if (file !== undefined && file !== "") {
    const [subdir = "", filename = "", ...rest] = typeof file === "string" ? file.split("/") : [];
    const parsed = parseCondaFilename(filename);
    if (rest.length || !parsed || !isCondaSubdir(subdir)) throw new GateError("bad_request", `${JSON.stringify(String(file).slice(0, 200))} is not <subdir>/<package file name>`);
    if (parsed.name !== sel.name || (sel.version !== undefined && parsed.version !== sel.version)) {
      throw new GateError("bad_request", `${subdir}/${filename} is not a file of ${sel.name}${sel.version ? ` ${sel.version}` : ""}`);
    }
    sel.file = `${subdir}/${filename}`;
  }
  return sel;
}

export interface CondaRemoval {
  channel: string;
  /** One entry per label something left (one locked change each). */
  labels: RemoveResult[];
  /** The environments' and notebooks' files of that name that left too (store paths). */
  removed?: string[];
}

/** Authorizes conda:upload on what `sel` selects in `label`: its package, or (null) every
 * package the label holds — none: 404. */
async function mayChange(a: Acting, conda: NonNullable<ApiDeps["conda"]>, resource: Awaited<ReturnType<typeof named>>, label: string, sel: PackageSelector | null): Promise<void> {
  if (sel !== null) {
    enforce(authorize(a.principal, "conda:upload", { ...resource, package: sel.name }));
    return;
  }
  // decided on the channel first: who may not write there learns nothing of its labels
  enforce(authorize(a.principal, "conda:upload", { ...resource, package: null }));
  const names = new Set((await conda.publisher.files(resource.account!.name, label)).map((f) => f.name));
  if (names.size === 0) throw new GateError("not_found", `label ${label} of ${resource.account!.name} holds no files`);
  for (const n of names) enforce(authorize(a.principal, "conda:upload", { ...resource, package: n }));
}

/** Takes a package, a version or a file (sel null: every file, with one label only) out of one
 * label of `channel`, or (label null) out of every label that holds it; nothing found anywhere: 404. */
export async function removeCondaPackages(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, sel: PackageSelector | null, label: string | null, kinds?: KindFiles): Promise<CondaRemoval> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  if (sel === null && label === null) throw new GateError("bad_request", "name a package, or one label to empty");
  await mayChange(a, conda, resource, label ?? MAIN_LABEL, sel);
  const name = resource.account!.name;
  const labels = label === null ? [...(await conda.publisher.labels(name)).keys()] : [checkLabel(label)];
  const done: RemoveResult[] = [];
  for (const l of labels) {
    const r = await conda.publisher.removeSelected(name, l, sel);
    if (r.removed.length) done.push(r);
  }
  // a package or a version taken out of every label takes its environments and notebooks of
  // that name with it (they have no labels and no subdirs), as anaconda.org's remove does
  const removed: string[] = [];
  if (kinds && sel && !sel.file && label === null) {
    for (const kind of Object.values(KINDS)) removed.push(...(await kinds.remove(name, kind, sel.name, sel.version)));
  }
  if (done.length === 0 && removed.length === 0) throw new GateError("not_found", `${selectorPath(name, sel)} was not found${label === null ? "" : ` in label ${label}`}`);
  return { channel: name, labels: done, ...(removed.length ? { removed } : {}) };
}

/** The labels of `channel` and how many files each holds; for those who may publish there. */
export async function listCondaLabels(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string): Promise<{ channel: string; labels: LabelSummary[] }> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  enforce(authorize(a.principal, "conda:upload", { ...resource, package: null }));
  return { channel: resource.account!.name, labels: await conda.publisher.labelSummaries(resource.account!.name) };
}

/** Copies a package, version or file from label `from` of `channel` into label `to` of another
 * channel (anaconda copy --to-owner): read on it in the source (what a download needs), write
 * on it in the target. */
export async function copyCondaAcross(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, from: string, toChannel: string, to: string, sel: PackageSelector, existing: OnExisting = "refuse"): Promise<CopyResult> {
  const source = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  const target = await named(a.catalog, "channel", v.accountName(toChannel, "channel"));
  enforce(authorize(a.principal, "conda:download", { ...source, package: sel.name }));
  enforce(authorize(a.principal, "conda:upload", { ...target, package: sel.name }));
  return conda.publisher.copy(source.account!.name, checkLabel(from), checkLabel(to), sel, false, existing, target.account!.name);
}

/** Copies (or moves) a package, version or file (sel null: every file of the label) from label
 * `from` to label `to`; a file `to` holds with other bytes: `existing` (publish.ts copy). */
export async function copyCondaLabel(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, from: string, to: string, sel: PackageSelector | null, move: boolean, existing: OnExisting = "refuse"): Promise<CopyResult> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  await mayChange(a, conda, resource, checkLabel(from), sel);
  return conda.publisher.copy(resource.account!.name, checkLabel(from), checkLabel(to), sel, move, existing);
}

function labelChange(move: boolean) {
  return (call: ApiCall): Promise<unknown> => {
    const body = (call.body ?? {}) as Record<string, unknown>;
    if (typeof body !== "object" || Array.isArray(body)) throw new GateError("bad_request", "the body is {to, package, version?, file?}");
    if (typeof body["to"] !== "string") throw new GateError("bad_request", "to: the label to copy into is missing");
    return copyCondaLabel(acting(call), publishing(call), param(call, "channel"), param(call, "label"), body["to"], checkSelector(body["package"], body["version"], body["file"]), move);
  };
}

const published = {
  type: "object",
  properties: {
    channel: { type: "string" },
    label: { type: "string" },
    published: { type: "array", items: { type: "string" }, description: "<subdir>/<filename> written" },
    skipped: { type: "array", items: { type: "string" }, description: "<subdir>/<filename> left as they were (skip=1)" },
    record: { type: "object", description: "the repodata record read from the package" },
  },
  required: ["channel", "label", "published", "skipped"],
};

const labelQuery = { name: "label", description: "the label (default main, the channel's root; others live under label/<name>/)", schema: { type: "string" } };

const removalSchema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    labels: { type: "array", items: { type: "object", properties: { channel: { type: "string" }, label: { type: "string" }, removed: { type: "array", items: { type: "string" } } } } },
    removed: { type: "array", items: { type: "string" }, description: "environments' and notebooks' files of that name removed with it (without label and file)" },
  },
};

const labelChangeRequest = {
  type: "object",
  properties: {
    to: { type: "string", description: "the label to copy into (main: the channel's root)" },
    package: { type: "string" },
    version: { type: "string", description: "one version (default: every version)" },
    file: { type: "string", description: "one file, <subdir>/<filename>" },
  },
  required: ["to", "package"],
};

const labelChangeResponse = {
  type: "object",
  properties: {
    channel: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    copied: { type: "array", items: { type: "string" } },
    skipped: { type: "array", items: { type: "string" }, description: "already in the target with the same sha256" },
    removed: { type: "array", items: { type: "string" }, description: "move: taken out of the source label" },
  },
};

export const condaRoutes: ApiRoute[] = [
  {
    method: "POST",
    path: "/channels/{channel}/conda",
    operationId: "uploadCondaPackage",
    summary: "Upload a conda package (.conda or .tar.bz2) as the raw request body; every index of its subdir and channeldata.json are updated. Write permission on the package its metadata names.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    body: "stream",
    rawRequest: { contentType: "application/octet-stream", description: "the package file's bytes" },
    query: [
      { name: "filename", description: "the package's file name; must match its metadata", schema: { type: "string" } },
      labelQuery,
      { name: "force", description: "1: replace a file of the same name", schema: { type: "string", enum: ["1"] } },
      { name: "skip", description: "1: leave a file of the same name as it is (answer 201, nothing published)", schema: { type: "string", enum: ["1"] } },
    ],
    response: { status: 201, description: "published (or skipped)", schema: published },
    errors: [404, 409, 413],
    handle: upload,
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/conda",
    operationId: "removeCondaPackage",
    summary: "Remove a conda package file from a label: out of every index first, then the file.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    query: [{ name: "file", description: "<subdir>/<package file name>, e.g. noarch/x-1.0-0.conda", schema: { type: "string" } }, labelQuery],
    response: { status: 200, description: "removed", schema: { type: "object", properties: { channel: { type: "string" }, label: { type: "string" }, removed: { type: "array", items: { type: "string" } } } } },
    errors: [404],
    handle: remove,
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/conda/packages/{package}",
    operationId: "removeCondaPackages",
    summary: "Remove a conda package, one version (?version=) or one file (?file=<subdir>/<filename>) from one label (?label=) or, without label, from every label holding it, with the environments and notebooks of that name (and version); one change per label, every subdir touched re-indexed.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    query: [
      { name: "version", description: "one version (default: every version)", schema: { type: "string" } },
      { name: "file", description: "one file, <subdir>/<package file name>", schema: { type: "string" } },
      { name: "label", description: "one label (default: every label that holds it)", schema: { type: "string" } },
    ],
    response: { status: 200, description: "removed, per label", schema: removalSchema },
    errors: [404],
    handle: (call) => removeCondaPackages(acting(call), publishing(call), param(call, "channel"), checkSelector(param(call, "package"), call.query?.["version"], call.query?.["file"]), call.query?.["label"] || null, call.deps.kinds),
  },
  {
    method: "GET",
    path: "/channels/{channel}/conda/labels",
    operationId: "listCondaLabels",
    summary: "The channel's conda labels and how many package files each holds (main is the channel's root). Write on some package of the channel.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    response: {
      status: 200,
      description: "labels",
      schema: { type: "object", properties: { channel: { type: "string" }, labels: { type: "array", items: { type: "object", properties: { label: { type: "string" }, files: { type: "integer" }, subdirs: { type: "array", items: { type: "object", properties: { subdir: { type: "string" }, files: { type: "integer" } } } } } } } } },
    },
    errors: [404],
    handle: (call) => listCondaLabels(acting(call), publishing(call), param(call, "channel")),
  },
  {
    method: "POST",
    path: "/channels/{channel}/conda/labels/{label}/copy",
    operationId: "copyCondaLabel",
    summary: "Copy a package, a version or a file from this label into another: the package files first, the target's indexes last. A file the target holds with the same sha256 is skipped, with other bytes 409.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    request: labelChangeRequest,
    response: { status: 200, description: "copied", schema: labelChangeResponse },
    errors: [404, 409],
    handle: labelChange(false),
  },
  {
    method: "POST",
    path: "/channels/{channel}/conda/labels/{label}/move",
    operationId: "moveCondaLabel",
    summary: "Move a package, a version or a file from this label into another: a copy, then the files copied leave this label.",
    tag: "conda",
    auth: "token",
    action: "conda:upload",
    request: labelChangeRequest,
    response: { status: 200, description: "moved", schema: labelChangeResponse },
    errors: [404, 409],
    handle: labelChange(true),
  },
];
