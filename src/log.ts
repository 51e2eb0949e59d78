// Structured JSON logs (pino). Tokens never reach a log line: paths are logged with the
// `/t/<token>/` segment replaced by the token's public id, every other token-shaped string in
// anything logged from a request is cut out (redactSecrets), and no header is logged whole.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "pkgate" },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // defence in depth: if a top-level field with one of these names is ever logged, it is
      // censored (top-level only: wildcard paths cost ~3% of a small request's CPU)
      redact: { paths: ["token", "password", "authorization", "secretKey"], censor: "[redacted]" },
    },
    destination ?? batchedStdout(),
  );
}

/** pino's isoTime, the string made once per millisecond (a busy gateway writes several
 * lines in one). */
let timeMs = -1;
let timeField = "";
function isoTime(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/** Standard output, written in batches of about 8 KiB rather than one write per line (a
 * syscall per request is a measurable share of a small request), flushed at least every
 * 250 ms so lines never wait long, and at exit. */
function batchedStdout(): LineBatch {
  return batchedDestination(1);
}

/** A descriptor or file written as standard output is (the benchmarks' logged reference
 * server writes to /dev/null through it). */
export function batchedDestination(dest: number | string): LineBatch {
  const batch = new LineBatch(pino.destination({ dest, sync: false, minLength: 8 * 1024 }), 8 * 1024);
  setInterval(() => batch.flush(), 250).unref();
  if (atExit.size === 0) process.on("exit", () => atExit.forEach((b) => b.flushSync()));
  atExit.add(batch);
  return batch;
}
/** What is flushed at exit (one listener for every logger a process makes). */
const atExit = new Set<LineBatch>();

interface LineSink {
  write(s: string): unknown;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

/** Lines gathered into chunks of `chunk` characters before they reach the destination. The
 * batching is done here, not by sonic-boom's `minLength`: its write() takes the UTF-8 length
 * of the whole chunk it appends to on every call (3 µs a line at 8 KiB, as much as the rest
 * of a small request's gate), where this appends and counts characters. */
export class LineBatch {
  private pending = "";
  constructor(
    private readonly dest: LineSink,
    private readonly chunk: number,
  ) {}
  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.chunk) this.handOff();
    return true;
  }
  /** What is gathered to the destination, and the destination's own flush. */
  flush(cb?: (err?: Error) => void): void {
    this.handOff();
    this.dest.flush(cb);
  }
  flushSync(): void {
    this.handOff();
    try {
      this.dest.flushSync();
    } catch {
      // at exit, with the reader gone (EPIPE) or the descriptor closed: nothing to do
    }
  }
  private handOff(): void {
    if (!this.pending) return;
    const lines = this.pending;
    this.pending = "";
    this.dest.write(lines);
  }
}

// ---- the access log ----------------------------------------------------------------------

/** One access-log line: what app.ts logs of every request (strings already redacted). */
export interface RequestLine {
  reqId: string;
  method: string;
  path: string;
  query: string | undefined;
  referer: string | undefined;
  status: number;
  bytes: number;
  ms: number;
  client: string;
  tokenId: string | undefined;
  tokenName: string | undefined;
  account: string | undefined;
  aborted: boolean | undefined;
  ua: string | undefined;
}

const { streamSym, lsCacheSym, chindingsSym, timeSym, endSym, mixinSym, hooksSym, formattersSym, needsMetadataGsym } = pino.symbols;

/** Write the line of a request: the line `logger.info({ msg: "request", ...line })` writes
 * (same level, time, bindings and fields, in that order), serialized here field by field
 * with no generic walk over an object (pino's generic asJson was 4% of a small request's CPU).
 * Loggers that need more of pino (a mixin, a stream-write hook, a multistream's metadata) go
 * through pino itself. */
export function logRequest(logger: Logger, r: RequestLine): void {
  if (!logger.isLevelEnabled("info")) return;
  const l = logger as unknown as Record<symbol, unknown>;
  const stream = l[streamSym] as { write(s: string): unknown; [k: symbol]: unknown };
  if (l[mixinSym] || (l[hooksSym] as { streamWrite?: unknown } | undefined)?.streamWrite || (l[formattersSym] as { log?: unknown } | undefined)?.log || stream[needsMetadataGsym] === true) {
    logger.info({ msg: "request", ...r });
    return;
  }
  let line = (l[lsCacheSym] as Record<number, string>)[30]! + (l[timeSym] as () => string)() + (l[chindingsSym] as string) + ',"msg":"request","reqId":' + str(r.reqId);
  line += ',"method":' + str(r.method) + ',"path":' + str(r.path);
  if (r.query !== undefined) line += ',"query":' + str(r.query);
  if (r.referer !== undefined) line += ',"referer":' + str(r.referer);
  line += ',"status":' + num(r.status) + ',"bytes":' + num(r.bytes) + ',"ms":' + num(r.ms) + ',"client":' + str(r.client);
  if (r.tokenId !== undefined) line += ',"tokenId":' + str(r.tokenId);
  if (r.tokenName !== undefined) line += ',"tokenName":' + str(r.tokenName);
  if (r.account !== undefined) line += ',"account":' + str(r.account);
  if (r.aborted !== undefined) line += ',"aborted":' + (r.aborted ? "true" : "false");
  if (r.ua !== undefined) line += ',"ua":' + str(r.ua);
  stream.write(line + (l[endSym] as string));
}

/** A string as JSON.stringify writes it, quoted as it is when nothing in it needs escaping
 * (the common case, at a third of JSON.stringify's cost for the short fields of a line). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (s: string) => (PLAIN.test(s) ? '"' + s + '"' : JSON.stringify(s));

/** A number as pino writes it (non-finite as null). */
const num = (n: number) => (Number.isFinite(n) ? String(n) : "null");

