// Environments and notebooks through the API (src/kinds): upload (`POST
// /api/channels/{channel}/environments|notebooks?filename=…[&name=…&version=…&force=1|skip=1]`,
// the file as the raw body), list, remove, and download (`GET
// /api/download/{owner}/{name}/{version}/{file}`, which is also anaconda-client's `download`).
// Each is a package name of the channel: uploads and removals are authorised as conda:upload
// (the conda scope, write on the name), reads as conda:download (public stays public; hidden is
// missing) — the same privacy, groups and tokens as the channel's conda packages. The route,
// `pkgate upload --local` and anaconda-client's file POST (anaconda-upload.ts) share
// uploadKindFile.
import { Readable } from "node:stream";
import type { Context } from "hono";
import { GateError, closing } from "../errors.js";
import { authorize, enforce, missing } from "../access/authorize.js";
import type { Principal } from "../access/model.js";
import { KIND_FILE } from "../access/names.js";
import type { OnExisting } from "../conda/publish.js";
import { checkKindFile, defaultKindName, defaultKindVersion, KINDS, kindOfFile, readKindDocument, type Kind, type KindFile } from "../kinds/kinds.js";
import type { KindEntry, KindFiles, KindPutResult } from "../kinds/files.js";
import { beforeTheBody } from "./conda.js";
import { acting, named, param, type Acting, type ApiCall, type ApiDeps, type ApiRoute, type Schema } from "./route.js";
import * as v from "./validate.js";

/** One upload of an environment or notebook, its body not yet read. */
export interface KindUpload {
  filename: string;
  /** Default: an environment's own `name:`, else the file's stem. */
  name?: string;
  /** Default: the time (YYYY.MM.DD.HHMMSS). */
  version?: string;
  existing: OnExisting;
  body: Readable;
  contentLength?: number;
}

function shelf(deps: ApiDeps): KindFiles {
  if (!deps.kinds) throw new GateError("unavailable", "this gateway does not host environments and notebooks");
  return deps.kinds;
}

/** A body up to this size is read to its end even when it is too large, so the client, still
 * sending, reads the 413 instead of a broken pipe; a larger one is cut (Connection: close). */
const DRAIN_LIMIT = 64 * 1024 * 1024;

const tooLarge = (kind: Kind, filename: string) => new GateError("payload_too_large", `${filename} is larger than the ${kind.maxBytes} bytes ${kind.anOne} may have`);

/** The body, whole (these files are small: at most the kind's maxBytes), or 413. */
async function readWhole(body: Readable, kind: Kind, filename: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > DRAIN_LIMIT) {
      body.destroy();
      throw closing(tooLarge(kind, filename));
    }
    // past the limit nothing is kept: the rest is only read
    if (n <= kind.maxBytes) chunks.push(chunk as Buffer);
  }
  if (n > kind.maxBytes) throw tooLarge(kind, filename);
  return Buffer.concat(chunks);
}

/** Reads, checks and stores one environment or notebook into `channel` as `a.principal`. */
export async function uploadKindFile(a: Acting, files: KindFiles, channel: string, kind: Kind, parameters: () => KindUpload): Promise<KindPutResult> {
  const { resource, up } = await beforeTheBody(a, channel, () => {
    const up = parameters();
    if (!KIND_FILE.test(up.filename) || kindOfFile(up.filename) !== kind) throw new GateError("bad_request", `?filename= must be the ${kind.one}'s file name, ending in ${kind.extensions.join(" or ")}: ${KIND_FILE.describe}`);
    if (up.contentLength !== undefined && up.contentLength > DRAIN_LIMIT) throw tooLarge(kind, up.filename);
    return up;
  });
  const bytes = await readWhole(up.body, kind, up.filename);
  const doc = readKindDocument(kind, bytes, up.filename);
  const f = checkKindFile({ kind, channel: resource.account!.name, name: up.name || defaultKindName(kind, doc, up.filename), version: up.version || defaultKindVersion(), basename: up.filename });
  enforce(authorize(a.principal, "conda:upload", { ...resource, package: f.name }));
  return files.put(f, bytes, up.existing);
}

