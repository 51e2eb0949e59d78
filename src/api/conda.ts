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
import { authorize, enforce } from "../access/authorize.js";
import { GateError } from "../errors.js";
import { CONDA_ARCHIVE_DEFAULTS, readCondaPackage, type CondaPackage } from "../conda/archive.js";
import { parseCondaFilename, isCondaSubdir } from "../conda/filename.js";
import { CondaPublisher, MAIN_LABEL, type OnExisting, type PublishResult, type RemoveResult } from "../conda/publish.js";
import { isLabelName } from "../access/names.js";
import { acting, named, param, type Acting, type ApiCall, type ApiDeps, type ApiRoute } from "./route.js";
import * as v from "./validate.js";

/** Largest conda package an upload may carry unless MAX_CONDA_UPLOAD says otherwise. */
export const DEFAULT_MAX_CONDA_UPLOAD = 1024 * 1024 * 1024;

export function condaDeps(store: Store | undefined, cache: Cache, maxUploadBytes = DEFAULT_MAX_CONDA_UPLOAD): ApiDeps["conda"] {
  if (!store) return undefined;
  return { publisher: new CondaPublisher(store, cache, { limits: { maxFileBytes: maxUploadBytes } }), maxUploadBytes };
}

/** The body was not read to its end: the connection cannot carry another request. */
function closing(err: unknown): unknown {
  if (!(err instanceof GateError)) return err;
  return new GateError(err.code, err.message, { ...err.headers, connection: "close" });
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

/** Reads, checks and publishes one package into `channel` as `a.principal`. The upload's
 * parameters come from `parameters`, read only once the channel has been decided on (their
 * errors then carry Connection: close, as the body was not read). */
export async function uploadCondaPackage(a: Acting, conda: NonNullable<ApiDeps["conda"]>, channel: string, parameters: () => CondaUpload): Promise<CondaUploadResult> {
  const { publisher, maxUploadBytes, tmpDir } = conda;
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  // decided on the channel before the body is read: no write on any package, nothing read
  const early = authorize(a.principal, "conda:upload", { ...resource, package: null });
  if (!early.allow) throw closing(early.error);
  let up: CondaUpload;
  try {
    up = parameters();
    if (!parseCondaFilename(up.filename)) throw new GateError("bad_request", `?filename= must be the package's file name (<name>-<version>-<build>.conda or .tar.bz2), got ${JSON.stringify(up.filename.slice(0, 200))}`);
    if (up.contentLength !== undefined && up.contentLength > maxUploadBytes) {
      throw new GateError("payload_too_large", `${up.filename} is larger than the ${maxUploadBytes} bytes this gateway accepts (MAX_CONDA_UPLOAD)`);
    }
  } catch (err) {
    throw closing(err);
  }
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
];
