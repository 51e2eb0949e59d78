// The request path of the gateway, top to bottom: route → identify → decide → serve.
// Everything a channel URL can reach goes through here.
import { header } from "./headers.js";
import type { Context } from "hono";
import { GateError, notFound } from "../errors.js";
import { parseTarget, type Target } from "./target.js";
import { extractToken, type Identifier } from "../auth/identify.js";
import { covers } from "../auth/scopes.js";
import type { Catalog } from "../access/catalog.js";
import type { Account, Principal } from "../access/model.js";
import { serveConda, type CondaDeps } from "./conda.js";
import type { AuthFailures } from "./auth-failures.js";
import { VAR_AUTHENTICATED } from "./send.js";

export interface GateDeps extends CondaDeps {
  catalog: Catalog;
  identifier: Identifier;
  failures: AuthFailures;
  basePath: string;
  /** PyPI serving, wired in by the PyPI module. */
  pypi?: (c: Context, t: Extract<Target, { kind: `pypi-${string}` }>, principal: Principal, account: Account) => Promise<Response>;
}

/** Context variables the access log reads. */
export const VAR_TOKEN_ID = "tokenId";
export const VAR_PRINCIPAL = "principal";
/** The kind of route (target kind), for metrics. */
export const VAR_ROUTE = "route";

export async function handleGate(c: Context, deps: GateDeps): Promise<Response> {
  let path = rawPath(c);
  if (deps.basePath) {
    if (path !== deps.basePath && !path.startsWith(deps.basePath + "/")) throw notFound();
    path = path.slice(deps.basePath.length) || "/";
  }

  // 1 route: pure, hostile input ends here
  const target = parseTarget(c.req.method, path);
  c.set(VAR_ROUTE as never, target.kind as never);
  if (target.kind === "redirect") {
    return new Response(null, { status: 301, headers: { location: target.location, "cache-control": "public, max-age=300" } });
  }

  // 2 identify
  const creds = extractToken({ pathToken: target.pathToken, authorization: header(c, "authorization") });
  if (creds.id) c.set(VAR_TOKEN_ID as never, creds.id as never);
  if (creds.token) c.set(VAR_AUTHENTICATED as never, true as never);
  const client = clientAddress(c);
  if (creds.token) deps.failures.check(client);
  let principal: Principal;
  try {
    principal = await deps.identifier.identify(creds.token);
  } catch (err) {
    if (err instanceof GateError && err.status === 401) deps.failures.record(client);
    throw err;
  }
  c.set(VAR_PRINCIPAL as never, principal as never);

  // 3 decide (the scope part; per-package decisions need the package and happen in serve)
  const need = target.kind === "pypi-upload" ? "pypi:upload" : target.kind.startsWith("pypi-") ? "pypi:download" : "conda:download";
  if (principal.token && !covers(principal.scopes, need)) {
    throw new GateError("insufficient_scope", `The token "${principal.token.name}" does not have the ${need} scope (it has: ${principal.scopes.join(" ") || "none"}).`);
  }
  const account = await deps.catalog.getAccount(target.channel);
  if (!account) throw notFound("no such channel");

  // 4 serve
  switch (target.kind) {
    case "conda-jlap":
      // JLAP patches would need a filtered twin per view; clients fall back to repodata.json
      throw notFound();
    case "conda-index":
    case "conda-shard":
    case "conda-artifact":
    case "channeldata":
      return serveConda(c, deps, target, principal, account);
    default:
      if (!deps.pypi) throw notFound();
      return deps.pypi(c, target, principal, account);
  }
}

/** The path exactly as the client sent it: the WHATWG URL parser would resolve `%2e%2e`
 * and `..` before we could refuse them. */
export function rawPath(c: Context): string {
  const raw = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  if (!raw || !raw.startsWith("/")) return new URL(c.req.url).pathname;
  const q = raw.indexOf("?");
  return q === -1 ? raw : raw.slice(0, q);
}

/** The client's address for rate limits: the socket peer (X-Forwarded-For only from trusted proxies, see app.ts). */
export function clientAddress(c: Context): string {
  return (c.get("clientAddress" as never) as string | undefined) ?? "unknown";
}
