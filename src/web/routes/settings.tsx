// Account settings (email, password change) and password recovery by mail.
//
// Settings are the signed-in user's own (`/settings/<user>/account`): the address and the
// password each change only with the current password, checked by the API's own function
// under the login throttle; the password change is the API's own (users.ts changePassword)
// and then ends the user's other web sessions (their login tokens revoked through the
// catalog, so on every replica), keeping this one.
//
// Recovery (recovery.ts): the forgot forms answer at once with one page whatever was typed,
// and leave the lookups and the mail to the outbox; a mailed reset link
// (`/account/reset/t/<code>`: where a secret stands in our URLs, so the access log prints
// `t/<token>` instead) is taken off the address bar at once, into a cookie of the reset
// page's own, and used there.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { GateError } from "../../errors.js";
import type { Account } from "../../access/model.js";
import { changePassword, checkPassword, endWebSessions } from "../../api/users.js";
import * as v from "../../api/validate.js";
import { hashPassword } from "../../auth/password.js";
import { clientAddress } from "../../http/identify.js";
import type { Area } from "../routing.js";
import { endSession, overTls, publicBase } from "../visitor.js";
import { field } from "../forms.js";
import { frameFor, render, sentence } from "../render.js";
import { Outbox, smtpMailer, type JobContext } from "../mail.js";
import { fingerprintMatches, mailNotice, mailRecovery, mailResetLinks, mailUsernames, openResetCode, RecoveryThrottle, resetKeys, type OpenedCode, type RecoveryDeps } from "../recovery.js";
import { SettingsView, type SettingsState } from "../views/settings.js";
import { ResetView, type Forgotten, type ResetState } from "../views/recovery.js";
import { accountFor } from "./dashboard.js";
import { forgotForm } from "./account.js";
import { href, type Web } from "../web.js";

/** The cookie holding a reset link's code while its page is open. */
const RESET_COOKIE = "pkgate_reset";
/** A reset opened from the mail is finished within this. */
const RESET_COOKIE_SECONDS = 3600;
/** The longest name or address the forgot forms take. */
const MAX_TYPED = 320;

/** What the recovery routes share: the throttle, the outbox, and (with SMTP_URL) the jobs'
 * dependencies. */
interface Recovery {
  throttle: RecoveryThrottle;
  outbox: Outbox;
  jobs: RecoveryDeps | null;
}

function recoveryOf(web: Web): Recovery {
  const { catalog, store, cache, logger } = web.deps;
  const throttle = new RecoveryThrottle(cache, undefined, web.now);
  const mailer = web.config.smtpUrl !== null ? smtpMailer(web.config.smtpUrl, web.config.mailFrom) : null;
  return { throttle, outbox: new Outbox(logger), jobs: mailer ? { catalog, store, logger, mailer, throttle, keys: web.keys, now: web.now } : null };
}

export const settingsPages: Area = (on, { open, user, form }, web) => {
  const recovery = recoveryOf(web);
  on("GET", "/settings/:account", user, async (c) => c.redirect(href(web, `/settings/${(await ownAccount(c, web)).name}/account`), 303));
  on("GET", "/settings/:account/account", user, (c) => settingsPage(c, web));
  on("POST", "/settings/:account/account/email", [...user, form], (c) => changeEmail(c, web, recovery));
  on("POST", "/settings/:account/account/password", [...user, form], (c) => changeOwnPassword(c, web, recovery));
  on("POST", "/account/forgot-username", [...open, form], (c) => forgot(c, web, recovery, "username"));
  on("POST", "/account/forgot-password", [...open, form], (c) => forgot(c, web, recovery, "password"));
  on("GET", "/account/reset/t/:code", open, (c) => takeResetLink(c, web));
  on("GET", "/account/reset", open, (c) => resetPage(c, web));
  on("POST", "/account/reset", [...open, form], (c) => resetPassword(c, web));
};

// ---- settings -------------------------------------------------------------------------

/** The account of the path, which must be the signed-in user's own: anyone else gets
 * authorize()'s refusal for user:write (a hidden or missing account: the missing answer),
 * and whoever authorize() would let through (a server admin) is sent to the CLI. */
async function ownAccount(c: Context, web: Web): Promise<Account> {
  const account = await accountFor(c, web, "user:write");
  if (account.kind !== "user" || account.name !== c.get("visitor").user!.name) {
    throw new GateError("forbidden", `account settings are changed by their user; a server admin sets a user's password with pkgate user --reset ${account.name}`);
  }
  return account;
}

