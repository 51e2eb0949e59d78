// anaconda-client's upload (`anaconda upload FILE [-l LABEL] [-u ORG] [--force|--skip]`,
// issue #12) onto pkgate's conda publishing. What the client sends, read in anaconda-client
// (binstar_client/commands/upload.py Uploader.upload_package, binstar_client/__init__.py):
//   1. GET  /dist/{owner}/{pkg}/{ver}/{subdir}/{file}    _check_file: 404 → go on; 200 → --skip
//      stops, --force sends 2., neither is the client's own 409 "file … already exists";
//   2. DELETE /dist/…                                     remove_dist (allowed: 200);
//   3. GET  /package/{owner}/{pkg}, on 404 POST it        get_package / add_package (200);
//   4. GET  /release/{owner}/{pkg}/{ver}, on 404 POST it  get_release / add_release (200);
//   5. POST /stage/{owner}/{pkg}/{ver}/{subdir}/{file}   upload(): `{distribution_type,
//      description, attrs, dependencies, channels, sha256}` (channels: the -l labels, [] without
//      any; sha256 in hex) → 200 `{post_url, form_data, dist_id}`;
//   6. POST post_url, multipart: form_data's fields, `Content-Length`, `Content-MD5` (base64),
//      then `file` — with no Authorization header; anything but 201 is read as S3's XML error
//      (`<Error><Code>`; InvalidDigest adds "The Content-MD5 or checksum value is not valid.");
//   7. POST /commit/…  `{dist_id}` → 200.
// pkgate keeps no package or release records: a package or release exists while a file of it
// is in some label of the channel, and "creating" one is answered as done. A distribution is
// one file name across the channel's labels, as on anaconda.org: GET /dist lists the labels
// holding it, DELETE /dist takes it out of all of them (so `-l dev --force` leaves it in dev
// only). The file itself goes through uploadCondaPackage, the upload route's own code.
//
// post_url authorises itself: a jose-signed (HS256) token in its path names the channel, the
// labels, `<subdir>/<file>`, the sha256 the client declared and the principal that staged it,
// lives 15 minutes and is spent by its first use (the cache's counter on its jti). The file
// POST re-checks that the staging token is still live, and uploadCondaPackage authorises
// conda:upload again on the package the archive names.
import { createHash, hkdfSync, randomUUID } from "node:crypto";
import { masterSecret } from "../web/keys.js";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import type { Readable } from "node:stream";
import busboy from "busboy";
import type { Context } from "hono";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { GateError } from "../errors.js";
import type { Principal } from "../access/model.js";
import { authorize, enforce } from "../access/authorize.js";
import type { Cache } from "../cache/cache.js";
import type { Store } from "../store/store.js";
import { isCondaSubdir, parseCondaFilename } from "../conda/filename.js";
import { MAIN_LABEL } from "../conda/publish.js";
import { isLabelName } from "../access/names.js";
import { checkLabel, removeCondaPackage, uploadCondaPackage } from "./conda.js";
import { kindOfFile, kindOfType, KINDS, type Kind, type KindName } from "../kinds/kinds.js";
import { listKindFiles, removeKindFiles, uploadKindFile } from "./kinds.js";
import { acting, named, param, type ApiCall, type ApiDeps, type ApiRoute, type Schema } from "./route.js";
import * as v from "./validate.js";

/** What the anaconda upload routes need beside the conda publisher. */
export interface AnacondaUploadDeps {
  store: Store;
  cache: Cache;
  /** The HS256 key post_url tokens are signed with. Every replica behind one address, and a
   * replica restarted between stage and upload, must have the same: it is derived from the
   * master secret the web sessions use (SESSION_SECRET, or the one kept in the store). */
  key: () => Promise<Uint8Array>;
  /** PUBLIC_URL: where clients reach this gateway (else the request's own origin). */
  publicUrl: string | null;
}

export function anacondaUploadDeps(store: Store | undefined, cache: Cache, opts: { sessionSecret: string | null; publicUrl: string | null; key?: Uint8Array }): AnacondaUploadDeps | undefined {
  if (!store) return undefined;
  let key: Promise<Uint8Array> | null = opts.key ? Promise.resolve(opts.key) : null;
  const load = () => {
    if (!key) {
      const loading = masterSecret(store, cache, opts.sessionSecret).then((master) => new Uint8Array(hkdfSync("sha256", master, "pkgate anaconda-client", "post_url v1", 32)));
      // a store outage is tried again at the next stage rather than remembered
      loading.catch(() => {
        if (key === loading) key = null;
      });
      key = loading;
    }
    return key;
  };
  return { store, cache, key: load, publicUrl: opts.publicUrl };
}

