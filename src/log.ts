// Structured JSON logs (pino). Tokens never reach a log line: paths are logged with the
// `/t/<token>/` segment replaced by the token's public id, and no header is logged whole.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "pkgate" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // defence in depth: if a top-level field with one of these names is ever logged, it is
      // censored (top-level only: wildcard paths cost ~3% of a small request's CPU)
      redact: { paths: ["token", "password", "authorization", "secretKey"], censor: "[redacted]" },
    },
    destination ?? batchedStdout(),
  );
}

/** Standard output, written in batches of about 8 KiB rather than one write per line (a
 * syscall per request is a measurable share of a small request), flushed at least every
 * 250 ms so lines never wait long. */
function batchedStdout() {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  setInterval(() => dest.flush(), 250).unref();
  return dest;
}

/** The path as it may be logged: every `/t/<token>` segment becomes `/t/<id:abc123…>` —
 * wherever it stands, so a token sent without the BASE_PATH prefix is redacted too. */
export function redactPath(rawPath: string, tokenId: string | undefined): string {
  return rawPath.replace(/(^|\/)t\/[^/]*/g, (_m, lead: string) => `${lead}t/<${tokenId ? `id:${tokenId}` : "token"}>`);
}
