// The catalog's storage: where documents live (no name can address another account's), the
// old layout still read, orphan store folders refused unless adopted, naming rules and token
// lifetimes, and the generation through which every Catalog notices changes written by any
// process, or a restored bucket. Real parts: an fs store in a temp directory, in-process caches.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Catalog, catalogKeys } from "../../src/access/catalog.js";
import { FsStore } from "../../src/store/fs.js";
import type { ListOptions, ListedObject, ObjectInfo } from "../../src/store/store.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { GateError } from "../../src/errors.js";
import { hashToken, tokenId } from "../../src/auth/token.js";
import type { Account, TokenRecord } from "../../src/access/model.js";
import { tempDir, type TempDir } from "../harness/services.js";

/** The fs store, recording what the catalog asks of it (listings, generation reads). */
class RecordingStore extends FsStore {
  lists: { prefix: string; limit?: number; yielded: number }[] = [];
  stats: string[] = [];
  override async stat(key: string): Promise<ObjectInfo | null> {
    this.stats.push(key);
    return super.stat(key);
  }
  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListedObject> {
    const rec = { prefix, limit: opts?.limit, yielded: 0 };
    this.lists.push(rec);
    for await (const o of super.list(prefix, opts)) {
      rec.yielded++;
      yield o;
    }
  }
}

interface World {
  dir: TempDir;
  store: RecordingStore;
  catalog: Catalog;
  /** Another Catalog on the same store with its own cache: another process, as far as
   * caches go. */
  other(localTtlSeconds?: number): Catalog;
  stop(): Promise<void>;
}

async function world(localTtlSeconds = 5): Promise<World> {
  const dir = await tempDir("pkgate-catalog-");
  const store = new RecordingStore(join(dir.path, "data"));
  const caches: MemoryCache[] = [];
  const catalogs: Catalog[] = [];
  const make = (ttl: number) => {
    const cache = new MemoryCache();
    caches.push(cache);
    const c = new Catalog(store, cache, { localTtlSeconds: ttl });
    catalogs.push(c);
    return c;
  };
  const catalog = make(localTtlSeconds);
  return {
    dir,
    store,
    catalog,
    other: (ttl = localTtlSeconds) => make(ttl),
    async stop() {
      for (const c of catalogs) await c.close();
      for (const c of caches) await c.close();
      await dir.remove();
    },
  };
}

const isGate = (code: string, re?: RegExp) => (err: unknown) => err instanceof GateError && err.code === code && (!re || re.test(err.message));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true; the time it took, or a failure after `limitMs`. */
async function within(limitMs: number, probe: () => Promise<boolean>, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await sleep(50);
  }
}

function user(name: string): Account {
  return { name, kind: "user", createdAt: "2025-01-01T00:00:00.000Z", email: `${name}@example.org`, passwordHash: `hash-of-${name}`, defaultPrivacy: "public", packages: {}, revision: 3 };
}

function legacyToken(account: string, name: string, secret: string): { hash: string; record: TokenRecord } {
  const hash = hashToken(secret);
  return { hash, record: { id: tokenId(hash), name, account, createdBy: account, scopes: ["conda:download"], createdAt: "2025-01-01T00:00:00.000Z", expiresAt: "2099-01-01T00:00:00.000Z" } };
}

