// Signing up, in and out, and the recovery pages (their forms are answered in settings.tsx).
// Sign-up and sign-in are the API's own verbs (api/users.ts: signUp, logIn with its password
// throttle); a session is the login token logIn mints, named and scoped as a web session
// (session.ts).
import type { Context } from "hono";
import { randomBytes } from "node:crypto";
import { GateError } from "../../errors.js";
import { ANONYMOUS } from "../../access/model.js";
import { logIn, signUp } from "../../api/users.js";
import * as v from "../../api/validate.js";
import { clientAddress } from "../../http/identify.js";
import { isSessionToken, sessionTokenName, SESSION_MAX_SECONDS, SESSION_SCOPES } from "../session.js";
import { endSession, startSession } from "../visitor.js";
import { field } from "../forms.js";
import { frameFor, render, sentence } from "../render.js";
import { HomeView, type HomeState, type Tab } from "../views/home.js";
import { MessageView } from "../views/message.js";
import { FORGOT_TITLES, ForgotView, type ForgotState, type Forgotten } from "../views/recovery.js";
import { mailRecovery } from "../recovery.js";
import { href, type Web } from "../web.js";

/** A path of ours to go back to after signing in, or undefined (never another site). No
 * control character or backslash either: a browser drops tabs and newlines from an address
 * and reads `\\` as `/`, so `/<TAB>/evil.example` would land on evil.example, and a newline
 * cannot stand in a Location header at all. */
export function localNext(next: string | undefined, web: Web): string | undefined {
  if (!next || next.length > 512 || /[\x00-\x1f\x7f\\]/.test(next)) return undefined;
  if (!next.startsWith(`${web.base}/`) || next.startsWith("//")) return undefined;
  return next;
}

/** Where a user lands: their Dashboard. */
const dashboardOf = (web: Web, user: string) => href(web, `/dashboard/${user}`);

async function home(c: Context, web: Web, state: HomeState, status = 200): Promise<Response> {
  const visitor = c.get("visitor");
  return render(c, await frameFor(c, web, state.tab === "signup" ? "Sign up" : "Sign in"), <HomeView web={web} visitor={visitor} state={state} />, status);
}

export async function homePage(c: Context, web: Web): Promise<Response> {
  const visitor = c.get("visitor");
  if (visitor.user) return c.redirect(dashboardOf(web, visitor.user.name), 303);
  const signupOpen = web.deps.signup === "open";
  const asked = c.req.query("tab");
  const tab: Tab = asked === "signin" || asked === "signup" ? asked : signupOpen ? "signup" : "signin";
  const info = visitor.ended
    ? "Your session has ended. Sign in again."
    : c.req.query("signedout") !== undefined
      ? "You are signed out."
      : c.req.query("reset") !== undefined
        ? "Your new password is set, and every browser signed in to the account is signed out. Sign in with the new password."
        : undefined;
  return home(c, web, { tab, signupOpen, info, next: localNext(c.req.query("next"), web) });
}

/** Sign in: the API's logIn (password throttle included); then a session on its token. */
export async function signIn(c: Context, web: Web): Promise<Response> {
  const form = c.get("form");
  const username = field(form, "username").trim();
  const next = localNext(field(form, "next"), web);
  const state: HomeState = { tab: "signin", signupOpen: web.deps.signup === "open", username, next };
  try {
    const { account } = await openSessionFor(c, web, username, field(form, "password"));
    return c.redirect(next ?? dashboardOf(web, account.name), 303);
  } catch (err) {
    if (!(err instanceof GateError) || (err.code !== "bad_credentials" && err.code !== "rate_limited")) throw err;
    const res = await home(c, web, { ...state, error: err.code === "bad_credentials" ? "Wrong username or password." : sentence(err.message) }, err.status);
    for (const [k, val] of Object.entries(err.headers)) res.headers.set(k, val);
    return res;
  }
}

