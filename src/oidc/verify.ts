// ID tokens from CI, verified with jose: the issuer must be one OIDC_ISSUERS allows; its
// discovery document and key set are fetched and cached (the keys for KEYS_MAX_AGE, fetched
// again at most once per OIDC_JWKS_REFRESH when a token names a key the cached set lacks:
// a rotation is picked up at once, a flood of made-up key ids costs one fetch per period);
// then the signature, iss, aud, exp, nbf and iat (not in the future, not older than
// MAX_TOKEN_AGE). Each refusal says which check failed. Nothing here ever puts a token into
// a message.
//
// No ID token is accepted twice: `consume` remembers its jti (or its hash, when it has none)
// until it expires, with SET NX in the shared cache, so a token is spent on every replica at
// once. With Redis down the exchange is refused (503), never remembered in-process only: a
// replica's own memory would let the same token be exchanged once per replica, and the
// exchange writes a token into the catalog, which needs the shared lock anyway.
import { createHash } from "node:crypto";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { GateError } from "../errors.js";
import { errnoOf } from "../errno.js";
import type { Cache } from "../cache/cache.js";
import type { OidcConfig } from "../config.js";

/** Asymmetric algorithms only: an issuer signs, we verify; HS* and none never pass. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
/** Seconds of clock difference tolerated on exp, nbf and iat. */
export const CLOCK_TOLERANCE = 60;
/** An ID token older than this (by iat) is refused, whatever its exp says. */
export const MAX_TOKEN_AGE = 3600;
/** How long a fetched key set is used before it is fetched again. */
const KEYS_MAX_AGE_MS = 10 * 60_000;
/** How long a discovery document is used. */
const DISCOVERY_MAX_AGE_MS = 60 * 60_000;
const FETCH_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 256 * 1024;
/** Longer than any ID token a CI issues (GitHub's are ~1-2 KiB). */
export const MAX_ID_TOKEN_LENGTH = 16 * 1024;

export interface VerifiedIdToken {
  issuer: string;
  claims: JWTPayload & Record<string, unknown>;
  /** What the token is remembered by (its jti, or a hash of it) and until when (epoch s). */
  replayKey: string;
  expiresAt: number;
}

interface IssuerKeys {
  jwksUri: string;
  discoveredAt: number;
  keys: ReturnType<typeof createLocalJWKSet> | null;
  fetchedAt: number;
  /** The last fetch of the key set, successful or not (bounds refreshes). */
  triedAt: number;
  inflight: Promise<void> | null;
}

export interface VerifierOptions {
  /** For tests: a clock (epoch ms). */
  now?: () => number;
  fetch?: typeof fetch;
}

export class IdTokenVerifier {
  private readonly issuers = new Map<string, IssuerKeys>();
  private readonly discovering = new Map<string, Promise<IssuerKeys>>();
  /** The last failure to reach an issuer that has nothing cached: answered again, without a
   * fetch, for OIDC_JWKS_REFRESH (a broken issuer is not asked once per request). */
  private readonly failed = new Map<string, { at: number; error: unknown }>();
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  /** Key-set fetches made (for tests and metrics). */
  fetches = 0;

  constructor(
    readonly config: OidcConfig,
    private readonly cache: Cache,
    opts: VerifierOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.fetch = opts.fetch ?? fetch;
  }

  get audience(): string {
    return this.config.audience;
  }

