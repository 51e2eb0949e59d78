// Serving a channel's PyPI index: the Simple API root and project pages (PEP 503 HTML and
// PEP 691 JSON, negotiated on Accept), distribution files and their core metadata
// (streamed with Range, ETag, 304, HEAD), and twine uploads. A private project the caller
// may not see answers exactly like one that does not exist, for pages, files and metadata;
// so do the files of a quarantined project (PEP 792: none is offered for download).
import { header } from "./headers.js";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { Context } from "hono";
import type { Target } from "./target.js";
import type { Account, Principal } from "../access/model.js";
import type { Store } from "../store/store.js";
import { GateError, badRequest, closing } from "../errors.js";
import { cacheControl, probeObject, send, type NodeBindings } from "./send.js";
import type { ObjectSource } from "./objects.js";
import { sendArtifact, type DownloadConfig } from "./download.js";
import { visibility } from "../access/policy.js";
import { authorize, missing, refusal } from "../access/authorize.js";
import type { ViewCache } from "../cache/views.js";
import { negotiateMediaType, renderProjectHtml, renderProjectJson, renderRootHtml, renderRootJson, type Negotiated } from "../pypi/simple.js";
import { parseDistFilename } from "../pypi/names.js";
import { distContentType, fileKey, metadataKey, type PypiRegistry } from "../pypi/registry.js";
import { discardUpload, parseUpload, validateUpload, type ParsedUpload } from "../pypi/upload.js";
import { parseCoreMetadata, readDistMetadata } from "../pypi/metadata.js";

/** Largest distribution file an upload may carry (PyPI's own limit is in this range). */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

export interface PypiDeps {
  store: Store;
  objects: ObjectSource;
  views: ViewCache;
  registry: PypiRegistry;
  maxUploadBytes: number;
  /** Where uploads are spooled while they are hashed and checked; the OS temp dir by default. */
  uploadTmpDir?: string;
  /** DOWNLOAD_MODE and its settings; absent: the gateway streams files itself. */
  downloads?: DownloadConfig;
}

type PypiTarget = Extract<Target, { kind: `pypi-${string}` }>;

/** Short, so a new upload shows up soon for clients that obey it (pip 26.2+, uv). */
const PAGE_MAX_AGE = 60;
/** Files are never replaced (a new version is a new file name). */
const FILE_MAX_AGE = 86400;

export async function servePypi(c: Context, deps: PypiDeps, t: PypiTarget, principal: Principal, account: Account | null): Promise<Response> {
  switch (t.kind) {
    case "pypi-root":
      return serveRoot(c, deps, t.channel, principal, account);
    case "pypi-project":
      return serveProject(c, deps, t.channel, t.normalized, principal, account);
    case "pypi-file":
      return serveFile(c, deps, t, principal, account);
    case "pypi-upload":
      return serveUpload(c, deps, t.channel, principal, account);
    default:
      throw new GateError("not_found", "not found");
  }
}

function negotiated(c: Context): Negotiated {
  const n = negotiateMediaType(header(c, "accept"));
  if (!n) {
    throw new GateError(
      "not_acceptable",
      "this index serves application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html and text/html",
    );
  }
  return n;
}

async function sendPage(c: Context, body: Buffer, etag: string, lastModified: Date | undefined, n: Negotiated): Promise<Response> {
  return send(c, { kind: "buffer", info: { size: body.length, etag, lastModified }, buffer: body }, {
    contentType: n.contentType,
    cacheControl: cacheControl(c, PAGE_MAX_AGE),
    headers: { vary: "Accept" },
  });
}

async function serveRoot(c: Context, deps: PypiDeps, channel: string, principal: Principal, account: Account | null): Promise<Response> {
  // negotiated before anything is looked up, so a 406 says nothing about what exists
  const n = negotiated(c);
  const verdict = authorize(principal, "pypi:download", { account, name: channel, package: null });
  if (!verdict.allow) throw await refusal(verdict, () => deps.registry.projectNames(channel));
  const vis = visibility(verdict.as, account!);
  const { names } = await deps.registry.projectNames(channel, { installable: true });
  // normalized names: the same on every replica, whichever projects it has rendered
  const shown = vis.all ? names : names.filter((name) => vis.visible(name));
  const body = Buffer.from(n.format === "json" ? renderRootJson(shown) : renderRootHtml(shown));
  // validators from what is shown only: no Last-Modified (a hidden project's upload would move it)
  const etag = createHash("sha256").update(n.contentType).update("\0").update(body).digest("hex").slice(0, 32);
  return sendPage(c, body, etag, undefined, n);
}

