// Identify once: the one middleware that turns a request's credentials (a path token, an
// `Authorization: Bearer` token, the password of HTTP Basic auth) into a principal and its
// account, on typed context variables. The gate and the API both mount it; nothing else
// reads credentials. Bad tokens count against the client's address before any lookup.
import type { Context, MiddlewareHandler } from "hono";
import "./vars.js";
import { GateError } from "../errors.js";
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
    const creds = extractToken({ pathToken: pathToken(c), authorization: header(c, "authorization") });
    if (creds.id) c.set("tokenId", creds.id);
    const client = clientAddress(c);
    if (creds.token) {
      c.set("authenticated", true);
      deps.failures.check(client);
    }
    try {
      const { principal, account } = await deps.identifier.identify(creds.token);
      c.set("principal", principal);
      c.set("me", account);
    } catch (err) {
      if (err instanceof GateError && err.status === 401) deps.failures.record(client);
      throw err;
    }
    await next();
  };
}
