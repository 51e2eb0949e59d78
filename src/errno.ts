// A system error's code (ECONNREFUSED, EACCES, a certificate's CERT_HAS_EXPIRED…) in plain
// words: the one copy of them. Node's own messages name the system call and the code
// ("connect ECONNREFUSED 127.0.0.1:6379", "listen EACCES: permission denied 0.0.0.0:80");
// each place that reports one (Redis, the S3 store, the store directory, the listening
// sockets, the CLI) says what failed and adds only its own context: which variable to
// change, what to check. Callers switch on `kind`, never on lists of codes.

export type ErrnoKind =
  | "refused" // nothing listens there
  | "lost" // the other end closed a connection in use
  | "name" // the host name does not resolve
  | "timeout" // no answer to connecting
  | "route" // the network has no way there
  | "tls" // the TLS handshake failed, or the certificate is not good (expired, another host's)
  | "untrusted" // the certificate is good but no authority this machine trusts vouches for it
  | "permission" // this user may not
  | "read-only"
  | "full"
  | "not-a-directory"
  | "port-taken"
  | "not-local"; // an address that is not this machine's

export interface Errno {
  /** The system's code, as Node gives it. */
  code: string;
  kind: ErrnoKind;
  /** What it means, a few words an operator acts on; no host, path or secret in them. */
  words: string;
}

const UNTRUSTED = "the server's certificate is signed by an authority this machine does not trust";

const CODES: Record<string, [ErrnoKind, string]> = {
  ECONNREFUSED: ["refused", "connection refused"],
  ECONNRESET: ["lost", "connection lost"],
  EPIPE: ["lost", "connection lost"],
  ECONNABORTED: ["lost", "connection lost"],
  ENOTFOUND: ["name", "host name not found"],
  EAI_AGAIN: ["name", "host name not found"],
  EAI_FAIL: ["name", "host name not found"],
  EAI_NONAME: ["name", "host name not found"],
  ETIMEDOUT: ["timeout", "no answer to connecting"],
  EHOSTUNREACH: ["route", "no route to the host"],
  ENETUNREACH: ["route", "no route to the host"],
  EHOSTDOWN: ["route", "no route to the host"],
  ENETDOWN: ["route", "no route to the host"],
  CERT_HAS_EXPIRED: ["tls", "the server's certificate has expired"],
  CERT_NOT_YET_VALID: ["tls", "the server's certificate is not valid yet"],
  CERT_REVOKED: ["tls", "the server's certificate is revoked"],
  DEPTH_ZERO_SELF_SIGNED_CERT: ["untrusted", "the server's certificate is self-signed"],
  SELF_SIGNED_CERT_IN_CHAIN: ["untrusted", UNTRUSTED],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ["untrusted", UNTRUSTED],
  UNABLE_TO_GET_ISSUER_CERT: ["untrusted", UNTRUSTED],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: ["untrusted", UNTRUSTED],
  CERT_UNTRUSTED: ["untrusted", UNTRUSTED],
  ERR_TLS_CERT_ALTNAME_INVALID: ["tls", "the server's certificate is for another host name"],
  ERR_SSL_WRONG_VERSION_NUMBER: ["tls", "TLS handshake failed (does that port speak TLS?)"],
  EPROTO: ["tls", "TLS handshake failed"],
  EACCES: ["permission", "permission denied"],
  EPERM: ["permission", "permission denied"],
  EROFS: ["read-only", "read-only file system"],
  ENOSPC: ["full", "no space left on the device"],
  EDQUOT: ["full", "disk quota exceeded"],
  ENOTDIR: ["not-a-directory", "a file stands where a directory should be"],
  EADDRINUSE: ["port-taken", "the port is already in use"],
  EADDRNOTAVAIL: ["not-local", "not an address of this machine"],
};

/** The system error in `err` (or in its causes: fetch wraps the socket's error; or under
 * `originalCode`: nodemailer puts its own ESOCKET, EDNS… in `code`), in words; undefined when
 * it carries no code this module knows. */
export function errnoOf(err: unknown): Errno | undefined {
  let e = err;
  for (let depth = 0; depth < 4 && e !== null && typeof e === "object"; depth++) {
    for (const code of [(e as { code?: unknown }).code, (e as { originalCode?: unknown }).originalCode]) {
      if (typeof code === "string" && Object.hasOwn(CODES, code)) {
        const [kind, words] = CODES[code]!;
        return { code, kind, words };
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const UNREACHED: ReadonlySet<ErrnoKind> = new Set(["refused", "lost", "name", "timeout", "route", "tls", "untrusted"]);

/** Whether the error says the other end could not be reached (or not trusted): the network's
 * trouble, not this machine's. */
export function unreached(errno: Errno | undefined): boolean {
  return errno !== undefined && UNREACHED.has(errno.kind);
}
