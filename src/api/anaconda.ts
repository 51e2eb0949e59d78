// anaconda-client's account routes (issue #12), beside pkgate's own API under /api/, so that
// `anaconda config --set sites.pkgate.url https://host/api` and `anaconda -s pkgate login |
// whoami | auth | logout` work unmodified. What the client sends and expects, as read in
// anaconda-client 1.16 (binstar_client/__init__.py, commands/login.py, logout.py,
// authorizations.py, whoami.py, and tests/test_login.py, test_authorizations.py):
//   - every request: `x-binstar-api-version`, `User-Agent: Anaconda-Client/<v>`, JSON, and
//     `Authorization: token <T>` once logged in (auth/token.ts reads that scheme);
//   - `check_server`: HEAD of the API URL itself, which must answer 200;
//   - `authentication_type`: `{authentication_type}`; anything but "kerberos" means password;
//   - `_authenticate`: POST /authentications with HTTP Basic user:password and
//     `{scopes, note, note_url, hostname, user, max-age, strength, fail-if-exists}`, answering
//     exactly 200 `{token}`. `login` sends scopes null; `auth --create` sends the scopes as a
//     list (maybe empty), the token's name as `note`, an organization as `user`, and
//     fail-if-exists true. A second login from the same host sends fail-if-exists true, and a
//     400 there makes the client prompt (login.py try_replace_token), which dies in a script;
//   - `remove_authentication`: DELETE /authentications (logout: the calling token),
//     /authentications/name/{name}, /authentications/org/{org}/name/{name}, answering exactly 201;
//   - `user`: GET /user (pkgate's whoami, users.ts: the answer carries `login` and `created_at`
//     too) and GET /user/{login}; a 401 on /user makes `whoami` print "Anonymous User";
//   - a refusal is shown as its JSON `error` field: for anaconda-client, `error` holds the words
//     (anacondaErrors below), `code` the stable code.
// Each operation is pkgate's own: logIn and checkPassword (users.ts), issueToken (tokens.ts),
// the catalog's revocations, authorize() for every right; anaconda-client's scope names are
// pkgate's (auth/scopes.ts follows anaconda.org), plus the client's own spelling `repo`.
import { randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { GateError } from "../errors.js";
import type { Account, Principal, TokenRecord } from "../access/model.js";
import { authorize } from "../access/authorize.js";
import { DEFAULT_SCOPES, SCOPE_DESCRIPTIONS, SCOPES } from "../auth/scopes.js";
import { checkPassword, logIn, LOGIN_MAX_AGE, LOGIN_SCOPES, userRoutes } from "./users.js";
import { issueToken } from "./tokens.js";
import * as v from "./validate.js";
import { accountFor, acting, allow, arrayOf, named, param, type ApiCall, type ApiRoute, type Schema } from "./route.js";

/** The routes only anaconda-client asks (relative to /api); their refusals always carry the
 * words in `error`. */
const ANACONDA_ONLY = /^\/(?:authentication-type|authentications?(?:\/.*)?|scopes|user\/[^/]+)$/;

/** Whether the request comes from anaconda-client: it sends its version on every request. */
export function fromAnacondaClient(c: Context): boolean {
  return c.req.header("x-binstar-api-version") !== undefined || /^Anaconda-Client\//i.test(c.req.header("user-agent") ?? "");
}

/** Middleware for the whole /api router: a refusal answered to anaconda-client (or on one of
 * its own routes) carries the sentence in `error`, which is what the client prints
 * (`_check_response`: `data.get('error', msg)`); the stable code moves to `code`. pkgate's
 * own clients keep `{error: code, message}`. */
export function anacondaErrors(apiPrefix: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const e = c.error;
    if (!(e instanceof GateError)) return;
    const rel = new URL(c.req.url).pathname.slice(apiPrefix.length) || "/";
    if (!fromAnacondaClient(c) && !ANACONDA_ONLY.test(rel)) return;
    if (c.req.method === "HEAD") return;
    const headers = new Headers(c.res.headers);
    headers.delete("content-length");
    c.res = new Response(JSON.stringify({ error: e.message, code: e.code, message: e.message }), { status: c.res.status, headers });
  };
}

