// Tokens through the API: created, listed (never with the secret) and revoked by name, for
// the caller's own account (/tokens), a user (/users/{user}/tokens: the user or a server
// admin) or an organization (/orgs/{org}/tokens: its admins). A new token never holds more
// than the token that creates it, nor more than its creator may do (rights.ts). issueToken is
// exported: the web's token page and the CLI on the store call it.
import { GateError } from "../errors.js";
import type { Account, Principal, TokenRecord } from "../access/model.js";
import type { Catalog } from "../access/catalog.js";
import { scopesBeyond } from "../access/authorize.js";
import { tokenExpiry } from "../access/names.js";
import * as v from "./validate.js";
import { accountFor, acting, allow, arrayOf, me, param, ref, tokenView, type ApiCall, type ApiRoute } from "./route.js";

type Owner = "self" | "user" | "org";

/** A new token of `account`, made by `creator`, who is already authorized for tokens:write
 * on it (the API and the web pages both come here): never a scope the creating token does
 * not hold (a web session, token null, holds its account's rights and no token's bounds),
 * never past the creating token's own expiry nor TOKEN_MAX_AGE; one year unless asked. */
export async function issueToken(
  deps: { catalog: Catalog; tokenMaxAge: number },
  creator: Principal & { account: string },
  account: Account,
  input: { name: string; scopes: string[]; maxAgeSeconds?: number; packages?: string[]; publisher?: string },
): Promise<{ token: string; record: TokenRecord }> {
  const beyond = scopesBeyond(creator, input.scopes);
  if (beyond.length > 0) {
    throw new GateError("forbidden", `a token cannot hold more than the token that creates it: ${beyond.join(" ")} is beyond this token's scopes (${creator.scopes.join(" ") || "none"})`);
  }
  const expiresAt = tokenExpiry(input.maxAgeSeconds, { serverMax: deps.tokenMaxAge, parentExpiresAt: creator.token?.expiresAt });
  return deps.catalog.createToken({ account: account.name, name: input.name, scopes: input.scopes, expiresAt, createdBy: creator.account, packages: input.packages, publisher: input.publisher });
}

/** The account whose tokens are asked for, with the caller authorized on them: the account
 * itself, an organization's admins, server admins. */
async function owner(call: ApiCall, kind: Owner, action: "tokens:read" | "tokens:write"): Promise<Account> {
  const caller = me(call);
  if (kind !== "self") return accountFor(acting(call), kind, param(call, kind), action);
  allow(call, action, { account: caller.account, name: caller.account.name });
  return caller.account;
}

function routesFor(kind: Owner, prefix: string): ApiRoute[] {
  const tag = "tokens";
  const whose = kind === "self" ? "the caller's own account" : kind === "user" ? "a user (the user or a server admin)" : "an organization (its admins)";
  const suffix = kind === "self" ? "Own" : kind === "user" ? "User" : "Org";
  return [
    {
      method: "GET",
      path: `${prefix}/tokens`,
      operationId: `list${suffix}Tokens`,
      summary: `The live tokens of ${whose}, never with their secrets.`,
      tag,
      auth: "token",
      action: "tokens:read",
      response: { status: 200, description: "the tokens", schema: arrayOf(ref("Token")) },
      errors: [404],
      async handle(call) {
        const acc = await owner(call, kind, "tokens:read");
        return (await call.deps.catalog.listTokens(acc.name)).map(tokenView);
      },
    },
    {
      method: "POST",
      path: `${prefix}/tokens`,
      operationId: `create${suffix}Token`,
      summary: `Create a token for ${whose}; the secret is in the answer, once. Scopes beyond the creating token or the creator's rights are refused (403); it never outlives the creating token nor TOKEN_MAX_AGE.`,
      tag,
      auth: "token",
      action: "tokens:write",
      request: ref("TokenCreate"),
      response: { status: 201, description: "the token, with its secret", schema: ref("TokenCreated") },
      errors: [404, 409],
      async handle(call) {
        const caller = me(call);
        const input = v.tokenCreate(call.body);
        const acc = await owner(call, kind, "tokens:write");
        const { token, record } = await issueToken(call.deps, caller.principal, acc, input);
        return { ...tokenView(record), token };
      },
    },
    {
      method: "DELETE",
      path: `${prefix}/tokens/{name}`,
      operationId: `revoke${suffix}Token`,
      summary: `Revoke a token of ${whose} by name; it is refused everywhere within a second.`,
      tag,
      auth: "token",
      action: "tokens:write",
      response: { status: 200, description: "the revoked token", schema: ref("Token") },
      errors: [404],
      async handle(call) {
        const acc = await owner(call, kind, "tokens:write");
        return tokenView(await call.deps.catalog.revokeToken(acc.name, param(call, "name")));
      },
    },
  ];
}

export const tokenRoutes: ApiRoute[] = [
  ...routesFor("self", ""),
  ...routesFor("user", "/users/{user}"),
  ...routesFor("org", "/orgs/{org}"),
];
