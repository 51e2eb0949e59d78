// How the bytes of an artifact (a conda package file, a PyPI distribution file) reach the
// client once the gate has said yes: DOWNLOAD_MODE. The one place that decides it; the conda
// and PyPI doors call sendArtifact where they used to call sendObject.
//   stream    the gateway streams the object itself (send.ts).
//   redirect  a GET is answered with 302 to a URL presigned for that one object, valid for
//             PRESIGN_TTL seconds (S3 stores only): the client fetches the bytes from S3.
//   accel     a GET is answered with X-Accel-Redirect, and nginx in front sends the bytes:
//             from the store's directory with sendfile (<ACCEL_LOCATION>store/<key>), or from
//             S3 through a presigned URL it proxies (<ACCEL_LOCATION>s3, the URL in
//             X-Pkgate-Presigned, the range in X-Pkgate-Range). deploy/nginx/pkgate-accel.conf
//             is the other half.
// In every mode the gateway itself answers HEAD (a URL presigned for GET refuses HEAD, and uv
// sends HEAD), conditional requests that end in 304 or 412, and a Range that cannot be
// satisfied (416): only a GET that will carry bytes leaves. Indexes never come here.
import type { Context } from "hono";
import { close as fsClose } from "node:fs";
import { decide, quoteEtag } from "./conditional.js";
import { conditionalHeaders, send, sendObject, type SendOptions } from "./send.js";
import type { ObjectSource } from "./objects.js";
import type { ObjectInfo, Store } from "../store/store.js";

export type DownloadMode = "stream" | "redirect" | "accel";

export interface DownloadConfig {
  mode: DownloadMode;
  /** PRESIGN_TTL: seconds a presigned URL stays valid. */
  presignTtl: number;
  /** S3_PUBLIC_ENDPOINT: the S3 address clients reach (redirect); null: S3_ENDPOINT. */
  s3PublicEndpoint: string | null;
  /** ACCEL_LOCATION: the prefix of nginx's internal locations, '/'-terminated. */
  accelLocation: string;
}

/** Carries the presigned URL from the gateway to nginx (accel with S3); nginx never passes it on. */
export const PRESIGNED_HEADER = "x-pkgate-presigned";

/** The byte range nginx asks S3 for (accel with S3); absent: the whole object. */
export const RANGE_HEADER = "x-pkgate-range";

/** A redirect is for this caller, now: no cache may keep or share it. */
const REDIRECT_CACHE_CONTROL = "private, no-store";

/** The answer to a request for an artifact the caller may download, or null when the object
 * does not exist (the door then answers exactly as for a hidden one). */
export async function sendArtifact(c: Context, cfg: DownloadConfig | undefined, objects: ObjectSource, key: string, opts: SendOptions): Promise<Response | null> {
  if (!cfg || cfg.mode === "stream") return sendObject(c, objects, key, opts);
  const { store } = objects;
  const h = conditionalHeaders(c);
  const info = await lookup(objects, key, h.ifNoneMatch !== undefined || h.ifModifiedSince !== undefined);
  if (!info) return null;
  const method = c.req.method;
  const d = decide(h, info, method);
  if (method !== "GET" || (d.status !== 200 && d.status !== 206)) {
    // HEAD, 304, 412, 416: from the validators alone; the body is never opened
    return send(c, { kind: "stream", info, open: (range, signal) => store.read(key, range, signal) }, opts);
  }
  if (cfg.mode === "redirect") {
    const location = await store.presignGet!(key, cfg.presignTtl, { endPoint: cfg.s3PublicEndpoint ?? undefined, contentType: opts.contentType });
    return new Response(null, { status: 302, headers: { location, "cache-control": REDIRECT_CACHE_CONTROL } });
  }
  return accel(cfg, store, key, info, d.status === 206 ? d : null, opts);
}

/** The object's validators, at the store cost ObjectSource.probe pays for a hidden one
 * (send.ts probeObject, what the doors do before refusing), so that a missing object costs
 * what a hidden one does: an open on a directory store (closed at once: nginx opens the file
 * itself), a stat when the request is conditional or the store is S3. */
async function lookup(objects: ObjectSource, key: string, conditional: boolean): Promise<ObjectInfo | null> {
  const { store } = objects;
  if (conditional || !store.openFile) return objects.stat(key);
  const f = await store.openFile(key);
  if (!f) return null;
  fsClose(f.fd, () => undefined);
  return f.info;
}

/** nginx keeps Content-Type and Cache-Control of this answer (and the ETag its location adds
 * back). A file is cut by nginx from the request's own Range and If-Range (the same size and
 * validator the gateway judged); S3 gets the range the gateway decided (X-Pkgate-Range: one
 * explicit first-last, none when If-Range failed), so what S3 makes of a suffix range or an
 * If-Range never matters. */
async function accel(cfg: DownloadConfig, store: Store, key: string, info: ObjectInfo, range: { start: number; end: number } | null, opts: SendOptions): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": opts.contentType,
    "cache-control": opts.cacheControl,
    etag: quoteEtag(info.etag),
  };
  if (store.localPath) {
    headers["x-accel-redirect"] = `${cfg.accelLocation}store/${key.split("/").map(encodeURIComponent).join("/")}`;
  } else {
    headers["x-accel-redirect"] = `${cfg.accelLocation}s3`;
    headers[PRESIGNED_HEADER] = await store.presignGet!(key, cfg.presignTtl, { contentType: opts.contentType });
    if (range) headers[RANGE_HEADER] = `bytes=${range.start}-${range.end}`;
  }
  return new Response(null, { status: 200, headers });
}
