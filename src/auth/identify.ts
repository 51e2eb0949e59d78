// Who is asking: credentials → Principal. A token comes from the path (`/t/<token>/`), an
// `Authorization: Bearer` header, or the password of HTTP Basic auth. Unknown, expired and
// revoked tokens are refused with a 401 whose message says which; nothing here ever puts the
// secret into a message.
import { GateError } from "../errors.js";
import type { Catalog } from "../access/catalog.js";
import { ANONYMOUS, type Account, type Principal } from "../access/model.js";
import { hashToken, looksLikeToken, parseAuthorization, tokenId } from "./token.js";

export interface Credentials {
  pathToken?: string;
  authorization?: string;
}

/** The token a request carries, if any, and its loggable id. */
export function extractToken(creds: Credentials): { token?: string; id?: string } {
  let token = creds.pathToken;
  if (!token && creds.authorization) {
    const auth = parseAuthorization(creds.authorization);
    if (auth.error) throw new GateError("bad_request", auth.error);
    token = auth.token ?? auth.basicPassword;
  }
  if (!token) return {};
  return { token, id: tokenId(hashToken(token)) };
}

/** A caller: the principal, and the account document it acts as (null when anonymous). */
export interface Identity {
  principal: Principal;
  account: Account | null;
}

const NOBODY: Identity = Object.freeze({ principal: ANONYMOUS, account: null });

export class Identifier {
  constructor(private readonly catalog: Catalog) {}

  async identify(token: string | undefined, now = Date.now()): Promise<Identity> {
    if (token === undefined) return NOBODY;
    if (!looksLikeToken(token)) {
      throw new GateError("token_malformed", "The token given is not a pkgate token (check the URL or the credentials you configured).");
    }
    const hash = hashToken(token);
    const record = await this.catalog.findToken(hash);
    if (!record) throw new GateError("token_invalid", "The token given is invalid: this server does not know it. Ask for a new token.");
    if (record.revokedAt) {
      throw new GateError("token_revoked", `The token "${record.name}" of ${record.account} was revoked on ${record.revokedAt.slice(0, 10)}. Ask for a new token.`);
    }
    if (Date.parse(record.expiresAt) <= now) {
      throw new GateError("token_expired", `The token "${record.name}" of ${record.account} expired on ${record.expiresAt.slice(0, 10)}. Create a new one with: pkgate auth --create`);
    }
    const account = await this.catalog.getAccount(record.account);
    if (!account) throw new GateError("token_invalid", "The token given is invalid: its account no longer exists.");
    const principal: Principal = {
      token: { id: record.id, name: record.name, expiresAt: record.expiresAt },
      account: account.name,
      accountKind: account.kind,
      scopes: record.scopes,
      ...(account.kind === "user" && account.serverAdmin === true ? { serverAdmin: true } : {}),
    };
    return { principal, account };
  }
}