describe("layout: no account name addresses another account's documents", () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(() => w.stop());

  test("erin.tokens can be created after erin has tokens; erin's tokens and login still work", async () => {
    await w.catalog.createAccount({ name: "erin", kind: "user", email: "erin@example.org", passwordHash: "erin-hash" });
    const { token, record } = await w.catalog.createToken({ account: "erin", name: "laptop", scopes: ["conda:download"] });
    const org = await w.catalog.createAccount({ name: "erin.tokens", kind: "org", admins: ["mallory"] });
    assert.equal(org.kind, "org");
    // erin's documents are untouched
    assert.deepEqual((await w.catalog.listTokens("erin")).map((t) => t.name), ["laptop"]);
    assert.equal((await w.catalog.findToken(hashToken(token)))?.id, record.id);
    const erin = await w.catalog.requireAccount("erin", "user");
    assert.equal(erin.passwordHash, "erin-hash", "what a login checks is erin's own document");
    assert.equal((await w.catalog.getAccount("erin"))?.kind, "user");
    assert.equal((await w.catalog.getAccount("erin.tokens"))?.kind, "org");
    assert.deepEqual(await w.catalog.listTokens("erin.tokens"), []);
    // and erin.tokens' tokens are its own
    await w.catalog.createToken({ account: "erin.tokens", name: "laptop", scopes: ["conda"] });
    assert.equal((await w.catalog.listTokens("erin")).length, 1);
  });

  test("creating dave.tokens is not refused because dave has tokens (a 409 would tell that he has)", async () => {
    await w.catalog.createAccount({ name: "dave", kind: "user", email: "dave@example.org" });
    await w.catalog.createToken({ account: "dave", name: "ci", scopes: ["conda"] });
    await w.catalog.createAccount({ name: "dave.tokens", kind: "user", email: "x@example.org" });
    await w.catalog.createAccount({ name: "dave.tokens.json", kind: "org" });
  });

  test("each account's documents sit in its own folder", async () => {
    for (const name of ["erin", "erin.tokens"]) {
      assert.ok(await w.store.stat(`.pkgate/by-account/${name}/account.json`), name);
      assert.ok(await w.store.stat(`.pkgate/by-account/${name}/tokens.json`), name);
    }
    assert.equal(catalogKeys.account("erin"), ".pkgate/by-account/erin/account.json");
    assert.equal(catalogKeys.tokens("erin"), ".pkgate/by-account/erin/tokens.json");
    // nothing is written in the old layout
    const old: string[] = [];
    for await (const o of w.store.list(".pkgate/accounts/")) old.push(o.key);
    assert.deepEqual(old, []);
  });
});

