// Who is asking: credentials → Principal. A token comes from the path (`/t/<token>/`), an
// `Authorization: Bearer` header, or the password of HTTP Basic auth. Unknown, expired and
// revoked tokens are refused with a message that says which; nothing here ever puts the
// secret into a message. A token that fails its check characters costs no lookup at all; a
// lookup that must read the store (a hash no cache knows) is charged to the caller's budget.
import { GateError } from "../errors.js";
import type { Catalog, TokenLookupBudget } from "../access/catalog.js";
import { ANONYMOUS, type Account, type Principal, type TokenRecord } from "../access/model.js";
import { hashToken, looksLikeToken, parseAuthorization, tokenId } from "./token.js";

export interface Credentials {
  pathToken?: string;
  authorization?: string;
}

/** Where a request's token came from: the URL path (`/t/<token>/`) or the Authorization
 * header (Bearer, or the password of Basic). */
export type TokenSource = "path" | "authorization";

/** The token a request carries, if any, its hash (`hash`: how to compute it, the
 * Identifier's memoized hashOf on the request path), its loggable id, and where it came from. */
export function extractToken(creds: Credentials, hash: (token: string) => string = hashToken): { token?: string; hash?: string; id?: string; from?: TokenSource } {
  let token = creds.pathToken;
  let from: TokenSource = "path";
  if (!token && creds.authorization) {
    const auth = parseAuthorization(creds.authorization);
    if (auth.error) throw new GateError("bad_request", auth.error);
    token = auth.token ?? auth.basicPassword;
    from = "authorization";
  }
  if (!token) return {};
  const h = hash(token);
  return { token, hash: h, id: tokenId(h), from };
}

/** A caller: the principal, and the account document it acts as (null when anonymous). */
export interface Identity {
  principal: Principal;
  account: Account | null;
}

const NOBODY: Identity = Object.freeze({ principal: ANONYMOUS, account: null });

/** A token this process verified: the token record and the account document it was verified
 * against (the very objects the catalog's lookups hand out while their in-process tier holds
 * them), and the identity made of them. */
interface Verified {
  hash: string;
  record: TokenRecord;
  account: Account;
  expiresMs: number;
  identity: Identity;
}

/** Bound on remembered verifications (the oldest is dropped first). */
const MAX_VERIFIED = 10_000;

export class Identifier {
  /** Token → its last verification. A request repeats only what can change: the record and
   * the account are still looked up through the catalog on every request (its generation
   * check, its in-process TTL, the invalidations other replicas announce), and the memo
   * answers only while both lookups return the very objects it was verified against, so a
   * revoked token, a changed account or a refreshed cache entry is verified again, with the
   * same latency as before; what it saves is the hashing, the check characters and building
   * the principal. Only live, verified tokens are remembered (an invented one never is). */
  private readonly verified = new Map<string, Verified>();

  constructor(private readonly catalog: Catalog) {}

  /** The stored form of a token (its SHA-256): remembered for verified tokens. */
  readonly hashOf = (token: string): string => this.verified.get(token)?.hash ?? hashToken(token);

  /** `budget`: what the caller's store reads of unknown tokens are charged to (its client
   * address); without one, lookups are not counted. `hash`: the token's hash, when the
   * caller has it already. */
  async identify(token: string | undefined, opts: { budget?: TokenLookupBudget; now?: number; hash?: string } = {}): Promise<Identity> {
    if (token === undefined) return NOBODY;
    const now = opts.now ?? Date.now();
    const memo = this.verified.get(token);
    if (memo) {
      const record = await this.catalog.findToken(memo.hash, opts.budget);
      if (record === memo.record && memo.expiresMs > now && (await this.catalog.getAccount(record.account)) === memo.account) return memo.identity;
      this.verified.delete(token);
      return this.verify(token, memo.hash, record, now);
    }
    if (!looksLikeToken(token)) {
      throw new GateError("token_malformed", "The token given is not a pkgate token (check the URL or the credentials you configured).");
    }
    const hash = opts.hash ?? hashToken(token);
    return this.verify(token, hash, await this.catalog.findToken(hash, opts.budget), now);
  }

  private async verify(token: string, hash: string, record: TokenRecord | null, now: number): Promise<Identity> {
    if (!record) throw new GateError("token_invalid", "The token given is invalid: this server does not know it. Ask for a new token.");
    if (record.revokedAt) {
      throw new GateError("token_revoked", `The token "${record.name}" of ${record.account} was revoked on ${record.revokedAt.slice(0, 10)}. Ask for a new token.`);
    }
    if (Date.parse(record.expiresAt) <= now) {
      throw new GateError("token_expired", `The token "${record.name}" of ${record.account} expired on ${record.expiresAt.slice(0, 10)}. Create a new one with: pkgate auth --create`);
    }
    const account = await this.catalog.getAccount(record.account);
    if (!account) throw new GateError("token_invalid", "The token given is invalid: its account no longer exists.");
    // the publisher that minted it, still there (one removed and registered again under its name is another)
    if (record.publisher !== undefined && !(account.publishers ?? []).some((p) => p.name === record.publisher && p.createdAt <= record.createdAt)) {
      throw new GateError("token_revoked", `The token "${record.name}" of ${record.account} was revoked: its trusted publisher "${record.publisher}" was removed.`);
    }
    const principal: Principal = Object.freeze({
      token: Object.freeze({ id: record.id, name: record.name, expiresAt: record.expiresAt }),
      account: account.name,
      accountKind: account.kind,
      scopes: record.scopes,
      ...(record.packages ? { packages: record.packages } : {}),
      ...(account.kind === "user" && account.serverAdmin === true ? { serverAdmin: true } : {}),
    });
    const identity: Identity = Object.freeze({ principal, account });
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { hash, record, account, expiresMs: Date.parse(record.expiresAt), identity });
    return identity;
  }
}