  /** The verified claims of `token`, or a GateError saying which check failed. */
  async verify(token: unknown): Promise<VerifiedIdToken> {
    if (typeof token !== "string" || token.length === 0) throw new GateError("bad_request", 'the body must be {"token": "<the CI\'s OIDC ID token>"}');
    if (token.length > MAX_ID_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw invalid("it is not a signed JWT (three base64url parts)");
    let iss: unknown;
    let alg: unknown;
    try {
      iss = decodeJwt(token).iss;
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid("it is not a signed JWT (its header or claims are not JSON)");
    }
    if (typeof iss !== "string") throw invalid("it has no issuer (iss)");
    if (!this.config.issuers.includes(iss)) {
      throw invalid(`its issuer ${JSON.stringify(iss.slice(0, 200))} is not allowed on this server (OIDC_ISSUERS allows ${this.config.issuers.join(", ")})`);
    }
    if (typeof alg !== "string" || !ALGORITHMS.includes(alg)) throw invalid(`it is signed with ${JSON.stringify(String(alg).slice(0, 20))}, not one of an issuer's public-key algorithms`);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keysOf(iss), {
        issuer: iss,
        audience: this.config.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE,
        maxTokenAge: MAX_TOKEN_AGE,
        requiredClaims: ["exp", "iat"],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      throw this.refusal(err, token);
    }
    if (payload.iat! > this.now() / 1000 + CLOCK_TOLERANCE) throw invalid(`it was issued in the future (iat ${new Date(payload.iat! * 1000).toISOString()}); check the clocks`);
    const id = typeof payload.jti === "string" && payload.jti !== "" ? `jti:${payload.jti}` : `sha256:${createHash("sha256").update(token).digest("hex")}`;
    const replayKey = `oidc:seen:${createHash("sha256").update(`${iss}\n${id}`).digest("hex")}`;
    return { issuer: iss, claims: payload as VerifiedIdToken["claims"], replayKey, expiresAt: payload.exp! };
  }

  /** Spend the token: the first call for it anywhere succeeds, any later one is refused
   * until it has expired (after which verify refuses it anyway). */
  async consume(v: VerifiedIdToken): Promise<void> {
    const ttlMs = Math.max(1000, (v.expiresAt + CLOCK_TOLERANCE) * 1000 - this.now());
    let first: unknown;
    try {
      first = await this.cache.tryLock(v.replayKey, ttlMs);
    } catch {
      throw new GateError("unavailable", "the shared cache (Redis) is unavailable, so this server cannot tell whether the ID token was used before; retry in a moment", { "retry-after": "5" });
    }
    if (first === null) throw invalid("it was already exchanged (each ID token is accepted once: ask the CI for a new one)");
  }

  /** jose's getKey for `iss`: the cached key set, fetched again when stale, and once per
   * OIDC_JWKS_REFRESH at most when the token names a key it lacks. */
  private keysOf(iss: string): JWTVerifyGetKey {
    return async (header, token) => {
      const entry = await this.discover(iss);
      if (entry.keys === null || this.now() - entry.fetchedAt > KEYS_MAX_AGE_MS) await this.refresh(entry, iss, true);
      try {
        return await entry.keys!(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        await this.refresh(entry, iss, false);
        return entry.keys!(header, token);
      }
    };
  }

  private async refresh(entry: IssuerKeys, iss: string, stale: boolean): Promise<void> {
    if (entry.inflight) return entry.inflight;
    this.recentFailure(iss);
    // bounded: a token naming an unknown key fetches at most once per period
    if (!stale && this.now() - entry.triedAt < this.config.jwksRefresh * 1000) return;
    entry.triedAt = this.now();
    entry.inflight = (async () => {
      try {
        const jwks = await this.getJson(entry.jwksUri, iss, "key set (JWKS)");
        if (!Array.isArray((jwks as { keys?: unknown }).keys)) throw unreachable(iss, "its key set (JWKS) has no keys");
        this.fetches++;
        entry.keys = createLocalJWKSet(jwks as JSONWebKeySet);
        entry.fetchedAt = this.now();
        this.failed.delete(iss);
      } catch (err) {
        // keys fetched before stay in use while the issuer is unreachable
        if (entry.keys === null) {
          this.failed.set(iss, { at: this.now(), error: err });
          throw err;
        }
      } finally {
        entry.inflight = null;
      }
    })();
    return entry.inflight;
  }

  private discover(iss: string): Promise<IssuerKeys> {
    const known = this.issuers.get(iss);
    if (known && this.now() - known.discoveredAt < DISCOVERY_MAX_AGE_MS) return Promise.resolve(known);
    let running = this.discovering.get(iss);
    if (!running && !known) this.recentFailure(iss);
    if (!running) {
      running = (async () => {
        try {
          const doc = (await this.getJson(`${iss}/.well-known/openid-configuration`, iss, "discovery document")) as { issuer?: unknown; jwks_uri?: unknown };
          if (doc.issuer !== iss) throw unreachable(iss, `its discovery document names another issuer (${JSON.stringify(String(doc.issuer).slice(0, 200))})`);
          if (typeof doc.jwks_uri !== "string") throw unreachable(iss, "its discovery document has no jwks_uri");
          const uri = new URL(doc.jwks_uri);
          // the keys come over https, or from the very origin of an issuer allowed on http (loopback)
          if (uri.protocol !== "https:" && uri.origin !== new URL(iss).origin) throw unreachable(iss, "its jwks_uri is not https");
          const entry: IssuerKeys = known && known.jwksUri === doc.jwks_uri ? known : { jwksUri: doc.jwks_uri, discoveredAt: 0, keys: null, fetchedAt: 0, triedAt: -Infinity, inflight: null };
          entry.discoveredAt = this.now();
          this.issuers.set(iss, entry);
          this.failed.delete(iss);
          return entry;
        } catch (err) {
          // a discovery document fetched before stays in use while the issuer is unreachable
          if (known) return known;
          this.failed.set(iss, { at: this.now(), error: err });
          throw err;
        } finally {
          this.discovering.delete(iss);
        }
      })();
      this.discovering.set(iss, running);
    }
    return running;
  }

  /** Throws the issuer's last failure while it is recent. */
  private recentFailure(iss: string): void {
    const last = this.failed.get(iss);
    if (last && this.now() - last.at < Math.max(1, this.config.jwksRefresh) * 1000) throw last.error;
  }

  private async getJson(url: string, iss: string, what: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetch(url, { redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: "application/json" } });
    } catch (err) {
      throw unreachable(iss, `its ${what} could not be fetched (${whyNotFetched(err)})`);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw unreachable(iss, `its ${what} answered HTTP ${res.status}`);
    }
    const text = await res.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw unreachable(iss, `its ${what} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw unreachable(iss, `its ${what} is not JSON`);
    }
  }

  /** jose's error → what the caller is told. */
  private refusal(err: unknown, token: string): GateError {
    if (err instanceof GateError) return err;
    if (err instanceof errors.JWTExpired) {
      if (err.claim === "iat") return new GateError("token_expired", `The ID token was refused: it was issued more than ${MAX_TOKEN_AGE} seconds ago.`);
      const exp = decodeJwt(token).exp;
      return new GateError("token_expired", `The ID token was refused: it expired${typeof exp === "number" ? ` at ${new Date(exp * 1000).toISOString()}` : ""}; ask the CI for a new one.`);
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const p = err.payload;
      switch (err.claim) {
        case "aud":
          return invalid(`its audience is ${JSON.stringify(p.aud ?? null)}, this server's is "${this.config.audience}" (GET /_/oidc/audience; OIDC_AUDIENCE)`);
        case "nbf":
          return invalid(`it is not valid yet (nbf ${typeof p.nbf === "number" ? new Date(p.nbf * 1000).toISOString() : "?"})`);
        case "iat":
          return typeof p.iat === "number" ? invalid(`it was issued in the future (iat ${new Date(p.iat * 1000).toISOString()}); check the clocks`) : invalid("its issue time (iat) is missing or not a number");
        case "exp":
          return invalid("its expiry (exp) is missing or not a number");
        case "iss":
          return invalid("its issuer (iss) does not match");
        default:
          return invalid(`its claim ${err.claim} is not valid (${err.reason})`);
      }
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      const kid = decodeProtectedHeader(token).kid;
      return invalid(`it is signed with a key${typeof kid === "string" ? ` (kid ${JSON.stringify(kid.slice(0, 100))})` : ""} that its issuer does not publish (a rotated-out or unknown key)`);
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys) return invalid("its header does not name which of the issuer's keys signed it (kid)");
    if (err instanceof errors.JWSSignatureVerificationFailed) return invalid("its signature does not verify with the issuer's key");
    if (err instanceof errors.JOSEAlgNotAllowed) return invalid("its signing algorithm is not allowed");
    if (err instanceof errors.JOSEError) return invalid(`it could not be verified (${err.code})`);
    throw err;
  }
}

function invalid(why: string): GateError {
  return new GateError("token_invalid", `The ID token was refused: ${why}.`);
}

/** Why a fetch of the issuer's documents failed, in words (errno.ts: refused, host name not
 * found, a certificate not trusted…); never the URL or anything from it. */
function whyNotFetched(err: unknown): string {
  if ((err as Error | undefined)?.name === "TimeoutError") return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  const errno = errnoOf(err);
  if (errno) return errno.words;
  // fetch's own refusals (redirect: "error") carry no code
  if ((err as { cause?: { message?: unknown } } | undefined)?.cause?.message === "unexpected redirect") return "it answered with a redirect";
  return "connection failed";
}

function unreachable(iss: string, why: string): GateError {
  return new GateError("unavailable", `The ID token cannot be checked now: the issuer ${iss} is unreachable or broken: ${why}.`, { "retry-after": "30" });
}
