// The exchange: a CI job's ID token in, a short-lived pkgate token out. The token is
// verified (verify.ts), its claims choose the publisher (registry.ts: of the accounts that
// registered its CI project, only `channel`'s when the caller names one), it is spent (never
// accepted twice), and the token is made by the one function that makes tokens (api/tokens.ts
// issueToken): named oidc:<publisher>:<run>, holding the publisher's scopes on its packages,
// living OIDC_TOKEN_TTL (never past TOKEN_MAX_AGE), listed with the account's tokens.
import { GateError } from "../errors.js";
import type { Catalog } from "../access/catalog.js";
import type { Principal, TokenRecord } from "../access/model.js";
import type { Logger } from "../log.js";
import type { Cache } from "../cache/cache.js";
import type { Store } from "../store/store.js";
import type { OidcConfig } from "../config.js";
import { issueToken } from "../api/tokens.js";
import { IdTokenVerifier } from "./verify.js";
import { PublisherRegistry, type Candidate } from "./registry.js";
import { mintedTokenName, noPublisher, runOf, specificity } from "./publisher.js";

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

  /** `channel`: only that account's publishers (null: any account's). */
  async mint(idToken: unknown, channel: string | null): Promise<Minted> {
    const verified = await this.verifier.verify(idToken);
    const { issuer, claims } = verified;
    const found = await this.publishers.candidates(issuer, claims, channel);
    const matching = found.filter((c) => c.mismatch === null);
    const what = `issuer ${issuer}, ${projectOf(claims)}${channel !== null ? `, channel ${channel}` : ""}`;
    if (matching.length === 0) {
      if (found.length === 0) throw noPublisher(what, [`none is registered for it${channel !== null ? " in this channel" : ""}`]);
      throw noPublisher(what, found.map((c) => `${c.account.name}/${c.publisher.name}: ${c.mismatch}`));
    }
    const accounts = [...new Set(matching.map((c) => c.account.name))];
    if (accounts.length > 1) {
      throw new GateError("conflict", `this ID token matches trusted publishers of several accounts (${accounts.join(", ")}); exchange it at POST /api/oidc/mint-token with {"token", "channel"} naming one`);
    }
    const chosen = pick(matching);
    await this.verifier.consume(verified);
    const { account, publisher } = chosen;
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
}

/** Of the publishers of one account that match, the most specific (then the first by name). */
function pick(matching: Candidate[]): Candidate {
  return [...matching].sort((a, b) => specificity(b.publisher) - specificity(a.publisher) || (a.publisher.name < b.publisher.name ? -1 : 1))[0]!;
}

function projectOf(claims: Record<string, unknown>): string {
  const s = (v: unknown) => JSON.stringify(String(v).slice(0, 200));
  if (typeof claims.repository === "string") return `repository ${s(claims.repository)}`;
  if (typeof claims.project_path === "string") return `project_path ${s(claims.project_path)}`;
  return `sub ${s(claims.sub)}`;
}
