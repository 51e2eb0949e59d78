// Users: sign up, log in (HTTP Basic → a token, as `anaconda login`), log out, who am I,
// profile, password change and reset. Passwords are checked against the throttle before
// any hashing and never appear in a message or a log line. Sign-up, the password check,
// login, a user's profile and the password change are exported: the web pages and the CLI
// on the store call the same functions.
import { randomBytes } from "node:crypto";
import { GateError } from "../errors.js";
import { hashPassword, verifyPassword } from "../auth/password.js";
import { isAccountName, tokenExpiry } from "../access/names.js";
import type { Account, Principal, TokenRecord } from "../access/model.js";
import type { Catalog } from "../access/catalog.js";
import { authorize, enforce } from "../access/authorize.js";
import type { PasswordThrottle, SignupThrottle } from "./throttle.js";
import * as v from "./validate.js";
import { isSessionToken } from "../web/session.js";
import { accountFor, acting, allow, me, named, param, ref, tokenView, userView, type Acting, type ApiRoute, type UserView } from "./route.js";

/** Login tokens live 30 days unless the client asks otherwise (`maxAgeSeconds`, at most
 * TOKEN_MAX_AGE). */
export const LOGIN_MAX_AGE = 30 * 24 * 3600;
export const LOGIN_SCOPES = ["all"];

// Unknown users are checked against this hash so that a wrong user name takes as long as a
// wrong password: the answer time does not tell which user names exist.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString("hex")));

/** What a password check needs: the throttle (its counters are in the shared cache) and the
 * catalog. */
export interface PasswordDeps {
  throttle: PasswordThrottle;
  catalog: Catalog;
}

/** Verify a user's password under the throttle; a wrong one is counted and answered with
 * `wrong` (a 401 on login, a 403 on a password change). Every door that takes a password
 * (the API, the web pages) calls this one, so they count against the same limits. */
export async function checkPassword(deps: PasswordDeps, client: string, username: string, password: string, wrong: GateError): Promise<Account> {
  const { throttle, catalog } = deps;
  // counted before any hashing, atomically across replicas: a burst checks at most the limit
  const attempt = await throttle.attempt(username, client);
  let acc: Account | null = null;
  let ok = false;
  try {
    acc = isAccountName(username) ? await catalog.getAccount(username) : null;
    if (acc?.kind === "user" && acc.passwordHash) ok = await verifyPassword(password, acc.passwordHash);
    else await verifyPassword(password, await dummy());
  } catch (err) {
    await attempt.succeeded(); // nothing was checked: give the slot back
    throw err;
  }
  if (!ok || !acc) throw wrong; // a wrong password keeps its slot for the window
  await attempt.succeeded();
  return acc;
}

/** The new password of a user, as every door sets it: your own only with the current
 * password (checked under the throttle, a wrong one is a 403: a stolen token or an open
 * browser alone must not be enough to lock the owner out); another user's as whoever the
 * caller has already been authorized to write that user as (a server admin's reset). Whoever
 * sets it, the user's web sessions end (on every replica), but `keepSession`, the one that
 * made the change in the pages: after a compromise, a reset from the API or the CLI must
 * not leave a stolen browser session signed in. */
export async function changePassword(
  deps: PasswordDeps,
  client: string,
  actor: string,
  user: string,
  input: { password: string; currentPassword?: string },
  keepSession: string | null = null,
): Promise<{ account: Account; endedSessions: number }> {
  if (user === actor) {
    if (input.currentPassword === undefined) throw new GateError("bad_request", `the field "currentPassword" is required to change your own password`);
    await checkPassword(deps, client, user, input.currentPassword, new GateError("forbidden", "the current password is wrong"));
  }
  const account = await deps.catalog.setPasswordHash(user, await hashPassword(input.password));
  return { account, endedSessions: await endWebSessions(deps.catalog, user, keepSession) };
}

/** End the user's web sessions but `keep` (their tokens revoked: refused on every replica);
 * how many ended. */
export async function endWebSessions(catalog: Catalog, user: string, keep: string | null): Promise<number> {
  const sessions = (await catalog.listTokens(user)).filter((t) => isSessionToken(t.name) && t.id !== keep);
  for (const t of sessions) {
    await catalog.revokeTokenById(user, t.id).catch((err: unknown) => {
      // signed out meanwhile: nothing left to end
      if (!(err instanceof GateError && err.code === "not_found")) throw err;
    });
  }
  return sessions.length;
}