describe("a catalog written in the old layout is read, and updated in the new one", () => {
  let w: World;
  const erinTok = legacyToken("erin", "laptop", "pkg-legacy-secret-of-erin");
  before(async () => {
    w = await world();
    // as an earlier pkgate wrote them
    await w.store.put(".pkgate/accounts/erin.json", json(user("erin")));
    await w.store.put(".pkgate/accounts/erin.tokens.json", json([{ ...erinTok.record, hash: erinTok.hash }]));
    await w.store.put(`.pkgate/tokens/${erinTok.hash}.json`, json(erinTok.record));
    await w.store.put(".pkgate/accounts/acme.json", json({ ...user("acme"), kind: "org", admins: ["erin"], groups: [], email: undefined, passwordHash: undefined }));
    // an account document under a name it does not carry is no account of that name
    await w.store.put(".pkgate/accounts/zed.json", json(user("someone-else")));
    // the old collision, already happened: bob had no tokens, so bob.tokens was created there
    await w.store.put(".pkgate/accounts/bob.json", json(user("bob")));
    await w.store.put(".pkgate/accounts/bob.tokens.json", json({ ...user("bob.tokens"), kind: "org", admins: ["bob"], groups: [] }));
  });
  after(() => w.stop());

  test("accounts, token lists and tokens are found", async () => {
    assert.equal((await w.catalog.getAccount("erin"))?.passwordHash, "hash-of-erin");
    assert.equal((await w.catalog.requireAccount("acme", "org")).admins?.[0], "erin");
    assert.deepEqual((await w.catalog.listTokens("erin")).map((t) => t.name), ["laptop"]);
    assert.equal((await w.catalog.findToken(erinTok.hash))?.name, "laptop");
  });

  test("erin.tokens.json is erin's token list, never an account named erin.tokens", async () => {
    assert.equal(await w.catalog.getAccount("erin.tokens"), null);
    await assert.rejects(w.catalog.requireAccount("erin.tokens"), isGate("not_found"));
    await w.catalog.createAccount({ name: "erin.tokens", kind: "org" });
    assert.deepEqual((await w.catalog.listTokens("erin")).map((t) => t.name), ["laptop"], "erin keeps her tokens");
    assert.equal((await w.catalog.getAccount("erin"))?.kind, "user");
  });

  test("an old account document must carry the name asked for", async () => {
    assert.equal(await w.catalog.getAccount("zed"), null);
    assert.equal(await w.catalog.getAccount("someone-else"), null);
  });

  test("where the old collision already happened, both sides read right", async () => {
    assert.equal((await w.catalog.getAccount("bob.tokens"))?.kind, "org");
    assert.deepEqual(await w.catalog.listTokens("bob"), [], "an account document is no token list");
    await w.catalog.createToken({ account: "bob", name: "first", scopes: ["conda"] });
    assert.deepEqual((await w.catalog.listTokens("bob")).map((t) => t.name), ["first"]);
    assert.equal((await w.catalog.getAccount("bob.tokens"))?.kind, "org", "bob's new list did not overwrite bob.tokens");
  });

  test("changes are written in the new layout and read back; the old documents are left as they were", async () => {
    const before = (await w.store.get(".pkgate/accounts/acme.json"))!.body;
    await w.catalog.setPackagePrivacy("acme", "secret-lib", "private");
    await w.catalog.setChannelPrivacy("acme", "private");
    const acme = await w.catalog.requireAccount("acme", "org");
    assert.equal(acme.packages["secret-lib"], "private");
    assert.equal(acme.defaultPrivacy, "private");
    assert.equal(acme.revision, 5, "the revision goes on from the old document's");
    assert.ok(await w.store.stat(catalogKeys.account("acme")));
    assert.deepEqual((await w.store.get(".pkgate/accounts/acme.json"))!.body, before);

    await w.catalog.revokeToken("erin", "laptop");
    assert.ok((await w.catalog.findToken(erinTok.hash))?.revokedAt, "the record says revoked");
    assert.deepEqual(await w.catalog.listTokens("erin"), [], "the new list is read, not the old one");
    // the name is free again
    await w.catalog.createToken({ account: "erin", name: "laptop", scopes: ["conda"] });
    assert.equal((await w.catalog.listTokens("erin")).length, 1);
  });
});

