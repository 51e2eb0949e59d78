// How a refusal or a failure is answered, so that each client puts the reason on the screen
// (what each prints, read from its source: shared/PROTOCOLS.md):
//   - the body is JSON with `error` (the stable code callers switch on) and `message`; on the
//     gate's doors (conda, PyPI) it is RFC 9457 problem details (`application/problem+json`)
//     with the message as `detail` too, which conda (a problem's `detail`, else any JSON
//     `message`) and uv (downloads, `uv publish`: "Server message: …") print. The API keeps
//     the plain JSON its OpenAPI document describes;
//   - an upload's answer carries the reason in its status line too, as PyPI does: twine prints
//     the reason phrase and nothing of the body unless --verbose; so does a refused token's,
//     which pip prints (with -vv) for an index page and nothing of the body;
//   - a bad token given in the URL path (`/t/<token>/`) is answered 403, never 401: pip prompts
//     for a user name on any 401 (and dies on EOF in CI), and no credentials typed at a prompt
//     can mend a URL. Credentials from the Authorization header keep 401 and its challenge.
// Store and cache outages become a 503.
import type { Context } from "hono";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import "./vars.js";
import type { Logger } from "../log.js";
import { redactSecrets } from "../log.js";
import { GateError } from "../errors.js";
import type { Metrics } from "../metrics.js";

/** The refusals of a token itself (not of what it may do). */
const TOKEN_REFUSALS = new Set(["token_invalid", "token_malformed", "token_expired", "token_revoked"]);

/** Longest reason phrase sent: one line on a terminal, well within any header limit. */
const MAX_REASON = 200;

/** A message as a status line's reason phrase: one line of printable ASCII (Node refuses
 * anything else in a status line, and clients decode it as latin-1), no token-shaped text,
 * at most MAX_REASON characters. */
export function reasonPhrase(message: string): string {
  const line = redactSecrets(message)
    .replace(/[^\x20-\x7e]+/g, " ")
    .replace(/ {2,}/g, " ")
    .trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 3).trimEnd()}...` : line;
}

/** The status a refusal is answered with: its own, but 403 for a bad token from the path. */
function statusOf(e: GateError, c: Context): number {
  return TOKEN_REFUSALS.has(e.code) && c.get("tokenFrom") === "path" ? 403 : e.status;
}

/** GateError → JSON with `error` (stable code) and `message`; problem details on the gate's
 * doors (`detail`: what conda and uv print). */
export function errorResponse(err: unknown, c: Context, logger: Logger, metrics?: Metrics): Response {
  let e: GateError;
  if (err instanceof GateError) e = err;
  else if (err instanceof Error && (err.name === "StoreUnavailable" || err.name === "CacheUnavailable")) {
    metrics?.storeErrors.inc({ kind: err.name === "StoreUnavailable" ? "store" : "cache" });
    logger.warn({ msg: "backend unavailable", reqId: c.get("reqId"), err: err.message });
    e = new GateError("unavailable", "the package store is unavailable, retry later", { "retry-after": "5" });
  } else {
    logger.error({ msg: "internal error", reqId: c.get("reqId"), err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
    e = new GateError("internal", "internal error");
  }
  if (TOKEN_REFUSALS.has(e.code)) metrics?.authFailures.inc({ reason: e.code });
  const out = (c.env as { outgoing?: import("node:http").ServerResponse } | undefined)?.outgoing;
  if (out?.headersSent) {
    // the body was already on its way: a second head is impossible, cut the connection so
    // the client sees a short body rather than a complete-looking one
    out.destroy();
    return RESPONSE_ALREADY_SENT;
  }
  const status = statusOf(e, c);
  const headers: Record<string, string> = { "cache-control": "no-store", ...e.headers };
  if (status === 401) headers["www-authenticate"] = 'Basic realm="pkgate", charset="UTF-8"';
  if (status === 405) headers["allow"] = "GET, HEAD, POST";
  // The Node adapter writes the head without a reason phrase, so Node uses the response's
  // statusMessage: set here, before the head goes out. statusText serves app.request().
  // A refused token's reason goes there too: pip prints it for an index page ("403 Client
  // Error: <reason> for url", with -vv). It depends on the token alone, never on the target.
  let statusText: string | undefined;
  if (c.get("route") === "pypi-upload" || TOKEN_REFUSALS.has(e.code)) {
    statusText = reasonPhrase(e.message);
    if (out) out.statusMessage = statusText;
  }
  // a gate URL (its path parsed into a target) is asked by a package client
  const problem = c.get("target") !== undefined;
  let body: string | null = null;
  if (c.req.method !== "HEAD") body = JSON.stringify(problem ? { error: e.code, message: e.message, status, detail: e.message } : { error: e.code, message: e.message });
  return new Response(body, { status, statusText, headers: { "content-type": problem ? "application/problem+json" : "application/json", ...headers } });
}