/** Set `user`'s password as PUT /users/{user}/password does (`body` is its PasswordChange):
 * the principal must be allowed to write the user, then changePassword's rules hold. */
export async function setPassword(a: Acting & { throttle: PasswordThrottle }, client: string, user: string, body: unknown): Promise<void> {
  const input = v.passwordChange(body);
  const acc = await accountFor(a, "user", user, "user:write");
  await changePassword(a, client, a.principal.account!, acc.name, input);
}

/** A user as the principal sees it: everything for the user and server admins, the name for
 * others whose content is visible; to anyone else the user does not exist. */
export async function userProfile(a: Acting, name: string): Promise<UserView> {
  const r = await named(a.catalog, "user", v.accountName(name, "user"));
  const d = authorize(a.principal, "user:read", r);
  if (!d.allow && d.error.code !== "forbidden") throw d.error;
  return userView(r.account!, d.allow);
}

/** The token a login mints: its name and scopes, and its lifetime (the requested seconds,
 * else `fallbackSeconds`, both within TOKEN_MAX_AGE). */
export interface LoginToken {
  name: string;
  scopes: string[];
  maxAgeSeconds?: number;
  fallbackSeconds: number;
}

/** Log a user in: the password checked under the throttle, then a new token of the user's
 * (the API's login token; the token a web session stands on). A wrong user name or password
 * is a 401 that does not say which. */
export async function logIn(deps: PasswordDeps & { tokenMaxAge: number }, client: string, username: string, password: string, mint: LoginToken): Promise<{ account: Account; token: string; record: TokenRecord }> {
  const acc = await checkPassword(deps, client, username.toLowerCase(), password, new GateError("bad_credentials", "wrong user name or password"));
  const expiresAt = tokenExpiry(mint.maxAgeSeconds, { serverMax: deps.tokenMaxAge }, mint.fallbackSeconds);
  const { token, record } = await deps.catalog.createToken({ account: acc.name, name: mint.name, scopes: mint.scopes, expiresAt, createdBy: acc.name });
  return { account: acc, token, record };
}

/** The refusal of a sign-up while SIGNUP=admin (the web page says it in its own words). */
export const SIGNUP_CLOSED = "sign-up is closed on this server (SIGNUP=admin): ask a server admin to create your user";

/** Sign up: a new user (its channel has the same name), as `principal` may create one. With
 * SIGNUP=admin only server admins create users; making a server admin, or adopting a store
 * folder that already has content, is for server admins only. Anyone else's sign-up is
 * counted against `client`'s SIGNUP_LIMIT first, before the password is hashed or anything
 * written. */
export async function signUp(deps: { catalog: Catalog; signup: "open" | "admin"; signups?: SignupThrottle }, principal: Principal, input: ReturnType<typeof v.signup>, client = "unknown"): Promise<Account> {
  if (deps.signup === "admin") {
    // a private gateway: accounts are handed out, not taken
    const d = authorize(principal, "server:admin", { account: null });
    if (!d.allow) throw d.error.code === "forbidden" ? new GateError("forbidden", SIGNUP_CLOSED) : d.error;
  }
  if (input.serverAdmin) enforce(authorize(principal, "server:admin", { account: null }));
  // a folder of the store that has content but no account is adopted on purpose only
  if (input.adopt) enforce(authorize(principal, "server:admin", { account: null }));
  if (deps.signups && principal.serverAdmin !== true) await deps.signups.admit(client);
  return deps.catalog.createAccount({
    adopt: input.adopt,
    name: input.username,
    kind: "user",
    email: input.email,
    passwordHash: await hashPassword(input.password),
    serverAdmin: input.serverAdmin,
  });
}

const userSchema = ref("User");

