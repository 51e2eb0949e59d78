// What the pkgate command does, as interfaces the verbs (verbs.ts) are written against once.
// `Operations` has two implementations: local.ts acts on the store and cache the environment
// configures, as the operator, through authorize(); remote.ts calls a gateway's /api as the
// logged-in user. Both answer with the API's views (api/route.ts), so a verb parses, runs and
// prints the same in either mode. What only one mode can do has an interface of its own:
// `Session` (a gateway's logins) and `StoreOperations` (work done where the store is).
import type { Group, Privacy, TokenRecord, TrustedPublisher } from "../access/model.js";
import type { OrgView, UserView } from "../api/route.js";
import type { ChannelView, PackageView } from "../api/channels.js";
import type { IndexPypiResult } from "./index-pypi.js";
import type { CopyResult, LabelSummary, OnExisting, PackageSelector, RebuildResult, RemoveResult } from "../conda/publish.js";
import type { CondaRemoval, CondaUploadResult } from "../api/conda.js";
import type { KindPutResult } from "../kinds/files.js";
import type { ProjectStatusView, YankSelector, YankView } from "../api/pypi.js";

export type { ProjectStatusView, YankSelector, YankView };

export type { CondaRemoval, CondaUploadResult, CopyResult, LabelSummary, OnExisting, PackageSelector, RebuildResult, RemoveResult };

export type { ChannelView, Group, OrgView, Privacy, UserView };

/** A token as listings show it: the catalog's record, which holds no secret (only its hash
 * identifies it, and that is kept apart). */
export type TokenView = TokenRecord;

/** A new token, with its secret: the one time it is shown. */
export type CreatedToken = TokenView & { token: string };

/** A trusted publisher as the API shows it. */
export type PublisherView = TrustedPublisher;

/** A trusted publisher to register, as typed (the server validates it). */
export interface NewPublisher {
  name: string;
  issuer: string;
  kind?: string;
  claims: Record<string, string>;
  scopes: string[];
  packages: string[] | "*";
}

/** A package's privacy as the API shows it, without whether it is the package's own setting. */
export type PackagePrivacy = Omit<PackageView, "own">;

export interface Whoami extends UserView {
  token: { id: string; name: string; scopes: string[]; expiresAt: string };
}

/** Whose tokens: an organization's, a user's, or your own (on a gateway: the account you are
 * logged in as). */
export type TokenOwner = { kind: "org" | "user"; name: string } | { kind: "self" };

export interface NewUser {
  name: string;
  email: string;
  password: string;
  serverAdmin: boolean;
  /** Take over content the store already holds under the name (server admins). */
  adopt: boolean;
}

/** Permission and package names as typed: the implementations validate them as the API
 * does (api/validate.ts), so both modes refuse the same input with the same words. */
export interface NewGroup {
  name: string;
  permission: string;
  packages: string[] | "*";
}

export interface GroupChange {
  permission?: string;
  packages?: string[] | "*";
}

export interface NewToken {
  name: string;
  /** Space-separated, as typed: "conda:download pypi:download". */
  scopes: string;
  maxAgeSeconds?: number;
}

/** One conda package file to upload, as named on the command line. */
export interface CondaFile {
  /** Where it is on this machine. */
  path: string;
  /** Its file name (the last part of the path): the server checks it against the metadata. */
  filename: string;
  label: string;
  existing: OnExisting;
}

export interface Operations {
  createOrg(name: string, adopt: boolean): Promise<OrgView>;
  showOrg(name: string): Promise<OrgView>;
  addOrgAdmin(org: string, user: string): Promise<OrgView>;
  removeOrgAdmin(org: string, user: string): Promise<OrgView>;

