// A web session: the cookie a browser holds after signing in. It carries the login token the
// session stands on (a token of the user's in the catalog, minted by the API's own logIn),
// sealed with jose as a JWE (`dir`, A256GCM): authenticated encryption, so a cookie changed
// by one bit is refused as a bad signature would be, and the token inside is never readable
// outside the server, not even by the browser holding it.
//
// Every request opens the cookie and identifies its token through the Identifier the API
// and the gate use: a session signed out (its token revoked) or past its end (the token
// expired) is refused on every replica within the catalog's bound, exactly as a token is.
//
// Two clocks: the cookie lives SESSION_IDLE_SECONDS and is renewed as the session is used
// (a session left alone ends by itself); the token lives SESSION_MAX_SECONDS however busy
// the session, so signing in again is needed at least once a working day.
import { EncryptJWT, jwtDecrypt } from "jose";
import { loginTokenName } from "../api/validate.js";

export const SESSION_COOKIE = "pkgate_session";
/** A session unused this long ends. */
export const SESSION_IDLE_SECONDS = 60 * 60;
/** The cookie is sealed again once less than this is left of it: at most one new cookie
 * every quarter of an hour of use. */
export const RENEW_BELOW_SECONDS = 45 * 60;
/** However busy, a session ends this long after sign-in (its token's lifetime). */
export const SESSION_MAX_SECONDS = 12 * 3600;

/** A session's token is a login token, named as the API names its own (`login-<host>-…`),
 * from the host "web". */
const SESSION_TOKEN_HOST = "web";
export const sessionTokenName = (now: Date, nonce: string): string => loginTokenName(SESSION_TOKEN_HOST, now, nonce);
/** Whether a token of a user's is one of their web sessions. */
export const isSessionToken = (name: string): boolean => name.startsWith(`login-${SESSION_TOKEN_HOST}-`);
/** A session's token holds no scope: the pages act with its account's rights (see
 * visitor.ts), and the token itself, should it ever leave the server, opens nothing that
 * is not public on any other door. */
export const SESSION_SCOPES: string[] = [];

export interface OpenedSession {
  /** The login token the session stands on. */
  token: string;
  /** When the cookie ends (epoch seconds), unless renewed. */
  expiresAt: number;
  /** Whether the cookie should be sealed again now. */
  renew: boolean;
}

const HEADER = { alg: "dir", enc: "A256GCM", typ: "JWT" } as const;

/** A cookie value holding `token`, good for SESSION_IDLE_SECONDS from `now`. */
export async function sealSession(key: Uint8Array, token: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new EncryptJWT({ tok: token }).setProtectedHeader(HEADER).setIssuedAt(iat).setExpirationTime(iat + SESSION_IDLE_SECONDS).encrypt(key);
}

/** The session a cookie holds, or null when it is not one of ours, was altered, or ended. */
export async function openSession(key: Uint8Array, cookie: string | undefined, now = Date.now()): Promise<OpenedSession | null> {
  // a JWE is five base64url parts; anything longer than a session ever is, is not one
  if (!cookie || cookie.length > 1024) return null;
  try {
    const { payload } = await jwtDecrypt(cookie, key, {
      currentDate: new Date(now),
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
      requiredClaims: ["exp", "iat"],
    });
    if (typeof payload.tok !== "string" || typeof payload.exp !== "number") return null;
    return { token: payload.tok, expiresAt: payload.exp, renew: payload.exp - now / 1000 < RENEW_BELOW_SECONDS };
  } catch {
    return null;
  }
}
