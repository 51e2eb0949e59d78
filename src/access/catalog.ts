// The access catalog: accounts, privacy and tokens, kept as JSON documents in the store
// under the reserved `.pkgate/` prefix (no URL can reach a dot-segment).
//
// Layout. Each account's documents sit in a folder of their own, so no name can address
// another account's documents (names never contain '/'):
//   .pkgate/by-account/<name>/account.json   the account (user or organization)
//   .pkgate/by-account/<name>/tokens.json    its live tokens (hashes, never the secrets)
//   .pkgate/tokens/<sha256 of the secret>.json   one token's record
//   .pkgate/generation                       rewritten by every change that can take access
//                                            away or change an account
//   .pkgate/locks/accounts/<name>/           the store lock of one account's documents
// Catalogs written before (`.pkgate/accounts/<name>.json` and `<name>.tokens.json`, where
// an account named `erin.tokens` was erin's token list) are read where the new document is
// missing, and only ever written in the new layout.
//
// Writes: a read-modify-write under the account's lock, which holds across processes
// whatever cache each has (cache/lock.ts: withDocumentLock), then a new generation, then an
// announcement so that every replica sharing the cache forgets its copies at once.
// Reads: tiered caches (in-process, Redis, store). Before a lookup the store's generation is
// looked at when it was last looked at longer than min(1 s, TOKEN_CACHE_TTL) ago (one small
// read, shared by concurrent lookups): when it moved (a write by any process, with or
// without Redis; a restored bucket), this replica forgets its entries and stops trusting
// shared entries of the old generation. The store is the truth; the caches only follow it.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { DocumentUnreadable, type ObjectInfo, type Store } from "../store/store.js";
import type { Cache } from "../cache/cache.js";
import { GateError } from "../errors.js";
import type { Account, Group, Permission, Privacy, TokenRecord } from "./model.js";
import { TieredLookup, type LoadGuard } from "../cache/tiered.js";
import { withDocumentLock, type Lease } from "../cache/lock.js";
import { generateToken, hashToken, tokenId } from "../auth/token.js";
import { ACCOUNT_NAME, DEFAULT_TOKEN_LIFETIME, LIFETIME_CEILING, TOKEN_NAME, isAccountName, requireName } from "./names.js";
import { normalizeProjectName } from "../pypi/names.js";

export const CATALOG_PREFIX = ".pkgate/";
export const CATALOG_EVENTS = "pkgate:catalog";
/** @deprecated the lifetime rules live in access/names.ts (DEFAULT_TOKEN_LIFETIME). */
export const DEFAULT_TOKEN_MAX_AGE = DEFAULT_TOKEN_LIFETIME;
/** Delay of the second invalidation after a write (see announce). */
const REANNOUNCE_MS = 400;
/** The longest a replica goes without looking at the store's generation. */
const GENERATION_CHECK_MS = 1000;

/** Where each catalog document lives (exported for tests and tools that read a bucket). */
export const catalogKeys = Object.freeze({
  account: (name: string) => `${CATALOG_PREFIX}by-account/${name}/account.json`,
  tokens: (name: string) => `${CATALOG_PREFIX}by-account/${name}/tokens.json`,
  token: (hash: string) => `${CATALOG_PREFIX}tokens/${hash}.json`,
  generation: `${CATALOG_PREFIX}generation`,
  lock: (name: string) => `${CATALOG_PREFIX}locks/accounts/${name}/`,
  /** The layout before: read, never written. */
  legacyAccount: (name: string) => `${CATALOG_PREFIX}accounts/${name}.json`,
  legacyTokens: (name: string) => `${CATALOG_PREFIX}accounts/${name}.tokens.json`,
});

const TOKEN_HASH = /^[0-9a-f]{64}$/;

export interface CatalogOptions {
  /** Seconds a replica trusts its in-process copies (TOKEN_CACHE_TTL). */
  localTtlSeconds: number;
}

/** `generation`: the catalog generation the writer left in the store, so that a replica
 * hearing the announcement moves to it at once instead of at its next look. */
export type CatalogEvent = ({ type: "token"; hash: string } | { type: "account"; name: string }) & { generation?: string };

export interface NewAccount {
  name: string;
  kind: "user" | "org";
  email?: string;
  passwordHash?: string;
  admins?: string[];
  serverAdmin?: boolean;
  /** Create the account even though the store already holds content under `<name>/`
   * (a channel copied in before its account existed). For server admins only: whoever
   * owns the account reads that content. */
  adopt?: boolean;
}

