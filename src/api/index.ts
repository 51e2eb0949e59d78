// The /api router: every operation of the route tables, each taking the same short path —
// identify the token (or read HTTP Basic for login), check the API scope, parse the JSON
// body, run the handler, answer JSON. Mounted by app.ts before the gate's catch-all route.
import { Hono, type Context } from "hono";
import { GateError } from "../errors.js";
import { extractToken } from "../auth/identify.js";
import { parseAuthorization } from "../auth/token.js";
import type { Cache } from "../cache/cache.js";
import { clientAddress, VAR_PRINCIPAL, VAR_ROUTE, VAR_TOKEN_ID } from "../http/gate.js";
import { requireScope, type Actor } from "./rights.js";
import { PasswordThrottle, type ThrottleLimits } from "./throttle.js";
import type { ApiCall, ApiDeps, ApiRoute } from "./route.js";
import { userRoutes } from "./users.js";
import { orgRoutes } from "./orgs.js";
import { channelRoutes } from "./channels.js";
import { tokenRoutes } from "./tokens.js";
import { openApiDocument } from "./openapi.js";

export interface ApiAppDeps extends Omit<ApiDeps, "throttle"> {
  cache: Cache;
  throttleLimits?: ThrottleLimits;
}

/** A JSON body larger than this is not a control-plane request (group package lists
 * included). */
const MAX_BODY_BYTES = 256 * 1024;

const openApiRoute: ApiRoute = {
  method: "GET",
  path: "/openapi.json",
  operationId: "openapi",
  summary: "This document.",
  tag: "meta",
  auth: "optional",
  need: null,
  response: { status: 200, description: "the OpenAPI 3.1 document", schema: { type: "object" } },
  errors: [],
  async handle(call) {
    return openApiDocument(API_ROUTES, call.deps.basePath);
  },
};

/** Every operation of the API, in the order the router tries them. */
export const API_ROUTES: readonly ApiRoute[] = [...userRoutes, ...orgRoutes, ...channelRoutes, ...tokenRoutes, openApiRoute];

/** `/orgs/{org}` → `/orgs/:org` */
export const routerPath = (openApiPath: string): string => openApiPath.replace(/\{([^}]+)\}/g, ":$1");

export function apiRoutes(input: ApiAppDeps): Hono {
  const deps: ApiDeps = {
    catalog: input.catalog,
    identifier: input.identifier,
    failures: input.failures,
    basePath: input.basePath,
    signup: input.signup,
    throttle: new PasswordThrottle(input.cache, input.throttleLimits),
  };
  const api = new Hono();
  for (const route of API_ROUTES) api.on(route.method, routerPath(route.path), (c) => serve(c, route, deps));
  api.all("*", (c) => {
    c.set(VAR_ROUTE as never, "api" as never);
    throw new GateError("not_found", "no such API endpoint; the API is described at /api/openapi.json");
  });
  return api;
}

async function serve(c: Context, route: ApiRoute, deps: ApiDeps): Promise<Response> {
  c.set(VAR_ROUTE as never, "api" as never);
  const client = clientAddress(c);
  const authorization = c.req.header("authorization");
  let actor: Actor | null = null;
  let basic: ApiCall["basic"];

  if (route.auth === "basic") {
    // the login endpoint reads user name and password; nothing here is a token
    const creds = parseAuthorization(authorization);
    if (creds.error) throw new GateError("bad_request", creds.error);
    if (creds.basicUser !== undefined && creds.basicPassword !== undefined) basic = { username: creds.basicUser, password: creds.basicPassword };
  } else {
    actor = await identify(c, deps, authorization, client);
  }
  if (route.auth === "token" && !actor) {
    throw new GateError("auth_required", "this needs a token: 'Authorization: Bearer <token>' (pkgate login gives one)");
  }
  if (route.need && actor) requireScope(actor, route.need);

  const body = route.method === "POST" || route.method === "PUT" || route.method === "PATCH" ? await readJson(c) : undefined;
  const result = await route.handle({ deps, params: c.req.param() as Record<string, string>, body, client, actor, basic });
  const headers = { "cache-control": "no-store" };
  if (route.response.status === 204) return c.body(null, 204, headers);
  return c.json(result as object, route.response.status, headers);
}

/** The caller of a token-carrying request; bad tokens count against the client's address
 * exactly as on the gate. */
async function identify(c: Context, deps: ApiDeps, authorization: string | undefined, client: string): Promise<Actor | null> {
  const { token, id } = extractToken({ authorization });
  if (!token) return null;
  if (id) c.set(VAR_TOKEN_ID as never, id as never);
  deps.failures.check(client);
  let principal;
  try {
    principal = await deps.identifier.identify(token);
  } catch (err) {
    if (err instanceof GateError && err.status === 401) deps.failures.record(client);
    throw err;
  }
  c.set(VAR_PRINCIPAL as never, principal as never);
  const account = principal.account === null ? null : await deps.catalog.getAccount(principal.account);
  if (!account || principal.account === null) throw new GateError("token_invalid", "The token given is invalid: its account no longer exists.");
  return { principal: { ...principal, account: principal.account }, account };
}

async function readJson(c: Context): Promise<unknown> {
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw new GateError("payload_too_large", `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new GateError("payload_too_large", `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // never echo the body: it may hold a password
    throw new GateError("bad_request", "the request body is not valid JSON");
  }
}
