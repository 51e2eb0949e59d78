// Rate limiting of wrong passwords, per account and per client address, in the shared
// Cache (Redis across replicas), so an attacker gains nothing by spreading guesses over
// replicas. A window opens at the first wrong password (the counter's TTL starts there)
// and its opening time is kept beside the counter, which gives an exact Retry-After.
import type { Cache } from "../cache/cache.js";
import { GateError } from "../errors.js";

export interface ThrottleLimits {
  /** Wrong passwords for one account per window before further attempts get 429. */
  perAccount: number;
  /** Wrong passwords from one client address per window (any accounts, known or not). */
  perAddress: number;
  windowSeconds: number;
}

export const DEFAULT_LIMITS: ThrottleLimits = { perAccount: 5, perAddress: 20, windowSeconds: 300 };

export class PasswordThrottle {
  constructor(
    private readonly cache: Cache,
    readonly limits: ThrottleLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  private keys(account: string, address: string): { account: string; address: string } {
    return {
      // the account name is lower-cased: "Alice" and "alice" are one account to guess at
      account: `pwfail:acct:${account.toLowerCase().slice(0, 128)}`,
      address: `pwfail:addr:${address.slice(0, 64)}`,
    };
  }

  /** Refuse (429 with Retry-After) when either limit is reached; before any hashing, so a
   * flood of guesses costs no scrypt work. */
  async check(account: string, address: string): Promise<void> {
    const k = this.keys(account, address);
    for (const [key, limit, what] of [
      [k.account, this.limits.perAccount, "for this account"],
      [k.address, this.limits.perAddress, "from this address"],
    ] as const) {
      const count = Number((await this.cache.get(key))?.toString() ?? 0);
      if (count < limit) continue;
      const opened = Number((await this.cache.get(`${key}:t`))?.toString() ?? NaN);
      const left = Number.isFinite(opened) ? opened + this.limits.windowSeconds * 1000 - this.now() : this.limits.windowSeconds * 1000;
      const retry = String(Math.max(1, Math.ceil(left / 1000)));
      throw new GateError("rate_limited", `too many wrong passwords ${what}; retry in ${retry} s`, { "retry-after": retry });
    }
  }

  /** Count one wrong password against the account and the address. */
  async fail(account: string, address: string): Promise<void> {
    const k = this.keys(account, address);
    const ttl = this.limits.windowSeconds;
    await Promise.all(
      [k.account, k.address].map(async (key) => {
        if ((await this.cache.incr(key, ttl)) === 1) await this.cache.set(`${key}:t`, String(this.now()), ttl);
      }),
    );
  }
}
