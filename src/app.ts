// The Hono app (middleware and routes) and the gateway's Node request listener, which hands
// the gate's GET and HEAD to http/direct.ts and everything else to the app. The request path
// itself reads top to bottom in http/gate.ts.
import { header } from "./http/headers.js";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { getRequestListener } from "@hono/node-server";
import { randomBytes } from "node:crypto";
import type { Logger } from "./log.js";
import { logRequest, redactPath, redactSecrets } from "./log.js";
import { GateError } from "./errors.js";
import "./http/vars.js";
import { errorResponse } from "./http/error-response.js";
import { gatePathToken, rawPath, routeGate, serveGate, type GateDeps } from "./http/gate.js";
import { identify } from "./http/identify.js";
import { nodeFetch, type NodeBindings } from "./http/send.js";
import { directListener } from "./http/direct.js";
import { clientOf } from "./http/proxy.js";
import { apiRoutes } from "./api/index.js";
import { webRoutes } from "./web/index.js";
import { oidcExchangeRoutes } from "./api/publishers.js";
import type { OidcExchange } from "./oidc/exchange.js";
import type { Cache } from "./cache/cache.js";
import type { Metrics } from "./metrics.js";
import type { WebConfig } from "./config.js";
import type { PypiRegistry } from "./pypi/registry.js";
import type { RequestListener, ServerResponse } from "node:http";

export interface AppDeps extends GateDeps {
  logger: Logger;
  metrics: Metrics;
  signup: "open" | "admin";
  trustProxy: string[];
  /** The shared cache: the API's password throttle counts wrong passwords there. */
  cache: Cache;
  /** TOKEN_MAX_AGE (seconds): no token the API issues lives longer. */
  tokenMaxAge?: number;
  /** MAX_CONDA_UPLOAD (bytes): the largest conda package the upload route accepts. */
  maxCondaUploadBytes?: number;
  /** Readiness of the parts: what is wrong with each, or null when it is fine. Without the
   * store nothing is served (503); without the cache the gateway serves, degraded (200). */
  readiness: () => Promise<{ store: string | null; cache: string | null }>;
  /** The web pages' configuration (SESSION_SECRET, SMTP_URL, MAIL_FROM, PUBLIC_URL). */
  web?: WebConfig;
  /** Trusted publishing: publishers and the ID-token exchange (absent: it answers 503). */
  oidc?: OidcExchange;
  /** The one PyPI registry of the gateway, for the API and the pages (the PyPI door has it too). */
  pypiProjects?: PypiRegistry;
}

export function createApp(deps: AppDeps): Hono<{ Bindings: NodeBindings }> {
  const app = new Hono<{ Bindings: NodeBindings }>();
  const base = deps.basePath;

  app.use("*", accessLog(deps));
  app.onError(onError(deps));
  app.notFound((c) => errorResponse(new GateError("not_found", "not found"), c, deps.logger, deps.metrics));

  // Probes ask at the root whatever BASE_PATH is (a kubelet or a load balancer talks to the
  // process, not through the prefix); under the prefix too, for whoever reaches it that way.
  for (const prefix of base ? ["", base] : [""]) {
    app.get(`${prefix}/healthz`, (c) => {
      c.set("route", "health");
      return c.json({ status: "ok" });
    });
    // Ready while the store answers. Without Redis the gateway still serves (from the store,
    // each replica caching for itself): it stays in the load balancer, and says so here.
    app.get(`${prefix}/readyz`, async (c) => {
      c.set("route", "health");
      const parts = await deps.readiness();
      const status = parts.store ? "unavailable" : parts.cache ? "degraded" : "ok";
      return c.json({ status, parts }, parts.store ? 503 : 200);
    });
  }

  app.route(`${base}/api`, apiRoutes(deps));
  // uv and gh-action-pypi-publish ask https://<host>/_/oidc/... whatever the upload URL's path
  // (uv-publish trusted_publishing/pypi.rs): at the root, and under BASE_PATH for proxies
  // that forward only that
  const exchange = oidcExchangeRoutes(deps.oidc);
  for (const prefix of base ? ["", base] : [""]) app.route(`${prefix}/_/oidc`, exchange);
  // the web pages: `/` and their reserved top-level names only, under BASE_PATH (web/index.ts)
  app.route("/", webRoutes(deps));
  // route → identify → decide and serve (each door decides through access/authorize.ts)
  app.on(["GET", "HEAD", "POST"], "*", ...gateSteps(deps));
  app.all("*", () => {
    throw new GateError("method_not_allowed", "only GET, HEAD and POST (uploads) are supported");
  });
  return app;
}

/** The gate's steps after the access log: route → identify → decide and serve (each door
 * decides through access/authorize.ts). Mounted on Hono for every method the gate has, and
 * run directly (http/direct.ts) for GET and HEAD under `/t/`. */
function gateSteps(deps: AppDeps): [MiddlewareHandler, MiddlewareHandler, (c: Context) => Promise<Response>] {
  return [routeGate(deps.basePath), identify(deps, gatePathToken), (c) => serveGate(c, deps)];
}

/** How every route answers what it throws. */
function onError(deps: AppDeps): (err: unknown, c: Context) => Response {
  return (err, c) => errorResponse(err, c, deps.logger, deps.metrics);
}

