// Password recovery by mail, as the account guide has it: "I forgot my username" mails the
// username to the address of record, "I forgot my password" mails a reset link, valid 24
// hours and usable once.
//
// The reset link needs no storage. It is a JWT (jose, HS256, under a key derived from the
// web pages' master secret) naming the user and its expiry, and carrying a fingerprint of
// the account as it was when the link was made: an HMAC of its password hash and address of
// record. Setting a password changes the hash (a new salt every time), so once the link has
// been used, or the password changed any other way, or the address changed, its fingerprint
// no longer matches and the link is dead, on every replica, without a list of used links.
// The fingerprint is compared inside the catalog's locked read-modify-write that sets the
// new password, so two uses of one link at once set one password and refuse the other.
//
// A request answers at once, before anything is looked up: the lookups and the mail are an
// outbox job (mail.ts), so the answer, its time and its work are the same whether the
// address or the user exists or not. Mail bombing is bounded in the shared cache, in fixed
// windows (AddressBudget): requests per client address (refused with 429 and the window's
// end as Retry-After: that says nothing about anybody else), and mails per account and per
// mailbox (silently not sent: a refusal would say the account exists).
//
// A reset link is only ever built on PUBLIC_URL: built on the Host a request came with,
// anyone could ask for a victim's link with `Host: attacker.example` and be mailed the
// victim's click.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { GateError } from "../errors.js";
import type { Account } from "../access/model.js";
import { catalogAccountNames, type Catalog } from "../access/catalog.js";
import type { Cache } from "../cache/cache.js";
import { AddressBudget } from "../http/auth-failures.js";
import type { Store } from "../store/store.js";
import type { Logger } from "../log.js";
import type { WebConfig } from "../config.js";
import type { WebKeys } from "./keys.js";
import type { JobContext, Mailer } from "./mail.js";

/** How long a reset link works. */
export const RESET_LINK_SECONDS = 24 * 3600;
const AUDIENCE = "pkgate:password-reset";
/** No link we make comes near this; a longer one is not ours and is not parsed. */
const MAX_CODE_LENGTH = 1024;

// ---- what this server can mail --------------------------------------------------------

/** Which recovery mails this server can send: usernames need SMTP_URL; reset links also
 * PUBLIC_URL (see above). */
export function mailRecovery(config: WebConfig): { username: boolean; password: boolean } {
  const mail = config.smtpUrl !== null;
  return { username: mail, password: mail && config.publicUrl !== null };
}

// ---- the reset link -------------------------------------------------------------------

export interface ResetKeys {
  /** The HS256 key of reset links. */
  link: Uint8Array;
  /** The HMAC key of account fingerprints. */
  fingerprint: Buffer;
}

const derived = new WeakMap<WebKeys, ResetKeys>();

/** The reset keys, derived (HKDF-SHA256) from the session key, itself derived from the
 * master secret: rotating SESSION_SECRET kills every link along with every session. */
export function resetKeys(keys: WebKeys): ResetKeys {
  let found = derived.get(keys);
  if (!found) {
    const key = (purpose: string) => Buffer.from(hkdfSync("sha256", keys.session, "pkgate password reset", purpose, 32));
    found = { link: new Uint8Array(key("reset link v1")), fingerprint: key("account fingerprint v1") };
    derived.set(keys, found);
  }
  return found;
}

/** The account as a reset link is bound to it: its name, creation, password hash and
 * address of record, under a key (the link is readable by whoever holds it; this says
 * nothing about the hash). */
export function accountFingerprint(keys: ResetKeys, account: Account): string {
  return createHmac("sha256", keys.fingerprint)
    .update([account.name, account.createdAt, account.passwordHash ?? "", account.email ?? ""].join("\n"))
    .digest("base64url")
    .slice(0, 22);
}

/** A reset link's code for `account`, working RESET_LINK_SECONDS from `now`. */
export async function sealResetCode(keys: ResetKeys, account: Account, now: number): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ fp: accountFingerprint(keys, account) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(account.name)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + RESET_LINK_SECONDS)
    .sign(keys.link);
}

export type OpenedCode =
  | { ok: true; user: string; fingerprint: string; expiresAt: number }
  /** expired: past its 24 hours; invalid: not a link of ours (altered, or another key's). */
  | { ok: false; why: "expired" | "invalid" };

/** What a reset code says, if it is ours and within its time (whether it is still unused
 * is the account's to say: fingerprintMatches). */