/** The files of a kind in `channel` the principal may read (a hidden channel: 404). */
export async function listKindFiles(a: Acting, files: KindFiles, channel: string, kind: Kind): Promise<{ channel: string; kind: Kind["name"]; files: KindEntry[] }> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  enforce(authorize(a.principal, "conda:download", { ...resource, package: null }));
  const all = await files.list(resource.account!.name, kind);
  const may = new Map<string, boolean>();
  const visible = all.filter((e) => {
    if (!may.has(e.name)) may.set(e.name, authorize(a.principal, "conda:download", { ...resource, package: e.name }).allow);
    return may.get(e.name)!;
  });
  return { channel: resource.account!.name, kind: kind.name, files: visible };
}

/** Takes out the files of `name` (one version, one file); none: 404. */
export async function removeKindFiles(a: Acting, files: KindFiles, channel: string, kind: Kind, name: string, version?: string, basename?: string): Promise<{ channel: string; removed: string[] }> {
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  enforce(authorize(a.principal, "conda:upload", { ...resource, package: name }));
  const removed = await files.remove(resource.account!.name, kind, name, version || undefined, basename || undefined);
  if (removed.length === 0) throw new GateError("not_found", `${resource.account!.name} has no ${kind.one} ${[name, version, basename].filter(Boolean).join("/")}`);
  return { channel: resource.account!.name, removed };
}

/** A file to read, as the principal may: what it may not see answers as what is missing. */
export async function openKindFile(principal: Principal, deps: ApiDeps, f: Omit<KindFile, "channel"> & { channel: string }) {
  const files = shelf(deps);
  const resource = await named(deps.catalog, "channel", v.accountName(f.channel, "channel"));
  const asked = { name: f.channel, kind: "channel" as const, package: f.name };
  enforce(authorize(principal, "conda:download", { ...resource, package: f.name }));
  let file;
  try {
    file = await files.open(checkKindFile({ ...f, channel: resource.account!.name }));
  } catch (e) {
    // a name no file can have is missing too
    if (e instanceof GateError && e.status === 400) throw missing(principal, "conda:download", asked);
    throw e;
  }
  if (!file) throw missing(principal, "conda:download", asked);
  return file;
}

/** GET|HEAD /api/download/{owner}/{name}/{version}/{file}: the file's bytes (registered ahead of
 * the route table, index.ts: the answer is the file, not JSON). */
export async function kindDownload(c: Context, deps: ApiDeps): Promise<Response> {
  c.set("route", "api");
  const basename = c.req.param("basename") ?? "";
  const kind = kindOfFile(basename);
  const principal = c.get("principal") as Principal;
  const channel = c.req.param("owner") ?? "";
  const name = c.req.param("pkg") ?? "";
  if (!kind) throw missing(principal, "conda:download", { name: channel, kind: "channel", package: name });
  const file = await openKindFile(principal, deps, { kind, channel, name, version: c.req.param("ver") ?? "", basename });
  const headers = {
    "content-type": kind.contentType,
    "content-length": String(file.size),
    etag: `"${file.etag}"`,
    "last-modified": file.lastModified.toUTCString(),
    "content-disposition": `attachment; filename="${basename}"`,
    "cache-control": "private, no-cache",
  };
  if (c.req.method === "HEAD") {
    file.body.destroy();
    return new Response(null, { status: 200, headers });
  }
  return new Response(Readable.toWeb(file.body) as ReadableStream, { status: 200, headers });
}

const onExisting = (call: ApiCall): OnExisting => {
  const flag = (n: string) => ["1", "true", "yes"].includes(call.query?.[n] ?? "");
  if (flag("force") && flag("skip")) throw new GateError("bad_request", "force and skip exclude each other");
  return flag("force") ? "replace" : flag("skip") ? "skip" : "refuse";
};

const entrySchema: Schema = {
  type: "object",
  properties: { name: { type: "string" }, version: { type: "string" }, basename: { type: "string" }, size: { type: "integer" }, lastModified: { type: "string", format: "date-time" } },
  required: ["name", "version", "basename", "size", "lastModified"],
};
const putSchema: Schema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    kind: { type: "string", enum: ["env", "ipynb"] },
    name: { type: "string" },
    version: { type: "string" },
    basename: { type: "string" },
    published: { type: "array", items: { type: "string" } },
    skipped: { type: "array", items: { type: "string" } },
  },
  required: ["channel", "kind", "name", "version", "basename", "published", "skipped"],
};

