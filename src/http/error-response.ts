// How a refusal or a failure is answered: a GateError becomes a JSON body with `error` (a
// stable code) and `message` (what conda prints); store and cache outages become a 503.
import type { Context } from "hono";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Logger } from "../log.js";
import { GateError } from "../errors.js";
import type { Metrics } from "../metrics.js";

/** GateError → JSON body with `error` (stable code) and `message` (conda prints it). */
export function errorResponse(err: unknown, c: Context, logger: Logger, metrics?: Metrics): Response {
  let e: GateError;
  if (err instanceof GateError) e = err;
  else if (err instanceof Error && (err.name === "StoreUnavailable" || err.name === "CacheUnavailable")) {
    metrics?.storeErrors.inc({ kind: err.name === "StoreUnavailable" ? "store" : "cache" });
    logger.warn({ msg: "backend unavailable", err: err.message });
    e = new GateError("unavailable", "the package store is unavailable, retry later", { "retry-after": "5" });
  } else {
    logger.error({ msg: "internal error", err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
    e = new GateError("internal", "internal error");
  }
  if (e.status === 401 && e.code.startsWith("token_")) metrics?.authFailures.inc({ reason: e.code });
  const out = (c.env as { outgoing?: import("node:http").ServerResponse } | undefined)?.outgoing;
  if (out?.headersSent) {
    // the body was already on its way: a second head is impossible, cut the connection so
    // the client sees a short body rather than a complete-looking one
    out.destroy();
    return RESPONSE_ALREADY_SENT;
  }
  const headers: Record<string, string> = { "cache-control": "no-store", ...e.headers };
  if (e.status === 401) headers["www-authenticate"] = 'Basic realm="pkgate", charset="UTF-8"';
  if (e.status === 405) headers["allow"] = "GET, HEAD, POST";
  const body = c.req.method === "HEAD" ? null : JSON.stringify({ error: e.code, message: e.message });
  return new Response(body, { status: e.status, headers: { "content-type": "application/json", ...headers } });
}
