// Identify once: the one middleware that turns a request's credentials (a path token, an
// `Authorization: Bearer` token, the password of HTTP Basic auth) into a principal and its
// account, on typed context variables. The gate and the API both mount it; nothing else
// reads credentials. A lookup that must read the store for a token no cache knows is charged
// to the client's address (auth-failures.ts); a known token is never refused for it.
import type { Context, MiddlewareHandler } from "hono";
import "./vars.js";
import { extractToken, type Identifier } from "../auth/identify.js";
import type { AuthFailures } from "./auth-failures.js";
import { header } from "./headers.js";
import { addressBucket } from "./address-bucket.js";
import { GateError } from "../errors.js";

export interface IdentifyDeps {
  identifier: Identifier;
  failures: AuthFailures;
}

/** The client as every per-address limit counts it: its IPv4 address, or its IPv6 /64
 * (address-bucket.ts). The access log shows the full address. */
export function clientAddress(c: Context): string {
  return addressBucket(c.get("clientAddress") ?? "unknown");
}

/** Whether a browser attached the Authorization header on its own to a change another
 * site's page asked for. A browser that once answered the Basic challenge (a 401 of the API,
 * with the token typed as the password) sends those credentials again with every request to
 * this origin, a cross-site form or no-cors fetch included, as it sends cookies: such a page
 * could upload a package or register a trusted publisher as the user. No tool sends
 * Sec-Fetch-Site, and a page that sets Authorization itself cross-site needs CORS, which
 * this gateway does not answer; reads stay open (the other site cannot read the answer). */
function sentOnItsOwn(method: string, secFetchSite: string | undefined): boolean {
  return method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && (secFetchSite === "cross-site" || secFetchSite === "same-site");
}

/** Middleware: identify the caller. `pathToken` gives the token found in the URL path, if
 * the door has such URLs (the gate's `/t/<token>/`). */
export function identify(deps: IdentifyDeps, pathToken: (c: Context) => string | undefined = () => undefined): MiddlewareHandler {
  return async (c, next) => {
    const creds = extractToken({ pathToken: pathToken(c), authorization: header(c, "authorization") }, deps.identifier.hashOf);
    if (creds.from === "authorization" && sentOnItsOwn(c.req.method, header(c, "sec-fetch-site"))) {
      throw new GateError("forbidden", "a browser sent these credentials from another site's page: changes are accepted only from tools (pkgate, conda, pip, twine, curl) or from this gateway's own pages");
    }
    if (creds.id) c.set("tokenId", creds.id);
    if (creds.from) {
      c.set("authenticated", true);
      c.set("tokenFrom", creds.from);
    }
    const { principal, account } = await deps.identifier.identify(creds.token, { budget: deps.failures.budgetFor(clientAddress(c)), hash: creds.hash });
    c.set("principal", principal);
    c.set("me", account);
    await next();
  };
}
