// Who is asking: credentials → Principal. A token comes from the path (`/t/<token>/`), an
// `Authorization: Bearer` header, or the password of HTTP Basic auth. Unknown, expired and
// revoked tokens are refused with a message that says which; nothing here ever puts the
// secret into a message. A token that fails its check characters costs no lookup at all; a
// lookup that must read the store (a hash no cache knows) is charged to the caller's budget.
import { GateError } from "../errors.js";
import type { Catalog, TokenLookupBudget } from "../access/catalog.js";
import { ANONYMOUS, type Account, type Principal } from "../access/model.js";
import { hashToken, looksLikeToken, parseAuthorization, tokenId } from "./token.js";

export interface Credentials {
  pathToken?: string;
  authorization?: string;
}

/** Where a request's token came from: the URL path (`/t/<token>/`) or the Authorization
 * header (Bearer, or the password of Basic). */
export type TokenSource = "path" | "authorization";

/** The token a request carries, if any, its loggable id, and where it came from. */
export function extractToken(creds: Credentials): { token?: string; id?: string; from?: TokenSource } {
  let token = creds.pathToken;
  let from: TokenSource = "path";
  if (!token && creds.authorization) {
    const auth = parseAuthorization(creds.authorization);
    if (auth.error) throw new GateError("bad_request", auth.error);
    token = auth.token ?? auth.basicPassword;
    from = "authorization";
  }
  if (!token) return {};
  return { token, id: tokenId(hashToken(token)), from };
}

/** A caller: the principal, and the account document it acts as (null when anonymous). */
export interface Identity {
  principal: Principal;
  account: Account | null;
}

const NOBODY: Identity = Object.freeze({ principal: ANONYMOUS, account: null });

export class Identifier {
  constructor(private readonly catalog: Catalog) {}

  /** `budget`: what the caller's store reads of unknown tokens are charged to (its client
   * address); without one, lookups are not counted. */
  async identify(token: string | undefined, opts: { budget?: TokenLookupBudget; now?: number } = {}): Promise<Identity> {
    if (token === undefined) return NOBODY;
    const now = opts.now ?? Date.now();
    if (!looksLikeToken(token)) {
      throw new GateError("token_malformed", "The token given is not a pkgate token (check the URL or the credentials you configured).");
    }
    const hash = hashToken(token);
    const record = await this.catalog.findToken(hash, opts.budget);
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
    const principal: Principal = {
      token: { id: record.id, name: record.name, expiresAt: record.expiresAt },
      account: account.name,
      accountKind: account.kind,
      scopes: record.scopes,
      ...(record.packages ? { packages: record.packages } : {}),
      ...(account.kind === "user" && account.serverAdmin === true ? { serverAdmin: true } : {}),
    };
    return { principal, account };
  }
}
