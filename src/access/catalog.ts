// The access catalog: accounts, privacy and tokens, kept as JSON documents in the store
// under the reserved `.pkgate/` prefix (no URL can reach a dot-segment). Reads go through
// tiered caches; writes take a lock in the Cache (Redis across replicas), read-modify-write
// the document, drop the cached copies, and announce the change so every replica forgets
// its in-process copy at once.
import type { Store } from "../store/store.js";
import type { Cache } from "../cache/cache.js";
import { GateError } from "../errors.js";
import type { Account, Group, Permission, Privacy, TokenRecord } from "./model.js";
import { TieredLookup } from "../cache/tiered.js";
import { withLock } from "../cache/lock.js";
import { generateToken, hashToken, tokenId } from "../auth/token.js";
import { isChannelName } from "../http/target.js";

export const CATALOG_PREFIX = ".pkgate/";
export const CATALOG_EVENTS = "pkgate:catalog";
export const DEFAULT_TOKEN_MAX_AGE = 365 * 24 * 3600;
/** Delay of the second invalidation after a write (see announce). */
const REANNOUNCE_MS = 400;

const accountKey = (name: string) => `${CATALOG_PREFIX}accounts/${name}.json`;
const accountTokensKey = (name: string) => `${CATALOG_PREFIX}accounts/${name}.tokens.json`;
const tokenKey = (hash: string) => `${CATALOG_PREFIX}tokens/${hash}.json`;

export interface CatalogOptions {
  /** Seconds a replica trusts its in-process copies (TOKEN_CACHE_TTL). */
  localTtlSeconds: number;
}

export type CatalogEvent = { type: "token"; hash: string } | { type: "account"; name: string };

/** The account's token index keeps each live token's hash (a hash opens nothing; the
 * secret is never stored), so revoking by name finds the record in one read. */
type ListedToken = TokenRecord & { hash: string };

