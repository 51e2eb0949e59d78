// The one decision of pkgate: may this principal do this action on this resource, and if
// not, what is the answer. Every door calls it — conda and PyPI downloads and index
// filtering (http/), uploads, every API operation (api/), the CLI's local verbs — and
// nothing else decides. Pure: no I/O, no HTTP library.
//
// The rule, the same at every door:
//   - public content stays public to any caller, whatever its token's scopes;
//   - what the principal's account may reach but the token's scopes do not cover: 403,
//     naming the scope;
//   - anything else the principal may not do: if it may not even see the account's content,
//     exactly the answer a missing thing gets (404, same message, same headers); if the
//     account's content is visible to it anyway, 403 saying what it may not do (that says
//     nothing about which names exist: rights never depend on whether a package exists).
//   - anonymous callers never change anything: 401, whether the target exists or not.
import { GateError } from "../errors.js";
import { covers, NEEDS, type Need } from "../auth/scopes.js";
import { ANONYMOUS, type Account, type Principal } from "./model.js";
import { atLeast, bestRoleOn, permissionOn, roleOn, type Level } from "./policy.js";
import { normalizeProjectName } from "../pypi/names.js";

/** What is being asked for. Downloads and uploads name a package, or null: an index (what is
 * visible), or an upload whose package is not known yet (what is writable anywhere). */
export type Action =
  | "conda:download"
  /** a conda package file added to or removed from a label (the package's write permission) */
  | "conda:upload"
  | "pypi:download"
  | "pypi:upload"
  /** a channel's privacy settings (admin over the whole channel) */
  | "channel:read"
  | "channel:write"
  /** one package's privacy (admin on that package) */
  | "package:read"
  | "package:write"
  /** an organization's document (members and admins) */
  | "org:read"
  /** an organization's admins, groups and memberships */
  | "org:modify-group"
  /** an account's tokens: the account itself, an organization's admins, server admins */
  | "tokens:read"
  | "tokens:write"
  /** a user's profile: the user and server admins */
  | "user:read"
  | "user:write"
  /** organizations are created by users, not with an organization's token */
  | "org:create"
  /** what only server admins do: users when sign-up is closed, server admins, adopting
   * store folders */
  | "server:admin";

type Needed = Level | "member" | "user" | "server-admin";

interface ActionSpec {
  /** The token scope the action needs (tokens only; a session has its account's rights). */
  scope: Need;
  /** The right the principal's account needs. */
  needs: Needed;
  /** What the right is judged on: one package (or, package null, any), or the channel as a whole. */
  on: "package" | "channel" | "server";
  /** Downloads: public content stays public to any caller. */
  public?: boolean;
  /** Changes: anonymous callers get 401. */
  write?: boolean;
  /** The refusal when the account's content is visible but the right is missing. */
  refuse: (who: string, channel: string, pkg: string | null) => string;
}

const adminOf = (who: string, channel: string) => `${who} is not an admin of ${channel}`;

