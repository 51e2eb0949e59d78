// A small request body (a form, a JSON document), read whole but never past its bound: the
// bytes are counted as they arrive, so a body sent without Content-Length (chunked) is
// refused with 413 at the bound instead of being buffered, however large, before anyone
// looks at its size. The one reader of every small body: the API's JSON, the exchange's
// JSON, the web pages' forms.
import type { Context } from "hono";
import { GateError } from "../errors.js";
import { header } from "./headers.js";

/** The request body as UTF-8 text; 413 (`tooLarge` its message) when it is, or says it is,
 * longer than `maxBytes`. */
export async function readSmallBody(c: Context, maxBytes: number, tooLarge = `the request body is larger than ${maxBytes} bytes`): Promise<string> {
  if (Number(header(c, "content-length") ?? 0) > maxBytes) throw new GateError("payload_too_large", tooLarge);
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new GateError("payload_too_large", tooLarge);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}
