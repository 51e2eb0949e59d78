// The verbs' operations on the store and cache the environment configures (DATA_DIR or S3_*,
// REDIS_URL: the gateway's own variables), for an ops team where the store is — how the first
// admin is made. Whoever reaches the store owns it, so each operation acts as the OPERATOR
// principal through authorize() (a missing account gets the API's answer), checks its input
// with the API's own validators and answers with the API's views: a verb says the same here
// as on a gateway. Only this mode loads the store and cache clients (commands.ts imports
// this module when it is needed).
import { loadConfig, type Config } from "../config.js";
import { createRuntime, type Runtime } from "../runtime.js";
import { GateError } from "../errors.js";
import { OPERATOR, type Account, type TokenRecord } from "../access/model.js";
import { authorize, enforce, type Action, type Resource } from "../access/authorize.js";
import { privacyOf } from "../access/policy.js";
import { tokenExpiry } from "../access/names.js";
import { hashPassword } from "../auth/password.js";
import * as v from "../api/validate.js";
import { groupView, orgView, tokenView, userView } from "../api/route.js";
import type { IndexPypiResult } from "./index-pypi.js";
import { UsageError } from "./usage.js";
import type { ChannelView, CreatedToken, Group, GroupChange, NewGroup, NewToken, NewUser, Operations, OrgView, PackagePrivacy, Privacy, StoreOperations, TokenOwner, TokenView, UserView } from "./operations.js";

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
    return (this.runtime ??= createRuntime(this.config));
  }

  private async catalog(): Promise<Runtime["catalog"]> {
    return (await this.rt()).catalog;
  }

  async close(): Promise<void> {
    const rt = await this.runtime?.catch(() => null);
    await rt?.close();
  }

  /** The operator's right to `action`, or the API's refusal thrown. */
  private allow(action: Action, resource: Resource): void {
    enforce(authorize(OPERATOR, action, resource));
  }

  /** The account `name` of `kind`, with the operator allowed `action` on it (on `pkg` when
   * given): one that does not exist, or is of another kind, gets the API's missing answer. */
  private async account(action: Action, name: string, kind: "org" | "user" | "channel", pkg?: string): Promise<Account> {
    const valid = v.accountName(name, kind);
    const acc = await (await this.catalog()).getAccount(valid);
    const fits = acc !== null && (kind === "channel" || acc.kind === kind);
    this.allow(action, { account: fits ? acc : null, name: valid, kind: kind === "org" ? "organization" : kind, package: pkg });
    return acc!;
  }

  // ---- organizations and groups -------------------------------------------------------------

  async createOrg(name: string, adopt: boolean): Promise<OrgView> {
    const catalog = await this.catalog();
    const input = v.orgCreate({ name, adopt });
    this.allow("org:create", { account: null });
    if (input.adopt) this.allow("server:admin", { account: null });
    return orgOf(await catalog.createAccount({ name: input.name, kind: "org", adopt: input.adopt }));
  }

  async showOrg(name: string): Promise<OrgView> {
    return orgOf(await this.account("org:read", name, "org"));
  }

  async addOrgAdmin(org: string, user: string): Promise<OrgView> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    return orgOf(await catalog.addOrgAdmin(acc.name, v.accountName(user, "user")));
  }

  async removeOrgAdmin(org: string, user: string): Promise<OrgView> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    return orgOf(await catalog.removeOrgAdmin(acc.name, v.accountName(user, "user")));
  }

  async listGroups(org: string): Promise<Group[]> {
    return ((await this.account("org:read", org, "org")).groups ?? []).map(groupView);
  }

  async showGroup(org: string, group: string): Promise<Group> {
    const name = v.groupName(group, "group");
    return groupIn(await this.account("org:read", org, "org"), name);
  }

  async createGroup(org: string, group: NewGroup): Promise<Group> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    const input = v.groupCreate(group);
    return groupIn(await catalog.createGroup(acc.name, input), input.name);
  }

  async updateGroup(org: string, group: string, change: GroupChange): Promise<Group> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    const name = v.groupName(group, "group");
    return groupIn(await catalog.updateGroup(acc.name, name, v.groupPatch(change)), name);
  }

  async deleteGroup(org: string, group: string): Promise<void> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    await catalog.deleteGroup(acc.name, v.groupName(group, "group"));
  }

  async addGroupMember(org: string, group: string, user: string): Promise<Group> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    const name = v.groupName(group, "group");
    return groupIn(await catalog.addGroupMember(acc.name, name, v.accountName(user, "user")), name);
  }

  async removeGroupMember(org: string, group: string, user: string): Promise<Group> {
    const catalog = await this.catalog();
    const acc = await this.account("org:modify-group", org, "org");
    const name = v.groupName(group, "group");
    return groupIn(await catalog.removeGroupMember(acc.name, name, v.accountName(user, "user")), name);
  }

  // ---- users ---------------------------------------------------------------------------------

  async createUser(u: NewUser): Promise<UserView> {
    const catalog = await this.catalog();
    const input = v.signup({ username: u.name, email: u.email, password: u.password, serverAdmin: u.serverAdmin, adopt: u.adopt });
    if (input.serverAdmin || input.adopt) this.allow("server:admin", { account: null });
    const acc = await catalog.createAccount({
      name: input.username,
      kind: "user",
      email: input.email,
      passwordHash: await hashPassword(input.password),
      serverAdmin: input.serverAdmin,
      adopt: input.adopt,
    });
    return userOf(acc);
  }

  async showUser(name: string): Promise<UserView> {
    return userOf(await this.account("user:read", name, "user"));
  }

  async ownAccount(): Promise<string> {
    throw new UsageError("on the store you act as its operator, not as a user: there is no password of your own here; set a user's password with pkgate user --reset NAME");
  }

  async setPassword(user: string, password: string): Promise<void> {
    const catalog = await this.catalog();
    const acc = await this.account("user:write", user, "user");
    const input = v.passwordChange({ password });
    await catalog.setPasswordHash(acc.name, await hashPassword(input.password));
  }

  // ---- privacy -------------------------------------------------------------------------------

  async showChannel(name: string): Promise<ChannelView> {
    return channelView(await this.account("channel:read", name, "channel"));
  }

  async setChannelPrivacy(name: string, privacy: Privacy): Promise<ChannelView> {
    const catalog = await this.catalog();
    const acc = await this.account("channel:write", name, "channel");
    return channelView(await catalog.setChannelPrivacy(acc.name, privacy));
  }

  async setPackagePrivacy(channel: string, pkg: string, privacy: Privacy): Promise<PackagePrivacy> {
    const catalog = await this.catalog();
    const name = v.packageName(pkg);
    const acc = await this.account("package:write", channel, "channel", name);
    const changed = await catalog.setPackagePrivacy(acc.name, name, privacy);
    return { channel: acc.name, package: name, privacy: privacyOf(changed, name) };
  }

  // ---- tokens --------------------------------------------------------------------------------

  /** The account whose tokens are meant: named with --org or --user, since the operator has
   * no tokens of its own. */
  private async owner(owner: TokenOwner, action: "tokens:read" | "tokens:write"): Promise<Account> {
    if (owner.kind === "self") throw new UsageError("on the store, say whose tokens: --org ORG or --user USER (you act as the store's operator, which has no tokens)");
    return this.account(action, owner.name, owner.kind);
  }

  async createToken(owner: TokenOwner, t: NewToken): Promise<CreatedToken> {
    const catalog = await this.catalog();
    const input = v.tokenCreate({ name: t.name, scopes: t.scopes, ...(t.maxAgeSeconds !== undefined ? { maxAgeSeconds: t.maxAgeSeconds } : {}) });
    const acc = await this.owner(owner, "tokens:write");
    const { token, record } = await catalog.createToken({
      account: acc.name,
      name: input.name,
      scopes: input.scopes,
      expiresAt: tokenExpiry(input.maxAgeSeconds, { serverMax: this.config.tokenMaxAge }),
    });
    return { ...tokenOf(record), token };
  }

  async listTokens(owner: TokenOwner): Promise<TokenView[]> {
    const catalog = await this.catalog();
    const acc = await this.owner(owner, "tokens:read");
    return (await catalog.listTokens(acc.name)).map(tokenOf);
  }

  async revokeToken(owner: TokenOwner, name: string): Promise<TokenView> {
    const catalog = await this.catalog();
    const acc = await this.owner(owner, "tokens:write");
    return tokenOf(await catalog.revokeToken(acc.name, name));
  }

  // ---- work done where the store is ---------------------------------------------------------

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

// The API's views (api/route.ts), typed: route.ts types them loosely (Record<string, unknown>),
// and operations.ts names their shapes.
const orgOf = (acc: Account) => orgView(acc) as unknown as OrgView;
const userOf = (acc: Account) => userView(acc, true) as unknown as UserView;
const tokenOf = (t: TokenRecord) => tokenView(t) as unknown as TokenView;

/** One group of the organization, as the API shows it. */
function groupIn(acc: Account, name: string): Group {
  const g = (acc.groups ?? []).find((x) => x.name === name);
  if (!g) throw new GateError("not_found", `no group "${name}" in ${acc.name}`);
  return groupView(g);
}

/** A channel's privacy settings, as the API's GET /channels/{channel} shows them. */
function channelView(acc: Account): ChannelView {
  return { name: acc.name, kind: acc.kind, defaultPrivacy: acc.defaultPrivacy, packages: acc.packages };
}