async function settings(c: Context, web: Web, extra: Partial<SettingsState> & { account: Account }, status = 200): Promise<Response> {
  const state: SettingsState = { mailing: web.config.smtpUrl !== null, ...extra };
  return render(c, await frameFor(c, web, "Account settings", { active: state.account.name }), <SettingsView web={web} visitor={c.get("visitor")} state={state} />, status);
}

const SAVED: Record<string, (a: Account) => string> = {
  email: (a) => `Your email is now ${a.email}.`,
  password: () => "Your password is changed. Every other browser signed in to your account is signed out.",
};

async function settingsPage(c: Context, web: Web): Promise<Response> {
  const account = await ownAccount(c, web);
  const saved = c.req.query("saved");
  return settings(c, web, { account, ...(saved && Object.hasOwn(SAVED, saved) ? { info: SAVED[saved]!(account) } : {}) });
}

/** A refusal the settings page shows beside its form, with the status and headers (a
 * Retry-After) it came with; anything else goes to the error page. */
async function refused(c: Context, web: Web, account: Account, form: "email" | "password", err: unknown, extra: Partial<SettingsState> = {}): Promise<Response> {
  if (!(err instanceof GateError) || ![400, 403, 429].includes(err.status)) throw err;
  const res = await settings(c, web, { account, error: { form, message: sentence(err.message) }, ...extra }, err.status);
  for (const [k, val] of Object.entries(err.headers)) res.headers.set(k, val);
  return res;
}

async function changeEmail(c: Context, web: Web, recovery: Recovery): Promise<Response> {
  const account = await ownAccount(c, web);
  const form = c.get("form");
  const email = field(form, "email").trim();
  try {
    const change = v.userPatch({ email });
    // the address is where a password reset goes: whoever sits at an open browser must not
    // be able to point it elsewhere
    await checkPassword({ throttle: web.throttle, catalog: web.deps.catalog }, clientAddress(c), account.name, field(form, "current"), new GateError("forbidden", "the current password is wrong"));
    const updated = await web.deps.catalog.updateUser(account.name, { email: change.email });
    if (account.email && account.email !== updated.email) notify(c, web, recovery, account.email, account.name, `its email address was changed to ${updated.email}`);
  } catch (err) {
    return refused(c, web, account, "email", err, { email });
  }
  return c.redirect(href(web, `/settings/${account.name}/account?saved=email`), 303);
}

async function changeOwnPassword(c: Context, web: Web, recovery: Recovery): Promise<Response> {
  const account = await ownAccount(c, web);
  const form = c.get("form");
  const password = field(form, "password");
  let ended: number;
  try {
    if (password !== field(form, "confirm")) throw new GateError("bad_request", "the two new passwords differ");
    if (field(form, "current") === "") throw new GateError("bad_request", "type your current password");
    // the API's own rules: the new password's, then the current one under the throttle
    const input = v.passwordChange({ password, currentPassword: field(form, "current") });
    ended = (await changePassword({ throttle: web.throttle, catalog: web.deps.catalog }, clientAddress(c), account.name, account.name, input, c.get("visitor").sessionId)).endedSessions;
  } catch (err) {
    return refused(c, web, account, "password", err);
  }
  web.deps.logger.info({ msg: "password changed in the web pages; other web sessions ended", account: account.name, ended, reqId: c.get("reqId") });
  if (account.email) notify(c, web, recovery, account.email, account.name, "its password was changed");
  return c.redirect(href(web, `/settings/${account.name}/account?saved=password`), 303);
}

/** Tell the address of record that the account changed (when this server mails). */
function notify(c: Context, web: Web, recovery: Recovery, to: string, account: string, what: string): void {
  const jobs = recovery.jobs;
  if (!jobs) return;
  const base = web.config.publicUrl !== null ? publicBase(c, web) : null;
  recovery.outbox.post("account notice", jobContext(c), () => mailNotice(jobs, to, account, what, base, jobContext(c)));
}

const jobContext = (c: Context): JobContext => ({ reqId: c.get("reqId") });

// ---- recovery -------------------------------------------------------------------------

/** A forgot form: counted against the client's limit, then one answer, whatever was typed;
 * the outbox looks it up and mails. */
