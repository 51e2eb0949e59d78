// Who is at the browser: the session cookie → the principal the pages act with, set on the
// same context variables the identify middleware sets for the gate and the API.
//
// The session's principal is the one the Identifier produces for the session's token, with
// `token: null`: authorize()'s principal without a token, which holds its account's rights
// and no token's bounds. A person who signed in with their password may do what their
// account may do (create a token of any scope for it, living a year); a token, whatever door
// it comes through, stays bounded by its scopes and its expiry.
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { randomBytes } from "node:crypto";
import "../http/vars.js";
import { GateError } from "../errors.js";
import { ANONYMOUS, type Account, type Principal } from "../access/model.js";
import { hashToken, tokenId } from "../auth/token.js";
import { isTrustedProxy } from "../http/proxy.js";
import { header } from "../http/headers.js";
import { openSession, sealSession, SESSION_COOKIE, SESSION_IDLE_SECONDS } from "./session.js";
import { CSRF_COOKIE, formToken } from "./csrf.js";
import type { Web } from "./web.js";

export interface Visitor {
  /** The principal pages act with: ANONYMOUS when nobody is signed in. */
  principal: Principal;
  /** The signed-in user's account. */
  user: Account | null;
  /** The public id of the session's token: what sign-out revokes. */
  sessionId: string | null;
  /** What this browser's forms are bound to (see csrf.ts). */
  binding: string;
  /** The token this browser's forms carry. */
  formToken: string;
  /** A session cookie came, but its session has ended (signed out elsewhere, or expired). */
  ended: boolean;
}

declare module "hono" {
  interface ContextVariableMap {
    visitor: Visitor;
  }
}

/** The principal of a session whose token identified as `principal`. */
export function sessionPrincipal(principal: Principal): Principal {
  return { ...principal, token: null };
}

/** Whether the browser reached us over TLS: PUBLIC_URL says so, or a trusted proxy does
 * (X-Forwarded-Proto), or the request itself came over https. */
export function overTls(c: Context, web: Web): boolean {
  if (web.config.publicUrl !== null) return web.config.publicUrl.startsWith("https:");
  const peer = c.env?.incoming?.socket?.remoteAddress;
  if (peer && isTrustedProxy(peer, web.deps.trustProxy)) {
    const proto = header(c, "x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
    if (proto) return proto === "https";
  }
  return new URL(c.req.url).protocol === "https:";
}

/** The host the browser addressed: X-Forwarded-Host from a trusted proxy, else Host. */
export function requestHost(c: Context, web: Web): string | undefined {
  const peer = c.env?.incoming?.socket?.remoteAddress;
  const forwarded = peer && isTrustedProxy(peer, web.deps.trustProxy) ? header(c, "x-forwarded-host")?.split(",")[0]?.trim() : undefined;
  return forwarded || header(c, "host") || undefined;
}

/** The gateway's address as the browser sees it (conda lines, mail links): PUBLIC_URL's
 * origin, else the request's scheme and host; then BASE_PATH. */
export function publicBase(c: Context, web: Web): string {
  const origin = web.config.publicUrl !== null ? new URL(web.config.publicUrl).origin : `${overTls(c, web) ? "https" : "http"}://${requestHost(c, web) ?? "localhost"}`;
  return `${origin}${web.base}`;
}

function cookieOptions(c: Context, web: Web, maxAge?: number) {
  return { path: web.base || "/", httpOnly: true, sameSite: "Lax" as const, secure: overTls(c, web), ...(maxAge !== undefined ? { maxAge } : {}) };
}

/** Give the browser a session standing on `token`. */
export async function startSession(c: Context, web: Web, token: string): Promise<void> {
  const keys = await web.keys();
  setCookie(c, SESSION_COOKIE, await sealSession(keys.session, token, web.now()), cookieOptions(c, web, SESSION_IDLE_SECONDS));
}

export function endSession(c: Context, web: Web): void {
  deleteCookie(c, SESSION_COOKIE, { path: web.base || "/", secure: overTls(c, web) });
}

/** Middleware: open the session, identify its token, and set the visitor. */
export function visit(web: Web): MiddlewareHandler {
  return async (c, next) => {
    const keys = await web.keys();
    const opened = await openSession(keys.session, getCookie(c, SESSION_COOKIE), web.now());
    let principal = ANONYMOUS;
    let user: Account | null = null;
    let sessionId: string | null = null;
    let ended = false;
    if (opened) {
      try {
        // the one identification of every door: revoked and expired tokens are refused here
        const identity = await web.deps.identifier.identify(opened.token);
        if (identity.account?.kind === "user") {
          principal = sessionPrincipal(identity.principal);
          user = identity.account;
          sessionId = tokenId(hashToken(opened.token));
          c.set("tokenId", sessionId);
          if (opened.renew) await startSession(c, web, opened.token);
        } else ended = true;
      } catch (err) {
        if (!(err instanceof GateError) || err.status !== 401) throw err;
        ended = true;
      }
    } else if (getCookie(c, SESSION_COOKIE) !== undefined) ended = true;
    if (ended) endSession(c, web);
    let binding = sessionId;
    if (binding === null) {
      binding = getCookie(c, CSRF_COOKIE) ?? "";
      if (!/^[A-Za-z0-9_-]{32}$/.test(binding)) {
        binding = randomBytes(24).toString("base64url");
        setCookie(c, CSRF_COOKIE, binding, cookieOptions(c, web));
      }
    }
    c.set("principal", principal);
    c.set("me", user);
    c.set("visitor", { principal, user, sessionId, binding, formToken: formToken(keys.csrf, binding), ended });
    await next();
  };
}
