// The verbs' operations on the store and cache the environment configures (DATA_DIR or S3_*,
// REDIS_URL: the gateway's own variables), for an ops team where the store is — how the first
// admin is made. Whoever reaches the store owns it, so each verb is the API's own operation
// (api/orgs.ts, channels.ts, tokens.ts, users.ts) called as the OPERATOR principal: the same
// validation, authorize() decision, missing-account answer and view, so a verb says the same
// here as on a gateway. Only this mode loads the store and cache clients (commands.ts imports
// this module when it is needed).
import { loadConfig, type Config } from "../config.js";
import { createRuntime, type Runtime } from "../runtime.js";
import { OPERATOR, type Account } from "../access/model.js";
import * as v from "../api/validate.js";
import { accountFor, orgView, tokenView, userView, type Acting } from "../api/route.js";
import * as orgs from "../api/orgs.js";
import * as channels from "../api/channels.js";
import { issueToken } from "../api/tokens.js";
import { addPublisher, listPublishers, removePublisher } from "../api/publishers.js";
import type { OidcExchange } from "../oidc/exchange.js";
import type { NewPublisher, PublisherView } from "./operations.js";
import * as users from "../api/users.js";
import { PasswordThrottle } from "../api/throttle.js";
import type { IndexPypiResult } from "./index-pypi.js";
import { UsageError } from "./usage.js";
import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import type { KindPutResult } from "../kinds/files.js";
import type { PypiRegistry } from "../pypi/registry.js";
import type { ProjectStatusView, YankSelector, YankView } from "../api/pypi.js";
// What only some verbs need (publishing conda packages, environments and notebooks, PyPI
// project states, trusted publishers) is loaded by those verbs: the others start without it
// (half the start of a store verb; test/bench/cli.ts).
const condaApi = () => import("../api/conda.js");
const kindFiles = async () => ({ ...(await import("../api/kinds.js")), ...(await import("../kinds/files.js")), ...(await import("../kinds/kinds.js")) });
const pypiApi = async () => ({ ...(await import("../api/pypi.js")), ...(await import("../pypi/registry.js")) });
import type { ApiDeps } from "../api/route.js";
import type {
  ChannelView,
  CondaFile,
  CondaRemoval,
  CondaUploadResult,
  CopyResult,
  LabelSummary,
  PackageSelector,
  CreatedToken,
  Group,
  GroupChange,
  NewGroup,
  NewToken,
  NewUser,
  Operations,
  OrgView,
  PackagePrivacy,
  Privacy,
  RebuildResult,
  RemoveResult,
  StoreOperations,
  TokenOwner,
  TokenView,
  UserView,
} from "./operations.js";

/** The operations on the store of the environment (read now: an invalid variable stops the
 * command, named). */
export function openLocal(): LocalOperations {
  return new LocalOperations(loadConfig());
}

export class LocalOperations implements Operations, StoreOperations {
  private runtime: Promise<Runtime> | null = null;

  constructor(private readonly config: Config) {}

  /** The store, cache and catalog, opened on first use (doctor looks at them its own way). */
  private rt(): Promise<Runtime> {
    return (this.runtime ??= this.open());
  }

  private async open(): Promise<Runtime> {
    // DATA_DIR's default is ./data of wherever the command runs: from any other directory than
    // the gateway's, a verb would act on a new, empty store of its own and only say "no such
    // organization" (or create one nobody serves). Say so when that is what happens.
    const newStore = !this.config.s3 && !process.env.DATA_DIR && !existsSync(this.config.dataDir);
    const rt = await createRuntime(this.config);
    if (newStore) {
      process.stderr.write(
        `pkgate: note: DATA_DIR is unset and ${this.config.dataDir} did not exist: acting on a new, empty store made there. ` +
          `A gateway's store is its DATA_DIR (./data of the directory it started in): run pkgate there, or set DATA_DIR (or S3_ENDPOINT) as for the gateway\n`,
      );
    }
    return rt;
  }

  /** The operator on the store's catalog: how every API operation below is called. */
  private async operator(): Promise<Acting> {
    return { catalog: (await this.rt()).catalog, principal: OPERATOR };
  }

  async close(): Promise<void> {
    const rt = await this.runtime?.catch(() => null);
    await rt?.close();
  }

  // ---- organizations and groups -------------------------------------------------------------

  async createOrg(name: string, adopt: boolean): Promise<OrgView> {
    // the operator is no account: the organization starts without admins (org --add-admin)
    return orgView(await orgs.createOrganization(await this.operator(), v.orgCreate({ name, adopt }), []));
  }

  async showOrg(name: string): Promise<OrgView> {
    const a = await this.operator();
    return orgs.orgViewFor(a.principal, await orgs.organization(a, name, "org:read"));
  }

  async addOrgAdmin(org: string, user: string): Promise<OrgView> {
    return orgView(await orgs.addOrgAdmin(await this.operator(), org, user));
  }

  async removeOrgAdmin(org: string, user: string): Promise<OrgView> {
    return orgView(await orgs.removeOrgAdmin(await this.operator(), org, user));
  }