async function serveProject(c: Context, deps: PypiDeps, channel: string, project: string, principal: Principal, account: Account | null): Promise<Response> {
  const n = negotiated(c);
  const resource = { account, name: channel, package: project };
  const verdict = authorize(principal, "pypi:download", resource);
  if (!verdict.allow) throw await refusal(verdict, () => deps.registry.probe(channel, project));
  const resolved = await deps.registry.project(channel, project);
  if (!resolved) throw missing(principal, "pypi:download", resource);
  // every caller who may see the project sees the same page: one rendering per state
  const viewKey = `pypi|${channel}/${project}|${resolved.signature}|${n.format}`;
  const body = await deps.views.get(viewKey, async () =>
    Buffer.from(n.format === "json" ? renderProjectJson(resolved.index) : renderProjectHtml(resolved.index)),
  );
  const etag = createHash("sha256").update(viewKey).update(n.contentType).digest("hex").slice(0, 32);
  return sendPage(c, body, etag, resolved.lastModified, n);
}

type FileTarget = Extract<Target, { kind: "pypi-file" }>;

async function serveFile(c: Context, deps: PypiDeps, t: FileTarget, principal: Principal, account: Account | null): Promise<Response> {
  const resource = { account, name: t.channel, package: t.normalized };
  const gone = missing(principal, "pypi:download", resource);
  // a file name that is not this project's is refused on the request alone, before any decision
  const dist = parseDistFilename(t.file);
  if (!dist || dist.name !== t.normalized) throw gone;
  const key = t.metadata ? metadataKey(t.channel, t.normalized, t.file) : fileKey(t.channel, t.normalized, t.file);
  const verdict = authorize(principal, "pypi:download", resource);
  // the status read is part of the work a missing file costs, so a hidden one does it too
  const quarantined = () => deps.registry.quarantined(t.channel, t.normalized);
  if (!verdict.allow) throw await refusal(verdict, async () => {
    await quarantined();
    return probeObject(c, deps.objects, key);
  });
  if (await quarantined()) {
    // a quarantined project's files are missing ones, store work included
    await probeObject(c, deps.objects, key).catch(() => undefined);
    throw gone;
  }
  // core metadata is index data: always from the gateway; distribution files as DOWNLOAD_MODE says
  const res = await sendArtifact(c, t.metadata ? undefined : deps.downloads, deps.objects, key, {
    contentType: t.metadata ? "text/plain; charset=utf-8" : distContentType(t.file),
    cacheControl: cacheControl(c, FILE_MAX_AGE),
  });
  // a missing file answers exactly like a hidden one, so existence never leaks
  if (!res) throw gone;
  return res;
}

// ---- uploads ----------------------------------------------------------------------------

function requestBody(c: Context): Readable {
  const incoming = (c.env as Partial<NodeBindings> | undefined)?.incoming;
  if (incoming) return incoming;
  const body = c.req.raw.body;
  if (!body) throw badRequest("the upload has no body");
  return Readable.fromWeb(body as import("node:stream/web").ReadableStream);
}

async function serveUpload(c: Context, deps: PypiDeps, channel: string, principal: Principal, account: Account | null): Promise<Response> {
  // decided on the channel before a byte of the body is read: without write on any package
  // of it (a group may give write on some packages only), nothing is spooled or unpacked
  const early = authorize(principal, "pypi:upload", { account, name: channel, package: null });
  if (!early.allow) throw closing(early.error);

  let parsed: ParsedUpload;
  try {
    parsed = await parseUpload(
      { contentType: header(c, "content-type") ?? "", body: requestBody(c) },
      { maxFileBytes: deps.maxUploadBytes, tmpDir: deps.uploadTmpDir },
    );
  } catch (err) {
    throw closing(err);
  }
  try {
    const { file } = parsed;
    const dist = parseDistFilename(file.filename);
    if (!dist) {
      // validateUpload words this best; it needs no metadata to refuse the name
      const verdict = validateUpload(parsed, { metadataVersion: "", name: "", version: "", requiresDist: [] });
      throw badRequest(verdict.ok ? `${file.filename} is not a wheel or sdist file name` : verdict.error);
    }
    const metadataRaw = await readDistMetadata(file.filename, file.tmpPath);
    const metadata = parseCoreMetadata(metadataRaw);
    const verdict = validateUpload(parsed, metadata);
    if (!verdict.ok) throw badRequest(verdict.error);
    const allowed = authorize(principal, "pypi:upload", { account, name: channel, package: dist.name });
    if (!allowed.allow) throw allowed.error;
    const entry = await deps.registry.addUpload(channel, { file, metadataRaw, metadata });
    return new Response(`OK: ${entry.filename} stored\n`, { status: 200, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
  } finally {
    await discardUpload(parsed.file).catch(() => undefined);
  }
}
