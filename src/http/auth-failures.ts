// Rate limiting of failed token lookups per client address, in process: a client that
// keeps presenting bad tokens gets 429 before any lookup, so a flood of invented tokens
// costs neither store reads nor Redis round trips, and valid clients are not slowed.
import { GateError } from "../errors.js";

export class AuthFailures {
  private readonly counts = new Map<string, { n: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly maxClients = 100_000,
  ) {}

  check(client: string, now = Date.now()): void {
    const e = this.counts.get(client);
    if (e && e.resetAt > now && e.n >= this.limit) {
      const retry = Math.ceil((e.resetAt - now) / 1000);
      throw new GateError("rate_limited", `too many requests with invalid tokens from this address; retry in ${retry} s`, { "retry-after": String(retry) });
    }
  }

  record(client: string, now = Date.now()): void {
    let e = this.counts.get(client);
    if (!e || e.resetAt <= now) {
      if (this.counts.size >= this.maxClients) this.sweep(now);
      e = { n: 0, resetAt: now + this.windowMs };
      this.counts.set(client, e);
    }
    e.n++;
  }

  private sweep(now: number): void {
    for (const [k, v] of this.counts) if (v.resetAt <= now) this.counts.delete(k);
    if (this.counts.size >= this.maxClients) this.counts.clear();
  }
}
