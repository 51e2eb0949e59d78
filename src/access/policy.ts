// The access policy: pure decisions over a Principal and an Account document, no I/O.
//
// Two independent questions, as on anaconda.org:
//   - permission: what the principal's *account* may do on a package (owner, org admin,
//     group member, or "read" because the package is public);
//   - scope: what the *token* may be used for (scopes.ts).
// A request is allowed when both agree. Public packages are readable by anyone, so a token
// whose scopes do not cover a download is treated as anonymous for it rather than refused:
// presenting a token must never give less than presenting none (anaconda documents
// `conda:download` as "download permissions for *private* packages").
//
// Answers never leak a private package's existence: what the principal may not read gets
// the same 404 as what does not exist.

import { ANONYMOUS, type Account, type Permission, type Principal } from "./model.js";
import { covers } from "../auth/scopes.js";
import { createHash } from "node:crypto";
import { normalizeProjectName } from "../pypi/names.js";

export type Level = "none" | Permission;
export type DownloadAction = "conda:download" | "pypi:download";
export type Action = DownloadAction | "pypi:upload";

export type Decision =
  | { allow: true }
  | { allow: false; status: 401 | 403 | 404; code: "auth_required" | "insufficient_scope" | "forbidden" | "not_found"; message: string };

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
function roleOn(principal: Principal, account: Account, pkg: string | null): Level {
  if (principal.account === null) return "none";
  if (principal.account === account.name) return "admin";
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

/** The principal a download is judged as: itself when its scopes cover the download,
 * otherwise anonymous (public packages stay readable, private ones do not). */
function effectiveFor(principal: Principal, action: DownloadAction): Principal {
  return principal.account !== null && covers(principal.scopes, action) ? principal : ANONYMOUS;
}

/** The answer for what does not exist and for what the principal may not see: identical,
 * so existence never leaks. It depends only on `pkg` and on whether a token was given, never
 * on the account document (which is null when the channel does not exist). */
export function notFound(principal: Principal, pkg: string | null): Extract<Decision, { allow: false }> {
  const what = pkg === null ? "this channel was not found" : `package "${pkg}" was not found in this channel`;
  const hint = principal.account === null ? " (private packages need a token: /t/<token>/<channel>/)" : "";
  return { allow: false, status: 404, code: "not_found", message: what + hint };
}

/**
 * Whether the principal may perform `action` on package `pkg` (null: the channel's index)
 * of `account`'s channel; `account` null means the channel does not exist. Expiry and
 * revocation are settled before this (identify step).
 *
 * Downloads: allowed when the package is readable by the principal as its scopes allow.
 * When only the missing scope stands in the way → 403 insufficient_scope; when the principal
 * could not read it anyway → 404, exactly as for a package that does not exist.
 * Upload: anonymous → 401; a token without a scope covering pypi:upload → 403; without
 * write permission on the package → 403 (the same answer whether the package exists or not).
 */
export function decide(principal: Principal, action: Action, account: Account | null, pkg: string | null): Decision {
  if (account === null) return notFound(principal, pkg);
  if (action === "pypi:upload") return decideUpload(principal, account, pkg);

  if (atLeast(permissionOn(effectiveFor(principal, action), account, pkg), "read")) return { allow: true };
  if (principal.account !== null && atLeast(permissionOn(principal, account, pkg), "read")) {
    return {
      allow: false,
      status: 403,
      code: "insufficient_scope",
      message: `this token's scopes (${principal.scopes.join(" ") || "none"}) do not allow ${action}; create a token with the ${action} scope`,
    };
  }
  return notFound(principal, pkg);
}

function decideUpload(principal: Principal, account: Account, pkg: string | null): Decision {
  if (principal.account === null) {
    return { allow: false, status: 401, code: "auth_required", message: "uploading needs a token (user __token__, the token as password)" };
  }
  if (!covers(principal.scopes, "pypi:upload")) {
    return {
      allow: false,
      status: 403,
      code: "insufficient_scope",
      message: `this token's scopes (${principal.scopes.join(" ") || "none"}) do not allow uploads; create a token with the pypi:upload scope`,
    };
  }
  if (!atLeast(permissionOn(principal, account, pkg), "write")) {
    const what = pkg === null ? "" : ` the package "${pkg}" to`;
    return { allow: false, status: 403, code: "forbidden", message: `"${principal.account}" may not upload${what} channel "${account.name}"` };
  }
  return { allow: true };
}

/** How an index is filtered for one principal. `key` names the view: principals seeing the
 * same packages share it, so a filtered index variant is computed once per view and cached
 * under it; it changes with the account's revision. */
export type Visibility = { all: true; key: string } | { all: false; key: string; visible(name: string): boolean };

/**
 * The packages of `account`'s channel the principal may list in an index for `action`.
 * `all: true` means the stored index can be served untouched: the principal has a role over
 * the whole channel, or nothing in the channel is private. Otherwise `visible(name)` is true
 * for public packages and for private ones a group lists for the principal.
 */
export function visibility(principal: Principal, account: Account, action: DownloadAction): Visibility {
  const as = effectiveFor(principal, action);
  if (!anyPrivate(account) || atLeast(roleOn(as, account, null), "read")) {
    return { all: true, key: `r${account.revision}:all` };
  }
  const readablePrivate = [...listedFor(as, account)].filter((name) => privacyOf(account, name) === "private").sort();
  const readable = new Set(readablePrivate);
  const visible = (name: string) => privacyOf(account, name) === "public" || readable.has(normalizeProjectName(name));
  if (readablePrivate.length === 0) return { all: false, key: `r${account.revision}:public`, visible };
  // 128 bits of sha256: a collision would serve one view's index to another principal.
  const digest = createHash("sha256").update(readablePrivate.join("\n")).digest("hex").slice(0, 32);
  return { all: false, key: `r${account.revision}:${digest}`, visible };
}