/** How long a post_url may be used, once (seconds). */
export const POST_URL_LIFETIME = 15 * 60;
const AUDIENCE = "pkgate:anaconda-upload";
/** Where post_url points, relative to /api. */
export const FILE_POST_PATH = "/anaconda-upload";

// ---- the channel's files, as anaconda-client's package / release / distribution ------------

interface Distribution {
  label: string;
  subdir: string;
  file: string;
  name: string;
  version: string;
}

/** Every package file of `channel`, in every label (one listing of the channel's prefix). */
async function distributions(store: Store, channel: string, keep: (d: Distribution) => boolean): Promise<Distribution[]> {
  const out: Distribution[] = [];
  for await (const o of store.list(`${channel}/`)) {
    const parts = o.key.slice(channel.length + 1).split("/");
    let label = MAIN_LABEL;
    if (parts[0] === "label" && parts.length === 4 && isLabelName(parts[1]!)) label = parts.splice(0, 2)[1]!;
    if (parts.length !== 2 || !isCondaSubdir(parts[0]!)) continue;
    const parsed = parseCondaFilename(parts[1]!);
    if (!parsed) continue;
    const d = { label, subdir: parts[0]!, file: parts[1]!, name: parsed.name, version: parsed.version };
    if (keep(d)) out.push(d);
  }
  return out;
}

function uploads(call: ApiCall): { conda: NonNullable<ApiDeps["conda"]>; up: AnacondaUploadDeps } {
  const conda = call.deps.conda;
  const up = call.deps.anacondaUploads;
  if (!conda || !up) throw new GateError("unavailable", "this gateway does not publish conda packages");
  return { conda, up };
}

/** The owner (a channel) and package of the path, the caller authorised to upload it. */
async function target(call: ApiCall): Promise<{ channel: string; pkg: string }> {
  if (call.me === null) throw new GateError("auth_required", "you are not logged in: run `anaconda -s <site> login`, or pass a token with conda upload rights (-t)");
  const pkg = param(call, "pkg");
  const resource = await named(call.deps.catalog, "channel", v.accountName(param(call, "owner"), "channel"));
  enforce(authorize(call.principal, "conda:upload", { ...resource, package: pkg }));
  return { channel: resource.account!.name, pkg };
}

/** An environment's or notebook's `{basename}` of the path (one segment: its kind is its
 * extension). */
function kindFileOf(call: ApiCall): { kind: Kind; basename: string } | null {
  const basename = call.params["basename"];
  if (basename === undefined) return null;
  const kind = kindOfFile(basename);
  if (!kind) throw new GateError("bad_request", `${basename} is not <subdir>/<conda package file name>, an environment (.yml, .yaml) or a notebook (.ipynb)`);
  return { kind, basename };
}

/** The environments and notebooks of `channel` named `pkg` (one version of it), as distributions. */
async function kindDistributions(call: ApiCall, channel: string, pkg: string, version?: string, basename?: string) {
  if (!call.deps.kinds) return [];
  const out: { kind: Kind; name: string; version: string; basename: string }[] = [];
  for (const kind of Object.values(KINDS)) {
    for (const e of (await listKindFiles(acting(call), call.deps.kinds, channel, kind)).files) {
      if (e.name === pkg && (version === undefined || e.version === version) && (basename === undefined || e.basename === basename)) out.push({ kind, ...e });
    }
  }
  return out;
}

const kindDistView = (channel: string, d: { kind: Kind; name: string; version: string; basename: string }) => ({
  basename: d.basename,
  owner: channel,
  package: d.name,
  version: d.version,
  labels: [MAIN_LABEL],
  distribution_type: d.kind.name,
});