// ---- redaction ------------------------------------------------------------------------

/** One character as it may appear in logged text: itself, or percent-encoded (either case of
 * hex digits), or encoded again any number of times (`%2570` is `%70` is `p`). */
function encodable(literal: string, hex: string): string {
  return `(?:${literal}|%(?:25)*(?:${hex}))`;
}
// the hex of [0-9A-Za-z]: 30-39, 41-5A, 61-7A
const BASE62_HEX = "3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa]";
const BASE62_CHAR = encodable("[A-Za-z0-9]", BASE62_HEX);
/** A JWT's `eyJ`, base64url characters and dots, each literal or percent-encoded (a dot sent
 * as `%2E`, or a whole post_url encoded into a query, is the same secret). */
const JOSE_CHAR = encodable("[A-Za-z0-9_-]", `${BASE62_HEX}|2[Dd]|5[Ff]`);
const JOSE_HEAD = encodable("e", "65") + encodable("y", "79") + encodable("J", "4[Aa]");
const JOSE_HEADS = new RegExp(JOSE_HEAD, "g");
const JOSE_AT = new RegExp(`${JOSE_HEAD}${JOSE_CHAR}*(?:${encodable("\\.", "2[Ee]")}${JOSE_CHAR}*){2,4}`, "y");
const JOSE_RUN = new RegExp(`${JOSE_CHAR}*`, "y");
/** How much of a token's body makes it token-shaped: fewer than its 40 characters, so that
 * a token cut short (a truncated field, a copy that lost its end) is still removed, since its
 * first 34 characters alone are the whole secret (the last 6 are a check computed from them). */
const MIN_SECRET_CHARS = 20;
const PREFIX = encodable("[pP]", "[57]0") + encodable("[kK]", "[46][Bb]") + encodable("[gG]", "[46]7") + encodable("-", "2[Dd]");
/** `pkg-` (any case: cheap, and nothing legitimate looks like it) and 20 or more base62
 * characters, each of them literal or percent-encoded. A '+' (a space in a query) or any
 * other character ends it, and so does the `pkg-` of a token right behind it. */
const TOKEN_SHAPED = new RegExp(`${PREFIX}(?:(?!${PREFIX})${BASE62_CHAR}){${MIN_SECRET_CHARS},}`, "g");
/** What every match holds: `pkg-` literally (in any case), or a percent sign where one of its
 * characters is encoded. Text without either cannot hold a token, and skips the regex (a
 * request path such as `…/repodata.json` has a `p`, which the check before let through). */
const MAY_HOLD_TOKEN = /%|[pP][kK][gG]-/;

/** A JOSE compact serialization (a JWS's three parts, a JWE's five): a URL that authorises
 * itself carries one (anaconda-client's post_url, `/api/anaconda-upload/<jwt>`), and so is
 * as much a secret as a token. Every JOSE header is a JSON object, so base64url `eyJ`. */
/** Text that may hold one: `eyJ` literally, or a percent sign where one is encoded. */
const MAY_HOLD_JOSE = /eyJ|%/;

/** `text` with every JWT replaced by `<jwt>`. One attempt per run of base64url characters: an
 * `eyJ` later in the run of one that failed fails alike (the same run, then the same dots),
 * and a regex tried at each of them scanned the rest of the run from each (16 KiB of
 * `eyJeyJ…` in a header held the event loop 0.4 s). */
function redactJose(text: string): string {
  let out = "";
  let done = 0;
  JOSE_HEADS.lastIndex = 0;
  for (let m = JOSE_HEADS.exec(text); m !== null; m = JOSE_HEADS.exec(text)) {
    JOSE_AT.lastIndex = m.index;
    if (JOSE_AT.test(text)) {
      out += text.slice(done, m.index) + "<jwt>";
      done = JOSE_HEADS.lastIndex = JOSE_AT.lastIndex;
    } else {
      JOSE_RUN.lastIndex = m.index;
      JOSE_RUN.test(text);
      JOSE_HEADS.lastIndex = Math.max(JOSE_RUN.lastIndex, m.index + 1);
    }
  }
  return done === 0 ? text : out + text.slice(done);
}

/** `text` with every token-shaped string replaced by `<token>`, wherever it stands (path,
 * query, Referer, User-Agent, any header) and however it is encoded: literal, percent-encoded
 * character by character in either case, or encoded several times over; and every JWT (a
 * signed link's `?sig=`, a post_url in a Referer) by `<jwt>`. */
export function redactSecrets(text: string): string {
  if (MAY_HOLD_JOSE.test(text)) text = redactJose(text);
  if (!MAY_HOLD_TOKEN.test(text)) return text;
  return text.replace(TOKEN_SHAPED, "<token>");
}

/** A `t` path segment, however spelled: `t`, `T`, `%74`, `%54`, or encoded again. */
const T_SEGMENT = new RegExp(`(^|/)${encodable("[tT]", "[57]4")}/[^/]*`, "g");

/** The path as it may be logged: every `/t/<token>` segment (`/T/`, `/%74/` too) becomes
 * `/t/<id:abc123…>` — wherever it stands, so a token sent without the BASE_PATH prefix is
 * redacted too — a signed or sealed JWT anywhere becomes `<jwt>`, and any other
 * token-shaped string becomes `<token>`. */
export function redactPath(rawPath: string, tokenId: string | undefined): string {
  const segments = rawPath.replace(T_SEGMENT, (_m, lead: string) => `${lead}t/<${tokenId ? `id:${tokenId}` : "token"}>`);
  return redactSecrets(segments);
}
