// The /api router: every operation of the route tables, each taking the same short path —
// identify the caller (the shared middleware of http/identify.ts; HTTP Basic for login),
// parse the JSON body, run the handler (which authorizes through access/authorize.ts),
// answer JSON. Mounted by app.ts before the gate's catch-all route.
import { Hono, type Context } from "hono";
import "../http/vars.js";
import { GateError } from "../errors.js";
import { parseAuthorization } from "../auth/token.js";
import type { Cache } from "../cache/cache.js";
import { ANONYMOUS } from "../access/model.js";
import { clientAddress, identify } from "../http/identify.js";
import { DEFAULT_TOKEN_LIFETIME } from "../access/names.js";
import { PasswordThrottle, SignupThrottle, type ThrottleLimits } from "./throttle.js";
import type { ApiCall, ApiDeps, ApiRoute } from "./route.js";
import { userRoutes } from "./users.js";
import { orgRoutes } from "./orgs.js";
import { channelRoutes } from "./channels.js";
import { tokenRoutes } from "./tokens.js";
import { openApiDocument } from "./openapi.js";
import { anacondaErrors, anacondaRoutes, fromAnacondaClient } from "./anaconda.js";
import { condaRoutes, condaDeps } from "./conda.js";
import { pypiRoutes } from "./pypi.js";
import { PypiRegistry } from "../pypi/registry.js";
import { anacondaFilePost, anacondaUploadDeps, anacondaUploadRoutes, FILE_POST_PATH } from "./anaconda-upload.js";
import { anacondaLabelRoutes } from "./anaconda-labels.js";
import { DOWNLOAD_PATH, kindDownload, kindRoutes } from "./kinds.js";
import { KindFiles } from "../kinds/files.js";
import { publisherRoutes } from "./publishers.js";
import { Readable } from "node:stream";
import type { Store } from "../store/store.js";
import { readSmallBody } from "../http/body.js";

export interface ApiAppDeps extends Omit<ApiDeps, "throttle" | "signups" | "tokenMaxAge"> {
  cache: Cache;
  /** The store conda uploads are published into. */
  store?: Store;
  /** MAX_CONDA_UPLOAD (bytes). */
  maxCondaUploadBytes?: number;
  throttleLimits?: ThrottleLimits;
  /** TOKEN_MAX_AGE (seconds); one year when not given. */
  tokenMaxAge?: number;
  /** SESSION_SECRET and PUBLIC_URL (config.ts `web`): anaconda-client's post_urls are signed
   * with a key derived from the same master secret as the web sessions, and point at PUBLIC_URL;
   * SIGNUP_LIMIT, which the sign-ups of the API and the pages count against together. */
  web?: { sessionSecret: string | null; publicUrl: string | null; signupLimit?: number };
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
  action: null,
  response: { status: 200, description: "the OpenAPI 3.1 document", schema: { type: "object" } },
  errors: [],
  async handle(call) {
    return openApiDocument(API_ROUTES, call.deps.basePath, { tokenMaxAge: call.deps.tokenMaxAge });
  },
};

/** Every operation of the API, in the order the router tries them. */
export const API_ROUTES: readonly ApiRoute[] = [...userRoutes, ...orgRoutes, ...channelRoutes, ...tokenRoutes, ...condaRoutes, ...pypiRoutes, ...anacondaRoutes, ...anacondaUploadRoutes, ...anacondaLabelRoutes, ...kindRoutes, ...publisherRoutes, openApiRoute];

/** `/orgs/{org}` → `/orgs/:org` */
export const routerPath = (openApiPath: string): string => openApiPath.replace(/\{([^}]+)\}/g, ":$1");