function routesOf(kind: Kind): ApiRoute[] {
  const path = `/channels/{channel}/${kind.folder}`;
  return [
    {
      method: "POST",
      path,
      operationId: `upload${kind.folder[0]!.toUpperCase()}${kind.folder.slice(1, -1)}`,
      summary: `Upload ${kind.anOne} (${kind.extensions.join(", ")}, at most ${kind.maxBytes} bytes) as the raw request body; checked (${kind.name === "env" ? "a YAML mapping" : "a notebook's JSON"}) and stored whole. Its name is a package name of the channel (write on it, conda scope).`,
      tag: "kinds",
      auth: "token",
      action: "conda:upload",
      body: "stream",
      rawRequest: { contentType: kind.contentType.split(";")[0]!, description: `the ${kind.one} file` },
      query: [
        { name: "filename", description: `the file's name (${kind.extensions.join(", ")})`, schema: KIND_FILE.schema() },
        { name: "name", description: kind.name === "env" ? "default: the environment's own name:, else the file's stem" : "default: the file's stem", schema: { type: "string" } },
        { name: "version", description: "default: the time, YYYY.MM.DD.HHMMSS", schema: { type: "string" } },
        { name: "force", description: "1: replace a file of the same name, version and file name", schema: { type: "string", enum: ["1"] } },
        { name: "skip", description: "1: leave it as it is", schema: { type: "string", enum: ["1"] } },
      ],
      response: { status: 201, description: "stored (or skipped)", schema: putSchema },
      errors: [404, 409, 413, 503],
      async handle(call) {
        const stream = call.stream;
        if (!stream) throw new GateError("internal", "the upload route was not given its body");
        return uploadKindFile(acting(call), shelf(call.deps), param(call, "channel"), kind, () => ({
          filename: call.query?.["filename"] ?? "",
          name: call.query?.["name"],
          version: call.query?.["version"],
          existing: onExisting(call),
          body: stream.body,
          contentLength: stream.contentLength,
        }));
      },
    },
    {
      method: "GET",
      path,
      operationId: `list${kind.folder[0]!.toUpperCase()}${kind.folder.slice(1)}`,
      summary: `The channel's ${kind.folder} the caller may read (download each at /api/download/{channel}/{name}/{version}/{basename}).`,
      tag: "kinds",
      auth: "optional",
      action: "conda:download",
      response: { status: 200, description: kind.folder, schema: { type: "object", properties: { channel: { type: "string" }, kind: { type: "string" }, files: { type: "array", items: entrySchema } } } },
      errors: [404, 503],
      handle: (call) => listKindFiles(acting(call), shelf(call.deps), param(call, "channel"), kind),
    },
    {
      method: "DELETE",
      path: `${path}/{package}`,
      operationId: `remove${kind.folder[0]!.toUpperCase()}${kind.folder.slice(1, -1)}`,
      summary: `Remove ${kind.anOne}: every version, one (?version=), or one file of it (?version=&file=).`,
      tag: "kinds",
      auth: "token",
      action: "conda:upload",
      query: [
        { name: "version", description: "one version", schema: { type: "string" } },
        { name: "file", description: "one file of that version", schema: { type: "string" } },
      ],
      response: { status: 200, description: "removed", schema: { type: "object", properties: { channel: { type: "string" }, removed: { type: "array", items: { type: "string" } } } } },
      errors: [404, 503],
      handle: (call) => removeKindFiles(acting(call), shelf(call.deps), param(call, "channel"), kind, param(call, "package"), call.query?.["version"], call.query?.["file"]),
    },
  ];
}

export const DOWNLOAD_PATH = "/download/{owner}/{pkg}/{ver}/{basename}";

export const kindRoutes: ApiRoute[] = [
  ...routesOf(KINDS.env),
  ...routesOf(KINDS.ipynb),
  {
    // answered by kindDownload, registered ahead of the table (index.ts); this entry documents it
    method: "GET",
    path: DOWNLOAD_PATH,
    operationId: "downloadKindFile",
    summary: "An environment or notebook file (its kind: its extension), to whoever may read the name: public ones to anyone, private ones with a token (Authorization: Bearer or token). Also anaconda-client's `download` (anaconda download OWNER/NAME).",
    tag: "kinds",
    auth: "optional",
    action: "conda:download",
    response: { status: 200, description: "the file's bytes (application/x-yaml or application/x-ipynb+json)" },
    errors: [404, 503],
    async handle() {
      throw new GateError("internal", "the download is answered by kindDownload");
    },
  },
];