export const ACTIONS: Readonly<Record<Action, ActionSpec>> = {
  "conda:download": { scope: "conda:download", needs: "read", on: "package", public: true, refuse: () => "" },
  "conda:upload": {
    scope: "conda",
    needs: "write",
    on: "package",
    write: true,
    refuse: (who, channel, pkg) => `"${who}" may not upload or remove${pkg === null ? "" : ` the package "${pkg}"`} in channel "${channel}"`,
  },
  "pypi:download": { scope: "pypi:download", needs: "read", on: "package", public: true, refuse: () => "" },
  "pypi:upload": {
    scope: "pypi:upload",
    needs: "write",
    on: "package",
    write: true,
    refuse: (who, channel, pkg) => `"${who}" may not upload${pkg === null ? "" : ` the package "${pkg}"`} to channel "${channel}"`,
  },
  "channel:read": { scope: "api:read", needs: "admin", on: "channel", refuse: adminOf },
  "channel:write": { scope: "api:write", needs: "admin", on: "channel", write: true, refuse: adminOf },
  "package:read": { scope: "api:read", needs: "admin", on: "package", refuse: (who, channel) => `${who} may not manage package privacy in ${channel}` },
  "package:write": { scope: "api:write", needs: "admin", on: "package", write: true, refuse: (who, channel) => `${who} may not manage package privacy in ${channel}` },
  "org:read": { scope: "api:read", needs: "member", on: "channel", refuse: (who, org) => `${who} is not a member of ${org}` },
  "org:modify-group": { scope: "api:modify-group", needs: "admin", on: "channel", write: true, refuse: adminOf },
  "tokens:read": { scope: "api:read", needs: "admin", on: "channel", refuse: (who, acc) => `${who} may not manage the tokens of ${acc}` },
  "tokens:write": { scope: "api:write", needs: "admin", on: "channel", write: true, refuse: (who, acc) => `${who} may not manage the tokens of ${acc}` },
  "user:read": { scope: "api:read", needs: "admin", on: "channel", refuse: (who, user) => `only ${user} or a server admin may see this` },
  "user:write": { scope: "api:write", needs: "admin", on: "channel", write: true, refuse: (who, user) => `only ${user} or a server admin may change this user` },
  "org:create": { scope: "api:write", needs: "user", on: "server", write: true, refuse: () => "organizations are created by users, not with an organization's token" },
  "server:admin": { scope: "api:write", needs: "server-admin", on: "server", write: true, refuse: (who) => `only a server admin may do this (${who} is not one)` },
};

export interface Resource {
  /** The account (channel) acted on; null when it does not exist. Server-wide actions: null. */
  account: Account | null;
  /** The name asked for, as the request spelled it (for the missing answer). */
  name?: string;
  /** What kind of account the request named ("organization", "user", "channel"). */
  kind?: "channel" | "organization" | "user";
  /** The package, normalized; null for an index or an upload not yet read. */
  package?: string | null;
}

export type Decision =
  | { allow: true; /** the principal to judge visibility as: itself, or anonymous when its
     * scopes do not cover a download of public content */ as: Principal }
  | { allow: false; error: GateError; /** true when the answer is the one a missing thing
     * gets: the door must then do the work a missing lookup does */ hidden: boolean };

/** The answer for what does not exist, and for what the principal may not see: it depends
 * only on the request (the names asked for, whether a token was given), never on what
 * exists. */
export function missing(principal: Principal, action: Action, r: Pick<Resource, "name" | "kind" | "package">): GateError {
  const spec = ACTIONS[action];
  if (spec.public) {
    const what = r.package ? `package "${r.package}" was not found in this channel` : "not found";
    // every door hears the same words (hidden = missing): both ways of giving a token
    const hint = principal.account === null ? " (private packages need a token: in the URL, /t/<token>/<channel>/, or in an Authorization header)" : "";
    return new GateError("not_found", what + hint);
  }
  if (spec.on === "package" && r.package) return new GateError("not_found", `package "${r.package}" was not found in this channel`);
  return new GateError("not_found", `no such ${r.kind ?? "channel"}: ${r.name ?? "?"}`);
}

function levelFor(p: Principal, acc: Account, spec: ActionSpec, pkg: string | null): Level {
  if (spec.on === "channel") {
    if (spec.needs === "member") {
      const role = roleOn(p, acc, null);
      if (role !== "none") return role;
      const user = p.account;
      // groups mean something on an organization only (a user document never has members)
      return acc.kind === "org" && p.accountKind === "user" && user !== null && (acc.groups ?? []).some((g) => g.members.includes(user)) ? "read" : "none";
    }
    return roleOn(p, acc, null);
  }
  if (pkg !== null) return permissionOn(p, acc, pkg);
  // package not named: an index shows what is visible; an upload needs write somewhere
  return spec.needs === "read" ? permissionOn(p, acc, null) : bestRoleOn(p, acc);
}

function meets(level: Level, needs: Needed): boolean {
  return atLeast(level, needs === "member" ? "read" : needs === "user" || needs === "server-admin" ? "none" : needs);
}