/** `{subdir}/{file}` of the path, checked against the package and version it sits under. */
function fileOf(call: ApiCall, pkg: string): { subdir: string; file: string; basename: string } {
  const subdir = param(call, "subdir");
  const file = param(call, "file");
  const parsed = parseCondaFilename(file);
  if (!isCondaSubdir(subdir) || !parsed) throw new GateError("bad_request", `${subdir}/${file} is not <subdir>/<conda package file name>; pkgate takes conda packages only`);
  if (parsed.name !== pkg || parsed.version !== param(call, "ver")) {
    throw new GateError("bad_request", `${file} is not a file of ${pkg} ${param(call, "ver")}`);
  }
  return { subdir, file, basename: `${subdir}/${file}` };
}

const distView = (channel: string, ds: Distribution[]) => ({
  basename: `${ds[0]!.subdir}/${ds[0]!.file}`,
  owner: channel,
  package: ds[0]!.name,
  version: ds[0]!.version,
  labels: ds.map((d) => d.label).sort(),
  distribution_type: "conda",
});

async function getDist(call: ApiCall) {
  const { up } = uploads(call);
  const { channel, pkg } = await target(call);
  const k = kindFileOf(call);
  if (k) {
    const [d] = await kindDistributions(call, channel, pkg, param(call, "ver"), k.basename);
    if (!d) throw new GateError("not_found", `${channel} has no ${k.kind.one} ${pkg}/${param(call, "ver")}/${k.basename}`);
    return kindDistView(channel, d);
  }
  const { subdir, file, basename } = fileOf(call, pkg);
  const found = await distributions(up.store, channel, (d) => d.subdir === subdir && d.file === file);
  if (found.length === 0) throw new GateError("not_found", `${channel} has no file ${basename}`);
  return distView(channel, found);
}

async function deleteDist(call: ApiCall) {
  const { up, conda } = uploads(call);
  const { channel, pkg } = await target(call);
  const k = kindFileOf(call);
  if (k) {
    const [d] = await kindDistributions(call, channel, pkg, param(call, "ver"), k.basename);
    if (!d) throw new GateError("not_found", `${channel} has no ${k.kind.one} ${pkg}/${param(call, "ver")}/${k.basename}`);
    await removeKindFiles(acting(call), call.deps.kinds!, channel, k.kind, pkg, d.version, d.basename);
    return kindDistView(channel, d);
  }
  const { subdir, file, basename } = fileOf(call, pkg);
  const found = await distributions(up.store, channel, (d) => d.subdir === subdir && d.file === file);
  if (found.length === 0) throw new GateError("not_found", `${channel} has no file ${basename}`);
  for (const d of found) await removeCondaPackage(acting(call), conda, channel, basename, d.label);
  return distView(channel, found);
}

async function getPackage(call: ApiCall) {
  const { up } = uploads(call);
  const { channel, pkg } = await target(call);
  const found = await distributions(up.store, channel, (d) => d.name === pkg);
  const kinds = await kindDistributions(call, channel, pkg);
  if (found.length === 0 && kinds.length === 0) throw new GateError("not_found", `${channel} has no package ${pkg}`);
  // anaconda-client refuses to add a file of another type to a package (validate_package_type)
  const types = [...(found.length ? ["conda"] : []), ...new Set(kinds.map((k) => k.kind.name))];
  return {
    name: pkg,
    owner: channel,
    package_types: types,
    versions: [...new Set([...found.map((d) => d.version), ...kinds.map((k) => k.version)])],
    files: [...found.map((d) => ({ basename: `${d.subdir}/${d.file}`, version: d.version, labels: [d.label] })), ...kinds.map((k) => ({ basename: k.basename, version: k.version, labels: [MAIN_LABEL] }))],
  };
}

async function getRelease(call: ApiCall) {
  const { up } = uploads(call);
  const { channel, pkg } = await target(call);
  const version = param(call, "ver");
  const found = await distributions(up.store, channel, (d) => d.name === pkg && d.version === version);
  const kinds = await kindDistributions(call, channel, pkg, version);
  if (found.length === 0 && kinds.length === 0) throw new GateError("not_found", `${channel} has no release ${pkg} ${version}`);
  return { package: pkg, owner: channel, version, distributions: [...found.map((d) => ({ basename: `${d.subdir}/${d.file}`, labels: [d.label] })), ...kinds.map((k) => ({ basename: k.basename, labels: [MAIN_LABEL] }))] };
}

/** POST /package and /release: pkgate has no such records; a package or release exists while
 * one of its files does. Answered as created, once the caller may upload it. */
