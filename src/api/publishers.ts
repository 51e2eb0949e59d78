// Trusted publishers through the API, and the exchange of CI ID tokens for tokens.
//   GET|POST /api/channels/{channel}/publishers, DELETE .../publishers/{publisher}: the
//     account's admins (authorized as its tokens are: a publisher mints its tokens)
//   GET /api/oidc/audience, POST /api/oidc/mint-token {token, channel?}: for pkgate upload,
//     conda uploads and any client; `channel` limits the exchange to that account's publishers
//   GET /_/oidc/audience, POST /_/oidc/mint-token {token}: uv's and gh-action-pypi-publish's
//     exchange, which they derive from the upload URL's host alone (https://<host>/_/oidc/...),
//     mounted at the root by app.ts (and under BASE_PATH, for proxies that forward only it)
// The operations are functions of their own: the API, the CLI on the store and the web
// pages call them.
import { Hono } from "hono";
import "../http/vars.js";
import { GateError } from "../errors.js";
import type { TrustedPublisher } from "../access/model.js";
import type { OidcExchange, Minted } from "../oidc/exchange.js";
import { PUBLISHER_SCOPES, publisherInput, publisherName } from "../oidc/publisher.js";
import { ACCOUNT_NAME, NORMALIZED_PACKAGE_NAME, PACKAGE_NAME, PUBLISHER_NAME, TOKEN_NAME, isAccountName } from "../access/names.js";
import * as v from "./validate.js";
import { accountFor, acting, arrayOf, me, param, type Acting, type ApiCall, type ApiRoute, type Schema } from "./route.js";
import { readSmallBody } from "../http/body.js";

/** A publisher as the API shows it (everything: it holds no secret). */
export type PublisherView = TrustedPublisher;

function exchangeOf(oidc: OidcExchange | undefined): OidcExchange {
  if (!oidc) throw new GateError("unavailable", "trusted publishing is not configured on this server");
  return oidc;
}

/** The account's publishers (its admins). */
export async function listPublishers(a: Acting, channel: string): Promise<PublisherView[]> {
  const acc = await accountFor(a, "channel", channel, "tokens:read");
  return acc.publishers ?? [];
}

/** Register a publisher; `body` is the API's PublisherCreate. */
export async function addPublisher(a: Acting, oidc: OidcExchange | undefined, channel: string, body: unknown): Promise<PublisherView> {
  const ex = exchangeOf(oidc);
  const input = publisherInput(body, ex.verifier.config.issuers, v.packageList);
  const acc = await accountFor(a, "channel", channel, "tokens:write");
  // the store's operator is no account: the publisher is then the account's own
  const by = a.principal.account !== null && isAccountName(a.principal.account) ? a.principal.account : acc.name;
  return ex.publishers.add(acc.name, input, by);
}

/** Remove a publisher: nothing more is minted for it, and its tokens are refused. */
export async function removePublisher(a: Acting, oidc: OidcExchange | undefined, channel: string, name: string): Promise<PublisherView> {
  const ex = exchangeOf(oidc);
  const valid = publisherName(name);
  const acc = await accountFor(a, "channel", channel, "tokens:write");
  return ex.publishers.remove(acc.name, valid);
}

/** The answer of a mint: what uv and gh-action-pypi-publish read (token), PyPI's expires
 * (epoch seconds), and the token's name and expiry for people. */
function minted(m: Minted): { success: true; token: string; expires: number; name: string; expiresAt: string } {
  return { success: true, token: m.token, expires: m.expires, name: m.record.name, expiresAt: m.record.expiresAt };
}

function mintBody(body: unknown): { token: unknown; channel: string | null } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new GateError("bad_request", 'the body must be {"token": "<the CI\'s OIDC ID token>"}');
  const b = body as Record<string, unknown>;
  return { token: b.token, channel: b.channel === undefined || b.channel === null ? null : v.accountName(String(b.channel), "channel") };
}

const claimsSchema: Schema = {
  type: "object",
  description: "github: repository, workflow (file name), environment?, ref? (exact, or a prefix ending in *), repository_owner_id?, repository_id? (GitHub's numbers; recorded from the first exchange when not given); gitlab: project_path, ci_config_path, environment?, ref?; oidc: sub and any other claims, compared exactly",
  additionalProperties: { type: "string" },
};
const nameSchema: Schema = PUBLISHER_NAME.schema();
const account = ACCOUNT_NAME.schema();
const publisherSchema: Schema = {
  type: "object",
  properties: {
    name: nameSchema,
    kind: { type: "string", enum: ["github", "gitlab", "oidc"] },
    issuer: { type: "string", format: "uri", description: "one of the server's OIDC_ISSUERS" },
    claims: claimsSchema,
    scopes: { type: "array", items: { type: "string", enum: [...PUBLISHER_SCOPES] } },
    packages: { oneOf: [{ type: "string", const: "*" }, { type: "array", items: NORMALIZED_PACKAGE_NAME.schema() }], description: "the packages its tokens may upload" },
    createdAt: { type: "string", format: "date-time" },
    createdBy: account,
    idsRecordedAt: { type: "string", format: "date-time", description: "github: when repository_owner_id and repository_id were recorded into claims from the first ID token exchanged (absent: given at registration, or none exchanged yet)" },
  },
  required: ["name", "kind", "issuer", "claims", "scopes", "packages", "createdAt", "createdBy"],
};
const publisherCreate: Schema = {
  type: "object",
  properties: { name: nameSchema, kind: { type: "string", enum: ["github", "gitlab", "oidc"], description: "implied by GitHub's and gitlab.com's issuers" }, issuer: { type: "string", format: "uri" }, claims: claimsSchema, scopes: { type: "array", items: { type: "string", enum: [...PUBLISHER_SCOPES] }, minItems: 1 }, packages: { oneOf: [{ type: "string", const: "*" }, { type: "array", items: PACKAGE_NAME.schema() }] } },
  required: ["name", "issuer", "claims", "scopes", "packages"],
  additionalProperties: false,
};
const mintRequest: Schema = { type: "object", properties: { token: { type: "string", description: "the CI's OIDC ID token" }, channel: ACCOUNT_NAME.schema("only this account's publishers") }, required: ["token"] };
const mintResponse: Schema = {
  type: "object",
  properties: { success: { type: "boolean" }, token: { type: "string", description: "a pkgate token, shown once" }, expires: { type: "integer", description: "epoch seconds" }, name: TOKEN_NAME.schema(), expiresAt: { type: "string", format: "date-time" } },
  required: ["token", "expires", "name", "expiresAt"],
};
const audienceSchema: Schema = { type: "object", properties: { audience: { type: "string" } }, required: ["audience"] };

