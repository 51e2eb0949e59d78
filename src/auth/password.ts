// Account passwords: memory-hard hashing with node:crypto scrypt, stored as
// `scrypt$N$r$p$<salt base64>$<hash base64>` so the cost can be raised later without
// breaking existing hashes (verification reads the parameters from the stored string).

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { badRequest } from "../errors.js";

/** N = 2^15, r = 8, p = 1: 32 MiB and ~50–100 ms per hash, OWASP's floor for scrypt. */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
export const MIN_PASSWORD_LENGTH = 7;
/** scrypt hashes any length, but a megabyte "password" is only a way to burn CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Bounds on parameters read back from a stored hash, so a corrupted or planted record
 * cannot make one login attempt allocate gigabytes. */
const LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16, minKey: 16, maxKey: 128 } as const;

function derive(password: string, salt: Buffer, keylen: number, N: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; node's default maxmem (32 MiB) is exactly that for our
  // cost, and the call fails on the overhead, so allow twice the need.
  const options: ScryptOptions = { N, r, p, maxmem: 2 * 128 * N * r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, COST.N, COST.r, COST.p);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** True when the password matches. A stored value that is not a well-formed scrypt hash
 * never matches (false, not an exception): the caller answers "bad credentials" either way. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const parsed = parseEncoded(encoded);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.hash.length, parsed.N, parsed.r, parsed.p);
  // Same length by construction; the comparison time does not depend on where they differ.
  return timingSafeEqual(key, parsed.hash);
}

/** Throws a 400 with the rule that was broken; the password itself is never in the message. */
export function validatePassword(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) throw badRequest(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw badRequest(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
}

function parseEncoded(encoded: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | null {
  const parts = encoded.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return null;
  const [N, r, p] = parts.slice(1, 4).map((s) => (/^[1-9][0-9]{0,7}$/.test(s) ? Number(s) : NaN)) as [number, number, number];
  if (!(N > 1 && N <= LIMITS.maxN && (N & (N - 1)) === 0)) return null;
  if (!(r >= 1 && r <= LIMITS.maxR && p >= 1 && p <= LIMITS.maxP)) return null;
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!base64.test(parts[4]!) || !base64.test(parts[5]!)) return null;
  const salt = Buffer.from(parts[4]!, "base64");
  const hash = Buffer.from(parts[5]!, "base64");
  if (salt.length < 8 || hash.length < LIMITS.minKey || hash.length > LIMITS.maxKey) return null;
  return { N, r, p, salt, hash };
}
