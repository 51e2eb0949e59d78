// The Tokens page of an account: who may see and change it is authorize()'s answer for
// tokens:read and tokens:write (the account itself, an organization's admins, server
// admins); a token is made by the API's own issueToken from the API's own validation of
// the form, so a page can never give a token more than the API would.
import type { Context } from "hono";
import { GateError } from "../../errors.js";
import type { Account, TokenRecord } from "../../access/model.js";
import { issueToken } from "../../api/tokens.js";
import { removePublisher } from "../../api/publishers.js";
import * as v from "../../api/validate.js";
import { DEFAULT_TOKEN_LIFETIME, PUBLISHER_NAME, TOKEN_NAME, type NameRule } from "../../access/names.js";
import { isSessionToken } from "../session.js";
import { endSession, publicBase } from "../visitor.js";
import { field, fields } from "../forms.js";
import { frameFor, render, sentence } from "../render.js";
import { TokensView, type TokensState } from "../views/tokens.js";
import { accountFor } from "./dashboard.js";
import { href, type Web } from "../web.js";

const DAY_MS = 24 * 3600 * 1000;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The expiry input's default (one year, or TOKEN_MAX_AGE when shorter) and bounds. */
function expiryBounds(web: Web): { default: string; min: string; max: string } {
  const now = web.now();
  const max = date(now + Math.min(DEFAULT_TOKEN_LIFETIME, web.tokenMaxAge) * 1000);
  return { default: max, min: date(now + DAY_MS), max };
}

/** The lifetime a chosen expiry date asks for: none for the default (the API's one year),
 * else seconds until the end of that day (UTC), cut to TOKEN_MAX_AGE on its last day; a
 * day past that is refused. */
export function lifetimeOf(chosen: string, web: Web): number | undefined {
  const bounds = expiryBounds(web);
  if (chosen === "" || chosen === bounds.default) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(chosen) || Number.isNaN(Date.parse(`${chosen}T23:59:59Z`))) throw new GateError("bad_request", "the expiry is not a date");
  const seconds = Math.floor((Date.parse(`${chosen}T23:59:59Z`) - web.now()) / 1000);
  if (seconds <= 0) throw new GateError("bad_request", "the expiry must be a day in the future");
  // the API would refuse a longer life in seconds; the page says it in the form's terms
  if (chosen > bounds.max) throw new GateError("bad_request", `the expiry can be ${bounds.max} at the latest on this server (TOKEN_MAX_AGE)`);
  return Math.min(seconds, web.tokenMaxAge);
}

async function page(c: Context, web: Web, account: Account, extra: Partial<TokensState>, status = 200): Promise<Response> {
  const visitor = c.get("visitor");
  const all = await web.deps.catalog.listTokens(account.name);
  const sessions = account.kind === "user" ? all.filter((t) => isSessionToken(t.name)) : [];
  const bounds = expiryBounds(web);
  const state: TokensState = {
    account,
    tokens: all.filter((t) => !sessions.includes(t)).sort(byCreated),
    sessions: sessions.sort(byCreated),
    sessionId: visitor.sessionId,
    form: { name: "", scopes: ["conda:download"], expires: bounds.default },
    expiry: { min: bounds.min, max: bounds.max },
    ...extra,
  };
  return render(c, await frameFor(c, web, `Tokens · ${account.name}`, { active: account.name }), <TokensView web={web} visitor={visitor} state={state} />, status);
}

/** `given` when it is a name by `rule`, else undefined. */
const named = (rule: NameRule, given: string | undefined): string | undefined => (given !== undefined && rule.test(given) ? given : undefined);

const byCreated = (a: TokenRecord, b: TokenRecord) => b.createdAt.localeCompare(a.createdAt);

export async function tokensPage(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "tokens:read");
  // names only, as the organization page's notices: a link cannot put words of its own on the page
  const revoked = named(TOKEN_NAME, c.req.query("revoked"));
  const removed = named(PUBLISHER_NAME, c.req.query("publisher-removed"));
  if (removed) return page(c, web, account, { info: `The trusted publisher "${removed}" is removed: it mints no more tokens, and the tokens it minted no longer work.` });
  return page(c, web, account, revoked ? { info: `The token "${revoked}" is revoked: it no longer works anywhere.` } : {});
}

export async function createToken(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "tokens:write");
  const visitor = c.get("visitor");
  const form = c.get("form");
  const typed = { name: field(form, "name").trim(), scopes: fields(form, "scopes"), expires: field(form, "expires") };
  try {
    const maxAgeSeconds = lifetimeOf(typed.expires, web);
    // the API's own validation of a token request: name rule, known scopes, lifetime shape
    const input = v.tokenCreate({ name: typed.name, scopes: typed.scopes, ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}) });
    const { token, record } = await issueToken({ catalog: web.deps.catalog, tokenMaxAge: web.tokenMaxAge }, visitor.principal as typeof visitor.principal & { account: string }, account, input);
    const base = publicBase(c, web);
    const host = new URL(base);
    const created = {
      record,
      token,
      condaLine: `conda config --add channels ${base}/t/${token}/${account.name}`,
      pipLine: `pip install --index-url ${host.protocol}//__token__:${token}@${host.host}${host.pathname.replace(/\/$/, "")}/${account.name}/simple/ <package>`,
    };
    return page(c, web, account, { created });
  } catch (err) {
    if (!(err instanceof GateError) || (err.status !== 400 && err.status !== 403 && err.status !== 409)) throw err;
    return page(c, web, account, { error: sentence(err.message), form: typed }, err.status);
  }
}

export async function revokeToken(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "tokens:write");
  const name = field(c.get("form"), "name");
  const visitor = c.get("visitor");
  const revoked = await web.deps.catalog.revokeToken(account.name, name);
  // signing out this very browser from the list is signing out
  if (revoked.id === visitor.sessionId) {
    endSession(c, web);
    return c.redirect(href(web, "/?tab=signin&signedout"), 303);
  }
  return c.redirect(href(web, `/settings/${account.name}/tokens?revoked=${encodeURIComponent(name)}`), 303);
}

/** Remove a trusted publisher (the API's own operation, as the visitor). */
export async function removePublisherPage(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "tokens:write");
  const name = field(c.get("form"), "name");
  await removePublisher({ catalog: web.deps.catalog, principal: c.get("visitor").principal }, web.deps.oidc, account.name, name);
  return c.redirect(href(web, `/settings/${account.name}/tokens?publisher-removed=${encodeURIComponent(name)}`), 303);
}