export function apiRoutes(input: ApiAppDeps): Hono {
  const deps: ApiDeps = {
    catalog: input.catalog,
    identifier: input.identifier,
    failures: input.failures,
    basePath: input.basePath,
    signup: input.signup,
    tokenMaxAge: input.tokenMaxAge ?? DEFAULT_TOKEN_LIFETIME,
    throttle: new PasswordThrottle(input.cache, input.throttleLimits),
    signups: new SignupThrottle(input.cache, input.web?.signupLimit),
    conda: input.conda ?? condaDeps(input.store, input.cache, input.maxCondaUploadBytes),
    // the gateway's one registry (server.ts appDeps), shared with the PyPI door and the pages
    pypiProjects: input.pypiProjects ?? (input.store ? new PypiRegistry(input.store, input.cache) : undefined),
    oidc: input.oidc,
    kinds: input.store ? new KindFiles(input.store) : undefined,
    anacondaUploads: anacondaUploadDeps(input.store, input.cache, { sessionSecret: input.web?.sessionSecret ?? null, publicUrl: input.web?.publicUrl ?? null }),
  };
  const api = new Hono();
  api.use("*", anacondaErrors(`${deps.basePath}/api`));
  const identified = identify(deps);
  // anaconda-client's file POST to the post_url stage answered: no Authorization header (the
  // signed URL is the authority), answers in S3's XML (anaconda-upload.ts)
  api.post(`${FILE_POST_PATH}/:token`, (c) => anacondaFilePost(c, deps, requestBody(c)));
  // an environment's or notebook's bytes (kinds.ts), not JSON
  api.get(routerPath(DOWNLOAD_PATH), identified, (c) => kindDownload(c, deps));
  // anaconda-client's routes first: where one shares a path with pkgate's own (its label
  // listing is GET /channels/{owner}), the request's client decides, and pkgate's clients
  // fall through to the next route
  for (const route of API_ROUTES.filter((r) => r.client === "anaconda-client")) {
    api.on(route.method, routerPath(route.path), async (c, next) => {
      if (!fromAnacondaClient(c)) return void (await next());
      let res: Response | undefined;
      await identified(c, async () => {
        res = await serve(c, route, deps);
      });
      return res;
    });
  }
  for (const route of API_ROUTES.filter((r) => r.client === undefined)) {
    const path = routerPath(route.path);
    // login reads a user name and password from HTTP Basic: nothing there is a token
    if (route.auth === "basic") api.on(route.method, path, (c) => serve(c, route, deps));
    else api.on(route.method, path, identified, (c) => serve(c, route, deps));
  }
  api.all("*", (c) => {
    c.set("route", "api");
    throw new GateError("not_found", "no such API endpoint; the API is described at /api/openapi.json");
  });
  return api;
}

async function serve(c: Context, route: ApiRoute, deps: ApiDeps): Promise<Response> {
  c.set("route", "api");
  let basic: ApiCall["basic"];
  if (route.auth === "basic") {
    const creds = parseAuthorization(c.req.header("authorization"));
    if (creds.error) throw new GateError("bad_request", creds.error);
    if (creds.basicUser !== undefined && creds.basicPassword !== undefined) basic = { username: creds.basicUser, password: creds.basicPassword };
  }
  const principal = c.get("principal") ?? ANONYMOUS;
  const me = c.get("me") ?? null;
  if (route.auth === "token" && me === null) {
    throw new GateError("auth_required", "this needs a token: 'Authorization: Bearer <token>' (pkgate login gives one)");
  }
  const streamed = route.body === "stream";
  // a DELETE carries a body where the route describes one (anaconda-client's label removal)
  const body = !streamed && (route.method === "POST" || route.method === "PUT" || route.method === "PATCH" || (route.method === "DELETE" && route.request)) ? await readJson(c) : undefined;
  const stream = streamed ? { body: requestBody(c), contentType: c.req.header("content-type"), contentLength: lengthOf(c.req.header("content-length")) } : undefined;
  const query = c.req.query();
  const result = await route.handle({ deps, params: c.req.param() as Record<string, string>, body, client: clientAddress(c), principal, me, basic, query, stream, url: c.req.url });
  const headers = { "cache-control": "no-store" };
  if (route.response.status === 204) return c.body(null, 204, headers);
  return c.json(result as object, route.response.status, headers);
}

/** The request's body as Node gives it (unbuffered), else the web stream's. */
function requestBody(c: Context): Readable {
  const incoming = (c.env as { incoming?: Readable } | undefined)?.incoming;
  if (incoming) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as import("node:stream/web").ReadableStream) : Readable.from([]);
}

function lengthOf(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

async function readJson(c: Context): Promise<unknown> {
  const text = await readSmallBody(c, MAX_BODY_BYTES);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // never echo the body: it may hold a password
    throw new GateError("bad_request", "the request body is not valid JSON");
  }
}