export interface NewToken {
  account: string;
  name: string;
  scopes: string[];
  /** When the token expires: computed by the caller with tokenExpiry() (access/names.ts),
   * which applies TOKEN_MAX_AGE and the creating token's own expiry. */
  expiresAt?: Date;
  /** @deprecated pass expiresAt. Seconds from now, at most ten years. */
  maxAgeSeconds?: number;
  createdBy?: string;
  /** The only packages (normalized) the token acts on. */
  packages?: string[];
  /** The trusted publisher minting it (oidc/). */
  publisher?: string;
}

/** What store reads of unknown token hashes cost a caller (its client address): charged
 * right before such a read, which is refused (a GateError) when the budget is spent. */
export interface TokenLookupBudget {
  charge(): Promise<{ refund(): void }>;
}

/** How long a revoked or expired token stays known apart from the cache generation after its
 * record was read (a live one stays known until it expires: however long it went unused, it
 * is never refused for its address's bad tokens while the shared cache keeps the mark). */
const KNOWN_TOKEN_TTL = 7 * 24 * 3600;
const knownTokenKey = (hash: string) => `tokknown:${hash}`;

function isLive(record: TokenRecord | null, now = Date.now()): record is TokenRecord {
  return record !== null && !record.revokedAt && Date.parse(record.expiresAt) > now;
}

/** The account's token index keeps each live token's hash (a hash opens nothing; the
 * secret is never stored), so revoking by name finds the record in one read. */
type ListedToken = TokenRecord & { hash: string };

