// The guard of every form that changes something: read the (small) body, then accept it
// only from our own pages (csrf.ts: the browser's provenance headers and the form token).
import type { Context, MiddlewareHandler } from "hono";
import { GateError } from "../errors.js";
import { header } from "../http/headers.js";
import { readSmallBody } from "../http/body.js";
import { CSRF_FIELD, fromOwnPages, isFormToken } from "./csrf.js";
import { requestHost } from "./visitor.js";
import type { Web } from "./web.js";

/** A form's fields: each a string, or the strings of a field sent more than once. */
export type Form = Record<string, string | string[]>;

declare module "hono" {
  interface ContextVariableMap {
    form: Form;
  }
}

/** No form of ours comes near this. */
const MAX_FORM_BYTES = 64 * 1024;

/** A field's value ("" when absent; the first when sent more than once). */
export function field(form: Form, name: string): string {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v) ?? "";
}

/** Every value of a field (checkboxes). */
export function fields(form: Form, name: string): string[] {
  const v = form[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The refusal of a form that did not come from our pages. */
export const FOREIGN_FORM = "This form was not sent from pkgate's own page, or the page is older than your session. Go back, reload the page, and send it again.";

/** Middleware for POST routes: the form, from our own pages only; after `visit`. */
export function formGuard(web: Web): MiddlewareHandler {
  return async (c, next) => {
    const form = await readForm(c);
    const keys = await web.keys();
    const own = { origin: web.config.publicUrl !== null ? new URL(web.config.publicUrl).origin : null, host: requestHost(c, web) };
    const provenance = { secFetchSite: header(c, "sec-fetch-site"), origin: header(c, "origin"), referer: header(c, "referer") };
    if (!fromOwnPages(provenance, own) || !isFormToken(keys.csrf, c.get("visitor").binding, field(form, CSRF_FIELD))) {
      throw new GateError("forbidden", FOREIGN_FORM);
    }
    c.set("form", form);
    await next();
  };
}

async function readForm(c: Context): Promise<Form> {
  const type = (header(c, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") throw new GateError("bad_request", "a form of this page is sent as application/x-www-form-urlencoded");
  const text = await readSmallBody(c, MAX_FORM_BYTES, "the form is too large");
  const form: Form = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const had = form[k];
    form[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return form;
}
