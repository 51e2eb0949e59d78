// The shape of one API operation. Each resource file exports a table of these; index.ts
// registers them in the router and openapi.ts describes them, both from the same table, so
// the published document and the server cannot drift apart.
import type { Catalog } from "../access/catalog.js";
import type { Identifier } from "../auth/identify.js";
import type { AuthFailures } from "../http/auth-failures.js";
import type { Account, Group, Principal, Privacy, TokenRecord } from "../access/model.js";
import { GateError } from "../errors.js";
import { ACTIONS, authorize, enforce, type Action, type Resource } from "../access/authorize.js";
import type { PasswordThrottle, SignupThrottle } from "./throttle.js";
import type { Readable } from "node:stream";
import type { CondaPublisher } from "../conda/publish.js";
import type { AnacondaUploadDeps } from "./anaconda-upload.js";
import type { KindFiles } from "../kinds/files.js";
import type { PypiRegistry } from "../pypi/registry.js";
import type { OidcExchange } from "../oidc/exchange.js";
import * as v from "./validate.js";

export interface ApiDeps {
  catalog: Catalog;
  identifier: Identifier;
  failures: AuthFailures;
  throttle: PasswordThrottle;
  /** Sign-ups per client address (SIGNUP_LIMIT), counted with the pages' in the shared cache. */
  signups?: SignupThrottle;
  basePath: string;
  /** SIGNUP: "open" lets anyone create a user; "admin" only server admins. */
  signup: "open" | "admin";
  /** TOKEN_MAX_AGE: no token lives longer (seconds). */
  tokenMaxAge: number;
  /** conda uploads and removals (absent: those routes answer 503). */
  conda?: { publisher: CondaPublisher; maxUploadBytes: number; tmpDir?: string };
  /** anaconda-client's upload routes (anaconda-upload.ts): the store they look files up in,
   * and the key their post_urls are signed with. */
  anacondaUploads?: AnacondaUploadDeps;
  /** Environments and notebooks (src/kinds; absent: those routes answer 503). */
  kinds?: KindFiles;
  /** Trusted publishing (oidc/): the publishers and the ID-token exchange. */
  oidc?: OidcExchange;
  /** PyPI projects' status and yanks (api/pypi.ts; absent: those routes answer 503). */
  pypiProjects?: PypiRegistry;
}

/** One request as a handler sees it: parsed and identified. */
export interface ApiCall {
  deps: ApiDeps;
  params: Record<string, string>;
  body: unknown;
  /** The client's address (for rate limits). */
  client: string;
  /** Who asks (anonymous without credentials). */
  principal: Principal;
  /** The caller's own account; null for anonymous callers. */
  me: Account | null;
  /** HTTP Basic credentials (the login operation only). */
  basic?: { username: string; password: string };
  /** The query string's parameters (the first of each name). */
  query?: Record<string, string>;
  /** The request body unread, for routes with `body: "stream"` (uploads). */
  stream?: { body: Readable; contentType: string | undefined; contentLength: number | undefined };
  /** The request's URL as received (anaconda-client's stage answers an absolute post_url). */
  url?: string;
}

/** An identified caller: a principal acting as an account. */
export interface Caller {
  principal: Principal & { account: string };
  account: Account;
}

export type Schema = Record<string, unknown>;

export interface ApiRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** OpenAPI form, relative to /api: `/orgs/{org}/groups`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** token: a Bearer token is required; optional: used when given; basic: HTTP Basic
   * username and password (login). */
  auth: "token" | "optional" | "basic";
  /** The action the operation is authorized as (access/authorize.ts), for the document: its
   * scope is published as x-required-scope. Null when no scope is needed (login, logout,
   * signup when open). */
  action: Action | null;
  request?: Schema;
  /** "stream": the handler reads the body itself (ApiCall.stream), e.g. a package upload;
   * default: a JSON body, parsed before the handler runs. */
  body?: "json" | "stream";
  /** The request body's media type and description when it is not JSON. */
  rawRequest?: { contentType: string; description: string };
  /** Query parameters, for the document. */
  query?: { name: string; description: string; schema: Schema }[];
  response: { status: 200 | 201 | 204; description: string; schema?: Schema };
  /** Error statuses this operation can answer besides 400/401/403 (which most can). */
  errors: number[];
  /** "anaconda-client": answered only to anaconda-client (x-binstar-api-version or its
   * User-Agent, anaconda.ts fromAnacondaClient); other callers reach pkgate's own route of the
   * same path, if any (GET /channels/{channel}, GET /user). */
  client?: "anaconda-client";
  handle(call: ApiCall): Promise<unknown>;
}