describe("orphan store folders: a name with content in the store and no account", () => {
  let w: World;
  before(async () => {
    w = await world();
    await w.store.put("acme/linux-64/repodata.json", Buffer.from("{}"));
    await w.store.put("acme/noarch/pkg-1.0-0.conda", Buffer.from("x"));
    await w.store.put("zoe/simple/index.html", Buffer.from("<html>"));
  });
  after(() => w.stop());

  test("is refused (409) for users and organizations, saying a server admin can adopt it", async () => {
    w.store.lists = [];
    await assert.rejects(w.catalog.createAccount({ name: "acme", kind: "org" }), isGate("conflict", /content in the store|holds content under acme\//));
    await assert.rejects(w.catalog.createAccount({ name: "acme", kind: "org" }), isGate("conflict", /server admin.*adopt/));
    await assert.rejects(w.catalog.createAccount({ name: "zoe", kind: "user", email: "zoe@example.org" }), isGate("conflict", /--adopt/));
    assert.equal(await w.catalog.getAccount("acme"), null, "nothing was created");
    assert.equal(await w.catalog.getAccount("zoe"), null);
  });

  test("costs one listing of at most one key", async () => {
    w.store.lists = [];
    await assert.rejects(w.catalog.createAccount({ name: "acme", kind: "org" }), isGate("conflict"));
    assert.deepEqual(w.store.lists.filter((l) => !l.prefix.startsWith(".pkgate/")), [{ prefix: "acme/", limit: 1, yielded: 1 }]);
  });

  test("names that only share a prefix with the folder are free", async () => {
    await w.catalog.createAccount({ name: "acm", kind: "org" });
    await w.catalog.createAccount({ name: "acme.x", kind: "org" });
    await w.catalog.createAccount({ name: "acme-2", kind: "org" });
  });

  test("adopt: true creates the account over the content", async () => {
    const acme = await w.catalog.createAccount({ name: "acme", kind: "org", admins: ["root"], adopt: true });
    assert.equal(acme.name, "acme");
    assert.equal((await w.catalog.getAccount("acme"))?.kind, "org");
    await w.catalog.createAccount({ name: "zoe", kind: "user", email: "zoe@example.org", adopt: true });
    // taken is still taken, adopt or not
    await assert.rejects(w.catalog.createAccount({ name: "acme", kind: "org", adopt: true }), isGate("conflict", /taken/));
  });
});

describe("naming rules (access/names.ts)", () => {
  let w: World;
  before(async () => {
    w = await world();
    await w.catalog.createAccount({ name: "acme", kind: "org" });
  });
  after(() => w.stop());

  const badAccounts = ["", "Acme", "bad name", "a..b", "a.", ".a", "-a", "a/b", "../x", "api", "simple", "t", "x".repeat(65)];
  for (const name of badAccounts) {
    test(`account name ${JSON.stringify(name)} is refused (400) and looked up as nobody`, async () => {
      await assert.rejects(w.catalog.createAccount({ name, kind: "org" }), isGate("bad_request", /invalid account name/));
      assert.equal(await w.catalog.getAccount(name), null);
      await assert.rejects(w.catalog.requireAccount(name), isGate("not_found"));
    });
  }

  for (const name of ["", " lead", "semi;colon", "x".repeat(65), "tab\tname"]) {
    test(`token name ${JSON.stringify(name)} is refused (400)`, async () => {
      await assert.rejects(w.catalog.createToken({ account: "acme", name, scopes: ["conda"] }), isGate("bad_request", /invalid token name/));
    });
  }

  test("a lookup of something that is no token hash reads nothing", async () => {
    w.store.stats = [];
    assert.equal(await w.catalog.findToken("../../etc/passwd"), null);
    assert.equal(await w.catalog.findToken("ABC"), null);
  });
});

describe("token lifetimes: createToken takes the expiry the caller computed", () => {
  let w: World;
  before(async () => {
    w = await world();
    await w.catalog.createAccount({ name: "acme", kind: "org" });
  });
  after(() => w.stop());

  test("expiresAt is the record's expiry", async () => {
    const at = new Date(Date.now() + 3600_000);
    const { record } = await w.catalog.createToken({ account: "acme", name: "an-hour", scopes: ["conda"], expiresAt: at });
    assert.equal(record.expiresAt, at.toISOString());
    assert.equal((await w.catalog.listTokens("acme")).find((t) => t.name === "an-hour")?.expiresAt, at.toISOString());
  });

  const bad: [string, Date][] = [
    ["in the past", new Date(Date.now() - 1000)],
    ["now", new Date(Date.now())],
    ["past ten years", new Date(Date.now() + 11 * 365 * 24 * 3600_000)],
    ["not a date", new Date("nonsense")],
  ];
  for (const [what, at] of bad) {
    test(`an expiry ${what} is refused (400)`, async () => {
      await assert.rejects(w.catalog.createToken({ account: "acme", name: `bad-${what.replace(/ /g, "-")}`, scopes: ["conda"], expiresAt: at }), isGate("bad_request", /expiry/));
    });
  }

  test("maxAgeSeconds is still accepted; neither means one year", async () => {
    const { record } = await w.catalog.createToken({ account: "acme", name: "old-style", scopes: ["conda"], maxAgeSeconds: 60 });
    assert.ok(Math.abs(Date.parse(record.expiresAt) - Date.now() - 60_000) < 5000);
    const { record: year } = await w.catalog.createToken({ account: "acme", name: "default", scopes: ["conda"] });
    assert.ok(Math.abs(Date.parse(year.expiresAt) - Date.now() - 365 * 24 * 3600_000) < 60_000);
    await assert.rejects(w.catalog.createToken({ account: "acme", name: "both", scopes: ["conda"], maxAgeSeconds: 60, expiresAt: new Date(Date.now() + 60_000) }), /not both/);
  });
});

describe("the generation: every Catalog notices what any process wrote, and a restore", () => {
  let w: World;
  let reader: Catalog;
  before(async () => {
    // the reader trusts its in-process copies for a minute: only the generation can tell it
    w = await world(60);
    reader = w.other(60);
    await w.catalog.createAccount({ name: "acme", kind: "org" });
    await w.catalog.createAccount({ name: "alice", kind: "user", email: "alice@example.org" });
  });
  after(() => w.stop());

  test("a privacy change by another writer is seen within a second, however long the local TTL", async () => {
    assert.equal((await reader.getAccount("acme"))?.packages.lib, undefined);
    await w.catalog.setPackagePrivacy("acme", "lib", "private");
    const took = await within(2500, async () => (await reader.getAccount("acme"))?.packages.lib === "private", "the change");
    assert.ok(took <= 1500, `took ${took} ms`);
  });

  test("a revocation by another writer is seen within a second", async () => {
    const { token } = await w.catalog.createToken({ account: "alice", name: "laptop", scopes: ["conda"] });
    const hash = hashToken(token);
    assert.equal((await reader.findToken(hash))?.revokedAt, undefined);
    await w.catalog.revokeToken("alice", "laptop");
    const took = await within(2500, async () => !!(await reader.findToken(hash))?.revokedAt, "the revocation");
    assert.ok(took <= 1500, `took ${took} ms`);
  });

  test("the generation is read at most once a second, by one read shared by concurrent lookups", async () => {
    await reader.getAccount("acme");
    await sleep(1100);
    w.store.stats = [];
    await Promise.all(Array.from({ length: 50 }, () => reader.getAccount("acme")));
    for (let i = 0; i < 200; i++) await reader.getAccount(i % 2 ? "acme" : "alice");
    assert.deepEqual(w.store.stats, [catalogKeys.generation]);
  });

  test("a restored (older) catalog is noticed: documents and tokens as they were at the backup", async () => {
    const data = join(w.dir.path, "data");
    const backup = join(w.dir.path, "backup");
    await cp(join(data, ".pkgate"), backup, { recursive: true });
    // after the backup: a package made public, a new token
    await w.catalog.setPackagePrivacy("acme", "lib", "public");
    const { token } = await w.catalog.createToken({ account: "alice", name: "after-backup", scopes: ["conda"] });
    const hash = hashToken(token);
    await within(2500, async () => (await reader.getAccount("acme"))?.packages.lib === "public", "the change");
    assert.ok(await reader.findToken(hash), "the reader has the new token cached");
    // the bucket is restored from the backup
    await rm(join(data, ".pkgate"), { recursive: true });
    await cp(backup, join(data, ".pkgate"), { recursive: true });
    const took = await within(2500, async () => (await reader.getAccount("acme"))?.packages.lib === "private", "the restored document");
    assert.ok(took <= 1500, `took ${took} ms`);
    assert.equal(await reader.findToken(hash), null, "a token the backup does not hold is gone");
  });

  test("concurrent changes of many accounts all move the generation, and all are seen", async () => {
    const orgs = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    await Promise.all(orgs.map((name) => w.catalog.createAccount({ name, kind: "org" })));
    await Promise.all(orgs.map((name) => reader.getAccount(name)));
    const before = await w.store.stat(catalogKeys.generation);
    await Promise.all(orgs.map((name) => w.catalog.setChannelPrivacy(name, "private")));
    assert.notEqual((await w.store.stat(catalogKeys.generation))?.etag, before?.etag);
    await within(2500, async () => (await Promise.all(orgs.map((name) => reader.getAccount(name)))).every((a) => a?.defaultPrivacy === "private"), "every change");
  });

  test("without a generation in the store (a catalog from before), lookups work", async () => {
    await rm(join(w.dir.path, "data", ".pkgate", "generation"));
    const fresh = w.other(60);
    assert.equal((await fresh.getAccount("acme"))?.name, "acme");
  });
});
