// What a caller of the API may do: pure decisions over the caller (the token's principal
// and its account document) and the documents it wants to act on. No I/O.
//
// Two questions, as in the gate (access/policy.ts): the token's scopes say what it may be
// used for (api:read, api:write, api:modify-group), the account's rights say on what. A
// change needs both. Server admins (users with `serverAdmin`) have every right, but their
// tokens are still bounded by their scopes.
import { GateError } from "../errors.js";
import type { Account, Principal } from "../access/model.js";
import { permissionOn, type Level } from "../access/policy.js";
import { covers, NEEDS, type Need } from "../auth/scopes.js";

/** Who calls the API: the principal of the token, and the account it acts as. */
export interface Actor {
  principal: Principal & { account: string };
  account: Account;
}

export function isServerAdmin(actor: Actor): boolean {
  return actor.account.kind === "user" && actor.account.serverAdmin === true;
}

/** The token must cover the API need of the route; 403 names the scope that is missing. */
export function requireScope(actor: Actor, need: Need): void {
  if (covers(actor.principal.scopes, need)) return;
  const name = actor.principal.token?.name ?? "?";
  throw new GateError("insufficient_scope", `the token "${name}" does not have the ${need} scope (it has: ${actor.principal.scopes.join(" ") || "none"})`);
}

/** The actor's level on a channel (pkg null: the channel as a whole) or one package. */
export function levelOn(actor: Actor, channel: Account, pkg: string | null): Level {
  if (isServerAdmin(actor)) return "admin";
  return permissionOn(actor.principal, channel, pkg);
}

/** Managing an organization (admins, groups, tokens, channel settings) needs admin over
 * the whole channel: the organization itself (its token), one of its admins, a member of a
 * group with admin on every package, or a server admin. */
export function canManage(actor: Actor, channel: Account): boolean {
  return levelOn(actor, channel, null) === "admin";
}

export function requireManage(actor: Actor, channel: Account): void {
  if (canManage(actor, channel)) return;
  throw new GateError("forbidden", `${actor.principal.account} is not an admin of ${channel.name}`);
}

/** Whether the actor belongs to the organization at all (may read its document). */
export function isMemberOf(actor: Actor, org: Account): boolean {
  if (canManage(actor, org)) return true;
  const user = actor.principal.account;
  return actor.principal.accountKind === "user" && (org.groups ?? []).some((g) => g.members.includes(user));
}

/** The needs a scope reaches (all → every need; api:write → api:write and api:read). */
export function needsOf(scope: string): Need[] {
  return NEEDS.filter((need) => covers([scope], need));
}

/** The requested scopes the creating token does not cover: a token can never hold more
 * than the token used to create it. Empty when the request is within bounds. */
export function scopesBeyond(creator: readonly string[], requested: readonly string[]): string[] {
  return requested.filter((scope) => needsOf(scope).some((need) => !covers(creator, need)));
}

/**
 * Whether the actor may issue a token for `target` with `scopes`, else the reason (a 403).
 * For itself: always, within its own token's scopes. For an organization: only with admin
 * over its whole channel, because an organization's token reaches every package of it (a
 * read member of a group cannot mint that). For another user: server admins only.
 */
export function tokenIssueRefusal(actor: Actor, target: Account, scopes: readonly string[]): string | null {
  const beyond = scopesBeyond(actor.principal.scopes, scopes);
  if (beyond.length > 0) {
    return `a token cannot hold more than the token that creates it: ${beyond.join(" ")} is beyond this token's scopes (${actor.principal.scopes.join(" ") || "none"})`;
  }
  if (target.name === actor.account.name) return null;
  if (target.kind === "org") {
    return canManage(actor, target) ? null : `only admins of ${target.name} may create its tokens; ${actor.principal.account} is not one`;
  }
  return isServerAdmin(actor) ? null : `only ${target.name} (or a server admin) may create tokens for ${target.name}`;
}

/** Listing and revoking an account's tokens: the account itself, the admins of an
 * organization, server admins. */
export function canManageTokens(actor: Actor, target: Account): boolean {
  if (target.name === actor.account.name) return true;
  if (target.kind === "org") return canManage(actor, target);
  return isServerAdmin(actor);
}