/** The fields anaconda-client reads of a user or organization (pprint_user: `login` and
 * `created_at`; upload: `user_type`). */
export function anacondaUser(acc: Account): { login: string; user_type: "user" | "org"; created_at: string; name: string } {
  return { login: acc.name, user_type: acc.kind, created_at: acc.createdAt, name: acc.name };
}

/** A token as `anaconda auth --list` shows it (show_auths: id, application, remote_addr,
 * hostname, expires, scopes). */
export function anacondaAuthentication(t: TokenRecord): Record<string, unknown> {
  return { id: t.id, application: t.name, name: t.name, remote_addr: null, hostname: null, scopes: t.scopes, created_at: t.createdAt, expires: t.expiresAt };
}

/** What anaconda-client's POST /authentications carries. */
interface AuthenticationRequest {
  /** null from `login`; a list (maybe empty) from `auth --create`. */
  scopes: string[] | null;
  note?: string;
  hostname?: string;
  /** The organization the token is for (`auth --create -o ORG`). */
  user?: string;
  maxAgeSeconds?: number;
  failIfExists: boolean;
}

const AUTHENTICATION_FIELDS = ["scopes", "note", "note_url", "hostname", "user", "max-age", "strength", "fail-if-exists"];

function authenticationRequest(body: unknown): AuthenticationRequest {
  const b = v.objectBody(body, AUTHENTICATION_FIELDS);
  const text = (field: string): string | undefined => {
    const x = b[field];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "string") throw new GateError("bad_request", `the field "${field}" must be a string`);
    return x;
  };
  let scopes: string[] | null = null;
  const raw = b.scopes;
  if (typeof raw === "string") scopes = raw.split(/[\s,]+/).filter((s) => s !== "");
  else if (Array.isArray(raw) && raw.every((s) => typeof s === "string")) scopes = (raw as string[]).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== "");
  else if (raw !== undefined && raw !== null) throw new GateError("bad_request", `the field "scopes" must be a list of scope names`);
  const age = b["max-age"];
  if (age !== undefined && age !== null && typeof age !== "number") throw new GateError("bad_request", `the field "max-age" must be a number of seconds`);
  const fail = b["fail-if-exists"];
  return {
    scopes,
    note: text("note"),
    hostname: text("hostname"),
    user: text("user"),
    ...(typeof age === "number" ? { maxAgeSeconds: age } : {}),
    failIfExists: fail === true,
  };
}

/** anaconda-client's scope names onto pkgate's: the same names (anaconda.org's), and `repo`,
 * which the client's own `--scopes` help uses for `repos`. No scope: pkgate's default
 * (downloads only, auth/scopes.ts), where anaconda.org would give the whole account. */
export function mapScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0) return [...DEFAULT_SCOPES];
  return scopes.map((s) => (s === "repo" ? "repos" : s));
}

/** A token name from anaconda-client's `note` (`binstar_client:<site>:<user>@<host>` for a
 * login, `--name` for `auth --create`): the characters token names allow, at most `max`. */