export class Catalog {
  readonly tokens: TieredLookup<TokenRecord>;
  readonly accounts: TieredLookup<Account>;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; ev: CatalogEvent }>();
  private localTtlMs: number;
  /** The generation this replica's caches hold; null until first looked at. */
  private generationSeen: string | null = null;
  /** Bumped whenever generationSeen changes: a look that started before is outdated. */
  private generationEpoch = 0;
  private generationCheckedAt = -Infinity;
  private generationCheck: Promise<void> | null = null;
  /** The generation write in flight, and the one queued after it (see newGeneration). */
  private generationWrite: Promise<ObjectInfo> | null = null;
  private generationNext: Promise<ObjectInfo> | null = null;
  /** For the store's one-time question whether it can keep locks (S3: conditional PUT). */
  private readonly scratchKey = `${CATALOG_PREFIX}locks/probe-${randomUUID()}`;

  constructor(
    private readonly store: Store,
    private readonly cache: Cache,
    opts: CatalogOptions,
  ) {
    this.localTtlMs = opts.localTtlSeconds * 1000;
    const localTtlMs = () => this.localTtlMs;
    this.tokens = new TieredLookup(cache, (hash) => this.readJson<TokenRecord>(catalogKeys.token(hash)), {
      prefix: "tok:",
      localTtlMs,
      sharedTtlSeconds: 600,
      negativeTtlSeconds: 60,
    });
    this.accounts = new TieredLookup(cache, (name) => this.readAccount(name), {
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
      // Messages of two writers can cross, so this may be the older of two generations:
      // the next look at the store (within a second) puts that right.
      if (typeof ev.generation === "string") this.adoptGeneration(ev.generation);
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
    if (!isAccountName(name)) return Promise.resolve(null);
    const looking = this.lookAtGeneration();
    return looking ? looking.then(() => this.accounts.get(name)) : this.accounts.get(name);
  }

  /** The token record of a hash. With a budget, a store read of a hash that no cache tier
   * holds and that is not known to the catalog is charged to it first (and refused when it
   * is spent); a hit in any tier, and the read of a known token, cost the budget nothing. */
  findToken(hash: string, budget?: TokenLookupBudget): Promise<TokenRecord | null> {
    if (!TOKEN_HASH.test(hash)) return Promise.resolve(null);
    const guard = budget ? this.tokenLoadGuard(budget) : undefined;
    const looking = this.lookAtGeneration();
    return looking ? looking.then(() => this.tokens.get(hash, guard)) : this.tokens.get(hash, guard);
  }

  /** A store read of a token hash: free for a known token (one the store holds a record of,
   * live or not, whose cache entry expired or whose generation moved on); charged to the
   * caller's budget otherwise, and given back when it finds a live token. */
  private tokenLoadGuard(budget: TokenLookupBudget): LoadGuard<TokenRecord> {
    return {
      beforeLoad: async (hash) => {
        const charge = (await this.isKnownToken(hash)) ? null : await budget.charge();
        return (record) => {
          if (isLive(record)) charge?.refund();
          if (record) void this.markKnownToken(hash, record);
          else void this.cache.del(knownTokenKey(hash)).catch(() => undefined);
        };
      },
    };
  }

  private async isKnownToken(hash: string): Promise<boolean> {
    try {
      return (await this.cache.get(knownTokenKey(hash))) !== null;
    } catch {
      return false;
    }
  }

  /** Remember, apart from the cache generation, that the store holds a record of this hash:
   * reading it again (after a catalog change moved the generation, or once its entry
   * expired) is no lookup of an unknown token. Only a real record makes a hash known, so
   * no caller can make one up; the read itself still decides what the token may do. */
  private async markKnownToken(hash: string, record: TokenRecord): Promise<void> {
    // a live token stays known while it lives; a revoked or expired one a week
    const ttl = isLive(record) ? Math.floor((Date.parse(record.expiresAt) - Date.now()) / 1000) : KNOWN_TOKEN_TTL;
    if (ttl < 1) return;
    await this.cache.set(knownTokenKey(hash), "1", ttl).catch(() => undefined);
  }

  // ---- writes -------------------------------------------------------------------------

  /** A new user or organization. 409 when the name is taken, or when the store already
   * holds content under `<name>/` and `adopt` is not set (with open sign-up, anyone could
   * otherwise sign up as a folder copied into the store and read its packages). */
  async createAccount(input: NewAccount): Promise<Account> {
    const name = requireName(ACCOUNT_NAME, input.name);
    const account = await this.locked(name, async (lease) => {
      if (await this.readAccount(name)) throw new GateError("conflict", `the name "${name}" is taken`);
      if (!input.adopt && (await this.hasContent(name))) {
        throw new GateError(
          "conflict",
          `the name "${name}" has no account, but the store already holds content under ${name}/; only a server admin can create this account, adopting that content on purpose (pkgate ${input.kind} --create ${name} --adopt)`,
        );
      }
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
      await this.writeJson(catalogKeys.account(name), account, lease);
      return account;
    });
    await this.changed({ type: "account", name });
    return account;
  }

  async requireAccount(name: string, kind?: "user" | "org"): Promise<Account> {
    const acc = await this.readAccount(name);
    if (!acc || (kind && acc.kind !== kind)) {
      throw new GateError("not_found", `no such ${kind === "org" ? "organization" : kind === "user" ? "user" : "account"}: ${name}`);
    }
    return acc;
  }

  /** Read-modify-write of one account under its lock. `change` may throw (a GateError) to
   * refuse the change; nothing is written then. */
  async updateAccount(name: string, change: (acc: Account) => void, kind?: "user" | "org"): Promise<Account> {
    const acc = await this.locked(name, async (lease) => {
      const acc = await this.requireAccount(name, kind);
      change(acc);
      acc.revision += 1;
      await this.writeJson(catalogKeys.account(name), acc, lease);
      return acc;
    });
    await this.changed({ type: "account", name });
    return acc;
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

  /** Issue a token; the secret is returned once and stored only as its hash. A new token
   * gives access no one had, so it does not move the generation: the one cache entry it
   * could contradict (a negative lookup of its hash) is dropped by the announcement. */
  async createToken(input: NewToken): Promise<{ token: string; record: TokenRecord }> {
    requireName(TOKEN_NAME, input.name);
    const now = new Date();
    const expiresAt = expiryOf(input, now);
    await this.requireAccount(input.account);
    const result = await this.locked(input.account, async (lease) => {
      // expired tokens leave the index when the next one is made (their records stay, so a
      // use still says "expired"): minted CI tokens, a few a day, never pile up in it
      const list = (await this.readTokenList(input.account)).filter((t) => Date.parse(t.expiresAt) > now.getTime());
      if (list.some((t) => t.name === input.name)) {
        throw new GateError("conflict", `a token named "${input.name}" already exists for ${input.account}; remove it first or pick another name`);
      }
      const token = generateToken();
      const hash = hashToken(token);
      const record: TokenRecord = {
        id: tokenId(hash),
        name: input.name,
        account: input.account,
        createdBy: input.createdBy ?? input.account,
        scopes: input.scopes,
        createdAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        ...(input.packages ? { packages: input.packages } : {}),
        ...(input.publisher ? { publisher: input.publisher } : {}),
      };
      await this.writeJson(catalogKeys.token(hash), record, lease);
      list.push({ ...record, hash });
      await this.writeJson(catalogKeys.tokens(input.account), list, lease);
      return { token, record, hash };
    });
    // Known at once: its record in this process and the shared tier (under the generation
    // the other replicas use), and marked live, so that its first use is no lookup of an
    // unknown token, however many bad tokens its address sent before. The announcement drops
    // what other replicas may hold in process for this hash (a negative entry, had someone
    // probed it); it must not drop the shared entry just primed. Without a shared cache there
    // is no other replica to tell.
    await this.lookAtGeneration();
    await this.tokens.prime(result.hash, result.record);
    await this.markKnownToken(result.hash, result.record);
    if (this.cache.kind !== "memory") {
      await this.cache.publish(CATALOG_EVENTS, JSON.stringify({ type: "token", hash: result.hash } satisfies CatalogEvent)).catch(() => undefined);
    }
    return { token: result.token, record: result.record };
  }

  /** The account's live tokens, without secrets or hashes. */
  async listTokens(account: string): Promise<TokenRecord[]> {
    await this.requireAccount(account);
    const list = await this.readTokenList(account);
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
    const { hash, revoked } = await this.locked(account, async (lease) => {
      const list = await this.readTokenList(account);
      const found = list.find(match);
      if (!found) throw new GateError("not_found", missing);
      const { hash, ...record } = found;
      const revoked: TokenRecord = { ...record, revokedAt: new Date().toISOString() };
      await this.writeJson(catalogKeys.token(hash), revoked, lease);
      await this.writeJson(catalogKeys.tokens(account), list.filter((t) => t !== found), lease);
      return { hash, revoked };
    });
    // known for a week from now, no longer for the rest of its life
    await this.markKnownToken(hash, revoked);
    await this.changed({ type: "token", hash });
    return revoked;
  }

  // ---- documents ----------------------------------------------------------------------

  /** The account document: the new layout's, else the old layout's when it really is an
   * account of that name (in the old layout `erin.tokens.json` was erin's token list). */
  private async readAccount(name: string): Promise<Account | null> {
    if (!isAccountName(name)) return null;
    // An account that exists and one that does not cost the same reads (the gate answers a
    // hidden channel exactly as a missing one, store work included): a catalog with an old
    // layout reads both keys of every name, one without reads only the new key.
    if (!(await this.hasLegacyLayout())) return this.readJson<Account>(catalogKeys.account(name));
    const [doc, legacy] = await Promise.all([this.readJson<Account>(catalogKeys.account(name)), this.readJson<unknown>(catalogKeys.legacyAccount(name))]);
    if (doc) return doc;
    return isAccountDocument(legacy, name) ? legacy : null;
  }

  private legacyLayout: Promise<boolean> | null = null;

  /** Whether the store holds any document of the old layout (looked at once). */
  private hasLegacyLayout(): Promise<boolean> {
    this.legacyLayout ??= (async () => {
      for await (const _ of this.store.list(`${CATALOG_PREFIX}accounts/`, { limit: 1 })) return true;
      return false;
    })();
    this.legacyLayout.catch(() => (this.legacyLayout = null));
    return this.legacyLayout;
  }

  private async readTokenList(account: string): Promise<ListedToken[]> {
    const list = (await this.readJson<unknown>(catalogKeys.tokens(account))) ?? (await this.readJson<unknown>(catalogKeys.legacyTokens(account)));
    // an old-layout account document under the legacy key (an account named `<account>.tokens`) is no list
    return Array.isArray(list) ? (list as ListedToken[]) : [];
  }

  private hasContent(name: string): Promise<boolean> {
    return storeHasContent(this.store, name);
  }

  private async readJson<T>(key: string): Promise<T | null> {
    const got = await this.store.get(key);
    if (!got) return null;
    try {
      return JSON.parse(got.body.toString("utf8")) as T;
    } catch (err) {
      throw new DocumentUnreadable(key, err);
    }
  }

  /** Every write under a lock checks the lease first: a holder whose time is up writes
   * nothing (another writer may hold the lock by then). */
  private async writeJson(key: string, value: unknown, lease: Lease): Promise<void> {
    lease.check();
    await this.store.put(key, Buffer.from(JSON.stringify(value, null, 1) + "\n"), { contentType: "application/json" });
  }

  /** Serialize read-modify-write cycles on one account's documents across every process
   * sharing the store (see cache/lock.ts: withDocumentLock). */
  private locked<T>(account: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    return withDocumentLock(
      { cache: this.cache, store: this.store, name: `account:${account}`, storePrefix: catalogKeys.lock(account), scratchKey: this.scratchKey },
      fn,
    );
  }

  // ---- generation and announcements ------------------------------------------------------

  /** After a write that can take access away or change an account: a new generation in the
   * store (every replica, whatever its cache, drops what it holds within a second), then the
   * announcement carrying it (replicas sharing the cache drop it at once). */
  private async changed(ev: CatalogEvent): Promise<void> {
    let info: ObjectInfo;
    try {
      info = await this.newGeneration();
    } catch {
      throw new GateError(
        "unavailable",
        "the change is saved, but the store refused the catalog generation that tells other gateways about it, so they may act on the old state for a while; repeat the change",
        { "retry-after": "5" },
      );
    }
    const generation = generationOf(info);
    this.adoptGeneration(generation);
    await this.announce({ ...ev, generation });
  }

  /** Write a new generation that starts after the caller's documents were written.
   * Concurrent callers share writes: while one is in flight (it may have started before the
   * caller's write), everyone arriving waits for the one after it. */
  private newGeneration(): Promise<ObjectInfo> {
    if (!this.generationWrite) {
      this.generationWrite = this.writeGeneration().finally(() => {
        this.generationWrite = null;
      });
      return this.generationWrite;
    }
    this.generationNext ??= this.generationWrite
      .catch(() => undefined)
      .then(() => {
        this.generationNext = null;
        return this.newGeneration();
      });
    return this.generationNext;
  }

  private async writeGeneration(): Promise<ObjectInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.put(catalogKeys.generation, Buffer.from(randomBytes(16).toString("hex") + "\n"), { contentType: "text/plain" });
      } catch (err) {
        // writers in other processes put it too; a store can refuse a write racing another
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
      }
    }
  }

  /** Look at the store's generation when the last look is older than min(1 s,
   * TOKEN_CACHE_TTL); concurrent lookups share one look. Null when no look is due. */
  private lookAtGeneration(): Promise<void> | null {
    // nothing is cached anywhere: nothing could be stale
    if (this.cache.kind === "memory" && this.localTtlMs <= 0) return null;
    if (Date.now() - this.generationCheckedAt < Math.min(GENERATION_CHECK_MS, this.localTtlMs)) return null;
    this.generationCheck ??= this.readGeneration().finally(() => {
      this.generationCheck = null;
    });
    return this.generationCheck;
  }

  private async readGeneration(): Promise<void> {
    const started = Date.now();
    const epoch = this.generationEpoch;
    const info = await this.store.stat(catalogKeys.generation);
    // an announcement moved us on while we looked: what we read may be older than that
    if (epoch === this.generationEpoch) this.adoptGeneration(info ? generationOf(info) : "none");
    this.generationCheckedAt = started;
  }

  private adoptGeneration(generation: string): void {
    if (generation === this.generationSeen) return;
    this.generationSeen = generation;
    this.generationEpoch++;
    this.tokens.setGeneration(generation);
    this.accounts.setGeneration(generation);
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
    // without the generation: by then a later write may have moved it on, and generations
    // have no order a replica could tell an old one by (its next look at the store would
    // put it right, but only within a second)
    const { generation: _generation, ...again } = ev;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      void this.broadcast(again);
    }, REANNOUNCE_MS);
    timer.unref();
    this.pending.set(key, { timer, ev: again });
  }

  private async broadcast(ev: CatalogEvent): Promise<void> {
    if (ev.type === "account") await this.accounts.invalidate(ev.name);
    else await this.tokens.invalidate(ev.hash);
    try {
      await this.cache.publish(CATALOG_EVENTS, JSON.stringify(ev));
    } catch {
      // without the shared cache, other replicas follow the generation in the store
    }
  }
}

