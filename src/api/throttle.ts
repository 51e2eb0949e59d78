// Rate limiting of password checks, per account and per client address, in the shared Cache
// (Redis across replicas), so an attacker gains nothing by spreading guesses over replicas.
//
// An attempt is counted *before* its password is checked, atomically: each limit is a set of
// `limit` slots, and an attempt must take a free slot of both sets (a SET NX with the window
// as expiry, atomic on Redis across replicas) before any hashing. However many attempts arrive
// at once, at most `limit` of them hold a slot, so at most `limit` passwords are checked per
// account and per window. A wrong password keeps its slot until the window after it ends (a
// sliding window per attempt); a right one gives its slot back at once, so an owner who logs in
// often is never locked out by their own successes.
//
// Sign-ups (SignupThrottle, at the end) are counted per client address in fixed windows, with
// the budget machinery of http/auth-failures.ts, before any password is hashed or anything is
// written.
import { randomInt } from "node:crypto";
import type { Cache } from "../cache/cache.js";
import { GateError } from "../errors.js";
import { AddressBudget } from "../http/auth-failures.js";

export interface ThrottleLimits {
  /** Password checks for one account per window before further attempts get 429. */
  perAccount: number;
  /** Password checks from one client address per window (any accounts, known or not). */
  perAddress: number;
  windowSeconds: number;
}

export const DEFAULT_LIMITS: ThrottleLimits = { perAccount: 5, perAddress: 20, windowSeconds: 300 };

/** One admitted attempt: its password may now be checked. */
export interface PasswordAttempt {
  /** The password was right, or could not be checked at all (the store failed): give the
   * attempt's slots back. A wrong password calls nothing; its slots expire with the window. */
  succeeded(): Promise<void>;
}

interface Limit {
  /** Key prefix of this limit's slots. */
  key: string;
  limit: number;
  what: string;
}

export class PasswordThrottle {
  constructor(
    private readonly cache: Cache,
    readonly limits: ThrottleLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    for (const n of [limits.perAccount, limits.perAddress, limits.windowSeconds]) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`throttle limits must be whole numbers of at least 1, got ${n}`);
    }
  }

  private scopes(account: string, address: string): Limit[] {
    return [
      // the account name is lower-cased: "Alice" and "alice" are one account to guess at
      { key: `pwslot:acct:${account.toLowerCase().slice(0, 128)}`, limit: this.limits.perAccount, what: "for this account" },
      { key: `pwslot:addr:${address.slice(0, 64)}`, limit: this.limits.perAddress, what: "from this address" },
    ];
  }

  /** Admit one password check for `account` from `address`, or refuse it with 429 and a
   * Retry-After when either limit is used up. Call it before any hashing, so a flood of
   * guesses costs no scrypt work. */
  async attempt(account: string, address: string): Promise<PasswordAttempt> {
    const taken = await Promise.allSettled(this.scopes(account, address).map((s) => this.take(s)));
    const releases = taken.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
    const refused = taken.find((t): t is PromiseRejectedResult => t.status === "rejected");
    if (refused) {
      // no password is checked: what one limit admitted goes back
      await Promise.all(releases.map((r) => r()));
      throw refused.reason;
    }
    let given = false;
    return {
      succeeded: async () => {
        if (given) return;
        given = true;
        await Promise.all(releases.map((r) => r()));
      },
    };
  }

  /** Take a free slot of one limit; returns the function that gives it back. */
  private async take(s: Limit): Promise<() => Promise<void>> {
    const windowMs = this.limits.windowSeconds * 1000;
    const full = `${s.key}:full`;
    // A hint left by the attempt that last found every slot taken: refuse without probing
    // them all again (a flood of refused guesses costs one cache read each).
    const hint = Number((await this.cache.get(full))?.toString() ?? NaN);
    if (hint > this.now()) throw this.refusal(s, hint);
    const first = randomInt(s.limit);
    for (let i = 0; i < s.limit; i++) {
      const slot = `${s.key}:${(first + i) % s.limit}`;
      const release = await this.cache.tryLock(slot, windowMs);
      if (!release) continue;
      await this.cache.set(`${slot}:t`, String(this.now()), this.limits.windowSeconds);
      return async () => {
        await release();
        await this.cache.del(full);
      };
    }
    // Every slot is held: the first to expire says when to come back.
    const opened = await Promise.all(Array.from({ length: s.limit }, (_, i) => this.cache.get(`${s.key}:${i}:t`)));
    const until = Math.min(...opened.map((t) => Number(t?.toString() ?? NaN)).map((t) => (Number.isFinite(t) ? t : this.now()) + windowMs));
    const hintSeconds = Math.floor((until - this.now()) / 1000);
    if (hintSeconds >= 1) await this.cache.set(full, String(until), hintSeconds);
    throw this.refusal(s, until);
  }

  private refusal(s: Limit, until: number): GateError {
    const retry = String(Math.max(1, Math.ceil((until - this.now()) / 1000)));
    return new GateError("rate_limited", `too many wrong passwords ${s.what}; retry in ${retry} s`, { "retry-after": retry });
  }
}

/** SIGNUP_LIMIT's default: sign-ups one client address (an IPv6 /64) may attempt per hour. */
export const DEFAULT_SIGNUP_LIMIT = 10;
export const SIGNUP_WINDOW_SECONDS = 3600;

/** Sign-ups per client address and hour, with SIGNUP=open (a server admin creating users is
 * never counted). Every attempt that reaches the work is counted, whatever its outcome (a name
 * already taken cost a password hash too), in the shared cache across replicas. */
export class SignupThrottle extends AddressBudget {
  constructor(cache: Cache | undefined, limit: number = DEFAULT_SIGNUP_LIMIT, opts: { windowSeconds?: number; now?: () => number } = {}) {
    super(limit, { key: "signup", refusal: "too many sign-ups from this address" }, { cache, windowSeconds: opts.windowSeconds ?? SIGNUP_WINDOW_SECONDS, ...(opts.now ? { now: opts.now } : {}) });
  }

  /** Count one sign-up from `client` before its work, or refuse it: 429 with Retry-After. */
  async admit(client: string): Promise<void> {
    await this.charge(client);
  }
}
