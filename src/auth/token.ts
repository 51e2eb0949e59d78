// Access tokens: their format, their stored form, and how they arrive in an Authorization
// header. Tokens live in conda's token alphabet `[A-Za-z0-9-]` because conda and mamba only
// recognise (and mask in their output) `/t/<token>/` for that alphabet; a token with `_`,
// `.` or base64 punctuation is cut short in the URL and printed in clear.

import { createHash, randomBytes } from "node:crypto";

export const TOKEN_PREFIX = "pkg-";
/** 40 base62 characters: 34 random (34 × log2(62) ≈ 202 bits) and a 6-character check. */
export const TOKEN_BODY_LENGTH = 40;
const TOKEN_RANDOM_LENGTH = 34;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + TOKEN_BODY_LENGTH;
/** Longer than any credential a client sends us; bounds the work spent on a hostile header. */
export const MAX_AUTHORIZATION_LENGTH = 4096;

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** The largest multiple of 62 that fits a byte: bytes at or above it are rejected so every
 * character is equally likely (a plain `byte % 62` would favour the first 8 characters). */
const UNBIASED_LIMIT = 256 - (256 % 62); // 248
const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9]{${TOKEN_BODY_LENGTH}}$`);
const TOKEN_ALPHABET = /^[A-Za-z0-9-]+$/;

/** A new random token: `pkg-`, 34 base62 characters from the system CSPRNG, and a
 * 6-character check of them. The prefix lets secret scanners and humans recognise a leaked
 * pkgate token; the check lets the gateway refuse invented or mistyped tokens (a flood of
 * random ones, a truncated copy-paste) without a cache or store lookup, as GitHub's token
 * checksums do. The check is public, so it is no secret: guessing stays 202 bits hard. */
export function generateToken(): string {
  let body = "";
  while (body.length < TOKEN_RANDOM_LENGTH) {
    // 64 bytes nearly always suffice (each byte is kept with probability 248/256).
    for (const byte of randomBytes(64)) {
      if (byte >= UNBIASED_LIMIT) continue;
      body += BASE62.charAt(byte % 62);
      if (body.length === TOKEN_RANDOM_LENGTH) break;
    }
  }
  return TOKEN_PREFIX + body + tokenCheck(body);
}

/** Six base62 characters of sha256(random part): 36 bits, so a random string passes with
 * probability 2^-36. */
function tokenCheck(random: string): string {
  const d = createHash("sha256").update(random, "ascii").digest();
  let out = "";
  for (let i = 0; i < 6; i++) out += BASE62.charAt(d[i]! % 62);
  return out;
}

/** The token's stored form: sha256 hex. No salt and no slow hash, on purpose: salts and
 * key stretching protect low-entropy secrets (passwords) against dictionary attacks, but a
 * token carries 238 random bits, so no dictionary exists and brute-forcing the hash is as
 * hopeless as guessing the token. An unsalted hash also lets the gateway find a token by
 * its hash in one lookup on every request, which a salted or slow hash would not. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The public identifier of a token (first 12 hex characters of its hash): safe to log and
 * list, useless for authenticating (48 bits of a one-way hash). */
export function tokenId(hash: string): string {
  return hash.slice(0, 12);
}

/** Exactly the shape generateToken produces, check included. Anything else is refused as
 * malformed before any lookup, so hostile or invented strings never reach the cache or the
 * store. */
export function looksLikeToken(s: string): boolean {
  if (s.length !== TOKEN_LENGTH || !TOKEN_SHAPE.test(s)) return false;
  const random = s.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + TOKEN_RANDOM_LENGTH);
  return s.endsWith(tokenCheck(random));
}

/** Whether a string survives conda's `/t/<token>/` parsing intact. */
export function isTokenAlphabet(s: string): boolean {
  return TOKEN_ALPHABET.test(s);
}

/** What an Authorization header carries. `token` is the credential to identify (Bearer, or
 * the Basic password: pip, uv and twine send `__token__:<token>`); `basicUser` and
 * `basicPassword` are kept for the login endpoint. `error` explains a malformed header and
 * never contains the credential. No header at all gives `{}` (anonymous). */
export interface Credentials {
  token?: string;
  basicUser?: string;
  basicPassword?: string;
  error?: string;
}

const USAGE = "use 'Authorization: Bearer <token>' or Basic credentials with the token as password";
const PRINTABLE = /^[\x21-\x7e]+$/;
// Control characters (C0, DEL, C1) have no business in a user name or password.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined) return {};
  if (header.length > MAX_AUTHORIZATION_LENGTH) return { error: "the Authorization header is too long" };
  const value = header.trim();
  if (value === "") return {};
  // Never echo any part of the header: a client that sends a bare token has no scheme, and
  // its "scheme" would be the secret itself.
  const match = /^([A-Za-z]+) +(\S+)$/.exec(value);
  if (!match) return { error: `the Authorization header is malformed; ${USAGE}` };
  const scheme = match[1]!.toLowerCase();
  const credential = match[2]!;

  // `token` is what anaconda-client sends (`Authorization: token <tok>`).
  if (scheme === "bearer" || scheme === "token") {
    if (!PRINTABLE.test(credential)) return { error: "the bearer token contains characters no token has" };
    return { token: credential };
  }
  if (scheme === "basic") return parseBasic(credential);
  return { error: `unsupported authorization scheme; ${USAGE}` };
}

function parseBasic(encoded: string): Credentials {
  if (!BASE64.test(encoded)) return { error: "the Basic credentials are not valid base64" };
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(encoded, "base64"));
  } catch {
    return { error: "the Basic credentials are not valid UTF-8" };
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return { error: "the Basic credentials must be user:password" };
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (CONTROL.test(decoded)) return { error: "the Basic credentials contain control characters" };
  if (password === "") {
    return { error: "the Basic credentials have no password; use user __token__ and the token as password" };
  }
  return { token: password, basicUser: user, basicPassword: password };
}
