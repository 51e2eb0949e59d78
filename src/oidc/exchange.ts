// The exchange: a CI job's ID token in, a short-lived pkgate token out. The token is
// verified (verify.ts), its claims choose the publisher (registry.ts: of the accounts that
// registered its CI project, only `channel`'s when the caller names one), it is spent (never
// accepted twice), and the token is made by the one function that makes tokens (api/tokens.ts
// issueToken): named oidc:<publisher>:<run>, holding the publisher's scopes on its packages,
// living OIDC_TOKEN_TTL (never past TOKEN_MAX_AGE), listed with the account's tokens. A GitHub
// publisher without its repository's ids gets them from the first token it accepts.
//
// A refusal says what the token says and how a publisher would match it, never which accounts
// registered publishers for its CI project nor their settings: whoever can run a job of that
// project holds such a token. Why each publisher of an account does not match is told only to
// a caller who names that account and may see its publishers (tokens:read, as listing them).
import { GateError } from "../errors.js";
import type { Catalog } from "../access/catalog.js";
import { ANONYMOUS, type Principal, type TokenRecord } from "../access/model.js";
import { authorize } from "../access/authorize.js";
import type { Logger } from "../log.js";
import type { Cache } from "../cache/cache.js";
import type { Store } from "../store/store.js";
import type { OidcConfig } from "../config.js";
import { issueToken } from "../api/tokens.js";
import { IdTokenVerifier } from "./verify.js";
import { PublisherRegistry, type Candidate } from "./registry.js";
import { idsToRecord, mintedTokenName, noPublisher, runOf, specificity } from "./publisher.js";

export interface Minted {
  token: string;
  record: TokenRecord;
  /** Epoch seconds, as PyPI's mint-token answers. */
  expires: number;
}

export interface OidcExchangeDeps {
  catalog: Catalog;
  store: Store;
  cache: Cache;
  config: OidcConfig;
  /** TOKEN_MAX_AGE (seconds). */
  tokenMaxAge: number;
  logger?: Logger;
}

export class OidcExchange {
  readonly verifier: IdTokenVerifier;
  readonly publishers: PublisherRegistry;

  constructor(private readonly deps: OidcExchangeDeps) {
    this.verifier = new IdTokenVerifier(deps.config, deps.cache);
    this.publishers = new PublisherRegistry(deps.catalog, deps.store, deps.cache);
  }

  get audience(): string {
    return this.deps.config.audience;
  }

  /** `channel`: only that account's publishers (null: any account's). `caller`: who asks (the
   * API's identified caller; anonymous at uv's endpoint): a refusal says why each of
   * `channel`'s publishers does not match only when the caller may list them. */
  async mint(idToken: unknown, channel: string | null, caller: Principal = ANONYMOUS): Promise<Minted> {
    const verified = await this.verifier.verify(idToken);
    const { issuer, claims } = verified;
    const found = await this.publishers.candidates(issuer, claims, channel);
    const matching = found.filter((c) => c.mismatch === null);
    const refuse = async (why: { account: string; publisher: string; mismatch: string }[]) => {
      this.deps.logger?.info({ msg: "trusted publishing refused: no publisher matches", issuer, subject: typeof claims.sub === "string" ? claims.sub.slice(0, 200) : undefined, channel: channel ?? undefined, reasons: why.slice(0, 10).map((r) => `${r.account}/${r.publisher}: ${r.mismatch}`) });
      return noPublisher(issuer, channel, claims, channel !== null && (await this.mayList(caller, channel)) ? why.map((r) => `${r.publisher}: ${r.mismatch}`) : null);
    };
    if (matching.length === 0) throw await refuse(found.map((c) => ({ account: c.account.name, publisher: c.publisher.name, mismatch: c.mismatch! })));
    const accounts = [...new Set(matching.map((c) => c.account.name))];
    if (accounts.length > 1) {
      // every one of them trusts this token fully: naming them tells it nothing it could not mint
      throw new GateError("conflict", `this ID token matches trusted publishers of several accounts (${accounts.join(", ")}); exchange it at POST /api/oidc/mint-token with {"token", "channel"} naming one`);
    }
    const chosen = pick(matching);
    const { account } = chosen;
    let { publisher } = chosen;
    if (Object.keys(idsToRecord(publisher, claims)).length > 0) {
      // trust on first use: the repository's ids, written before the token is spent or made
      const recorded = await this.publishers.recordIds(account.name, publisher, claims);
      if ("mismatch" in recorded) throw await refuse([{ account: account.name, publisher: publisher.name, mismatch: recorded.mismatch }]);
      publisher = recorded.publisher;
      this.deps.logger?.info({ msg: "trusted publisher's repository ids recorded from its first exchange", account: account.name, publisher: publisher.name, repository_owner_id: publisher.claims.repository_owner_id, repository_id: publisher.claims.repository_id });
    }
    // every other publisher of the account this token matches would have accepted it as well:
    // they get its ids too, or one less specific than the pick, never picked, would keep none
    // and accept the next repository of that name
    for (const other of matching) {
      if (other === chosen || Object.keys(idsToRecord(other.publisher, claims)).length === 0) continue;
      const recorded = await this.publishers.recordIds(account.name, other.publisher, claims);
      if ("publisher" in recorded) this.deps.logger?.info({ msg: "trusted publisher's repository ids recorded from its first exchange", account: account.name, publisher: other.publisher.name, repository_owner_id: recorded.publisher.claims.repository_owner_id, repository_id: recorded.publisher.claims.repository_id });
    }
    await this.verifier.consume(verified);
    // made as the account's own (a publisher is the account's, as its registrar's rights may change)
    const creator: Principal & { account: string } = { token: null, account: publisher.createdBy, accountKind: "user", scopes: [] };
    const run = runOf(claims);
    const ttl = Math.min(this.deps.config.tokenTtl, this.deps.tokenMaxAge);
    for (let attempt = 1; ; attempt++) {
      try {
        const { token, record } = await issueToken(this.deps, creator, account, {
          name: mintedTokenName(publisher.name, run, attempt),
          scopes: publisher.scopes,
          maxAgeSeconds: ttl,
          ...(publisher.packages === "*" ? {} : { packages: publisher.packages }),
          publisher: publisher.name,
        });
        this.deps.logger?.info({ msg: "trusted publisher minted a token", account: account.name, publisher: publisher.name, tokenName: record.name, tokenId: record.id, issuer, subject: typeof claims.sub === "string" ? claims.sub.slice(0, 200) : undefined, expiresAt: record.expiresAt });
        return { token, record, expires: Math.floor(Date.parse(record.expiresAt) / 1000) };
      } catch (err) {
        // the same run minting again (a second upload step): the next free name
        if (!(err instanceof GateError && err.code === "conflict") || attempt >= 20) throw err;
      }
    }
  }

  /** Whether `caller` may see `channel`'s publishers, as listing them needs (tokens:read). */
  private async mayList(caller: Principal, channel: string): Promise<boolean> {
    if (caller.account === null) return false;
    const account = await this.deps.catalog.getAccount(channel);
    return account !== null && authorize(caller, "tokens:read", { account, name: channel, kind: "channel" }).allow;
  }
}

/** Of the publishers of one account that match, the most specific (then the first by name). */
function pick(matching: Candidate[]): Candidate {
  return [...matching].sort((a, b) => specificity(b.publisher) - specificity(a.publisher) || (a.publisher.name < b.publisher.name ? -1 : 1))[0]!;
}
