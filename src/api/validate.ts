// Request validation for the API: untrusted JSON bodies and path parameters in, typed
// values out, or a 400 that names the field and the rule. Pure; never echoes a password.
import { badRequest } from "../errors.js";
import type { Permission, Privacy } from "../access/model.js";
import { parseScopes, type Scope } from "../auth/scopes.js";
import { validatePassword, MAX_PASSWORD_LENGTH } from "../auth/password.js";
import { normalizeProjectName } from "../pypi/names.js";
import { ACCOUNT_NAME, GROUP_NAME, LIFETIME_CEILING, PACKAGE_NAME, TOKEN_NAME, requireName } from "../access/names.js";

type Body = Record<string, unknown>;

const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,255}$/;
const HOSTNAME = /[^A-Za-z0-9.-]+/g;
const PERMISSIONS: readonly Permission[] = ["read", "write", "admin"];
const PRIVACIES: readonly Privacy[] = ["public", "private"];
const MAX_PACKAGES_PER_GROUP = 10_000;

/** The body must be a JSON object with only the known fields (a misspelt field is an
 * error, not silently ignored). */
export function objectBody(body: unknown, allowed: readonly string[]): Body {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
      throw badRequest(`unknown field ${JSON.stringify(shown)}; expected: ${allowed.join(", ") || "none"}`);
    }
  }
  return body as Body;
}

function str(b: Body, field: string, required: true): string;
function str(b: Body, field: string, required: false): string | undefined;
function str(b: Body, field: string, required: boolean): string | undefined {
  const v = b[field];
  if (v === undefined) {
    if (required) throw badRequest(`the field "${field}" is required`);
    return undefined;
  }
  if (typeof v !== "string") throw badRequest(`the field "${field}" must be a string`);
  return v;
}

// Every naming rule is access/names.ts'; the OpenAPI document publishes the same ones.

export function accountName(value: string, field = "username"): string {
  return requireName(ACCOUNT_NAME, value, field);
}

export function groupName(value: string, field = "name"): string {
  return requireName(GROUP_NAME, value, field);
}

/** A package name (PyPI or conda), normalized: one privacy per channel and name. */
export function packageName(value: string, field = "package"): string {
  return normalizeProjectName(requireName(PACKAGE_NAME, value, field));
}

function email(value: string): string {
  if (!EMAIL.test(value)) throw badRequest(`invalid email: expected name@domain`);
  return value;
}

function password(value: string, field: string): string {
  try {
    validatePassword(value);
  } catch (err) {
    throw badRequest(`invalid ${field}: ${(err as Error).message.replace(/^the password /, "it ")}`);
  }
  return value;
}

/** A requested token lifetime: its shape only (a whole number of seconds, at most
 * LIFETIME_CEILING). The real bound (TOKEN_MAX_AGE, the creating token's own expiry) is
 * tokenExpiry()'s, which the handler applies with the server's settings. */
function maxAge(b: Body, field: string): number | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > LIFETIME_CEILING) {
    throw badRequest(`invalid ${field}: a whole number of seconds from 1 to ${LIFETIME_CEILING}`);
  }
  return v;
}

function flag(b: Body, field: string): boolean {
  const v = b[field];
  if (v !== undefined && typeof v !== "boolean") throw badRequest(`the field "${field}" must be true or false`);
  return v === true;
}

/** `adopt`: a server admin creates the account on purpose over a store folder that already
 * has content (otherwise such a name is refused); false unless given. */
export function signup(body: unknown): { username: string; email: string; password: string; serverAdmin: boolean; adopt: boolean } {
  const b = objectBody(body, ["username", "email", "password", "serverAdmin", "adopt"]);
  const serverAdmin = flag(b, "serverAdmin");
  const adopt = flag(b, "adopt");
  return {
    username: accountName(str(b, "username", true)),
    email: email(str(b, "email", true)),
    password: password(str(b, "password", true), "password"),
    serverAdmin,
    adopt,
  };
}

export function passwordChange(body: unknown): { password: string; currentPassword?: string } {
  const b = objectBody(body, ["password", "currentPassword"]);
  const current = str(b, "currentPassword", false);
  if (current !== undefined && (current === "" || current.length > MAX_PASSWORD_LENGTH)) throw badRequest(`invalid currentPassword`);
  return { password: password(str(b, "password", true), "password"), ...(current !== undefined ? { currentPassword: current } : {}) };
}

export function userPatch(body: unknown): { email?: string; serverAdmin?: boolean } {
  const b = objectBody(body, ["email", "serverAdmin"]);
  const out: { email?: string; serverAdmin?: boolean } = {};
  const e = str(b, "email", false);
  if (e !== undefined) out.email = email(e);
  if (b.serverAdmin !== undefined) {
    if (typeof b.serverAdmin !== "boolean") throw badRequest(`the field "serverAdmin" must be true or false`);
    out.serverAdmin = b.serverAdmin;
  }
  if (Object.keys(out).length === 0) throw badRequest("nothing to change: give email and/or serverAdmin");
  return out;
}