/** The generation as every replica computes it from the generation object's validators: the
 * object's content is random, and a restore rewrites it (new mtime, new ETag or date). */
function generationOf(info: ObjectInfo): string {
  return createHash("sha256").update(`${info.etag}|${info.lastModified.getTime()}|${info.size}`).digest("hex").slice(0, 16);
}

function isAccountDocument(doc: unknown, name: string): doc is Account {
  return typeof doc === "object" && doc !== null && !Array.isArray(doc) && (doc as { name?: unknown }).name === name;
}

/** When a new token expires: expiresAt as given (in the future, within the ceiling), or
 * the deprecated maxAgeSeconds from now, or one year. */
function expiryOf(input: NewToken, now: Date): Date {
  if (input.expiresAt !== undefined && input.maxAgeSeconds !== undefined) {
    throw new Error("createToken takes expiresAt or maxAgeSeconds, not both");
  }
  if (input.expiresAt !== undefined) {
    const at = input.expiresAt instanceof Date ? input.expiresAt.getTime() : NaN;
    if (!Number.isFinite(at) || at <= now.getTime() || at > now.getTime() + LIFETIME_CEILING * 1000) {
      throw new GateError("bad_request", "invalid expiry: a time in the future, at most ten years from now");
    }
    return new Date(at);
  }
  const maxAge = input.maxAgeSeconds ?? DEFAULT_TOKEN_LIFETIME;
  if (!Number.isInteger(maxAge) || maxAge <= 0 || maxAge > LIFETIME_CEILING) {
    throw new GateError("bad_request", "invalid max age: a whole number of seconds, at most ten years");
  }
  return new Date(now.getTime() + maxAge * 1000);
}