function tokenNameOf(note: string | undefined, max: number): string {
  const clean = (note ?? "anaconda-client").replace(/[^A-Za-z0-9 _.:@-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (clean || "anaconda-client").slice(0, max);
}

const pkgateWhoami = userRoutes.find((r) => r.operationId === "whoami")!;

const NOT_LOGGED_IN = "you are not logged in: run `anaconda -s <site> login --username <user> --password <password>`";

/** The caller's own account, or 401 in anaconda-client's words. */
function caller(call: ApiCall): { principal: Principal & { account: string }; account: Account } {
  if (call.me === null || call.principal.account === null) throw new GateError("auth_required", NOT_LOGGED_IN);
  return { principal: call.principal as Principal & { account: string }, account: call.me };
}

/** POST /authentications: a login (scopes null) or a new token (`auth --create`), each with the
 * user's password, as the client sends them. */
async function authenticate(call: ApiCall): Promise<Record<string, unknown>> {
  // The unified-login flow of anaconda-client ≥ 1.13 sends an anaconda.com Bearer token; these
  // exact words make it fall back to the user name and password (login.py).
  if (!call.basic) throw new GateError("bad_credentials", "Bearer token authentication is not enabled");
  const input = authenticationRequest(call.body);
  const { username, password } = call.basic;

  if (input.scopes === null && (input.user === undefined || input.user === username.toLowerCase())) {
    // `anaconda login`: pkgate's login (throttle, password, a token with scope all, 30 days);
    // the previous login token of the same client and host is replaced, as the client itself
    // would ask for after its prompt, so fail-if-exists is never a refusal here
    const base = tokenNameOf(input.note, 57);
    const opts = v.login({ hostname: input.hostname, maxAgeSeconds: input.maxAgeSeconds });
    const { account, token, record } = await logIn(call.deps, call.client, username, password, {
      name: `${base}-${randomBytes(3).toString("hex")}`,
      scopes: LOGIN_SCOPES,
      maxAgeSeconds: opts.maxAgeSeconds,
      fallbackSeconds: LOGIN_MAX_AGE,
    });
    const previous = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{6}$`);
    for (const t of await call.deps.catalog.listTokens(account.name)) {
      if (t.id !== record.id && previous.test(t.name)) await call.deps.catalog.revokeToken(account.name, t.name).catch(() => undefined);
    }
    return { token, ...anacondaAuthentication(record) };
  }

  // `anaconda auth --create [-o ORG]`: a token of the user or of an organization it administers,
  // made as the password's owner (a session's rights: the account's, no token's bounds)
  const user = await checkPassword(call.deps, call.client, username.toLowerCase(), password, new GateError("bad_credentials", "wrong user name or password"));
  const principal: Principal & { account: string } = { token: null, account: user.name, accountKind: "user", serverAdmin: user.serverAdmin === true, scopes: ["all"] };
  const a = { catalog: call.deps.catalog, principal };
  let owner: Account;
  if (input.user === undefined || input.user === user.name) {
    allow({ ...call, principal }, "tokens:write", { account: user, name: user.name });
    owner = user;
  } else {
    owner = await accountFor(a, "org", input.user, "tokens:write");
  }
  const wanted = v.tokenCreate({ name: tokenNameOf(input.note, 64), scopes: mapScopes(input.scopes ?? []), maxAgeSeconds: input.maxAgeSeconds });
  if (!input.failIfExists) await call.deps.catalog.revokeToken(owner.name, wanted.name).catch((e: unknown) => {
    if (!(e instanceof GateError && e.code === "not_found")) throw e;
  });
  try {
    const { token, record } = await issueToken(call.deps, principal, owner, wanted);
    return { token, ...anacondaAuthentication(record) };
  } catch (e) {
    if (e instanceof GateError && e.code === "conflict") {
      throw new GateError("conflict", `a token named "${wanted.name}" already exists for ${owner.name}: remove it with \`anaconda auth -r ${wanted.name}${owner === user ? "" : ` -o ${owner.name}`}\` or choose another --name`);
    }
    throw e;
  }
}

/** Revoke a token of `acc` by name: as pkgate's DELETE /tokens/{name}. */
async function revokeNamed(call: ApiCall, acc: Account, name: string): Promise<Record<string, unknown>> {
  try {
    return anacondaAuthentication(await call.deps.catalog.revokeToken(acc.name, name));
  } catch (e) {
    if (e instanceof GateError && e.code === "not_found") throw new GateError("not_found", `${acc.name} has no token named "${name}" (anaconda auth --list shows them)`);
    throw e;
  }
}

