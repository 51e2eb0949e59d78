// Tokens through the API: created, listed (never with the secret) and revoked by name, for
// the caller's own account (/tokens), a user (/users/{user}/tokens: the user or a server
// admin) or an organization (/orgs/{org}/tokens: its admins). A new token never holds more
// than the token that creates it, nor more than its creator may do (rights.ts).
import { GateError } from "../errors.js";
import type { Account } from "../access/model.js";
import * as v from "./validate.js";
import { canManageTokens, tokenIssueRefusal } from "./rights.js";
import { arrayOf, me, param, ref, tokenView, type ApiCall, type ApiRoute } from "./route.js";

type Owner = "self" | "user" | "org";

async function owner(call: ApiCall, kind: Owner): Promise<Account> {
  const actor = me(call);
  if (kind === "self") return actor.account;
  const name = v.accountName(param(call, kind), kind);
  const acc = await call.deps.catalog.requireAccount(name, kind);
  if (!canManageTokens(actor, acc)) {
    // a user's tokens are nobody else's business; an org's admins are known to members
    throw new GateError("forbidden", kind === "org" ? `only admins of ${acc.name} may manage its tokens` : `only ${acc.name} or a server admin may manage these tokens`);
  }
  return acc;
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
      need: "api:read",
      response: { status: 200, description: "the tokens", schema: arrayOf(ref("Token")) },
      errors: [404],
      async handle(call) {
        const acc = await owner(call, kind);
        return (await call.deps.catalog.listTokens(acc.name)).map(tokenView);
      },
    },
    {
      method: "POST",
      path: `${prefix}/tokens`,
      operationId: `create${suffix}Token`,
      summary: `Create a token for ${whose}; the secret is in the answer, once. Scopes beyond the creating token or the creator's rights are refused (403).`,
      tag,
      auth: "token",
      need: "api:write",
      request: ref("TokenCreate"),
      response: { status: 201, description: "the token, with its secret", schema: ref("TokenCreated") },
      errors: [404, 409],
      async handle(call) {
        const actor = me(call);
        const acc = await owner(call, kind);
        const input = v.tokenCreate(call.body);
        const refusal = tokenIssueRefusal(actor, acc, input.scopes);
        if (refusal) throw new GateError("forbidden", refusal);
        const { token, record } = await call.deps.catalog.createToken({
          account: acc.name,
          name: input.name,
          scopes: input.scopes,
          maxAgeSeconds: input.maxAgeSeconds,
          createdBy: actor.account.name,
        });
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
      need: "api:write",
      response: { status: 200, description: "the revoked token", schema: ref("Token") },
      errors: [404],
      async handle(call) {
        const acc = await owner(call, kind);
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
