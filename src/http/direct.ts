// The gate's GET and HEAD requests on Node without Hono's router and adapter. A conda or pip
// client revalidating an index, or fetching an artifact, is the gateway's hot path; for it
// this runs the very steps app.ts mounts (the access log, route, identify, serve, and
// errorResponse for whatever they throw) on a Hono Context made here over the Node request.
// Every door, decision and answer is the one code path Hono's dispatch also runs (every other
// route, and `app.request()` in tests); what is skipped is machinery that did nothing for these
// requests: the router's match over the API's and the pages' routes, and the adapter's Web
// Request and Response objects (the bodies are written to Node's response by send.ts anyway).
import { Context } from "hono";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeBindings } from "./send.js";
import type { Logger } from "../log.js";

/** A step as Hono runs a route's handlers: middleware that calls next(), or a handler. */
export type Step = (c: Context, next: () => Promise<void>) => Response | void | Promise<Response | void>;

export type OnError = (err: unknown, c: Context) => Response | Promise<Response>;

/** The steps in order, as Hono's compose runs them: what a step returns becomes the answer
 * unless one is already set; what a step throws is answered by onError there, and the steps
 * around it carry on (the access log sees every answer). */
export async function runSteps(c: Context, steps: readonly Step[], onError: OnError): Promise<void> {
  const dispatch = async (i: number): Promise<void> => {
    const step = steps[i];
    if (!step) return;
    let res: Response | void;
    let failed = false;
    try {
      res = await step(c, () => dispatch(i + 1));
    } catch (err) {
      res = await onError(err, c);
      failed = true;
    }
    if (res && (!c.finalized || failed)) c.res = res;
  };
  await dispatch(0);
}

/** What the steps read of the request through `c.req`: its method, its URL and (only where
 * no Node request is at hand, which is never here) its headers; header() in headers.ts reads
 * Node's parsed map directly. */
class NodeRequestView {
  #headers?: Headers;
  constructor(private readonly incoming: IncomingMessage) {}
  get method(): string {
    return this.incoming.method ?? "GET";
  }
  get url(): string {
    return `http://${this.incoming.headers.host ?? "localhost"}${this.incoming.url ?? "/"}`;
  }
  get headers(): Headers {
    if (!this.#headers) {
      const h = new Headers();
      for (const [name, value] of Object.entries(this.incoming.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
      }
      this.#headers = h;
    }
    return this.#headers;
  }
}

/** Node's response already carries the answer (send.ts writes bodies there itself). */
const sent = (out: ServerResponse) => out.headersSent || out.writableEnded;

/** A Web Response (a refusal, a redirect) onto Node's response, as the adapter writes it:
 * its headers, a length for a body, no body for HEAD. */
async function writeResponse(res: Response, out: ServerResponse, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  res.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  const body = head || res.body === null ? null : Buffer.from(await res.arrayBuffer());
  if (body && headers["content-length"] === undefined) headers["content-length"] = String(body.length);
  if (sent(out)) return;
  out.writeHead(res.status, headers);
  out.end(body ?? undefined);
}

/** A Node request listener that runs `steps` for a request (the gate's chain, app.ts). */
export function directListener(steps: readonly Step[], onError: OnError, logger: Logger): (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<void> {
  return async (incoming, outgoing) => {
    const env: NodeBindings = { incoming, outgoing };
    const c = new Context(new NodeRequestView(incoming) as unknown as Request, { env });
    try {
      await runSteps(c, steps, onError);
      if (!sent(outgoing) && c.finalized) await writeResponse(c.res, outgoing, incoming.method === "HEAD");
      else if (!sent(outgoing)) throw new Error("the gate's steps ended without an answer");
    } catch (err) {
      // only a fault of this module can land here (the steps' own errors have their answer)
      if (sent(outgoing)) outgoing.destroy();
      else outgoing.writeHead(500, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify({ error: "internal", message: "internal error" }));
      logger.error({ msg: "internal error", reqId: c.get("reqId"), err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) });
    }
  };
}
