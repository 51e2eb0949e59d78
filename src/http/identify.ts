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

export interface IdentifyDeps {
  identifier: Identifier;
  failures: AuthFailures;
}

/** The client's address for rate limits. */
export function clientAddress(c: Context): string {
  return c.get("clientAddress") ?? "unknown";
}

/** Middleware: identify the caller. `pathToken` gives the token found in the URL path, if
 * the door has such URLs (the gate's `/t/<token>/`). */
export function identify(deps: IdentifyDeps, pathToken: (c: Context) => string | undefined = () => undefined): MiddlewareHandler {
  return async (c, next) => {
    const creds = extractToken({ pathToken: pathToken(c), authorization: header(c, "authorization") }, deps.identifier.hashOf);
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
