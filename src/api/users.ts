// Users: sign up, log in (HTTP Basic → a token, as `anaconda login`), log out, who am I,
// profile, password change and reset. Passwords are checked against the throttle before
// any hashing and never appear in a message or a log line.
import { randomBytes } from "node:crypto";
import { GateError } from "../errors.js";
import { hashPassword, verifyPassword } from "../auth/password.js";
import { isChannelName } from "../http/target.js";
import type { Account } from "../access/model.js";
import * as v from "./validate.js";
import { isServerAdmin, requireScope } from "./rights.js";
import { me, param, ref, tokenView, userView, type ApiCall, type ApiRoute } from "./route.js";

/** Login tokens live 30 days unless the client asks otherwise (`maxAgeSeconds`). */
export const LOGIN_MAX_AGE = 30 * 24 * 3600;
export const LOGIN_SCOPES = ["all"];

// Unknown users are checked against this hash so that a wrong user name takes as long as a
// wrong password: the answer time does not tell which user names exist.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString("hex")));

/** Verify a user's password under the throttle; a wrong one is counted and answered with
 * `wrong` (a 401 on login, a 403 on a password change). */
async function checkPassword(call: ApiCall, username: string, password: string, wrong: GateError): Promise<Account> {
  const { throttle, catalog } = call.deps;
  await throttle.check(username, call.client);
  const acc = isChannelName(username) ? await catalog.getAccount(username) : null;
  let ok = false;
  if (acc?.kind === "user" && acc.passwordHash) ok = await verifyPassword(password, acc.passwordHash);
  else await verifyPassword(password, await dummy());
  if (!ok || !acc) {
    await throttle.fail(username, call.client);
    throw wrong;
  }
  return acc;
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
    need: null,
    request: ref("Signup"),
    response: { status: 201, description: "the new user", schema: userSchema },
    errors: [401, 403, 409, 429],
    async handle(call) {
      const input = v.signup(call.body);
      if (call.deps.signup === "admin" && !input.serverAdmin) {
        // a private gateway: accounts are handed out, not taken
        const actor = me(call);
        if (!isServerAdmin(actor)) throw new GateError("forbidden", "sign-up is closed on this server (SIGNUP=admin): ask a server admin to create your user");
        requireScope(actor, "api:write");
      }
      if (input.serverAdmin) {
        const actor = me(call);
        requireScope(actor, "api:write");
        if (!isServerAdmin(actor)) throw new GateError("forbidden", "only a server admin may create server admins");
      }
      const acc = await call.deps.catalog.createAccount({
        name: input.username,
        kind: "user",
        email: input.email,
        passwordHash: await hashPassword(input.password),
        serverAdmin: input.serverAdmin,
      });
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
    need: null,
    request: ref("Login"),
    response: { status: 201, description: "the login token", schema: ref("TokenCreated") },
    errors: [429],
    async handle(call) {
      if (!call.basic) throw new GateError("bad_credentials", "log in with HTTP Basic credentials: your user name and password");
      const opts = v.login(call.body);
      const username = call.basic.username.toLowerCase();
      const acc = await checkPassword(call, username, call.basic.password, new GateError("bad_credentials", "wrong user name or password"));
      const { token, record } = await call.deps.catalog.createToken({
        account: acc.name,
        name: v.loginTokenName(opts.hostname, new Date(), randomBytes(3).toString("hex")),
        scopes: LOGIN_SCOPES,
        maxAgeSeconds: opts.maxAgeSeconds ?? LOGIN_MAX_AGE,
        createdBy: acc.name,
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
    need: null,
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
    need: "api:read",
    response: { status: 200, description: "the caller", schema: ref("Whoami") },
    errors: [],
    async handle(call) {
      const actor = me(call);
      const t = actor.principal.token!;
      const acc = actor.account;
      const who = acc.kind === "user" ? userView(acc, true) : { name: acc.name, kind: acc.kind, createdAt: acc.createdAt };
      return { ...who, token: { id: t.id, name: t.name, scopes: actor.principal.scopes, expiresAt: t.expiresAt } };
    },
  },
  {
    method: "GET",
    path: "/users/{user}",
    operationId: "getUser",
    summary: "A user: everything for the user and server admins, the name for others.",
    tag: "users",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the user", schema: userSchema },
    errors: [404],
    async handle(call) {
      const actor = me(call);
      const acc = await call.deps.catalog.requireAccount(v.accountName(param(call, "user"), "user"), "user");
      return userView(acc, acc.name === actor.account.name || isServerAdmin(actor));
    },
  },
  {
    method: "PATCH",
    path: "/users/{user}",
    operationId: "updateUser",
    summary: "Change a user's email (the user or a server admin) or server-admin flag (server admins only).",
    tag: "users",
    auth: "token",
    need: "api:write",
    request: ref("UserPatch"),
    response: { status: 200, description: "the user", schema: userSchema },
    errors: [404],
    async handle(call) {
      const actor = me(call);
      const name = v.accountName(param(call, "user"), "user");
      const change = v.userPatch(call.body);
      await call.deps.catalog.requireAccount(name, "user");
      if (change.serverAdmin !== undefined && !isServerAdmin(actor)) throw new GateError("forbidden", "only a server admin may change who is a server admin");
      if (name !== actor.account.name && !isServerAdmin(actor)) throw new GateError("forbidden", `only ${name} or a server admin may change this user`);
      return userView(await call.deps.catalog.updateUser(name, change), true);
    },
  },
  {
    method: "PUT",
    path: "/users/{user}/password",
    operationId: "setPassword",
    summary: "Change your own password (with currentPassword), or reset a user's password as a server admin.",
    tag: "users",
    auth: "token",
    need: "api:write",
    request: ref("PasswordChange"),
    response: { status: 204, description: "the password is changed" },
    errors: [404, 429],
    async handle(call) {
      const actor = me(call);
      const name = v.accountName(param(call, "user"), "user");
      const input = v.passwordChange(call.body);
      const target = await call.deps.catalog.requireAccount(name, "user");
      if (target.name === actor.account.name) {
        // a stolen token alone must not be enough to lock the owner out
        if (input.currentPassword === undefined) throw new GateError("bad_request", `the field "currentPassword" is required to change your own password`);
        await checkPassword(call, target.name, input.currentPassword, new GateError("forbidden", "the current password is wrong"));
      } else if (!isServerAdmin(actor)) {
        throw new GateError("forbidden", `only ${name} or a server admin may set this password`);
      }
      await call.deps.catalog.setPasswordHash(target.name, await hashPassword(input.password));
      return null;
    },
  },
];