async function created(call: ApiCall) {
  uploads(call);
  const { channel, pkg } = await target(call);
  return call.params["ver"] === undefined ? { name: pkg, owner: channel, package_types: [], files: [] } : { package: pkg, owner: channel, version: param(call, "ver"), distributions: [] };
}

// ---- stage: the signed post_url -------------------------------------------------------------

interface StageClaims {
  channel: string;
  /** An environment or notebook (no subdir): its kind, name and version; labels do not apply. */
  kind?: KindName;
  name?: string;
  version?: string;
  labels: string[];
  /** `<subdir>/<file>` */
  basename: string;
  sha256: string;
  principal: Principal;
}

function stageRequest(body: unknown, kind: Kind | null): { labels: string[]; sha256: string } {
  const b = v.objectBody(body, ["distribution_type", "description", "attrs", "dependencies", "channels", "sha256"]);
  const type = b.distribution_type ?? null;
  if (type !== null && (kind ? kindOfType(type) !== kind : type !== "conda")) {
    throw new GateError("bad_request", `pkgate takes ${kind ? `${kind.anOne} (${kind.name})` : "conda packages"} here, not ${JSON.stringify(String(type)).slice(0, 40)}`);
  }
  const ch = b.channels ?? [];
  if (!Array.isArray(ch) || !ch.every((x) => typeof x === "string")) throw new GateError("bad_request", `the field "channels" must be a list of label names`);
  const labels = [...new Set((ch as string[]).length === 0 ? [MAIN_LABEL] : (ch as string[]).map((l) => checkLabel(l)))];
  const sha = b.sha256;
  if (typeof sha !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha)) throw new GateError("bad_request", `the field "sha256" must be the file's SHA-256 in hex`);
  return { labels, sha256: sha.toLowerCase() };
}

async function stage(call: ApiCall) {
  const { up } = uploads(call);
  const { channel, pkg } = await target(call);
  const k = kindFileOf(call);
  const { basename } = k ?? fileOf(call, pkg);
  const { labels, sha256 } = stageRequest(call.body, k?.kind ?? null);
  const jti = randomUUID();
  const claims: StageClaims = { channel, labels, basename, sha256, principal: call.principal, ...(k ? { kind: k.kind.name, name: pkg, version: param(call, "ver") } : {}) };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setAudience(AUDIENCE)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(`${POST_URL_LIFETIME}s`)
    .sign(await up.key());
  if (!call.url) throw new GateError("internal", "the stage route was not given its URL");
  const origin = up.publicUrl?.replace(/\/+$/, "") ?? new URL(call.url).origin;
  return { post_url: `${origin}${call.deps.basePath}/api${FILE_POST_PATH}/${token}`, form_data: {}, dist_id: jti, labels, expires_in: POST_URL_LIFETIME };
}

async function commit(call: ApiCall) {
  const { up } = uploads(call);
  const { channel, pkg } = await target(call);
  const b = v.objectBody(call.body, ["dist_id"]);
  if (typeof b.dist_id !== "string") throw new GateError("bad_request", `the field "dist_id" must be the one stage answered`);
  const k = kindFileOf(call);
  if (k) {
    const [d] = await kindDistributions(call, channel, pkg, param(call, "ver"), k.basename);
    if (!d) throw new GateError("not_found", `${k.basename} did not arrive in ${channel}: run anaconda upload again`);
    return { ...kindDistView(channel, d), dist_id: b.dist_id, url: `${new URL(call.url ?? "http://localhost").origin}${call.deps.basePath}/api/download/${channel}/${d.name}/${d.version}/${d.basename}` };
  }
  const { subdir, file, basename } = fileOf(call, pkg);
  const found = await distributions(up.store, channel, (d) => d.subdir === subdir && d.file === file);
  if (found.length === 0) throw new GateError("not_found", `${basename} did not arrive in ${channel}: run anaconda upload again`);
  return { ...distView(channel, found), dist_id: b.dist_id, url: `${new URL(call.url ?? "http://localhost").origin}${call.deps.basePath}/conda/${channel}` };
}

// ---- the file POST to post_url ---------------------------------------------------------------

