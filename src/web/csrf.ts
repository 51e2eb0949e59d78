// Forms that change something are accepted only when they come from our own pages, by two
// checks that must both pass:
//   1. the browser says where the form was posted from: `Sec-Fetch-Site` must be
//      same-origin when sent, and `Origin` (else the Referer's origin) must be ours when
//      sent ("null", a sandboxed or privacy-stripped origin, is refused);
//   2. the form carries a token only our pages can write: an HMAC, under a key derived
//      from the session secret, of what binds it to this browser (the session's token id
//      when signed in, else a random value in a cookie of its own), so a page elsewhere can
//      neither read nor compute it.
// Pure: no I/O, no HTTP library.
import { createHmac, timingSafeEqual } from "node:crypto";

/** The form field that carries the token. */
export const CSRF_FIELD = "_csrf";
/** The cookie binding the forms of a browser that is not signed in (sign in, sign up). */
export const CSRF_COOKIE = "pkgate_csrf";

/** The token of the forms bound to `binding`. */
export function formToken(key: Buffer, binding: string): string {
  return createHmac("sha256", key).update("form\0").update(binding).digest("base64url");
}

/** Whether `given` is the token of `binding` (in constant time). */
export function isFormToken(key: Buffer, binding: string, given: unknown): boolean {
  if (typeof given !== "string" || given.length > 128) return false;
  const want = Buffer.from(formToken(key, binding));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** What the browser said about where a request comes from. */
export interface Provenance {
  secFetchSite?: string;
  origin?: string;
  referer?: string;
}

/** Who we are: PUBLIC_URL's origin when configured (then it must match exactly), else the
 * host the request was sent to (the scheme may differ behind a proxy that ends TLS). */
export interface OwnOrigin {
  origin: string | null;
  host: string | undefined;
}

/** Whether the browser's account of the request says it comes from one of our pages. A
 * request that says nothing (no browser sends a form without Origin today) passes this
 * check and must pass the token check alone. */
export function fromOwnPages(p: Provenance, own: OwnOrigin): boolean {
  if (p.secFetchSite !== undefined && p.secFetchSite !== "same-origin") return false;
  const claimed = p.origin ?? (p.referer === undefined ? undefined : originOf(p.referer));
  if (claimed === undefined) return true;
  if (claimed === null || claimed === "null") return false;
  if (own.origin !== null) return claimed === own.origin;
  const host = hostOf(claimed);
  return host !== null && own.host !== undefined && host === own.host.toLowerCase();
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function hostOf(origin: string): string | null {
  try {
    const u = new URL(origin);
    return u.protocol === "http:" || u.protocol === "https:" ? u.host.toLowerCase() : null;
  } catch {
    return null;
  }
}
