// The access levels: pure answers over a Principal and an Account document, no I/O. What a
// principal's *account* may do on a package (owner, org admin, group member, server admin, or
// "read" because the package is public), and which packages an index shows it. Whether a
// request is allowed — levels, scopes, and the answer when it is not — is decided in one
// place only: authorize.ts.

import type { Account, Permission, Principal } from "./model.js";
import { createHash } from "node:crypto";
import { normalizeProjectName } from "../pypi/names.js";

export type Level = "none" | Permission;

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2, admin: 3 };
const max = (a: Level, b: Level): Level => (RANK[a] >= RANK[b] ? a : b);
export const atLeast = (level: Level, needed: Level): boolean => RANK[level] >= RANK[needed];

/** A package's own setting, else the channel's default. Own keys only: the document is
 * parsed JSON, and "constructor" (a real conda package) or "__proto__" must not read
 * Object.prototype. */
export function privacyOf(account: Account, name: string): "public" | "private" {
  // one privacy per channel and normalized name, whatever the ecosystem (foo_bar = foo-bar)
  const pkg = normalizeProjectName(name);
  const own = Object.hasOwn(account.packages, pkg) ? account.packages[pkg] : undefined;
  return own === "public" || own === "private" ? own : account.defaultPrivacy;
}

/**
 * What the principal's account may do on package `pkg` of `account`'s channel (names are
 * normalized package names). `pkg` null asks about the channel as a whole (its index): a
 * role over every package gives its level; otherwise "read" when the principal can see at
 * least one package there (the index is then served filtered), else "none".
 *
 * Roles: the channel's own account (a user, or an organization's token) → admin; on an
 * organization's channel, a user among its admins → admin, a member of a group → the
 * group's permission on the group's packages ("*" = all). Group membership is read from the
 * account document itself (Group.members), so no extra lookup is needed.
 */
export function permissionOn(principal: Principal, account: Account, pkg: string | null): Level {
  let level = roleOn(principal, account, pkg);
  if (level === "admin") return level;
  if (pkg !== null) {
    if (privacyOf(account, pkg) === "public") level = max(level, "read");
  } else if (level === "none" && (anyPublic(account) || listedFor(principal, account).size > 0)) {
    level = "read";
  }
  return level;
}

/** The permission from who the principal is, before privacy is considered. For pkg null,
 * only roles that span every package count. */
export function roleOn(principal: Principal, account: Account, pkg: string | null): Level {
  if (principal.account === null) return "none";
  if (principal.account === account.name || principal.serverAdmin === true) return "admin";
  if (account.kind !== "org" || principal.accountKind !== "user") return "none";
  const user = principal.account;
  if (account.admins?.includes(user)) return "admin";
  let level: Level = "none";
  for (const group of account.groups ?? []) {
    if (!group.members.includes(user)) continue;
    const applies = group.packages === "*" || (pkg !== null && group.packages.includes(normalizeProjectName(pkg)));
    if (applies) level = max(level, group.permission);
  }
  return level;
}

/** The highest role the principal has on any one package of the channel (a group with
 * write on listed packages counts): what an upload can be judged on before its package
 * name is known. */
export function bestRoleOn(principal: Principal, account: Account): Level {
  let level = roleOn(principal, account, null);
  if (level === "admin" || account.kind !== "org" || principal.accountKind !== "user" || principal.account === null) return level;
  for (const group of account.groups ?? []) {
    if (group.members.includes(principal.account) && group.packages !== "*" && group.packages.length > 0) level = max(level, group.permission);
  }
  return level;
}

/** Packages the principal reaches through groups listing them by name (not "*"). */
function listedFor(principal: Principal, account: Account): Set<string> {
  const listed = new Set<string>();
  if (account.kind !== "org" || principal.accountKind !== "user" || principal.account === null) return listed;
  for (const group of account.groups ?? []) {
    if (group.packages === "*" || !group.members.includes(principal.account)) continue;
    for (const name of group.packages) listed.add(name);
  }
  return listed;
}

function anyPublic(account: Account): boolean {
  return account.defaultPrivacy === "public" || Object.values(account.packages).includes("public");
}

function anyPrivate(account: Account): boolean {
  return account.defaultPrivacy === "private" || Object.values(account.packages).includes("private");
}

/** What a view depends on in an account document (default privacy, every package's own
 * setting, the groups), hashed: a view's cache key follows the document's content, not its
 * revision number, which a restored bucket can reuse for other content. */
const digests = new WeakMap<Account, string>();
function digestOf(account: Account): string {
  let d = digests.get(account);
  if (d === undefined) {
    const packages = Object.entries(account.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    d = createHash("sha256").update(JSON.stringify([account.name, account.defaultPrivacy, packages, account.groups ?? []])).digest("hex").slice(0, 24);
    digests.set(account, d);
  }
  return d;
}

/** How an index is filtered for one principal. `key` names the view: principals seeing the
 * same packages share it, so a filtered index variant is computed once per view and cached
 * under it; it changes with the account document's content. */
export type Visibility = { all: true; key: string } | { all: false; key: string; visible(name: string): boolean };

/**
 * The packages of `account`'s channel the principal may list in an index (`as` is the
 * principal authorize() judged the request as: anonymous when the token's scopes do not
 * cover the download).
 * `all: true` means the stored index can be served untouched: the principal has a role over
 * the whole channel, or nothing in the channel is private. Otherwise `visible(name)` is true
 * for public packages and for private ones a group lists for the principal.
 */
export function visibility(as: Principal, account: Account): Visibility {
  if (as.packages !== undefined && anyPrivate(account)) return limitedVisibility(as, as.packages, account);
  if (!anyPrivate(account) || atLeast(roleOn(as, account, null), "read")) {
    return { all: true, key: `${digestOf(account)}:all` };
  }
  const readablePrivate = [...listedFor(as, account)].filter((name) => privacyOf(account, name) === "private").sort();
  const readable = new Set(readablePrivate);
  const visible = (name: string) => privacyOf(account, name) === "public" || readable.has(normalizeProjectName(name));
  return privateView(account, readablePrivate, visible);
}

/** A token limited to some packages (a trusted publisher's) lists, of the private packages
 * its account may read, only those. */
function limitedVisibility(as: Principal, packages: readonly string[], account: Account): Visibility {
  const unlimited = visibility({ ...as, packages: undefined }, account);
  const readablePrivate = packages.filter((name) => privacyOf(account, name) === "private" && (unlimited.all || unlimited.visible(name))).sort();
  const readable = new Set(readablePrivate);
  return privateView(account, readablePrivate, (name) => privacyOf(account, name) === "public" || readable.has(normalizeProjectName(name)));
}

/** The view of the public packages and `readablePrivate` (sorted, normalized), keyed by them. */
function privateView(account: Account, readablePrivate: string[], visible: (name: string) => boolean): Visibility {
  if (readablePrivate.length === 0) return { all: false, key: `${digestOf(account)}:public`, visible };
  // 128 bits of sha256: a collision would serve one view's index to another principal.
  const digest = createHash("sha256").update(readablePrivate.join("\n")).digest("hex").slice(0, 32);
  return { all: false, key: `${digestOf(account)}:${digest}`, visible };
}