/** The Node request listener of a gateway: GET and HEAD of the gate's token URLs
 * (`BASE_PATH/t/...`, which no API route or page shares) run the gate's steps directly
 * (http/direct.ts); everything else goes through the Hono app. `direct: false` sends
 * everything through Hono (the tests compare both ways). */
export function nodeListener(deps: AppDeps, opts: { direct?: boolean } = {}): { app: Hono<{ Bindings: NodeBindings }>; listener: RequestListener } {
  const app = createApp(deps);
  const viaHono = getRequestListener(nodeFetch(app.fetch));
  if (opts.direct === false) return { app, listener: viaHono };
  const direct = directListener([accessLog(deps), ...gateSteps(deps)], onError(deps), deps.logger);
  const prefix = `${deps.basePath}/t/`;
  // what the adapter refuses before Hono sees it (a missing or malformed Host, a backslash
  // in the target) goes there too, so it is refused the same way
  const plainHost = /^[A-Za-z0-9.:[\]-]+$/;
  const listener: RequestListener = (req, res) => {
    const url = req.url;
    const takesDirect = (req.method === "GET" || req.method === "HEAD") && url !== undefined && url.startsWith(prefix) && !url.includes("\\") && plainHost.test(req.headers.host ?? "");
    if (takesDirect) void direct(req, res);
    else void viaHono(req, res);
  };
  return { app, listener };
}

/** The access log and metrics of every request, and its X-Request-Id: the first step of
 * every route, Hono's and the direct gate's (http/direct.ts). */
function accessLog(deps: AppDeps): MiddlewareHandler {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    const peer = c.env?.incoming?.socket?.remoteAddress ?? "unknown";
    const client = clientOf(peer, header(c, "x-forwarded-for"), deps.trustProxy);
    c.set("clientAddress", client);
    const reqId = sanitizeRequestId(header(c, "x-request-id")) ?? newRequestId();
    c.set("reqId", reqId);
    const out = c.env?.outgoing;
    // on Node's response: bodies written straight to the socket (send.ts) have it, and the
    // adapter merges it into the head of every Response it writes; Hono's own headers only
    // when there is no Node response (app.request in tests)
    if (out) out.setHeader("x-request-id", reqId);
    else c.header("x-request-id", reqId);
    await next();
    // send.ts counts what it writes; anything else (JSON answers and errors, redirects) the
    // adapter writes from the Response once this returns: count that as it goes out
    const written = out && !out.headersSent && c.get("bytes") === undefined ? countBody(out) : null;
    const log = () => {
      const principal = c.get("principal");
      const tokenId = c.get("tokenId");
      const status = out?.statusCode ?? c.res.status;
      // with Node's response and none of the above: a head without a body (304, HEAD, 416)
      const bytes = c.get("bytes") ?? written?.() ?? (out ? 0 : Number(c.res.headers.get("content-length") ?? 0));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = c.get("route") ?? "other";
      deps.metrics.requests.inc({ route, status: String(status) });
      deps.metrics.latency.observe({ route }, seconds);
      if (bytes) deps.metrics.bytes.inc({ route }, bytes);
      logRequest(deps.logger, {
        reqId,
        method: c.req.method,
        path: redactPath(rawPath(c), tokenId),
        query: queryOf(c.env?.incoming?.url ?? c.req.url),
        referer: clip(header(c, "referer")),
        status,
        bytes,
        ms: Math.round(seconds * 1e6) / 1000,
        client,
        tokenId,
        tokenName: principal?.token?.name,
        account: principal?.account ?? undefined,
        aborted: out ? !out.writableFinished : undefined,
        ua: clip(header(c, "user-agent")),
      });
    };
    if (out && !out.writableFinished) out.once("close", log);
    else log();
  };
}

/** Request text as it may be logged: every token-shaped string removed, whatever its
 * encoding, before it is cut to length (a cut could leave part of a token behind). */
function clip(text: string | undefined): string | undefined {
  return text === undefined ? undefined : redactSecrets(text).slice(0, 200);
}

function queryOf(url: string): string | undefined {
  const q = url.indexOf("?");
  return q === -1 ? undefined : clip(url.slice(q + 1));
}

/** Counts the body bytes given to a response from now on; returns the running total. Node
 * drops a HEAD's body, and Hono hands the adapter none for it. */
function countBody(out: ServerResponse): () => number {
  let n = 0;
  const count = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === "string") n += Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
    else if (chunk instanceof Uint8Array) n += chunk.byteLength;
  };
  const { write, end } = out;
  out.write = function (this: ServerResponse, ...args: Parameters<ServerResponse["write"]>) {
    count(args[0], args[1]);
    return write.apply(this, args as never);
  } as ServerResponse["write"];
  out.end = function (this: ServerResponse, ...args: unknown[]) {
    if (typeof args[0] !== "function") count(args[0], args[1]);
    return end.apply(this, args as never);
  } as ServerResponse["end"];
  return () => n;
}

/** Request ids made up here: this process's random prefix and a counter, unique across
 * replicas and restarts as a UUID is, at a fraction of its cost. */
const REQUEST_ID_PREFIX = `${randomBytes(6).toString("hex")}-`;
let requestSeq = 0;
const newRequestId = () => REQUEST_ID_PREFIX + (++requestSeq).toString(36);

function sanitizeRequestId(id: string | undefined): string | undefined {
  return id && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined;
}
