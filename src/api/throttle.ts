// Rate limiting of wrong passwords, per account and per client address, in the shared
// Cache (Redis across replicas), so an attacker gains nothing by spreading guesses over
// replicas. Fixed windows: a counter per key and window, created with the window as TTL,
// which also gives an exact Retry-After (the end of the window).
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

  private keys(account: string, address: string): { account: string; address: string; retryAfter: number } {
    const windowMs = this.limits.windowSeconds * 1000;
    const t = this.now();
    const slot = Math.floor(t / windowMs);
    return {
      // the account name is lower-cased: "Alice" and "alice" are one account to guess at
      account: `pwfail:acct:${account.toLowerCase().slice(0, 128)}:${slot}`,
      address: `pwfail:addr:${address.slice(0, 64)}:${slot}`,
      retryAfter: Math.max(1, Math.ceil(((slot + 1) * windowMs - t) / 1000)),
    };
  }

  /** Refuse (429 with Retry-After) when either limit is reached; before any hashing, so a
   * flood of guesses costs no scrypt work. */
  async check(account: string, address: string): Promise<void> {
    const k = this.keys(account, address);
    const [a, b] = await Promise.all([this.cache.get(k.account), this.cache.get(k.address)]);
    const failures = { account: Number(a?.toString() ?? 0), address: Number(b?.toString() ?? 0) };
    if (failures.account >= this.limits.perAccount) {
      throw new GateError("rate_limited", `too many wrong passwords for this account; retry in ${k.retryAfter} s`, { "retry-after": String(k.retryAfter) });
    }
    if (failures.address >= this.limits.perAddress) {
      throw new GateError("rate_limited", `too many wrong passwords from this address; retry in ${k.retryAfter} s`, { "retry-after": String(k.retryAfter) });
    }
  }

  /** Count one wrong password against the account and the address. */
  async fail(account: string, address: string): Promise<void> {
    const k = this.keys(account, address);
    const ttl = this.limits.windowSeconds + 1;
    await Promise.all([this.cache.incr(k.account, ttl), this.cache.incr(k.address, ttl)]);
  }
}