function findGroup(acc: Account, name: string): Group {
  const group = (acc.groups ?? []).find((g) => g.name === name);
  if (!group) throw new GateError("not_found", `no group "${name}" in ${acc.name}`);
  return group;
}

// ---- for tools that look over a whole store (pkgate doctor, the gate's unowned-folder hint) ----

/** Anything in the store under `<name>/`: one listing of at most one key. */
export async function storeHasContent(store: Store, name: string): Promise<boolean> {
  for await (const _ of store.list(`${name}/`, { limit: 1 })) return true;
  return false;
}

/** The names that have an account document in the store, either layout, at most `limit`.
 * Read each with getAccount: an old-layout `<name>.tokens.json` (a token list) comes out as
 * the name `<name>.tokens`, which reads as no account unless one of that name exists. */
export async function catalogAccountNames(store: Store, limit = Infinity): Promise<string[]> {
  const names = new Set<string>();
  const layouts: [prefix: string, name: RegExp][] = [
    [`${CATALOG_PREFIX}by-account/`, /^([^/]+)\/account\.json$/],
    [`${CATALOG_PREFIX}accounts/`, /^([^/]+)\.json$/],
  ];
  for (const [prefix, name] of layouts) {
    for await (const o of store.list(prefix)) {
      const m = name.exec(o.key.slice(prefix.length));
      if (m && isAccountName(m[1]!)) names.add(m[1]!);
      if (names.size >= limit) return [...names];
    }
  }
  return [...names];
}

// ---- favorites (the web pages' star) ----------------------------------------------------

/** How many packages one user can star: the list lives in their account document. */
export const MAX_FAVORITES = 1000;

/** Star (or unstar) a package for a user: `<channel>/<package>` added to (removed from) the
 * favorites of the user's account document, in the catalog's locked read-modify-write. One
 * entry a channel and package name, whatever its spelling (`foo_bar` is `foo-bar`). */
export function setFavorite(catalog: Catalog, user: string, channel: string, pkg: string, starred: boolean): Promise<Account> {
  const same = (entry: string) => {
    const slash = entry.indexOf("/");
    return entry.slice(0, slash) === channel && normalizeProjectName(entry.slice(slash + 1)) === normalizeProjectName(pkg);
  };
  return catalog.updateAccount(user, (acc) => {
    const favorites = (acc.favorites ?? []).filter((f) => !same(f));
    if (starred) {
      if (favorites.length >= MAX_FAVORITES) throw new GateError("conflict", `${user} has starred ${MAX_FAVORITES} packages, the most one user can; unstar some first`);
      favorites.push(`${channel}/${pkg}`);
    }
    acc.favorites = favorites;
  }, "user");
}
