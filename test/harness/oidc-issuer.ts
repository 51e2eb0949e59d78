// A local OIDC issuer for tests, as GitHub Actions' is seen from a gateway: a discovery
// document and a key set (JWKS) on a loopback port, and ID tokens signed by jose with the
// keys it publishes (or with keys it does not, to test refusals). Keys rotate on demand.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface IdTokenOptions {
  audience?: string;
  /** Seconds from now (negative: already expired). Default 300. */
  expiresIn?: number;
  /** Seconds from now of iat (default 0). */
  issuedAt?: number;
  notBefore?: number;
  /** Sign with this key (default: the current one). */
  key?: SigningKey;
  /** Another issuer in `iss` (the token is still signed by this one). */
  issuer?: string;
  jti?: string | null;
}

export interface OidcIssuer {
  url: string;
  /** Every key set served, counted (the gateway's fetches). */
  jwksFetches(): number;
  current: SigningKey;
  newKey(): Promise<SigningKey>;
  /** Publish only these keys from now on. */
  publish(keys: SigningKey[]): void;
  /** An ID token with GitHub Actions' claims for `claims`' repository and workflow. */
  sign(claims: Record<string, unknown>, opts?: IdTokenOptions): Promise<string>;
  stop(): Promise<void>;
}

async function makeKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const kid = randomUUID().slice(0, 8);
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  let published: SigningKey[] = [await makeKey()];
  let fetches = 0;
  let url = "";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const json = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (path === "/.well-known/openid-configuration") return json({ issuer: url, jwks_uri: `${url}/.well-known/jwks`, id_token_signing_alg_values_supported: ["RS256"], response_types_supported: ["id_token"], subject_types_supported: ["public"] });
    if (path === "/.well-known/jwks") {
      fetches++;
      return json({ keys: published.map((k) => k.publicJwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: OidcIssuer = {
    url,
    jwksFetches: () => fetches,
    current: published[0]!,
    newKey: makeKey,
    publish(keys) {
      published = keys;
      issuer.current = keys[0]!;
    },
    async sign(claims, opts = {}) {
      const key = opts.key ?? issuer.current;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ ...claims })
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
        .setIssuer(opts.issuer ?? url)
        .setAudience(opts.audience ?? "pkgate")
        .setIssuedAt(now + (opts.issuedAt ?? 0))
        .setExpirationTime(now + (opts.expiresIn ?? 300));
      if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore);
      if (opts.jti !== null) jwt.setJti(opts.jti ?? randomUUID());
      return jwt.sign(key.privateKey);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return issuer;
}

/** The claims GitHub Actions puts into an ID token of a job in `repository` running
 * `.github/workflows/<workflow>`. */
export function githubClaims(repository: string, workflow: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ref = (extra.ref as string | undefined) ?? "refs/heads/main";
  return {
    sub: `repo:${repository}:ref:${ref}`,
    repository,
    repository_owner: repository.split("/")[0],
    repository_owner_id: "1234",
    repository_id: "5678",
    ref,
    ref_type: "branch",
    workflow: "release",
    workflow_ref: `${repository}/.github/workflows/${workflow}@${ref}`,
    job_workflow_ref: `${repository}/.github/workflows/${workflow}@${ref}`,
    run_id: String(1_000_000 + Math.floor(Math.random() * 1_000_000)),
    run_attempt: "1",
    event_name: "push",
    ...extra,
  };
}
