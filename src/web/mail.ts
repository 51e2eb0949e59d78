// Mail from the pages (password recovery, notices of account changes): SMTP through
// nodemailer (SMTP_URL, MAIL_FROM), and the outbox that does the mail work after the page
// has answered, so a page that mails answers in the same time, with the same work, whether
// or not there was anyone to mail.
import { createTransport } from "nodemailer";
import type { Logger } from "../log.js";
import { errnoOf } from "../errno.js";

export interface Mail {
  /** One address of record, as the catalog holds it. */
  to: string;
  subject: string;
  text: string;
}

/** Where mail goes out. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/** Bounds on one SMTP exchange: a server that hangs delays the outbox this long at most. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } as const;

/** Mail through the SMTP server of `url` (smtp:// or smtps://, credentials in the URL), from
 * `from`. The URL is never logged: it may hold the server's password. */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = createTransport({ url, ...SMTP_TIMEOUTS }, { from });
  return {
    async send(mail) {
      // the address as an object: nodemailer takes it whole, never as a list to split
      await transport.sendMail({ to: { name: "", address: mail.to }, subject: mail.subject, text: mail.text });
    },
  };
}

/** What an outbox job logs under: the request that asked for it. */
export interface JobContext {
  reqId?: string;
}

/** Jobs that run after the answer, one at a time, in this process. Bounded: past `limit`
 * waiting jobs a new one is dropped (and logged), so a flood of requests cannot grow the
 * process; the per-client limit in front of it keeps that from happening to anybody honest.
 * A job lost with the process (a restart) is a mail not sent: the user asks again. */
export class Outbox {
  private waiting = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly logger: Logger,
    private readonly limit = 200,
  ) {}

  /** Queue `job` (named `what` in log lines); false when the outbox is full. */
  post(what: string, ctx: JobContext, job: () => Promise<void>): boolean {
    if (this.waiting >= this.limit) {
      this.logger.warn({ msg: "outbox full: mail job dropped", job: what, reqId: ctx.reqId });
      return false;
    }
    this.waiting++;
    this.tail = this.tail
      // never on the answer's own turn of the event loop
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(job)
      .catch((err: unknown) => this.logger.warn({ msg: "mail job failed", job: what, reqId: ctx.reqId, err: describe(err) }))
      .finally(() => this.waiting--);
    return true;
  }
}

/** A failure as it may be logged: what a system error code means (errno.ts: "connection
 * refused: ESOCKET connect ECONNREFUSED 10.0.0.5:587"), then the SMTP reply or the error's
 * message, never the URL. */
function describe(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { code?: unknown; responseCode?: unknown; message?: unknown };
    const detail = [e.code, e.responseCode, typeof e.message === "string" ? e.message.slice(0, 200) : undefined].filter((x) => x !== undefined).join(" ");
    const errno = errnoOf(err);
    return errno ? `${errno.words}: ${detail}` : detail;
  }
  return String(err);
}