/** Sign up: the API's signUp (SIGNUP, the naming and password rules), then signed in. */
export async function signUpPage(c: Context, web: Web): Promise<Response> {
  const form = c.get("form");
  const username = field(form, "username").trim();
  const email = field(form, "email").trim();
  const password = field(form, "password");
  const state: HomeState = { tab: "signup", signupOpen: web.deps.signup === "open", username, email };
  const refuse = (message: string, status = 400) => home(c, web, { ...state, error: message }, status);
  if (!state.signupOpen) return refuse("New accounts on this server are created by an administrator: ask yours.", 403);
  if (password !== field(form, "confirm")) return refuse("The two passwords differ.");
  if (field(form, "terms") !== "accepted") return refuse("Accept the Terms and Conditions to sign up.");
  try {
    const input = v.signup({ username, email, password });
    await signUp({ ...web.deps, signups: web.signups }, ANONYMOUS, input, clientAddress(c));
    await openSessionFor(c, web, input.username, password);
    return c.redirect(dashboardOf(web, input.username), 303);
  } catch (err) {
    if (!(err instanceof GateError) || err.status >= 500 || err.status === 401) throw err;
    // a 429 keeps its Retry-After
    const res = await refuse(sentence(err.message), err.status);
    for (const [k, val] of Object.entries(err.headers)) res.headers.set(k, val);
    return res;
  }
}

/** Sign out: the session's token is revoked, so every replica refuses the cookie from now
 * on, wherever it was copied to. */
export async function signOut(c: Context, web: Web): Promise<Response> {
  const { user, sessionId } = c.get("visitor");
  if (user && sessionId) {
    await web.deps.catalog.revokeTokenById(user.name, sessionId).catch((err: unknown) => {
      // signed out already (another tab): nothing is left to revoke
      if (!(err instanceof GateError && err.code === "not_found")) throw err;
    });
  }
  endSession(c, web);
  return c.redirect(href(web, "/?tab=signin&signedout"), 303);
}

/** Check the password and give the browser a session standing on a new login token. */
async function openSessionFor(c: Context, web: Web, username: string, password: string) {
  const result = await logIn({ ...web.deps, throttle: web.throttle, tokenMaxAge: web.tokenMaxAge }, clientAddress(c), username, password, {
    name: sessionTokenName(new Date(web.now()), randomBytes(3).toString("hex")),
    scopes: SESSION_SCOPES,
    fallbackSeconds: SESSION_MAX_SECONDS,
  });
  await startSession(c, web, result.token);
  // the session this browser had before (signing in again, or as someone else) ends
  const before = c.get("visitor");
  if (before.user && before.sessionId) await web.deps.catalog.revokeTokenById(before.user.name, before.sessionId).catch(() => undefined);
  await sweepEndedSessions(c, web, result.account.name, result.record.id);
  return result;
}

/** The user's web sessions that ended without signing out (their tokens expired) are
 * dropped from the token list at the next sign-in (never the one it just began). */
async function sweepEndedSessions(c: Context, web: Web, user: string, current: string): Promise<void> {
  try {
    const ended = (await web.deps.catalog.listTokens(user)).filter((t) => isSessionToken(t.name) && t.id !== current && Date.parse(t.expiresAt) <= web.now());
    for (const t of ended.slice(0, 20)) await web.deps.catalog.revokeTokenById(user, t.id);
  } catch (err) {
    web.deps.logger.warn({ msg: "ended web sessions not swept", account: user, err: String(err), reqId: c.get("reqId") });
  }
}

/** "I forgot my username" and "I forgot my password": the form, or (`?sent`) the one answer
 * every request gets, or, when this server cannot mail it, what to do instead (recovery.ts
 * mailRecovery). The forms post to routes/settings.tsx. */
export async function forgotPage(c: Context, web: Web, what: Forgotten): Promise<Response> {
  const step = !mailRecovery(web.config)[what] ? "offline" : c.req.query("sent") !== undefined ? "sent" : "form";
  return forgotForm(c, web, { what, step });
}

export async function forgotForm(c: Context, web: Web, state: ForgotState, status = 200): Promise<Response> {
  return render(c, await frameFor(c, web, FORGOT_TITLES[state.what]), <ForgotView web={web} visitor={c.get("visitor")} state={state} />, status);
}

export async function termsPage(c: Context, web: Web): Promise<Response> {
  return render(
    c,
    await frameFor(c, web, "Terms and Conditions"),
    <MessageView web={web} title="Terms and Conditions">
      <p>This pkgate server is run by your organization. Its administrators decide who may use it and how; ask them for the terms that apply here.</p>
      <p>Keep your password and your tokens to yourself, and revoke a token you no longer need.</p>
    </MessageView>,
  );
}