  listGroups(org: string): Promise<Group[]>;
  showGroup(org: string, group: string): Promise<Group>;
  createGroup(org: string, group: NewGroup): Promise<Group>;
  updateGroup(org: string, group: string, change: GroupChange): Promise<Group>;
  deleteGroup(org: string, group: string): Promise<void>;
  addGroupMember(org: string, group: string, user: string): Promise<Group>;
  removeGroupMember(org: string, group: string, user: string): Promise<Group>;

  createUser(user: NewUser): Promise<UserView>;
  showUser(name: string): Promise<UserView>;
  /** The account `user --password` changes: the logged-in one. Locally there is none (the
   * operator has no account): a UsageError then says what to use instead. */
  ownAccount(): Promise<string>;
  /** A password change needs `currentPassword` for your own account, a reset does not. */
  setPassword(user: string, password: string, currentPassword?: string): Promise<void>;

  showChannel(name: string): Promise<ChannelView>;
  setChannelPrivacy(name: string, privacy: Privacy): Promise<ChannelView>;
  setPackagePrivacy(channel: string, pkg: string, privacy: Privacy): Promise<PackagePrivacy>;

  createToken(owner: TokenOwner, token: NewToken): Promise<CreatedToken>;
  listTokens(owner: TokenOwner): Promise<TokenView[]>;
  revokeToken(owner: TokenOwner, name: string): Promise<TokenView>;

  listPublishers(channel: string): Promise<PublisherView[]>;
  addPublisher(channel: string, publisher: NewPublisher): Promise<PublisherView>;
  /** Its tokens are refused from then on. */
  removePublisher(channel: string, name: string): Promise<PublisherView>;

  /** Publishes one package into `channel`; null: the logged-in account's (on a gateway). */
  uploadConda(channel: string | null, file: CondaFile): Promise<CondaUploadResult>;
  /** Stores an environment (.yml, .yaml) or a notebook (.ipynb) into `channel` (null: the
   * logged-in account's); labels do not apply to them. */
  uploadKind(channel: string | null, file: CondaFile): Promise<KindPutResult>;
  /** Takes `<subdir>/<filename>` out of a label of `channel`. */
  removeConda(channel: string, file: string, label: string): Promise<RemoveResult>;
  /** Takes a package, a version or a file out of `label`, or (null) out of every label holding it. */
  removeCondaPackages(channel: string, sel: PackageSelector, label: string | null): Promise<CondaRemoval>;
  listCondaLabels(channel: string): Promise<{ channel: string; labels: LabelSummary[] }>;
  /** Copies (move: then takes out of `from`) what `sel` selects from label `from` into `to`. */
  copyCondaLabel(channel: string, from: string, to: string, sel: PackageSelector, move: boolean): Promise<CopyResult>;

  /** A PyPI project's PEP 792 status (api/pypi.ts). */
  setPypiStatus(channel: string, project: string, status: string, reason: string | undefined): Promise<ProjectStatusView>;
  /** Yanks (reason: a string) or un-yanks (false) a release or a file (PEP 592). */
  yankPypi(channel: string, project: string, sel: YankSelector, reason: string | false): Promise<YankView>;
}

/** A gateway's logins: only remote.ts has them. */
export interface Session {
  /** The gateway: --site, else the stored login's; null when neither. */
  readonly site: string | null;
  /** Log in and store the site and the new token (a previous login's token on the same site
   * is revoked). */
  login(username: string, password: string): Promise<{ site: string; config: string; token: TokenView }>;
  /** Revoke the stored token and forget it. */
  logout(): Promise<{ site: string; revoked: boolean }>;
  whoami(): Promise<Whoami>;
}

/** What runs where the store is, never through a gateway: only local.ts has it. */
export interface StoreOperations {
  indexPypi(channel: string): Promise<IndexPypiResult>;
  /** Every conda index of every label of `channel`, from the package files in the store. */
  indexConda(channel: string): Promise<RebuildResult>;
  /** Writes its report to `out`; the exit code: 0 all good, 1 something to fix. */
  doctor(out: { write(s: string): void }, json: boolean): Promise<number>;
}
