// Per-address budgets in fixed windows: a count per client address (as clientAddress gives
// it: an IPv6 client by its /64), shared by every replica through the Cache, refused with 429
// and Retry-After (the window's end) past the limit. AddressBudget is the counter; budgets
// that use it: the store reads of unknown tokens (AuthFailures, below), sign-ups
// (api/throttle.ts) and password recovery (web/recovery.ts: requests per address, and mails
// per account and per mailbox, which count those keys in place of an address).
//
// AuthFailures: the budget of store reads of unknown tokens, per client address: what a flood
// of bad tokens could make the gateway spend. Only such a read is charged (a token hash that no
// cache tier holds and that is not known as a live token: access/catalog.ts asks right before
// the read), and given back when it finds a live token. A token known from the cache, valid,
// revoked or expired, costs nothing and is never refused here; neither is a token that fails
// its check characters (refused before any lookup). When an address has spent its budget, only
// its reads of unknown tokens get 429 until the window ends: a CI runner or an office behind
// NAT keeps working with the tokens that work, whatever a broken job next to it sends.
//
// The count lives in the shared Cache (Redis: one budget across every replica), in fixed
// windows that every replica computes alike from the clock. When the cache cannot be reached
// the replica counts alone, in process, until it can.
import type { Cache } from "../cache/cache.js";
import type { TokenLookupBudget } from "../access/catalog.js";
import { GateError } from "../errors.js";

export interface AuthFailuresOptions {
  /** Where the count is shared (every replica's Cache); in process only without one. */
  cache?: Cache;
  windowSeconds?: number;
  /** Bound on the addresses counted in process (fallback and refusal hints). */
  maxClients?: number;
  now?: () => number;
}

interface LocalCount {
  window: number;
  charged: number;
  refunded: number;
}

/** What a budget counts: its keys in the cache, and the start of its refusal. */
export interface BudgetKind {
  /** Prefix of its counters' keys: budgets of different kinds never share a count. */
  key: string;
  /** "too many sign-ups from this address" (then "; retry in N s"). */
  refusal: string;
}

export class AddressBudget {
  private readonly cache: Cache | undefined;
  private readonly windowMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  /** Counts of this replica alone, for when the shared cache fails. */
  private readonly local = new Map<string, LocalCount>();
  /** Addresses this replica saw spend their budget, with the window: refused without a round
   * trip for the rest of it (a flood costs the cache nothing more). */
  private readonly spent = new Map<string, number>();

  constructor(
    readonly limit: number,
    private readonly kind: BudgetKind,
    opts: AuthFailuresOptions = {},
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the limit must be a whole number of at least 1, got ${limit}`);
    this.cache = opts.cache;
    this.windowMs = (opts.windowSeconds ?? 60) * 1000;
    this.maxClients = opts.maxClients ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Charge one unit to `client`, or refuse it (429, Retry-After) when the address has spent
   * its budget in this window. */
  async charge(client: string): Promise<{ refund(): void }> {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    if (this.spent.get(client) === window) throw this.refusal(window, now);
    const key = `${this.kind.key}:${window}:${client.slice(0, 64)}`;
    const ttl = Math.ceil(this.windowMs / 1000) + 5;
    let over: boolean;
    let refund: () => void;
    try {
      if (!this.cache) throw new Error("no shared cache");
      const cache = this.cache;
      const charged = await cache.incr(key, ttl);
      // the refunds are read only past the limit: a charge within it is one round trip
      over = charged > this.limit && charged - Number((await cache.get(`${key}:ok`))?.toString() ?? 0) > this.limit;
      refund = () => void cache.incr(`${key}:ok`, ttl).catch(() => undefined);
    } catch {
      const count = this.localCount(client, window);
      count.charged++;
      over = count.charged - count.refunded > this.limit;
      refund = () => void count.refunded++;
    }
    if (over) {
      this.remember(this.spent, client, window);
      throw this.refusal(window, now);
    }
    return { refund };
  }

  private localCount(client: string, window: number): LocalCount {
    let count = this.local.get(client);
    if (!count || count.window !== window) {
      count = { window, charged: 0, refunded: 0 };
      this.remember(this.local, client, count);
    }
    return count;
  }

  /** Set, after dropping entries of past windows when the map is full (all of them, when
   * the current window alone fills it). */
  private remember<V>(map: Map<string, V>, client: string, value: V): void {
    if (map.size >= this.maxClients && !map.has(client)) {
      const window = Math.floor(this.now() / this.windowMs);
      for (const [k, v] of map) if ((typeof v === "number" ? v : (v as LocalCount).window) !== window) map.delete(k);
      if (map.size >= this.maxClients) map.clear();
    }
    map.set(client, value);
  }

  private refusal(window: number, now: number): GateError {
    const retry = String(Math.max(1, Math.ceil(((window + 1) * this.windowMs - now) / 1000)));
    return new GateError("rate_limited", `${this.kind.refusal}; retry in ${retry} s`, { "retry-after": retry });
  }
}

/** The budget of store reads of unknown tokens (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW). */
export class AuthFailures extends AddressBudget {
  constructor(limit: number, opts: AuthFailuresOptions = {}) {
    super(limit, { key: "authfail", refusal: "too many requests with unknown tokens from this address" }, opts);
  }

  /** The budget a request from `client` charges its reads of unknown tokens to. */
  budgetFor(client: string): TokenLookupBudget {
    return { charge: () => this.charge(client) };
  }
}