function scopeCovers(p: Principal, scope: Need): boolean {
  return p.token === null || covers(p.scopes, scope);
}

/** A token limited to some packages (a trusted publisher's) acts on those only; an index or
 * an upload not yet read (package null) is judged again on the package once it is known. */
function packageCovers(p: Principal, spec: ActionSpec, pkg: string | null): boolean {
  return p.packages === undefined || spec.on !== "package" || pkg === null || p.packages.includes(normalizeProjectName(pkg));
}

function insufficientScope(p: Principal, scope: Need): GateError {
  const name = p.token?.name ?? "?";
  return new GateError("insufficient_scope", `The token "${name}" does not have the ${scope} scope (it has: ${p.scopes.join(" ") || "none"}); create a token with ${scope}.`);
}

const deny = (error: GateError, hidden = false): Decision => ({ allow: false, error, hidden });

/** Whether `principal` may do `action` on `resource`; see the rule at the top. */
export function authorize(principal: Principal, action: Action, resource: Resource): Decision {
  const spec = ACTIONS[action];
  const pkg = resource.package ?? null;
  if (spec.write && principal.account === null) {
    const how = action === "pypi:upload" ? "uploading needs a token (user __token__, the token as password)" : "this needs a token: 'Authorization: Bearer <token>' (pkgate login gives one)";
    return deny(new GateError("auth_required", how));
  }

  if (spec.on === "server") {
    const ok = spec.needs === "user" ? principal.accountKind === "user" : principal.serverAdmin === true;
    if (!ok) return deny(new GateError("forbidden", spec.refuse(principal.account ?? "anonymous", "", null)));
    return scopeCovers(principal, spec.scope) ? { allow: true, as: principal } : deny(insufficientScope(principal, spec.scope));
  }

  const acc = resource.account;
  if (acc === null) return deny(missing(principal, action, resource), true);
  if (meets(levelFor(principal, acc, spec, pkg), spec.needs)) {
    if (scopeCovers(principal, spec.scope) && packageCovers(principal, spec, pkg)) return { allow: true, as: principal };
    if (scopeCovers(principal, spec.scope)) {
      if (spec.public && meets(levelFor(ANONYMOUS, acc, spec, pkg), spec.needs)) return { allow: true, as: ANONYMOUS };
      return deny(new GateError("forbidden", `The token "${principal.token?.name ?? "?"}" acts only on the packages ${principal.packages!.join(", ")}, not on "${pkg}".`));
    }
    // public stays public: the caller gets what an anonymous one gets
    if (spec.public && meets(levelFor(ANONYMOUS, acc, spec, pkg), spec.needs)) return { allow: true, as: ANONYMOUS };
    return deny(insufficientScope(principal, spec.scope));
  }
  if (!spec.public && principal.account !== null && atLeast(permissionOn(principal, acc, null), "read")) {
    return deny(new GateError("forbidden", spec.refuse(principal.account, acc.name, pkg)));
  }
  return deny(missing(principal, action, resource), true);
}

/** The refusal of a decision, after doing the work a lookup of a missing thing costs when
 * the refusal is the missing answer: hidden and missing then take the same time and the
 * same store work. `lookup` is the door's own lookup (it may fail; that is ignored). */
export async function refusal(decision: Extract<Decision, { allow: false }>, lookup: () => Promise<unknown>): Promise<GateError> {
  if (decision.hidden) await lookup().catch(() => undefined);
  return decision.error;
}

/** The allowed principal, or the refusal thrown. */
export function enforce(decision: Decision): Principal {
  if (!decision.allow) throw decision.error;
  return decision.as;
}

// ---- bounds on new tokens ---------------------------------------------------------------

/** The requested scopes the creating token does not cover: a token never holds more than
 * the token that creates it. Empty when the request is within bounds. */
export function scopesBeyond(creator: Principal, requested: readonly string[]): string[] {
  if (creator.token === null) return [];
  return requested.filter((scope) => NEEDS.some((need) => covers([scope], need) && !covers(creator.scopes, need)));
}