/** An S3-shaped refusal: anaconda-client reads `<Error><Code>` of anything but 201. */
function s3Error(status: number, code: string, message: string): Response {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message></Error>\n`;
  return new Response(body, { status, headers: { "content-type": "application/xml", "cache-control": "no-store", connection: "close" } });
}

const S3_CODES: Partial<Record<GateError["code"], string>> = {
  conflict: "Conflict",
  payload_too_large: "EntityTooLarge",
  not_found: "NoSuchBucket",
  unavailable: "ServiceUnavailable",
  bad_request: "MalformedPOSTRequest",
};

export async function verifyPostUrl(up: AnacondaUploadDeps, token: string): Promise<StageClaims & { jti: string }> {
  try {
    const { payload } = await jwtVerify(token, await up.key(), { audience: AUDIENCE, algorithms: ["HS256"] });
    return payload as unknown as StageClaims & { jti: string };
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw new GateError("forbidden", "this upload URL has expired (they live 15 minutes): run anaconda upload again");
    throw new GateError("forbidden", "this upload URL is not one this gateway signed");
  }
}

interface Spooled {
  path: string;
  size: number;
  sha256: string;
  md5: string;
  fields: Record<string, string>;
}

/** Reads the multipart body: its fields, and its one `file` part into `dir`, hashed. */
function spoolMultipart(body: Readable, contentType: string | undefined, dir: string, maxBytes: number): Promise<Spooled> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { "content-type": contentType ?? "" }, limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 4096 } });
    } catch {
      reject(new GateError("bad_request", "the upload must be multipart/form-data with a file field"));
      return;
    }
    const fields: Record<string, string> = {};
    let file: Promise<Omit<Spooled, "fields">> | null = null;
    bb.on("field", (name, value) => (fields[name] = value));
    bb.on("file", (name, stream) => {
      if (name !== "file" || file) {
        stream.resume();
        return;
      }
      const path = join(dir, "package");
      file = (async () => {
        const sha = createHash("sha256");
        const md5 = createHash("md5");
        const out = createWriteStream(path, { flags: "wx" });
        let size = 0;
        let truncated = false;
        stream.on("limit", () => (truncated = true));
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          sha.update(chunk);
          md5.update(chunk);
          size += chunk.length;
          if (!out.write(chunk)) await once(out, "drain");
        }
        out.end();
        await once(out, "finish");
        if (truncated) throw new GateError("payload_too_large", `the file is larger than the ${maxBytes} bytes this gateway accepts (MAX_CONDA_UPLOAD)`);
        return { path, size, sha256: sha.digest("hex"), md5: md5.digest("base64") };
      })();
      file.catch(() => undefined);
    });
    bb.on("error", () => reject(new GateError("bad_request", "the multipart body could not be read")));
    bb.on("close", () => {
      if (!file) return reject(new GateError("bad_request", "the upload has no file field"));
      file.then((f) => resolve({ ...f, fields }), reject);
    });
    body.on("error", reject);
    body.pipe(bb);
  });
}

/** POST {post_url}: the file, published into each label the stage named; 201 or S3's XML. */
export async function anacondaFilePost(c: Context, deps: ApiDeps, body: Readable): Promise<Response> {
  c.set("route", "api");
  // not anaconda-client's request (it always sends multipart): pkgate's own JSON refusal
  if (!/^multipart\/form-data/i.test(c.req.header("content-type") ?? "")) throw new GateError("bad_request", "the file goes as multipart/form-data with a `file` field, as anaconda upload sends it");
  const conda = deps.conda;
  const up = deps.anacondaUploads;
  if (!conda || !up) return s3Error(503, "ServiceUnavailable", "this gateway does not publish conda packages");
  let dir: string | null = null;
  try {
    const claims = await verifyPostUrl(up, c.req.param("token") ?? "");
    if ((await up.cache.incr(`anaconda-upload:${claims.jti}`, POST_URL_LIFETIME + 60)) > 1) {
      throw new GateError("forbidden", "this upload URL has been used already: run anaconda upload again");
    }
    const p = claims.principal;
    // the token that staged the upload must still be live
    if (p.token && p.account && !(await deps.catalog.listTokens(p.account)).some((t) => t.id === p.token!.id && !t.revokedAt)) {
      throw new GateError("forbidden", "the token that staged this upload has been revoked");
    }
    dir = await mkdtemp(join(conda.tmpDir ?? tmpdir(), "pkgate-anaconda-upload-"));
    const f = await spoolMultipart(body, c.req.header("content-type"), dir, conda.maxUploadBytes);
    if (f.fields["Content-MD5"] !== undefined && f.fields["Content-MD5"] !== f.md5) return s3Error(400, "InvalidDigest", "the file's MD5 is not the Content-MD5 sent with it");
    if (f.fields["Content-Length"] !== undefined && f.fields["Content-Length"] !== String(f.size)) return s3Error(400, "IncompleteBody", `the file has ${f.size} bytes, not the ${f.fields["Content-Length"]} announced`);
    if (f.sha256 !== claims.sha256) return s3Error(400, "InvalidDigest", "the file's SHA-256 is not the one given when the upload was staged");
    if (claims.kind) {
      if (!deps.kinds) return s3Error(503, "ServiceUnavailable", "this gateway does not host environments and notebooks");
      const kind = KINDS[claims.kind];
      await uploadKindFile({ catalog: deps.catalog, principal: p }, deps.kinds, claims.channel, kind, () => ({ filename: claims.basename, name: claims.name, version: claims.version, existing: "refuse", body: createReadStream(f.path), contentLength: f.size }));
      return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Bucket>${claims.channel}</Bucket><Key>${claims.channel}/${kind.folder}/${claims.name}/${claims.version}/${claims.basename}</Key></PostResponse>\n`, {
        status: 201,
        headers: { "content-type": "application/xml", "cache-control": "no-store" },
      });
    }
    const [subdir, filename] = claims.basename.split("/") as [string, string];
    const published: string[] = [];
    for (const label of claims.labels) {
      const r = await uploadCondaPackage({ catalog: deps.catalog, principal: p }, conda, claims.channel, () => ({ filename, label, existing: "refuse", body: createReadStream(f.path), contentLength: f.size, subdir }));
      published.push(...r.published.map((x) => `${label}/${x}`));
    }
    const key = `${claims.channel}/${claims.basename}`;
    return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Bucket>${claims.channel}</Bucket><Key>${key}</Key><Labels>${claims.labels.join(",")}</Labels></PostResponse>\n`, {
      status: 201,
      headers: { "content-type": "application/xml", "cache-control": "no-store" },
    });
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    body.resume();
    const code = e.status === 401 || e.status === 403 ? "AccessDenied" : (S3_CODES[e.code] ?? "InvalidRequest");
    return s3Error(e.status === 401 ? 403 : e.status, code, e.message);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

// ---- the route table -----------------------------------------------------------------------

const tag = "anaconda-client";
const distSchema: Schema = {
  type: "object",
  properties: { basename: { type: "string" }, owner: { type: "string" }, package: { type: "string" }, version: { type: "string" }, labels: { type: "array", items: { type: "string" } } },
  required: ["basename", "labels"],
};
const DIST = "/dist/{owner}/{pkg}/{ver}/{subdir}/{file}";

const condaUploadRoutes: ApiRoute[] = [
  {
    method: "GET",
    path: DIST,
    operationId: "anacondaDistribution",
    summary: "Whether a conda package file is in the channel, and in which labels (anaconda upload's check before --force / --skip).",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "the file and its labels", schema: distSchema },
    errors: [404, 503],
    handle: getDist,
  },
  {
    method: "DELETE",
    path: DIST,
    operationId: "anacondaRemoveDistribution",
    summary: "Take a conda package file out of every label of the channel (anaconda upload --force, before it uploads again).",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "the labels it was removed from", schema: distSchema },
    errors: [404, 503],
    handle: deleteDist,
  },
  {
    method: "GET",
    path: "/package/{owner}/{pkg}",
    operationId: "anacondaPackage",
    summary: "A conda package of the channel, while some label holds a file of it.",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "the package", schema: { type: "object" } },
    errors: [404, 503],
    handle: getPackage,
  },
  {
    method: "POST",
    path: "/package/{owner}/{pkg}",
    operationId: "anacondaAddPackage",
    summary: "anaconda-client's package creation: pkgate keeps no package records, so this answers created once the caller may upload the package.",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "created", schema: { type: "object" } },
    errors: [503],
    handle: created,
  },
  {
    method: "GET",
    path: "/release/{owner}/{pkg}/{ver}",
    operationId: "anacondaRelease",
    summary: "A version of a conda package, while some label holds a file of it.",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "the release and its files", schema: { type: "object" } },
    errors: [404, 503],
    handle: getRelease,
  },
  {
    method: "POST",
    path: "/release/{owner}/{pkg}/{ver}",
    operationId: "anacondaAddRelease",
    summary: "anaconda-client's release creation: answered as created (pkgate keeps no release records).",
    tag,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "created", schema: { type: "object" } },
    errors: [503],
    handle: created,
  },
  {
    method: "POST",
    path: "/stage/{owner}/{pkg}/{ver}/{subdir}/{file}",
    operationId: "anacondaStage",
    summary: `Stage a conda package upload: answers a post_url on this gateway, signed for this channel, these labels (channels; none: main), this file and its sha256, usable once within ${POST_URL_LIFETIME / 60} minutes, with no Authorization header (multipart, field "file"; 201).`,
    tag,
    auth: "token",
    action: "conda:upload",
    request: {
      type: "object",
      properties: {
        distribution_type: { type: "string", const: "conda" },
        description: { type: ["string", "null"] },
        attrs: { type: ["object", "null"] },
        dependencies: {},
        channels: { type: "array", items: { type: "string" }, description: "labels; empty: main" },
        sha256: { type: "string", description: "hex" },
      },
      required: ["sha256"],
    },
    response: { status: 200, description: "where to POST the file", schema: { type: "object", properties: { post_url: { type: "string" }, form_data: { type: "object" }, dist_id: { type: "string" } }, required: ["post_url", "form_data", "dist_id"] } },
    errors: [404, 503],
    handle: stage,
  },
  {
    // answered by anacondaFilePost, registered ahead of the table (index.ts): it speaks S3's XML
    // and reads no Authorization header; this entry documents it
    method: "POST",
    path: `${FILE_POST_PATH}/{token}`,
    operationId: "anacondaFilePost",
    summary: "The post_url stage answered: the package file, multipart (form_data's fields, Content-Length, Content-MD5, then `file`), no Authorization header — the signed URL authorises it, once, for 15 minutes. 201; refusals are S3's XML <Error><Code/><Message/></Error>, as anaconda-client reads them.",
    tag,
    auth: "optional",
    action: null,
    body: "stream",
    rawRequest: { contentType: "multipart/form-data", description: "form_data's fields, Content-Length, Content-MD5 (base64), then the file as `file`" },
    response: { status: 201, description: "published into each label the stage named" },
    errors: [403, 409, 413, 503],
    async handle() {
      throw new GateError("internal", "the file POST is answered by anacondaFilePost");
    },
  },
  {
    method: "POST",
    path: "/commit/{owner}/{pkg}/{ver}/{subdir}/{file}",
    operationId: "anacondaCommit",
    summary: "Finish an anaconda upload: the file is published by its POST to post_url; this confirms it is there.",
    tag,
    auth: "token",
    action: "conda:upload",
    request: { type: "object", properties: { dist_id: { type: "string" } }, required: ["dist_id"] },
    response: { status: 200, description: "the published file", schema: distSchema },
    errors: [404, 503],
    handle: commit,
  },
];

/** An environment's or notebook's file has no subdir: the same operations, with one `{basename}`
 * (its kind is its extension, and distribution_type must say the same: env, ipynb). */
const KIND_VARIANTS: Record<string, string> = { anacondaDistribution: "anacondaKindDistribution", anacondaRemoveDistribution: "anacondaRemoveKindDistribution", anacondaStage: "anacondaStageKind", anacondaCommit: "anacondaCommitKind" };

export const anacondaUploadRoutes: ApiRoute[] = [
  ...condaUploadRoutes,
  ...condaUploadRoutes
    .filter((r) => KIND_VARIANTS[r.operationId])
    .map((r): ApiRoute => ({
      ...r,
      path: r.path.replace("/{subdir}/{file}", "/{basename}"),
      operationId: KIND_VARIANTS[r.operationId]!,
      summary: `${r.summary} For an environment (.yml, .yaml) or a notebook (.ipynb): no subdir, no labels.`,
      ...(r.request ? { request: { ...r.request, properties: { ...(r.request.properties as object), ...(r.operationId === "anacondaStage" ? { distribution_type: { type: "string", enum: ["env", "ipynb"] } } : {}) } } } : {}),
    })),
];