export async function openResetCode(keys: ResetKeys, code: string | undefined, now: number): Promise<OpenedCode> {
  if (!code || code.length > MAX_CODE_LENGTH) return { ok: false, why: "invalid" };
  try {
    const { payload } = await jwtVerify(code, keys.link, { algorithms: ["HS256"], audience: AUDIENCE, currentDate: new Date(now), requiredClaims: ["sub", "exp", "iat"] });
    if (typeof payload.fp !== "string" || typeof payload.sub !== "string") return { ok: false, why: "invalid" };
    return { ok: true, user: payload.sub, fingerprint: payload.fp, expiresAt: payload.exp! };
  } catch (err) {
    return { ok: false, why: err instanceof joseErrors.JWTExpired ? "expired" : "invalid" };
  }
}

/** Whether the account is still as the link was made for (in constant time). */
export function fingerprintMatches(keys: ResetKeys, account: Account, fingerprint: string): boolean {
  const want = Buffer.from(accountFingerprint(keys, account));
  const got = Buffer.from(fingerprint);
  return got.length === want.length && timingSafeEqual(got, want);
}

// ---- limits ---------------------------------------------------------------------------

export interface RecoveryLimit {
  max: number;
  windowSeconds: number;
}

export interface RecoveryLimits {
  /** Recovery requests from one client address (refused with 429 beyond). */
  client: RecoveryLimit;
  /** Reset links mailed for one account (not sent beyond). */
  account: RecoveryLimit;
  /** Recovery mails of any kind to one mailbox (not sent beyond). */
  mailbox: RecoveryLimit;
}

export const RECOVERY_LIMITS: RecoveryLimits = {
  client: { max: 10, windowSeconds: 15 * 60 },
  account: { max: 3, windowSeconds: 3600 },
  mailbox: { max: 5, windowSeconds: 3600 },
};

/** The counters of those limits: AddressBudget's fixed windows (http/auth-failures.ts), in
 * the shared cache (Redis across replicas: a client that spreads its requests over replicas
 * counts against one limit; counted in process while the cache cannot be reached). A count is
 * taken before the work it limits: a request's before its job is posted, a mail's before the
 * mail is made. */
export class RecoveryThrottle {
  private readonly client: AddressBudget;
  private readonly account: AddressBudget;
  private readonly mailbox: AddressBudget;

  constructor(
    cache: Cache | undefined,
    readonly limits: RecoveryLimits = RECOVERY_LIMITS,
    now?: () => number,
  ) {
    const budget = (kind: keyof RecoveryLimits, refusal: string) =>
      new AddressBudget(limits[kind].max, { key: `recovery:${kind}`, refusal }, { cache, windowSeconds: limits[kind].windowSeconds, ...(now ? { now } : {}) });
    this.client = budget("client", "too many recovery requests from this address");
    // never shown: a mail past these limits is silently not sent
    this.account = budget("account", "too many reset links for this account");
    this.mailbox = budget("mailbox", "too many recovery mails to this mailbox");
  }

  /** Count a request from `client`; a 429 with Retry-After (the window's end) past the limit. */
  async request(client: string): Promise<void> {
    await this.client.charge(client);
  }

  /** Count a mail to `mailbox` (and, for a reset link, for `account`); false past a limit. */
  async mayMail(mailbox: string, account?: string): Promise<boolean> {
    const charges = [this.mailbox.charge(createHash("sha256").update(mailbox.toLowerCase()).digest("base64url"))];
    if (account !== undefined) charges.push(this.account.charge(account));
    const counted = await Promise.allSettled(charges);
    for (const c of counted) if (c.status === "rejected" && !(c.reason instanceof GateError && c.reason.code === "rate_limited")) throw c.reason;
    return counted.every((c) => c.status === "fulfilled");
  }
}

// ---- the outbox jobs ------------------------------------------------------------------

export interface RecoveryDeps {
  catalog: Catalog;
  store: Store;
  logger: Logger;
  mailer: Mailer;
  throttle: RecoveryThrottle;
  keys: () => Promise<WebKeys>;
  now: () => number;
}

/** "I forgot my password": a reset link to each account the user name or address typed
 * names, at its address of record. `base` is PUBLIC_URL with BASE_PATH. */