/** Who acts, on which catalog: what an API call, a web page and the CLI on the store (as the
 * operator) all hold, and what the API's exported operations take. */
export interface Acting {
  catalog: Catalog;
  principal: Principal;
}

export const acting = (call: ApiCall): Acting => ({ catalog: call.deps.catalog, principal: call.principal });

/** The caller, or 401 when the request carried no token. */
export function me(call: ApiCall): Caller {
  if (call.me === null || call.principal.account === null) throw new GateError("auth_required", "this needs a token: 'Authorization: Bearer <token>' (pkgate login gives one)");
  return { principal: call.principal as Caller["principal"], account: call.me };
}

/** Authorize the caller for `action` on `resource`, or throw the answer (the missing one
 * for anything it may not see). */
export function allow(call: ApiCall, action: Action, resource: Resource): Principal {
  return enforce(authorize(call.principal, action, resource));
}

/** The account named in the path (`org`, `user`, `channel`), or null when there is none of
 * that kind: authorize() answers both the same. */
export async function named(catalog: Catalog, param_: "org" | "user" | "channel", name: string): Promise<Resource & { name: string }> {
  const acc = await catalog.getAccount(name);
  const kind = param_ === "org" ? "organization" : param_;
  const fits = acc !== null && (param_ === "channel" || acc.kind === param_);
  return { account: fits ? acc : null, name, kind };
}

/** The account `name` of `kind` (checked as the API checks its path), with the principal
 * authorized for `action` on it (on the package `pkg` when given); to anyone who may not see
 * it, and where it is of another kind, it does not exist. */
export async function accountFor(a: Acting, kind: "org" | "user" | "channel", name: string, action: Action, pkg?: string): Promise<Account> {
  const r = await named(a.catalog, kind, v.accountName(name, kind));
  enforce(authorize(a.principal, action, pkg === undefined ? r : { ...r, package: pkg }));
  return r.account!;
}

/** The scope an operation needs, for the OpenAPI document. */
export const scopeOf = (r: ApiRoute): string | null => (r.action ? ACTIONS[r.action].scope : null);

export function param(call: ApiCall, name: string): string {
  const v = call.params[name];
  if (v === undefined) throw new GateError("internal", `missing path parameter ${name}`);
  return v;
}

// ---- views: what the API shows of the catalog's documents (never a password hash) -------

/** A user: everything (`full`) for the user and server admins, the name for others. */
export interface UserView {
  name: string;
  kind: Account["kind"];
  email?: string | null;
  serverAdmin?: boolean;
  createdAt?: string;
}

export interface OrgView {
  name: string;
  kind: Account["kind"];
  createdAt: string;
  admins: string[];
  groups: Group[];
  defaultPrivacy: Privacy;
}

export function userView(acc: Account, full: boolean): UserView {
  if (!full) return { name: acc.name, kind: acc.kind };
  return { name: acc.name, kind: acc.kind, email: acc.email ?? null, serverAdmin: acc.serverAdmin === true, createdAt: acc.createdAt };
}

export function orgView(acc: Account): OrgView {
  return { name: acc.name, kind: acc.kind, createdAt: acc.createdAt, admins: acc.admins ?? [], groups: (acc.groups ?? []).map(groupView), defaultPrivacy: acc.defaultPrivacy };
}

export function groupView(g: Group): Group {
  return { name: g.name, permission: g.permission, packages: g.packages, members: g.members };
}

/** A token's record without what the catalog keeps beside it (its hash): never a secret. */
export function tokenView(t: TokenRecord): TokenRecord {
  return { id: t.id, name: t.name, account: t.account, createdBy: t.createdBy, scopes: t.scopes, createdAt: t.createdAt, expiresAt: t.expiresAt, ...(t.revokedAt ? { revokedAt: t.revokedAt } : {}), ...(t.packages ? { packages: t.packages } : {}), ...(t.publisher ? { publisher: t.publisher } : {}) };
}

// ---- schema fragments for the OpenAPI document -----------------------------------------

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const arrayOf = (items: Schema): Schema => ({ type: "array", items });
