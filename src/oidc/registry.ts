// Where trusted publishers live, and how an ID token finds them.
//
// A publisher is part of its account's document (Account.publishers): added and removed in
// the catalog's locked read-modify-write, announced to every replica like any account
// change, so a removed publisher mints nothing anywhere at once, and its tokens are refused
// (identify.ts). An ID token names no account, so an index in the store leads from what
// it proves to the accounts that registered it:
//   .pkgate/publishers/<sha256 of issuer, kind, identity>.json   ["acme", ...]
// keyed by the CI project (GitHub repository, GitLab project path, or sub). The index only
// points: an account is trusted for a token only when its own document holds a matching
// publisher. So it is written before the account document on add and after it on removal:
// a crash in between leaves an entry that points at nothing, never a publisher that cannot
// be found.
//
// A GitHub publisher registered without its repository's ids gets them from the first ID
// token it matches (recordIds): written into its claims in the same locked read-modify-write of
// the account, which checks them again, so of two first exchanges at once with different ids
// only one is recorded, and the other is refused.
import { createHash, randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import type { Cache } from "../cache/cache.js";
import type { Catalog } from "../access/catalog.js";
import { CATALOG_PREFIX } from "../access/catalog.js";
import { withDocumentLock } from "../cache/lock.js";
import { GateError } from "../errors.js";
import type { Account, TrustedPublisher } from "../access/model.js";
import { MAX_PUBLISHERS_PER_ACCOUNT, PUBLISHER_KINDS, identityOf, idsToRecord, mismatch, registeredIdentity, type Claims, type PublisherInput, type PublisherKind } from "./publisher.js";

export const publisherKeys = Object.freeze({
  index: (hash: string) => `${CATALOG_PREFIX}publishers/${hash}.json`,
  lock: (hash: string) => `${CATALOG_PREFIX}locks/publishers/${hash}/`,
});

const sameIdentity = (a: TrustedPublisher, b: TrustedPublisher) => a.issuer === b.issuer && a.kind === b.kind && registeredIdentity(a) === registeredIdentity(b);

const indexHash = (issuer: string, kind: PublisherKind, identity: string) => createHash("sha256").update(`${issuer}\n${kind}\n${identity}`).digest("hex");

/** A publisher an ID token came close to: its account, and why it does not match (null: it does). */
export interface Candidate {
  account: Account;
  publisher: TrustedPublisher;
  mismatch: string | null;
}

export class PublisherRegistry {
  private readonly scratchKey = `${CATALOG_PREFIX}locks/probe-${randomUUID()}`;

  constructor(
    private readonly catalog: Catalog,
    private readonly store: Store,
    private readonly cache: Cache,
  ) {}

  /** Register a publisher of `account` (already authorized); 409 when the name is taken. */
  async add(account: string, input: PublisherInput, createdBy: string): Promise<TrustedPublisher> {
    const publisher: TrustedPublisher = { ...input, createdAt: new Date().toISOString(), createdBy };
    const hash = indexHash(publisher.issuer, publisher.kind, registeredIdentity(publisher));
    await this.editIndex(hash, (names) => (names.includes(account) ? names : [...names, account]));
    try {
      await this.catalog.updateAccount(account, (acc) => {
        const list = (acc.publishers ??= []);
        if (list.some((p) => p.name === publisher.name)) throw new GateError("conflict", `a trusted publisher named "${publisher.name}" already exists for ${account}; remove it first or pick another name`);
        if (list.length >= MAX_PUBLISHERS_PER_ACCOUNT) throw new GateError("conflict", `${account} has ${MAX_PUBLISHERS_PER_ACCOUNT} trusted publishers, the most one account can have; remove one first`);
        list.push(publisher);
      });
    } catch (err) {
      // refused: take the entry back unless another publisher of the account needs it
      const acc = await this.catalog.requireAccount(account).catch(() => null);
      if (!(acc?.publishers ?? []).some((p) => sameIdentity(p, publisher))) await this.editIndex(hash, (names) => names.filter((n) => n !== account)).catch(() => undefined);
      throw err;
    }
    return publisher;
  }

  /** Remove a publisher: it mints nothing more, and the tokens it minted are refused. */
  async remove(account: string, name: string): Promise<TrustedPublisher> {
    let removed: TrustedPublisher | undefined;
    const acc = await this.catalog.updateAccount(account, (doc) => {
      removed = (doc.publishers ?? []).find((p) => p.name === name);
      if (!removed) throw new GateError("not_found", `no trusted publisher named "${name}" for ${account}`);
      doc.publishers = doc.publishers!.filter((p) => p !== removed);
    });
    const gone = removed!;
    if (!(acc.publishers ?? []).some((p) => sameIdentity(p, gone))) await this.editIndex(indexHash(gone.issuer, gone.kind, registeredIdentity(gone)), (names) => names.filter((n) => n !== account));
    return gone;
  }

  /** The publishers of `issuer` registered for the CI project the claims name, with whether
   * each matches; only `channel`'s when one is named. */
  async candidates(issuer: string, claims: Claims, channel: string | null): Promise<Candidate[]> {
    const out: Candidate[] = [];
    const seen = new Set<string>();
    for (const kind of PUBLISHER_KINDS) {
      const identity = identityOf(kind, claims);
      if (identity === null) continue;
      for (const name of await this.readIndex(indexHash(issuer, kind, identity))) {
        if ((channel !== null && name !== channel) || seen.has(`${kind}\n${name}`)) continue;
        seen.add(`${kind}\n${name}`);
        const account = await this.catalog.getAccount(name);
        for (const publisher of account?.publishers ?? []) {
          if (publisher.issuer !== issuer || publisher.kind !== kind || registeredIdentity(publisher) !== identity) continue;
          out.push({ account: account!, publisher, mismatch: mismatch(publisher, claims) });
        }
      }
    }
    return out;
  }

  /** Record the repository ids `claims` carry into the publisher that holds none yet (trust
   * on first use), under the account's lock. Answers the publisher as now stored, or why the
   * token does not match it any more (ids recorded meanwhile by another exchange, or the
   * publisher removed or replaced). */
  async recordIds(account: string, publisher: TrustedPublisher, claims: Claims, now = new Date()): Promise<{ publisher: TrustedPublisher } | { mismatch: string }> {
    let out: { publisher: TrustedPublisher } | { mismatch: string } = { mismatch: "the publisher was removed" };
    const refused = new Error("not recorded");
    try {
      await this.catalog.updateAccount(account, (acc) => {
        const p = (acc.publishers ?? []).find((x) => x.name === publisher.name && x.createdAt === publisher.createdAt);
        if (!p) throw refused;
        const why = mismatch(p, claims);
        if (why !== null) {
          out = { mismatch: why };
          throw refused;
        }
        const ids = idsToRecord(p, claims);
        out = { publisher: p };
        if (Object.keys(ids).length === 0) throw refused; // recorded meanwhile, the same: nothing to write
        Object.assign(p.claims, ids);
        p.idsRecordedAt = now.toISOString();
      });
    } catch (err) {
      // the account itself gone: as a removed publisher
      if (err !== refused && !(err instanceof GateError && err.code === "not_found")) throw err;
    }
    return out;
  }

  private async readIndex(hash: string): Promise<string[]> {
    const got = await this.store.get(publisherKeys.index(hash));
    if (!got) return [];
    const v = JSON.parse(got.body.toString("utf8")) as unknown;
    return Array.isArray(v) ? v.filter((n): n is string => typeof n === "string") : [];
  }

  private editIndex(hash: string, change: (names: string[]) => string[]): Promise<void> {
    const lock = { cache: this.cache, store: this.store, name: `publishers:${hash}`, storePrefix: publisherKeys.lock(hash), scratchKey: this.scratchKey };
    return withDocumentLock(lock, async (lease) => {
      const before = await this.readIndex(hash);
      const after = change(before);
      if (after.length === before.length && after.every((n, i) => n === before[i])) return;
      lease.check();
      if (after.length === 0) await this.store.delete(publisherKeys.index(hash));
      else await this.store.put(publisherKeys.index(hash), Buffer.from(JSON.stringify(after) + "\n"), { contentType: "application/json" });
    });
  }
}