const authenticationSchema: Schema = {
  type: "object",
  properties: {
    id: { type: "string" },
    application: { type: "string", description: "the token's name" },
    name: { type: "string" },
    remote_addr: { type: "null" },
    hostname: { type: "null" },
    scopes: { type: "array", items: { type: "string" } },
    created_at: { type: "string", format: "date-time" },
    expires: { type: "string", format: "date-time" },
  },
  required: ["id", "application", "scopes", "expires"],
};
const anacondaUserSchema: Schema = {
  type: "object",
  properties: { login: { type: "string" }, user_type: { type: "string", enum: ["user", "org"] }, created_at: { type: "string", format: "date-time" }, name: { type: "string" } },
  required: ["login", "user_type", "created_at"],
};
const tag = "anaconda-client";

export const anacondaRoutes: ApiRoute[] = [
  {
    method: "GET",
    // the API URL itself (/api, as the client strips a trailing slash)
    path: "",
    operationId: "anacondaCheckServer",
    summary: "The API's root: anaconda-client's `check_server` (HEAD) needs a 200 here.",
    tag,
    auth: "optional",
    action: null,
    response: { status: 200, description: "what this server is", schema: { type: "object" } },
    errors: [],
    async handle() {
      return { server: "pkgate", api: "/api/openapi.json", "anaconda-client": "account and token commands: login, whoami, auth, logout" };
    },
  },
  {
    method: "GET",
    path: "/authentication-type",
    operationId: "anacondaAuthenticationType",
    summary: "How `anaconda login` authenticates: with a user name and password.",
    tag,
    auth: "optional",
    action: null,
    response: { status: 200, description: "the authentication type", schema: { type: "object", properties: { authentication_type: { type: "string", const: "password" } }, required: ["authentication_type"] } },
    errors: [],
    async handle() {
      return { authentication_type: "password" };
    },
  },
  {
    method: "GET",
    path: "/scopes",
    operationId: "anacondaScopes",
    summary: "The token scopes (`anaconda auth --list-scopes`).",
    tag,
    auth: "optional",
    action: null,
    response: { status: 200, description: "scope → what it allows", schema: { type: "object", additionalProperties: { type: "string" } } },
    errors: [],
    async handle() {
      return Object.fromEntries(SCOPES.map((s) => [s, SCOPE_DESCRIPTIONS[s]]));
    },
  },
  {
    method: "POST",
    path: "/authentications",
    operationId: "anacondaAuthenticate",
    summary: "anaconda-client's login (scopes null: a token with scope all, replacing this client's previous login token from the same host) and `auth --create` (a named token of the user, or with `user` of an organization it administers), with HTTP Basic user name and password. A name taken with fail-if-exists: 409.",
    tag,
    auth: "basic",
    action: null,
    request: {
      type: "object",
      properties: {
        scopes: { oneOf: [{ type: "null" }, { type: "array", items: { type: "string" } }, { type: "string" }] },
        note: { type: ["string", "null"], description: "the token's name" },
        note_url: { type: ["string", "null"] },
        hostname: { type: ["string", "null"] },
        user: { type: ["string", "null"], description: "the organization the token is for" },
        "max-age": { type: ["integer", "null"] },
        strength: { type: ["string", "null"] },
        "fail-if-exists": { type: ["boolean", "null"] },
      },
      additionalProperties: false,
    },
    response: { status: 200, description: "the token, with its secret (once)", schema: { ...authenticationSchema, properties: { token: { type: "string" }, ...(authenticationSchema.properties as object) }, required: ["token"] } },
    errors: [404, 409, 429],
    handle: authenticate,
  },
  {
    method: "GET",
    path: "/authentications",
    operationId: "anacondaListAuthentications",
    summary: "The caller's live tokens (`anaconda auth --list`), never their secrets.",
    tag,
    auth: "token",
    action: "tokens:read",
    response: { status: 200, description: "the tokens", schema: arrayOf(authenticationSchema) },
    errors: [],
    async handle(call) {
      const me = caller(call);
      allow(call, "tokens:read", { account: me.account, name: me.account.name });
      return (await call.deps.catalog.listTokens(me.account.name)).map(anacondaAuthentication);
    },
  },
  {
    method: "GET",
    path: "/authentication",
    operationId: "anacondaAuthentication",
    summary: "The token this request is made with (`anaconda auth --info`).",
    tag,
    auth: "token",
    action: null,
    response: { status: 200, description: "the token", schema: { type: "object" } },
    errors: [],
    async handle(call) {
      const me = caller(call);
      const t = me.principal.token!;
      return { id: t.id, application: t.name, name: t.name, scopes: me.principal.scopes, expires: t.expiresAt };
    },
  },
  {
    method: "DELETE",
    path: "/authentications",
    operationId: "anacondaLogout",
    summary: "Revoke the token this request is made with (`anaconda logout`); 201 as the client expects.",
    tag,
    auth: "token",
    action: null,
    response: { status: 201, description: "the token is revoked", schema: authenticationSchema },
    errors: [],
    async handle(call) {
      const me = caller(call);
      return anacondaAuthentication(await call.deps.catalog.revokeTokenById(me.account.name, me.principal.token!.id));
    },
  },
  {
    method: "DELETE",
    path: "/authentications/name/{name}",
    operationId: "anacondaRevokeToken",
    summary: "Revoke one of the caller's tokens by name (`anaconda auth -r NAME`); 201 as the client expects.",
    tag,
    auth: "token",
    action: "tokens:write",
    response: { status: 201, description: "the revoked token", schema: authenticationSchema },
    errors: [404],
    async handle(call) {
      const me = caller(call);
      allow(call, "tokens:write", { account: me.account, name: me.account.name });
      return revokeNamed(call, me.account, param(call, "name"));
    },
  },
  {
    method: "DELETE",
    path: "/authentications/org/{org}/name/{name}",
    operationId: "anacondaRevokeOrgToken",
    summary: "Revoke an organization's token by name (`anaconda auth -r NAME -o ORG`, its admins); 201 as the client expects.",
    tag,
    auth: "token",
    action: "tokens:write",
    response: { status: 201, description: "the revoked token", schema: authenticationSchema },
    errors: [404],
    async handle(call) {
      caller(call);
      const org = await accountFor(acting(call), "org", param(call, "org"), "tokens:write");
      return revokeNamed(call, org, param(call, "name"));
    },
  },
  {
    // anaconda-client asks who it is before upload (no -u), label (no -o) and whoami, with
    // whatever token it holds (a conda-only one too): this names the account and nothing else,
    // for any live token; pkgate's own GET /user (users.ts, the token too) keeps needing api:read
    method: "GET",
    path: "/user",
    operationId: "anacondaWhoami",
    summary: "Who the token acts as (login, user_type, created_at), for any live token of the account (anaconda whoami, and upload without -u, label without -o); a token with api:read gets pkgate's whole whoami.",
    tag,
    client: "anaconda-client",
    auth: "token",
    action: null,
    response: { status: 200, description: "the account", schema: anacondaUserSchema },
    errors: [],
    async handle(call) {
      const me = caller(call);
      // a token that may read its user gets pkgate's whole answer (users.ts whoami)
      if (authorize(call.principal, "user:read", { account: me.account, name: me.account.name }).allow) return pkgateWhoami.handle(call);
      return anacondaUser(me.account);
    },
  },
  {
    method: "GET",
    path: "/user/{user}",
    operationId: "anacondaAccount",
    summary: "A user or organization by name, as anaconda-client reads it (`login`, `user_type`, `created_at`): to whoever may see it; to anyone else it does not exist.",
    tag,
    auth: "optional",
    action: "user:read",
    response: { status: 200, description: "the account", schema: anacondaUserSchema },
    errors: [404],
    async handle(call) {
      const r = await named(call.deps.catalog, "channel", v.accountName(param(call, "user"), "user"));
      const d = authorize(call.principal, "user:read", r);
      // as userProfile (users.ts): its admins, and whoever sees its content, see that it exists
      if (!d.allow && d.error.code !== "forbidden") throw d.error;
      return anacondaUser(r.account!);
    },
  },
];