export class Catalog {
  readonly tokens: TieredLookup<TokenRecord>;
  readonly accounts: TieredLookup<Account>;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; ev: CatalogEvent }>();
  private localTtlMs: number;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    opts: CatalogOptions,
  ) {
    this.localTtlMs = opts.localTtlSeconds * 1000;
    const localTtlMs = () => this.localTtlMs;
    this.tokens = new TieredLookup(cache, (hash) => this.readJson<TokenRecord>(tokenKey(hash)), {
      prefix: "tok:",
      localTtlMs,
      sharedTtlSeconds: 600,
      negativeTtlSeconds: 60,
    });
    this.accounts = new TieredLookup(cache, (name) => this.readJson<Account>(accountKey(name)), {
      prefix: "acct:",
      localTtlMs,
      sharedTtlSeconds: 600,
      negativeTtlSeconds: 30,
    });
  }

  /** Listen for changes announced by other replicas (and by the CLI). */
  async listen(): Promise<void> {
    this.unsubscribe = await this.cache.subscribe(CATALOG_EVENTS, (msg) => {
      let ev: CatalogEvent;
      try {
        ev = JSON.parse(msg) as CatalogEvent;
      } catch {
        return;
      }
      if (ev.type === "token") this.tokens.forgetLocal(ev.hash);
      else if (ev.type === "account") this.accounts.forgetLocal(ev.name);
    });
  }

  async close(): Promise<void> {
    // a short-lived process (the CLI) sends its second announcements now rather than never
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      await this.broadcast(p.ev);
    }
    await this.unsubscribe?.();
  }

  getAccount(name: string): Promise<Account | null> {
    return this.accounts.get(name);
  }

  findToken(hash: string): Promise<TokenRecord | null> {
    return this.tokens.get(hash);
  }

  // ---- writes -------------------------------------------------------------------------

  async createAccount(input: { name: string; kind: "user" | "org"; email?: string; passwordHash?: string; admins?: string[]; serverAdmin?: boolean }): Promise<Account> {
    const name = input.name;
    if (!isChannelName(name)) {
      throw new GateError("bad_request", `invalid account name "${name}": use lower-case letters, digits, '-', '_' and '.', at most 64 characters; not a reserved name`);
    }
    return this.withLock(`account:${name}`, async () => {
      if (await this.readJson<Account>(accountKey(name))) throw new GateError("conflict", `the name "${name}" is taken`);
      const account: Account = {
        name,
        kind: input.kind,
        createdAt: new Date().toISOString(),
        defaultPrivacy: "public",
        packages: {},
        revision: 1,
        ...(input.kind === "user"
          ? { email: input.email, passwordHash: input.passwordHash, ...(input.serverAdmin ? { serverAdmin: true } : {}) }
          : { admins: input.admins ?? [], groups: [] }),
      };
      await this.writeJson(accountKey(name), account);
      await this.announce({ type: "account", name });
      return account;
    });
  }

  async requireAccount(name: string, kind?: "user" | "org"): Promise<Account> {
    const acc = await this.readJson<Account>(accountKey(name));
    if (!acc || (kind && acc.kind !== kind)) {
      throw new GateError("not_found", `no such ${kind === "org" ? "organization" : kind === "user" ? "user" : "account"}: ${name}`);
    }
    return acc;
  }

  /** Read-modify-write of one account under its lock. `change` may throw (a GateError) to
   * refuse the change; nothing is written then. */
  async updateAccount(name: string, change: (acc: Account) => void, kind?: "user" | "org"): Promise<Account> {
    return this.withLock(`account:${name}`, async () => {
      const acc = await this.requireAccount(name, kind);
      change(acc);
      acc.revision += 1;
      await this.writeJson(accountKey(name), acc);
      await this.announce({ type: "account", name });
      return acc;
    });
  }

  setChannelPrivacy(channel: string, privacy: Privacy): Promise<Account> {
    return this.updateAccount(channel, (acc) => {
      acc.defaultPrivacy = privacy;
    });
  }

  setPackagePrivacy(channel: string, pkg: string, privacy: Privacy): Promise<Account> {
    return this.updateAccount(channel, (acc) => {
      acc.packages[pkg] = privacy;
    });
  }

  /** Drop a package's own setting: it follows the channel's default again. */
  clearPackagePrivacy(channel: string, pkg: string): Promise<Account> {
    return this.updateAccount(channel, (acc) => {
      delete acc.packages[pkg];
    });
  }

  // ---- users --------------------------------------------------------------------------

  setPasswordHash(user: string, passwordHash: string): Promise<Account> {
    return this.updateAccount(user, (acc) => {
      acc.passwordHash = passwordHash;
    }, "user");
  }

  updateUser(user: string, change: { email?: string; serverAdmin?: boolean }): Promise<Account> {
    return this.updateAccount(user, (acc) => {
      if (change.email !== undefined) acc.email = change.email;
      if (change.serverAdmin === true) acc.serverAdmin = true;
      if (change.serverAdmin === false) delete acc.serverAdmin;
    }, "user");
  }

  // ---- organizations: admins and groups -------------------------------------------------
  // Membership lives in the organization's document, so each change is one locked
  // read-modify-write of that document and one announcement: every replica enforces it as
  // soon as it drops its cached copy.

  async addOrgAdmin(org: string, user: string): Promise<Account> {
    await this.requireAccount(user, "user");
    return this.updateAccount(org, (acc) => {
      const admins = (acc.admins ??= []);
      if (!admins.includes(user)) admins.push(user);
    }, "org");
  }

  /** The last admin cannot leave: an organization without admins could not be managed. */
  removeOrgAdmin(org: string, user: string): Promise<Account> {
    return this.updateAccount(org, (acc) => {
      const admins = acc.admins ?? [];
      if (!admins.includes(user)) throw new GateError("not_found", `${user} is not an admin of ${org}`);
      if (admins.length === 1) throw new GateError("conflict", `${user} is the last admin of ${org}; add another admin first`);
      acc.admins = admins.filter((a) => a !== user);
    }, "org");
  }

  createGroup(org: string, group: { name: string; permission: Permission; packages: string[] | "*" }): Promise<Account> {
    return this.updateAccount(org, (acc) => {
      const groups = (acc.groups ??= []);
      if (groups.some((g) => g.name === group.name)) throw new GateError("conflict", `the group "${group.name}" already exists in ${org}`);
      groups.push({ name: group.name, permission: group.permission, packages: group.packages, members: [] });
    }, "org");
  }

  updateGroup(org: string, name: string, change: { permission?: Permission; packages?: string[] | "*" }): Promise<Account> {
    return this.updateAccount(org, (acc) => {
      const group = findGroup(acc, name);
      if (change.permission !== undefined) group.permission = change.permission;
      if (change.packages !== undefined) group.packages = change.packages;
    }, "org");
  }

  deleteGroup(org: string, name: string): Promise<Account> {
    return this.updateAccount(org, (acc) => {
      findGroup(acc, name);
      acc.groups = (acc.groups ?? []).filter((g) => g.name !== name);
    }, "org");
  }

  async addGroupMember(org: string, name: string, user: string): Promise<Account> {
    await this.requireAccount(user, "user");
    return this.updateAccount(org, (acc) => {
      const group = findGroup(acc, name);
      if (!group.members.includes(user)) group.members.push(user);
    }, "org");
  }

  removeGroupMember(org: string, name: string, user: string): Promise<Account> {
    return this.updateAccount(org, (acc) => {
      const group = findGroup(acc, name);
      if (!group.members.includes(user)) throw new GateError("not_found", `${user} is not a member of ${org}/${name}`);
      group.members = group.members.filter((m) => m !== user);
    }, "org");
  }

  // ---- tokens -------------------------------------------------------------------------

  /** Issue a token; the secret is returned once and stored only as its hash. */
  async createToken(input: { account: string; name: string; scopes: string[]; maxAgeSeconds?: number; createdBy?: string }): Promise<{ token: string; record: TokenRecord }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9 _.:@-]{0,63}$/.test(input.name)) {
      throw new GateError("bad_request", "invalid token name: 1-64 letters, digits, spaces and _ . : @ -, starting with a letter or digit");
    }
    const maxAge = input.maxAgeSeconds ?? DEFAULT_TOKEN_MAX_AGE;
    if (!Number.isInteger(maxAge) || maxAge <= 0 || maxAge > 10 * 365 * 24 * 3600) {
      throw new GateError("bad_request", "invalid max age: a whole number of seconds, at most ten years");
    }
    await this.requireAccount(input.account);
    return this.withLock(`account:${input.account}`, async () => {
      const list = (await this.readJson<ListedToken[]>(accountTokensKey(input.account))) ?? [];
      if (list.some((t) => t.name === input.name)) {
        throw new GateError("conflict", `a token named "${input.name}" already exists for ${input.account}; remove it first or pick another name`);
      }
      const token = generateToken();
      const hash = hashToken(token);
      const now = new Date();
      const record: TokenRecord = {
        id: tokenId(hash),
        name: input.name,
        account: input.account,
        createdBy: input.createdBy ?? input.account,
        scopes: input.scopes,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + maxAge * 1000).toISOString(),
      };
      await this.writeJson(tokenKey(hash), record);
      list.push({ ...record, hash });
      await this.writeJson(accountTokensKey(input.account), list);
      // a negative entry for this hash may exist if someone probed it: drop it everywhere
      await this.tokens.invalidate(hash);
      await this.announce({ type: "token", hash });
      return { token, record };
    });
  }

  /** The account's live tokens, without secrets or hashes. */
  async listTokens(account: string): Promise<TokenRecord[]> {
    await this.requireAccount(account);
    const list = (await this.readJson<ListedToken[]>(accountTokensKey(account))) ?? [];
    return list.map(({ hash: _hash, ...record }) => record);
  }

  /** Revoke by name: the token record stays (so a later use says "revoked"), the name is freed. */
  revokeToken(account: string, name: string): Promise<TokenRecord> {
    return this.revokeWhere(account, (t) => t.name === name, `no token named "${name}" for ${account}`);
  }

  /** Revoke by public id (logout revokes exactly the token it was called with). */
  revokeTokenById(account: string, id: string): Promise<TokenRecord> {
    return this.revokeWhere(account, (t) => t.id === id, `no live token with id ${id} for ${account}`);
  }

  private async revokeWhere(account: string, match: (t: TokenRecord) => boolean, missing: string): Promise<TokenRecord> {
    await this.requireAccount(account);
    return this.withLock(`account:${account}`, async () => {
      const list = (await this.readJson<ListedToken[]>(accountTokensKey(account))) ?? [];
      const found = list.find(match);
      if (!found) throw new GateError("not_found", missing);
      const { hash, ...record } = found;
      const revoked: TokenRecord = { ...record, revokedAt: new Date().toISOString() };
      await this.writeJson(tokenKey(hash), revoked);
      await this.writeJson(accountTokensKey(account), list.filter((t) => t !== found));
      await this.tokens.invalidate(hash);
      await this.announce({ type: "token", hash });
      return revoked;
    });
  }

  // ---- plumbing -----------------------------------------------------------------------

  private async readJson<T>(key: string): Promise<T | null> {
    const got = await this.store.get(key);
    if (!got) return null;
    return JSON.parse(got.body.toString("utf8")) as T;
  }

  private async writeJson(key: string, value: unknown): Promise<void> {
    await this.store.put(key, Buffer.from(JSON.stringify(value, null, 1) + "\n"), { contentType: "application/json" });
  }

  /** Drop the changed document from every tier here and tell the other replicas to drop
   * their in-process copies. Then once more, REANNOUNCE_MS later: a replica that was
   * reading the old document from the store while we wrote can put it back into the shared
   * cache after our first invalidation (a read-through race); the second invalidation bounds
   * how long such a stale copy can live, so a removed permission is enforced everywhere
   * within a second even then. */
  private async announce(ev: CatalogEvent): Promise<void> {
    await this.broadcast(ev);
    const key = ev.type === "account" ? `a:${ev.name}` : `t:${ev.hash}`;
    const previous = this.pending.get(key);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.pending.delete(key);
      void this.broadcast(ev);
    }, REANNOUNCE_MS);
    timer.unref();
    this.pending.set(key, { timer, ev });
  }

  private async broadcast(ev: CatalogEvent): Promise<void> {
    if (ev.type === "account") await this.accounts.invalidate(ev.name);
    else await this.tokens.invalidate(ev.hash);
    try {
      await this.cache.publish(CATALOG_EVENTS, JSON.stringify(ev));
    } catch {
      // without the shared cache, other replicas converge within their local TTL
    }
  }

  /** Serialize read-modify-write cycles on one document across replicas. */
  private withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.cache, name, fn);
  }
}

function findGroup(acc: Account, name: string): Group {
  const group = (acc.groups ?? []).find((g) => g.name === name);
  if (!group) throw new GateError("not_found", `no group "${name}" in ${acc.name}`);
  return group;
}