export const publisherRoutes: ApiRoute[] = [
  {
    method: "GET",
    path: "/channels/{channel}/publishers",
    operationId: "listPublishers",
    summary: "The trusted publishers of an account: CI jobs that exchange their OIDC ID token for a short-lived token (the account's admins).",
    tag: "publishers",
    auth: "token",
    action: "tokens:read",
    response: { status: 200, description: "the publishers", schema: arrayOf(publisherSchema) },
    errors: [404],
    handle: (call) => listPublishers(acting(call), param(call, "channel")),
  },
  {
    method: "POST",
    path: "/channels/{channel}/publishers",
    operationId: "addPublisher",
    summary: "Register a trusted publisher: the issuer (one of OIDC_ISSUERS), the claims its ID tokens must carry, and what its tokens may do (pypi:upload, conda; on which packages).",
    tag: "publishers",
    auth: "token",
    action: "tokens:write",
    request: publisherCreate,
    response: { status: 201, description: "the publisher", schema: publisherSchema },
    errors: [404, 409],
    async handle(call) {
      me(call);
      return addPublisher(acting(call), call.deps.oidc, param(call, "channel"), call.body);
    },
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/publishers/{publisher}",
    operationId: "removePublisher",
    summary: "Remove a trusted publisher: it mints no more tokens, and the tokens it minted are refused at once.",
    tag: "publishers",
    auth: "token",
    action: "tokens:write",
    response: { status: 200, description: "the removed publisher", schema: publisherSchema },
    errors: [404],
    handle: (call) => removePublisher(acting(call), call.deps.oidc, param(call, "channel"), param(call, "publisher")),
  },
  {
    method: "GET",
    path: "/oidc/audience",
    operationId: "oidcAudience",
    summary: "The audience (aud) an ID token must be issued for (OIDC_AUDIENCE).",
    tag: "publishers",
    auth: "optional",
    action: null,
    response: { status: 200, description: "the audience", schema: audienceSchema },
    errors: [],
    handle: async (call) => ({ audience: exchangeOf(call.deps.oidc).audience }),
  },
  {
    method: "POST",
    path: "/oidc/mint-token",
    operationId: "oidcMintToken",
    summary: "Exchange a CI job's OIDC ID token for a short-lived token of the account whose trusted publisher it matches (only `channel`'s when given). Each ID token is accepted once. A refusal says what the token says and how a publisher would match it; called with a token that may list `channel`'s publishers (its admins'), it also says why each of them does not match.",
    tag: "publishers",
    auth: "optional",
    action: null,
    request: mintRequest,
    response: { status: 200, description: "the token (shown once) and when it expires", schema: mintResponse },
    errors: [401, 403, 409],
    async handle(call: ApiCall) {
      const { token, channel } = mintBody(call.body);
      // the caller's own token, if any, lets a refusal say why channel's publishers do not match
      return minted(await exchangeOf(call.deps.oidc).mint(token, channel, call.principal));
    },
  },
];

/** uv's endpoints, at `/_/oidc` of the host (app.ts mounts it): JSON in, JSON out, refusals
 * through the app's error answer. */
export function oidcExchangeRoutes(oidc: OidcExchange | undefined): Hono {
  const r = new Hono();
  r.get("/audience", (c) => {
    c.set("route", "oidc");
    return c.json({ audience: exchangeOf(oidc).audience }, 200, { "cache-control": "no-store" });
  });
  r.post("/mint-token", async (c) => {
    c.set("route", "oidc");
    const text = await readSmallBody(c, 64 * 1024);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new GateError("bad_request", 'the body must be {"token": "<the CI\'s OIDC ID token>"}');
    }
    const { token, channel } = mintBody(body);
    return c.json(minted(await exchangeOf(oidc).mint(token, channel)), 200, { "cache-control": "no-store" });
  });
  r.all("*", (c) => {
    c.set("route", "oidc");
    throw new GateError("not_found", "trusted publishing answers GET /_/oidc/audience and POST /_/oidc/mint-token");
  });
  return r;
}
