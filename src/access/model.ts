// The access catalog's documents, as stored under the reserved `.pkgate/` prefix of the
// store (see catalog.ts). Plain data: JSON in the store, JSON in the cache.

export type Privacy = "public" | "private";
export type Permission = "read" | "write" | "admin";

export interface Group {
  name: string;
  permission: Permission;
  /** Normalized package names, or "*" for every package of the organization's channel. */
  packages: string[] | "*";
  members: string[];
}

export interface Account {
  /** Lower-case, channel-safe; it is also the account's channel name. */
  name: string;
  kind: "user" | "org";
  createdAt: string;
  /** users */
  email?: string;
  passwordHash?: string;
  serverAdmin?: boolean;
  /** users: the packages they starred in the web pages, `<channel>/<package>` */
  favorites?: string[];
  /** orgs: user names owning the organization */
  admins?: string[];
  groups?: Group[];
  /** The channel's default privacy for packages without their own setting. */
  defaultPrivacy: Privacy;
  /** Per-package privacy, keyed by normalized package name (conda and PyPI alike). */
  packages: Record<string, Privacy>;
  /** Bumped on every change; part of every cache key derived from this document. */
  revision: number;
  /** The trusted publishers of the account (oidc/): CI jobs whose ID tokens are exchanged
   * for short-lived tokens of this account. */
  publishers?: TrustedPublisher[];
}

/** A CI identity allowed to publish as an account without a stored secret: an ID token
 * from `issuer` whose claims match `claims` (oidc/publisher.ts says how each kind's claims
 * match) is exchanged for a token holding `scopes` on `packages`. */
export interface TrustedPublisher {
  /** Unique within the account; the minted tokens are named after it. */
  name: string;
  /** github (repository, workflow, environment?, ref?), gitlab (project_path,
   * ci_config_path, environment?, ref?), oidc (sub and any other claims, compared exactly). */
  kind: "github" | "gitlab" | "oidc";
  issuer: string;
  claims: Record<string, string>;
  /** pypi:upload and/or conda. */
  scopes: string[];
  /** Normalized package names the minted token may upload, or "*". */
  packages: string[] | "*";
  createdAt: string;
  createdBy: string;
  /** github: when repository_owner_id (and repository_id) were recorded into `claims` from
   * the first ID token exchanged (trust on first use); absent when given at registration. */
  idsRecordedAt?: string;
}

export interface TokenRecord {
  /** Public identifier for logs and listings: the first 12 hex chars of the hash. */
  id: string;
  /** Unique among the account's live tokens. */
  name: string;
  account: string;
  /** The user who created it (for org tokens, an admin); equals account for self-issued. */
  createdBy: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
  /** The only packages (normalized) the token acts on; absent: every package its account may. */
  packages?: string[];
  /** The trusted publisher that minted it (oidc/): removing the publisher revokes it. */
  publisher?: string;
}

/** Who is asking: the result of identifying a request. */
export interface Principal {
  /** null for anonymous callers. */
  token: { id: string; name: string; expiresAt: string } | null;
  /** The account the token acts as; null for anonymous. */
  account: string | null;
  accountKind: "user" | "org" | null;
  /** A server admin's account has every right on every account (its token is still bounded
   * by its scopes). */
  serverAdmin?: boolean;
  scopes: string[];
  /** A token limited to these packages (normalized): every other package is refused. */
  packages?: string[];
}

export const ANONYMOUS: Principal = Object.freeze({
  token: null,
  account: null,
  accountKind: null,
  scopes: [],
}) as Principal;

/** Whoever runs the CLI's local verbs: they reach the store itself, so they act as a server
 * admin (authorize() still decides, and answers a missing account as the API does). */
export const OPERATOR: Principal = Object.freeze({
  token: null,
  account: ":operator",
  accountKind: "user",
  serverAdmin: true,
  scopes: [],
}) as Principal;
