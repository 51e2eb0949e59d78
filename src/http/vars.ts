// The typed variables of a request's Hono context: what the edge learns about a request on
// its way (who asks, what it asks for, what was sent), read by the doors and the access log.
import type { Account, Principal } from "../access/model.js";
import type { Target } from "./target.js";
import type { TokenSource } from "../auth/identify.js";

declare module "hono" {
  interface ContextVariableMap {
    /** Who asks: set by the identify middleware (anonymous when no credentials came). */
    principal: Principal;
    /** The principal's own account document; null for anonymous callers. */
    me: Account | null;
    /** The public id of the presented token, for the access log (never the token). */
    tokenId: string;
    /** The request carried credentials: responses are `Cache-Control: private`. */
    authenticated: boolean;
    /** Where the request's token came from: a refusal of a token in the URL path invites no
     * credentials (error-response.ts). */
    tokenFrom: TokenSource;
    /** The kind of route, for metrics. */
    route: string;
    /** The request's id (its X-Request-Id, or one made up): every log line about it carries it. */
    reqId: string;
    /** The client's address (X-Forwarded-For only from trusted proxies). */
    clientAddress: string;
    /** Bytes of body written, for the access log and metrics. */
    bytes: number;
    /** What a gate URL asks for (set by the gate's parse step). */
    target: Target;
  }
}

export {};