  async listGroups(org: string): Promise<Group[]> {
    const a = await this.operator();
    return orgs.groupsFor(a.principal, await orgs.organization(a, org, "org:read"));
  }

  async showGroup(org: string, group: string): Promise<Group> {
    return orgs.group(await this.operator(), org, group);
  }

  async createGroup(org: string, group: NewGroup): Promise<Group> {
    return orgs.createGroup(await this.operator(), org, group);
  }

  async updateGroup(org: string, group: string, change: GroupChange): Promise<Group> {
    return orgs.updateGroup(await this.operator(), org, group, change);
  }

  async deleteGroup(org: string, group: string): Promise<void> {
    await orgs.deleteGroup(await this.operator(), org, group);
  }

  async addGroupMember(org: string, group: string, user: string): Promise<Group> {
    return orgs.addGroupMember(await this.operator(), org, group, user);
  }

  async removeGroupMember(org: string, group: string, user: string): Promise<Group> {
    return orgs.removeGroupMember(await this.operator(), org, group, user);
  }

  // ---- users ---------------------------------------------------------------------------------

  async createUser(u: NewUser): Promise<UserView> {
    const input = v.signup({ username: u.name, email: u.email, password: u.password, serverAdmin: u.serverAdmin, adopt: u.adopt });
    const a = await this.operator();
    return userView(await users.signUp({ catalog: a.catalog, signup: this.config.signup }, a.principal, input), true);
  }

  async showUser(name: string): Promise<UserView> {
    return users.userProfile(await this.operator(), name);
  }

  async ownAccount(): Promise<string> {
    throw new UsageError("on the store you act as its operator, not as a user: there is no password of your own here; set a user's password with pkgate user --reset NAME");
  }

  async setPassword(user: string, password: string): Promise<void> {
    // a reset (the operator is never the user): no current password, nothing for the throttle
    const a = await this.operator();
    await users.setPassword({ ...a, throttle: new PasswordThrottle((await this.rt()).cache) }, "local", user, { password });
  }

  // ---- privacy -------------------------------------------------------------------------------

  async showChannel(name: string): Promise<ChannelView> {
    return channels.channelView(await channels.channelFor(await this.operator(), name, "channel:read"));
  }

  async setChannelPrivacy(name: string, privacy: Privacy): Promise<ChannelView> {
    return channels.channelView(await channels.setDefaultPrivacy(await this.operator(), name, { defaultPrivacy: privacy }));
  }

  async setPackagePrivacy(channel: string, pkg: string, privacy: Privacy): Promise<PackagePrivacy> {
    const { own: _own, ...shown } = channels.packageView(...(await channels.setPackagePrivacy(await this.operator(), channel, pkg, privacy)));
    return shown;
  }

  // ---- tokens --------------------------------------------------------------------------------

  /** The account whose tokens are meant: named with --org or --user, since the operator has
   * no tokens of its own. */
  private owner(a: Acting, owner: TokenOwner, action: "tokens:read" | "tokens:write"): Promise<Account> {
    if (owner.kind === "self") throw new UsageError("on the store, say whose tokens: --org ORG or --user USER (you act as the store's operator, which has no tokens)");
    return accountFor(a, owner.kind, owner.name, action);
  }

  async createToken(owner: TokenOwner, t: NewToken): Promise<CreatedToken> {
    const input = v.tokenCreate({ name: t.name, scopes: t.scopes, ...(t.maxAgeSeconds !== undefined ? { maxAgeSeconds: t.maxAgeSeconds } : {}) });
    const a = await this.operator();
    const acc = await this.owner(a, owner, "tokens:write");
    // made as the account's own (createdBy names an account, and the operator is none), with
    // no creating token to bound it
    const creator = { ...a.principal, account: acc.name };
    const { token, record } = await issueToken({ catalog: a.catalog, tokenMaxAge: this.config.tokenMaxAge }, creator, acc, input);
    return { ...tokenView(record), token };
  }

  async listTokens(owner: TokenOwner): Promise<TokenView[]> {
    const a = await this.operator();
    const acc = await this.owner(a, owner, "tokens:read");
    return (await a.catalog.listTokens(acc.name)).map(tokenView);
  }

  async revokeToken(owner: TokenOwner, name: string): Promise<TokenView> {
    const a = await this.operator();
    const acc = await this.owner(a, owner, "tokens:write");
    return tokenView(await a.catalog.revokeToken(acc.name, name));
  }

  // ---- trusted publishers (api/publishers.ts, as the operator) --------------------------------

  private oidc: Promise<OidcExchange> | null = null;

  private publishers(): Promise<OidcExchange> {
    return (this.oidc ??= this.rt().then(async (rt) => {
      const { OidcExchange } = await import("../oidc/exchange.js");
      return new OidcExchange({ catalog: rt.catalog, store: rt.store, cache: rt.cache, config: this.config.oidc, tokenMaxAge: this.config.tokenMaxAge });
    }));
  }

  async listPublishers(channel: string): Promise<PublisherView[]> {
    return listPublishers(await this.operator(), channel);
  }

