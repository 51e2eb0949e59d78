// Request headers without building a Web `Headers` object: on Node, the parsed header map
// of the IncomingMessage is already there (lower-case names, repeated headers joined), and
// reading it is several times cheaper than the first access to `c.req.header()`, which
// copies every header into a new Headers object. Elsewhere (app.request in tests) it falls
// back to Hono.
import type { Context } from "hono";
import type { IncomingMessage } from "node:http";

export function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}