export async function mailResetLinks(deps: RecoveryDeps, typed: string, base: string, ctx: JobContext): Promise<void> {
  const accounts = await accountsNamed(deps, typed);
  const keys = resetKeys(await deps.keys());
  for (const account of accounts) {
    if (!(await deps.throttle.mayMail(account.email!, account.name))) {
      deps.logger.warn({ msg: "password reset link not mailed: limit reached", account: account.name, reqId: ctx.reqId });
      continue;
    }
    const link = `${base}/account/reset/t/${await sealResetCode(keys, account, deps.now())}`;
    await deps.mailer.send({ to: account.email!, subject: "Reset your pkgate password", text: resetMailText(account.name, link, base) });
    deps.logger.info({ msg: "password reset link mailed", account: account.name, reqId: ctx.reqId });
  }
  if (accounts.length === 0) deps.logger.info({ msg: "password reset asked for no account with an address", reqId: ctx.reqId });
}

/** "I forgot my username": one mail to the address typed, naming every user registered
 * with it. `base` (PUBLIC_URL with BASE_PATH) adds the sign-in link when known. */
export async function mailUsernames(deps: RecoveryDeps, typed: string, base: string | null, ctx: JobContext): Promise<void> {
  const accounts = typed.includes("@") ? await usersWithAddress(deps, typed) : [];
  if (accounts.length === 0) {
    deps.logger.info({ msg: "username reminder asked for an address no user has", reqId: ctx.reqId });
    return;
  }
  const to = accounts[0]!.email!;
  if (!(await deps.throttle.mayMail(to))) {
    deps.logger.warn({ msg: "username reminder not mailed: limit reached", reqId: ctx.reqId });
    return;
  }
  await deps.mailer.send({ to, subject: "Your pkgate username", text: usernameMailText(accounts.map((a) => a.name), base) });
  deps.logger.info({ msg: "username reminder mailed", accounts: accounts.length, reqId: ctx.reqId });
}

/** A notice to the address of record that something changed on the account (sent after a
 * password or email change made with the current password: nothing to throttle). */
export async function mailNotice(deps: RecoveryDeps, to: string, account: string, what: string, base: string | null, ctx: JobContext): Promise<void> {
  await deps.mailer.send({ to, subject: `Your pkgate account: ${what}`, text: noticeMailText(account, what, base) });
  deps.logger.info({ msg: "account notice mailed", account, reqId: ctx.reqId });
}

/** The users a recovery request names: the user of that name, or every user whose address
 * of record is the address typed; only those with an address. */
async function accountsNamed(deps: RecoveryDeps, typed: string): Promise<Account[]> {
  if (typed.includes("@")) return usersWithAddress(deps, typed);
  const account = await deps.catalog.getAccount(typed.toLowerCase());
  return account?.kind === "user" && account.email ? [account] : [];
}

/** Every user whose address of record is `address` (compared without case). The catalog
 * keeps no index by address, so this reads every account, through the catalog's cached
 * lookups: an outbox job's work, bounded by the limits, never a page's. */
async function usersWithAddress(deps: RecoveryDeps, address: string): Promise<Account[]> {
  const wanted = address.trim().toLowerCase();
  const names = await catalogAccountNames(deps.store);
  const found: Account[] = [];
  for (let i = 0; i < names.length; i += 16) {
    const batch = await Promise.all(names.slice(i, i + 16).map((n) => deps.catalog.getAccount(n)));
    for (const a of batch) if (a?.kind === "user" && a.email?.trim().toLowerCase() === wanted) found.push(a);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

// ---- the mails ------------------------------------------------------------------------

function resetMailText(user: string, link: string, base: string): string {
  return [
    `Someone, probably you, asked for a new password for the pkgate account "${user}" at ${base}/.`,
    "",
    "Choose a new password here. The link works once, within 24 hours:",
    "",
    `  ${link}`,
    "",
    "If you did not ask for this, ignore this mail: your password stays as it is.",
    "Setting a new password signs your account out of every browser.",
    "",
  ].join("\n");
}

function usernameMailText(users: string[], base: string | null): string {
  const where = base ? ` at ${base}/` : "";
  return [
    users.length === 1 ? `The pkgate account registered with this address${where} is:` : `The pkgate accounts registered with this address${where} are:`,
    "",
    ...users.map((u) => `  ${u}`),
    "",
    ...(base ? [`Sign in at ${base}/?tab=signin`, ""] : []),
    "If you did not ask for this, ignore this mail.",
    "",
  ].join("\n");
}

function noticeMailText(account: string, what: string, base: string | null): string {
  return [
    `The pkgate account "${account}"${base ? ` at ${base}/` : ""}: ${what}.`,
    "",
    "If this was you, there is nothing to do.",
    "If it was not, ask your administrator to reset your password (pkgate user --reset), and revoke the account's tokens.",
    "",
  ].join("\n");
}