async function forgot(c: Context, web: Web, recovery: Recovery, what: Forgotten): Promise<Response> {
  const jobs = recovery.jobs;
  if (!jobs || !mailRecovery(web.config)[what]) return c.redirect(href(web, `/account/forgot-${what}`), 303);
  const typed = field(c.get("form"), "who").trim();
  const shape = typed === "" || typed.length > MAX_TYPED ? "Type it in full." : what === "username" && !typed.includes("@") ? "Type an email address (name@domain)." : null;
  if (shape) return forgotForm(c, web, { what, step: "form", error: shape, typed: typed.slice(0, MAX_TYPED) }, 400);
  await recovery.throttle.request(clientAddress(c));
  const ctx = jobContext(c);
  const base = web.config.publicUrl !== null ? publicBase(c, web) : null;
  if (what === "password") recovery.outbox.post("password reset", ctx, () => mailResetLinks(jobs, typed, base!, ctx));
  else recovery.outbox.post("username reminder", ctx, () => mailUsernames(jobs, typed, base, ctx));
  return c.redirect(href(web, `/account/forgot-${what}?sent`), 303);
}

/** The mailed link: its code goes into the reset page's cookie and the browser on to that
 * page, so the code stays in no address bar and goes out in no Referer. */
async function takeResetLink(c: Context, web: Web): Promise<Response> {
  const code = c.req.param("code") ?? "";
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(code) || code.length > 1024) return reset(c, web, { step: "dead", why: "invalid" });
  setCookie(c, RESET_COOKIE, code, { path: href(web, "/account/reset"), httpOnly: true, sameSite: "Lax", secure: overTls(c, web), maxAge: RESET_COOKIE_SECONDS });
  return c.redirect(href(web, "/account/reset"), 303);
}

type Link = { ok: true; account: Account; code: Extract<OpenedCode, { ok: true }> } | { ok: false; why: Extract<ResetState, { step: "dead" }>["why"] };

/** The reset link this browser opened, if it still works. */
async function openedLink(c: Context, web: Web): Promise<Link> {
  const code = getCookie(c, RESET_COOKIE);
  if (!code) return { ok: false, why: "missing" };
  const keys = resetKeys(await web.keys());
  const opened = await openResetCode(keys, code, web.now());
  if (!opened.ok) return opened;
  const account = await web.deps.catalog.getAccount(opened.user);
  if (account?.kind !== "user" || !fingerprintMatches(keys, account, opened.fingerprint)) return { ok: false, why: "used" };
  return { ok: true, account, code: opened };
}

async function reset(c: Context, web: Web, state: ResetState): Promise<Response> {
  const status = state.step === "form" ? (state.error ? 400 : 200) : state.why === "expired" || state.why === "used" ? 410 : 400;
  return render(c, await frameFor(c, web, "Choose a new password"), <ResetView web={web} visitor={c.get("visitor")} state={state} />, status);
}

async function resetPage(c: Context, web: Web): Promise<Response> {
  const link = await openedLink(c, web);
  return reset(c, web, link.ok ? { step: "form", user: link.account.name } : { step: "dead", why: link.why });
}

/** Thrown inside the locked write when the account is no longer what the link was made for. */
class LinkUsed extends Error {}

async function resetPassword(c: Context, web: Web): Promise<Response> {
  const link = await openedLink(c, web);
  if (!link.ok) return reset(c, web, { step: "dead", why: link.why });
  const user = link.account.name;
  const form = c.get("form");
  const password = field(form, "password");
  let hash: string;
  try {
    if (password !== field(form, "confirm")) throw new GateError("bad_request", "the two passwords differ");
    hash = await hashPassword(v.passwordChange({ password }).password);
  } catch (err) {
    if (!(err instanceof GateError) || err.status !== 400) throw err;
    return reset(c, web, { step: "form", user, error: sentence(err.message) });
  }
  const keys = resetKeys(await web.keys());
  try {
    // checked again under the account's lock, on the stored document: one use per link
    await web.deps.catalog.updateAccount(
      user,
      (acc) => {
        if (!fingerprintMatches(keys, acc, link.code.fingerprint)) throw new LinkUsed();
        acc.passwordHash = hash;
      },
      "user",
    );
  } catch (err) {
    if (err instanceof LinkUsed || (err instanceof GateError && err.code === "not_found")) return reset(c, web, { step: "dead", why: "used" });
    throw err;
  }
  deleteCookie(c, RESET_COOKIE, { path: href(web, "/account/reset"), secure: overTls(c, web) });
  const ended = await endWebSessions(web.deps.catalog, user, null);
  if (c.get("visitor").user?.name === user) endSession(c, web);
  web.deps.logger.info({ msg: "password set with a mailed reset link; web sessions ended", account: user, ended, reqId: c.get("reqId") });
  return c.redirect(href(web, "/?tab=signin&reset"), 303);
}