  async addPublisher(channel: string, p: NewPublisher): Promise<PublisherView> {
    return addPublisher(await this.operator(), await this.publishers(), channel, p);
  }

  async removePublisher(channel: string, name: string): Promise<PublisherView> {
    return removePublisher(await this.operator(), await this.publishers(), channel, name);
  }

  // ---- conda packages --------------------------------------------------------------------------

  private conda: Promise<NonNullable<ApiDeps["conda"]>> | null = null;

  /** The API's publisher on this store, with the gateway's MAX_CONDA_UPLOAD. */
  private publishing(): Promise<NonNullable<ApiDeps["conda"]>> {
    return (this.conda ??= this.rt().then(async (rt) => (await condaApi()).condaDeps(rt.store, rt.cache, this.config.maxCondaUploadBytes)!));
  }

  async uploadConda(channel: string | null, file: CondaFile): Promise<CondaUploadResult> {
    if (channel === null) throw new UsageError("on the store, name the channel: --channel CHANNEL (you act as the store's operator, which has no channel of its own)");
    const size = (await stat(file.path)).size;
    // the upload route's own checks and publisher, as the operator
    const { uploadCondaPackage } = await condaApi();
    return uploadCondaPackage(await this.operator(), await this.publishing(), channel, () => ({
      filename: file.filename,
      label: file.label,
      existing: file.existing,
      body: createReadStream(file.path),
      contentLength: size,
    }));
  }

  async uploadKind(channel: string | null, file: CondaFile): Promise<KindPutResult> {
    if (channel === null) throw new UsageError("on the store, name the channel: --channel CHANNEL (you act as the store's operator, which has no channel of its own)");
    const { kindOfFile, uploadKindFile, KindFiles } = await kindFiles();
    const kind = kindOfFile(file.filename);
    if (!kind) throw new UsageError(`${file.filename} is not an environment (.yml, .yaml) or a notebook (.ipynb)`);
    const size = (await stat(file.path)).size;
    // the upload route's own checks, as the operator
    return uploadKindFile(await this.operator(), new KindFiles((await this.rt()).store), channel, kind, () => ({ filename: file.filename, existing: file.existing, body: createReadStream(file.path), contentLength: size }));
  }

  async removeConda(channel: string, file: string, label: string): Promise<RemoveResult> {
    const { removeCondaPackage } = await condaApi();
    return removeCondaPackage(await this.operator(), await this.publishing(), channel, file, label);
  }

  async removeCondaPackages(channel: string, sel: PackageSelector, label: string | null): Promise<CondaRemoval> {
    const [{ removeCondaPackages }, { KindFiles }] = await Promise.all([condaApi(), kindFiles()]);
    return removeCondaPackages(await this.operator(), await this.publishing(), channel, sel, label, new KindFiles((await this.rt()).store));
  }

  async listCondaLabels(channel: string): Promise<{ channel: string; labels: LabelSummary[] }> {
    const { listCondaLabels } = await condaApi();
    return listCondaLabels(await this.operator(), await this.publishing(), channel);
  }

  async copyCondaLabel(channel: string, from: string, to: string, sel: PackageSelector, move: boolean): Promise<CopyResult> {
    const { copyCondaLabel } = await condaApi();
    return copyCondaLabel(await this.operator(), await this.publishing(), channel, from, to, sel, move);
  }

  // ---- PyPI projects ---------------------------------------------------------------------------

  private pypi: Promise<PypiRegistry> | null = null;

  private pypiProjects(): Promise<PypiRegistry> {
    return (this.pypi ??= this.rt().then(async (rt) => new (await pypiApi()).PypiRegistry(rt.store, rt.cache)));
  }

  async setPypiStatus(channel: string, project: string, status: string, reason: string | undefined): Promise<ProjectStatusView> {
    const { setProjectStatus } = await pypiApi();
    return setProjectStatus(await this.operator(), await this.pypiProjects(), channel, project, status, reason);
  }

  async yankPypi(channel: string, project: string, sel: YankSelector, reason: string | false): Promise<YankView> {
    const { yankPypi } = await pypiApi();
    return yankPypi(await this.operator(), await this.pypiProjects(), channel, project, sel, reason);
  }

  // ---- work done where the store is ---------------------------------------------------------

  async indexConda(channel: string): Promise<RebuildResult> {
    const rt = await this.rt();
    await rt.catalog.requireAccount(channel);
    const { CondaPublisher } = await import("../conda/publish.js");
    return new CondaPublisher(rt.store, rt.cache, { limits: { maxFileBytes: this.config.maxCondaUploadBytes } }).rebuild(channel);
  }

  async indexPypi(channel: string): Promise<IndexPypiResult> {
    const rt = await this.rt();
    await rt.catalog.requireAccount(channel);
    // the PyPI registry (and its zip reader) is this verb's alone
    const { indexPypi } = await import("./index-pypi.js");
    return indexPypi(rt, channel);
  }

  async doctor(out: { write(s: string): void }, json: boolean): Promise<number> {
    // loaded when asked for: its store survey is no other verb's business
    const { runDoctor } = await import("../ops/doctor.js");
    return runDoctor(this.config, out, { json });
  }
}