export const userRoutes: ApiRoute[] = [
  {
    method: "POST",
    path: "/users",
    operationId: "signup",
    summary: "Sign up: create a user (its channel has the same name). A server admin may create server admins.",
    tag: "users",
    auth: "optional",
    action: null,
    request: ref("Signup"),
    response: { status: 201, description: "the new user", schema: userSchema },
    errors: [401, 403, 409, 429],
    async handle(call) {
      const acc = await signUp(call.deps, call.principal, v.signup(call.body), call.client);
      return userView(acc, true);
    },
  },
  {
    method: "POST",
    path: "/login",
    operationId: "login",
    summary: "Log in with HTTP Basic username:password; returns a new token with scope `all` (shown once).",
    tag: "users",
    auth: "basic",
    action: null,
    request: ref("Login"),
    response: { status: 201, description: "the login token", schema: ref("TokenCreated") },
    errors: [429],
    async handle(call) {
      if (!call.basic) throw new GateError("bad_credentials", "log in with HTTP Basic credentials: your user name and password");
      const opts = v.login(call.body);
      const { token, record } = await logIn(call.deps, call.client, call.basic.username, call.basic.password, {
        name: v.loginTokenName(opts.hostname, new Date(), randomBytes(3).toString("hex")),
        scopes: LOGIN_SCOPES,
        maxAgeSeconds: opts.maxAgeSeconds,
        fallbackSeconds: LOGIN_MAX_AGE,
      });
      return { ...tokenView(record), token };
    },
  },
  {
    method: "POST",
    path: "/logout",
    operationId: "logout",
    summary: "Revoke the token this request is made with (any scopes).",
    tag: "users",
    auth: "token",
    action: null,
    response: { status: 204, description: "the token is revoked" },
    errors: [],
    async handle(call) {
      const actor = me(call);
      await call.deps.catalog.revokeTokenById(actor.principal.account, actor.principal.token!.id);
      return null;
    },
  },
  {
    method: "GET",
    path: "/user",
    operationId: "whoami",
    summary: "Who am I: the account the token acts as, and the token itself (never its secret).",
    tag: "users",
    auth: "token",
    action: "user:read",
    response: { status: 200, description: "the caller", schema: ref("Whoami") },
    errors: [],
    async handle(call) {
      const actor = me(call);
      allow(call, "user:read", { account: actor.account, name: actor.account.name });
      const t = actor.principal.token!;
      const acc = actor.account;
      const who = acc.kind === "user" ? userView(acc, true) : { name: acc.name, kind: acc.kind, createdAt: acc.createdAt };
      // login, user_type, created_at: what anaconda-client's whoami reads (api/anaconda.ts)
      return { ...who, login: acc.name, user_type: acc.kind, created_at: acc.createdAt, token: { id: t.id, name: t.name, scopes: actor.principal.scopes, expiresAt: t.expiresAt } };
    },
  },
  {
    method: "GET",
    path: "/users/{user}",
    operationId: "getUser",
    summary: "A user: everything for the user and server admins, the name for others.",
    tag: "users",
    auth: "token",
    action: "user:read",
    response: { status: 200, description: "the user", schema: userSchema },
    errors: [404],
    async handle(call) {
      me(call);
      return userProfile(acting(call), param(call, "user"));
    },
  },
  {
    method: "PATCH",
    path: "/users/{user}",
    operationId: "updateUser",
    summary: "Change a user's email (the user or a server admin) or server-admin flag (server admins only).",
    tag: "users",
    auth: "token",
    action: "user:write",
    request: ref("UserPatch"),
    response: { status: 200, description: "the user", schema: userSchema },
    errors: [404],
    async handle(call) {
      me(call);
      const change = v.userPatch(call.body);
      const acc = await accountFor(acting(call), "user", param(call, "user"), "user:write");
      if (change.serverAdmin !== undefined) allow(call, "server:admin", { account: null });
      return userView(await call.deps.catalog.updateUser(acc.name, change), true);
    },
  },
  {
    method: "PUT",
    path: "/users/{user}/password",
    operationId: "setPassword",
    summary: "Change your own password (with currentPassword), or reset a user's password as a server admin.",
    tag: "users",
    auth: "token",
    action: "user:write",
    request: ref("PasswordChange"),
    response: { status: 204, description: "the password is changed" },
    errors: [404, 429],
    async handle(call) {
      me(call);
      await setPassword({ ...acting(call), throttle: call.deps.throttle }, call.client, param(call, "user"), call.body);
      return null;
    },
  },
];
