// The web pages' keys: one that seals session cookies and one that makes form (CSRF)
// tokens, both derived (HKDF-SHA256) from one master secret. The master is SESSION_SECRET
// when set; otherwise 32 random bytes generated once and kept in the store, under the
// catalog's reserved prefix that no URL can reach, so that every replica, and every restart,
// seals and opens with the same key, and a backup of the bucket keeps sessions valid.
import { hkdfSync, randomBytes, randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import type { Cache } from "../cache/cache.js";
import { withDocumentLock } from "../cache/lock.js";
import { CATALOG_PREFIX } from "../access/catalog.js";

export interface WebKeys {
  /** The A256GCM key of the session cookie (jose's `dir` JWE). */
  session: Uint8Array;
  /** The HMAC key of form tokens. */
  csrf: Buffer;
}

/** Where a generated master secret is kept. */
export const SESSION_KEY_OBJECT = `${CATALOG_PREFIX}web/session-key`;
const LOCK_PREFIX = `${CATALOG_PREFIX}locks/web/session-key/`;

/** Both keys from a master secret; a different purpose gives an unrelated key. */
export function deriveKeys(master: Uint8Array): WebKeys {
  const key = (purpose: string) => new Uint8Array(hkdfSync("sha256", master, "pkgate web", purpose, 32));
  return { session: key("session cookie v1"), csrf: Buffer.from(key("form token v1")) };
}

/** The master secret: SESSION_SECRET, or the store's (created under the catalog writers'
 * lock when missing, so two replicas starting at once agree on one). */
export async function masterSecret(store: Store, cache: Cache, configured: string | null): Promise<Uint8Array> {
  if (configured !== null) return new Uint8Array(Buffer.from(configured, "utf8"));
  const stored = await readMaster(store);
  if (stored) return stored;
  return withDocumentLock({ cache, store, name: "web:session-key", storePrefix: LOCK_PREFIX, scratchKey: `${CATALOG_PREFIX}locks/probe-${randomUUID()}` }, async (lease) => {
    const again = await readMaster(store);
    if (again) return again;
    const fresh = randomBytes(32);
    lease.check();
    await store.put(SESSION_KEY_OBJECT, Buffer.from(fresh.toString("base64") + "\n"), { contentType: "text/plain" });
    return new Uint8Array(fresh);
  });
}

async function readMaster(store: Store): Promise<Uint8Array | null> {
  const got = await store.get(SESSION_KEY_OBJECT);
  if (!got) return null;
  const key = Buffer.from(got.body.toString("utf8").trim(), "base64");
  if (key.length < 32) throw new Error(`${SESSION_KEY_OBJECT} holds no key of 32 bytes: delete it (every session ends) or set SESSION_SECRET`);
  return new Uint8Array(key);
}

/** The keys, loaded once per process; a failure (the store unreachable) is tried again at
 * the next request rather than remembered. */
export function keyring(load: () => Promise<Uint8Array>): () => Promise<WebKeys> {
  let keys: Promise<WebKeys> | null = null;
  return () => {
    if (!keys) {
      const loading = load().then(deriveKeys);
      loading.catch(() => {
        if (keys === loading) keys = null;
      });
      keys = loading;
    }
    return keys;
  };
}
