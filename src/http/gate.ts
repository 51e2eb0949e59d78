// The request path of the gateway, top to bottom: route → identify → decide → serve.
// Everything a channel URL can reach goes through here. app.ts mounts the three steps in
// order: routeGate (pure parse), identify (http/identify.ts, shared with the API), serveGate
// (the doors, each deciding through access/authorize.ts).
import type { Context, MiddlewareHandler } from "hono";
import "./vars.js";
import { notFound } from "../errors.js";
import { parseTarget, type Target } from "./target.js";
import type { Catalog } from "../access/catalog.js";
import type { Account, Principal } from "../access/model.js";
import { serveConda, type CondaDeps } from "./conda.js";
import type { IdentifyDeps } from "./identify.js";

export interface GateDeps extends CondaDeps, IdentifyDeps {
  catalog: Catalog;
  basePath: string;
  /** Told of every channel without an account (no I/O on the request path): the
   * operator's hint for a store folder no account owns (ops/unowned-folders.ts). */
  unownedFolders?: { missed(channel: string): void };
  /** PyPI serving, wired in by the PyPI module. */
  pypi?: (c: Context, t: Extract<Target, { kind: `pypi-${string}` }>, principal: Principal, account: Account | null) => Promise<Response>;
}

/** 1 route: parse the path into a Target (pure; hostile input ends here, before any
 * credential or store is looked at). PEP 503 redirects are answered here. */
export function routeGate(basePath: string): MiddlewareHandler {
  return async (c, next) => {
    // every POST to the gate is an upload attempt: its refusals, from the parse on, carry the
    // reason in the status line, which is all twine prints (error-response.ts)
    if (c.req.method === "POST") c.set("route", "pypi-upload");
    let path = rawPath(c);
    if (basePath) {
      if (path !== basePath && !path.startsWith(basePath + "/")) throw notFound();
      path = path.slice(basePath.length) || "/";
    }
    const target = parseTarget(c.req.method, path);
    c.set("route", target.kind);
    if (target.kind === "redirect") {
      return new Response(null, { status: 301, headers: { location: target.location, "cache-control": "public, max-age=300" } });
    }
    c.set("target", target);
    await next();
  };
}

/** The token in a gate URL's path, for the identify step. */
export const gatePathToken = (c: Context): string | undefined => c.get("target")?.pathToken;

/** 4 serve: the channel's account (null when there is none: every door answers that exactly
 * as it answers what the caller may not see), then the door of the target's kind. */
export async function serveGate(c: Context, deps: GateDeps): Promise<Response> {
  const target = c.get("target");
  const principal = c.get("principal");
  const account = await deps.catalog.getAccount(target.channel);
  if (account === null) deps.unownedFolders?.missed(target.channel);
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