export function orgCreate(body: unknown): { name: string; adopt: boolean } {
  const b = objectBody(body, ["name", "adopt"]);
  const adopt = flag(b, "adopt");
  return { name: accountName(str(b, "name", true), "name"), adopt };
}

function permission(v: unknown): Permission {
  if (typeof v !== "string" || !PERMISSIONS.includes(v as Permission)) throw badRequest(`invalid permission: one of ${PERMISSIONS.join(", ")}`);
  return v as Permission;
}

/** "*" (every package of the organization's channel) or a list of package names,
 * normalized and deduplicated. */
export function packageList(v: unknown): string[] | "*" {
  if (v === "*") return "*";
  if (!Array.isArray(v)) throw badRequest(`invalid packages: "*" or a list of package names`);
  if (v.length > MAX_PACKAGES_PER_GROUP) throw badRequest(`invalid packages: at most ${MAX_PACKAGES_PER_GROUP} names`);
  const names = v.map((n, i) => {
    if (typeof n !== "string") throw badRequest(`invalid packages[${i}]: must be a string`);
    return packageName(n, `packages[${i}]`);
  });
  return [...new Set(names)].sort();
}

export function groupCreate(body: unknown): { name: string; permission: Permission; packages: string[] | "*" } {
  const b = objectBody(body, ["name", "permission", "packages"]);
  if (b.permission === undefined) throw badRequest(`the field "permission" is required`);
  return {
    name: groupName(str(b, "name", true)),
    permission: permission(b.permission),
    packages: b.packages === undefined ? "*" : packageList(b.packages),
  };
}

export function groupPatch(body: unknown): { permission?: Permission; packages?: string[] | "*" } {
  const b = objectBody(body, ["permission", "packages"]);
  const out: { permission?: Permission; packages?: string[] | "*" } = {};
  if (b.permission !== undefined) out.permission = permission(b.permission);
  if (b.packages !== undefined) out.packages = packageList(b.packages);
  if (Object.keys(out).length === 0) throw badRequest("nothing to change: give permission and/or packages");
  return out;
}

export function privacy(body: unknown, field: "privacy" | "defaultPrivacy"): Privacy {
  const b = objectBody(body, [field]);
  const v = b[field];
  if (v === undefined) throw badRequest(`the field "${field}" is required`);
  if (typeof v !== "string" || !PRIVACIES.includes(v as Privacy)) throw badRequest(`invalid ${field}: "public" or "private"`);
  return v as Privacy;
}

export function tokenCreate(body: unknown): { name: string; scopes: Scope[]; maxAgeSeconds?: number } {
  const b = objectBody(body, ["name", "scopes", "maxAgeSeconds"]);
  const name = requireName(TOKEN_NAME, str(b, "name", true), "name");
  const raw = b.scopes;
  if (raw === undefined) throw badRequest(`the field "scopes" is required (e.g. "conda:download pypi:download")`);
  if (typeof raw !== "string" && !(Array.isArray(raw) && raw.every((s) => typeof s === "string"))) {
    throw badRequest(`invalid scopes: a string or a list of strings`);
  }
  let scopes: Scope[];
  try {
    scopes = parseScopes(raw as string | string[]);
  } catch (err) {
    throw badRequest(`invalid scopes: ${(err as Error).message}`);
  }
  const age = maxAge(b, "maxAgeSeconds");
  return { name, scopes, ...(age !== undefined ? { maxAgeSeconds: age } : {}) };
}

export function login(body: unknown): { hostname?: string; maxAgeSeconds?: number } {
  const b = objectBody(body, ["hostname", "maxAgeSeconds"]);
  const host = str(b, "hostname", false);
  const age = maxAge(b, "maxAgeSeconds");
  const out: { hostname?: string; maxAgeSeconds?: number } = {};
  if (host !== undefined) {
    const clean = host.replace(HOSTNAME, "-").replace(/^[-.]+/, "").slice(0, 30);
    if (clean) out.hostname = clean;
  }
  if (age !== undefined) out.maxAgeSeconds = age;
  return out;
}

/** The name of a login token, as `anaconda login` names its own: where and when. Token
 * names allow letters, digits, spaces and `_ . : @ -`, at most 64 characters. */
export function loginTokenName(hostname: string | undefined, now: Date, nonce: string): string {
  // 20260102T030405123Z: sortable, and the nonce keeps two logins in one millisecond apart
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.(\d{3})Z$/, "$1Z");
  return `login-${hostname ?? "cli"}-${stamp}-${nonce}`.slice(0, 64);
}
