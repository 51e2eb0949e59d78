// The one error type of pkgate: an HTTP status, a stable code callers switch on, and a
// message a user can act on. Messages never contain a token, password or key.

export type ErrorCode =
  | "bad_request" // malformed path, header or body
  | "bad_config" // invalid configuration at start-up
  | "token_invalid" // unknown token
  | "token_malformed" // not a pkgate token at all
  | "token_expired"
  | "token_revoked"
  | "auth_required" // anonymous caller on something that needs a principal
  | "bad_credentials" // wrong username/password
  | "insufficient_scope"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "not_acceptable"
  | "conflict"
  | "precondition_failed"
  | "payload_too_large"
  | "range_not_satisfiable"
  | "rate_limited"
  | "unavailable" // store or cache broken: retry later
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  bad_config: 500,
  token_invalid: 401,
  token_malformed: 401,
  token_expired: 401,
  token_revoked: 401,
  auth_required: 401,
  bad_credentials: 401,
  insufficient_scope: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class GateError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    // A GateError is an answer, not a bug: its stack is never looked at, and capturing one
    // was 13% of the CPU of a refused request (what a flood of bad tokens is made of).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "GateError";
    this.status = STATUS[code];
  }
}

export const notFound = (what = "not found") => new GateError("not_found", what);
export const badRequest = (why: string) => new GateError("bad_request", why);
export const unavailable = (what: string, retryAfterSeconds = 5) =>
  new GateError("unavailable", `${what} is unavailable, retry later`, {
    "retry-after": String(retryAfterSeconds),
  });

/** An upload refused before its body was read to its end: the connection cannot carry another
 * request, so the answer says `Connection: close`. Anything else passes unchanged. */
export function closing(err: unknown): unknown {
  if (!(err instanceof GateError)) return err;
  return new GateError(err.code, err.message, { ...err.headers, connection: "close" });
}

export function isGateError(err: unknown): err is GateError {
  return err instanceof GateError;
}
