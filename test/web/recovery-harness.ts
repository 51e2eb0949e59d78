// What the settings and recovery tests stand on: a real SMTP server (smtp-server from npm)
// that keeps every mail it is given; the gateway's own app (createApp, wired by appDeps as
// server.ts wires it) on a loopback port, with SMTP_URL and PUBLIC_URL pointing at those,
// and a clock the test moves. The cookie jar that posts forms is client.ts's WebClient.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { SMTPServer } from "smtp-server";
import { createApp } from "../../src/app.js";
import { appDeps } from "../../src/server.js";
import { loadConfig } from "../../src/config.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { ViewCache } from "../../src/cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "../../src/http/objects.js";
import { Metrics } from "../../src/metrics.js";
import { createLogger } from "../../src/log.js";
import { signUpUser, WebClient } from "./client.js";

// ---- the mailbox ------------------------------------------------------------------------

export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
}

export interface Mailbox {
  url: string;
  mails: ReceivedMail[];
  /** The next mail to `to` not yet taken, waiting for it up to `ms`. */
  next(to: string, ms?: number): Promise<ReceivedMail>;
  /** Every mail to `to` not yet taken (after settle(), all there will be). */
  drain(to: string): ReceivedMail[];
  stop(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const mails: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), ...parseMail(Buffer.concat(chunks).toString("utf8")) });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  const untaken = (to: string) => mails.filter((m) => !taken.has(m) && m.to.includes(to));
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async next(to, ms = 5000) {
      const until = Date.now() + ms;
      for (;;) {
        const found = untaken(to)[0];
        if (found) {
          taken.add(found);
          return found;
        }
        if (Date.now() > until) assert.fail(`no mail to ${to} within ${ms} ms`);
        await sleep(25);
      }
    },
    drain(to) {
      const found = untaken(to);
      for (const m of found) taken.add(m);
      return found;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A nodemailer text mail: its Subject and its body, undone from quoted-printable or base64. */
function parseMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw.slice(split + 4);
  const headerOf = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1]?.trim() ?? "";
  const encoding = headerOf("Content-Transfer-Encoding").toLowerCase();
  const text =
    encoding === "quoted-printable"
      ? Buffer.from(body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8")
      : encoding === "base64"
        ? Buffer.from(body, "base64").toString("utf8")
        : body;
  return { subject: headerOf("Subject"), text: text.replace(/\r\n/g, "\n") };
}

/** The reset link a mail holds. */
export function linkIn(mail: ReceivedMail): string {
  const m = /https?:\/\/\S+\/account\/reset\/t\/\S+/.exec(mail.text);
  assert.ok(m, `a reset link in: ${mail.text}`);
  return m[0];
}

// ---- the gateway ----------------------------------------------------------------------

export interface Pages {
  url: string;
  /** PUBLIC_URL with BASE_PATH: where links point. */
  base: string;
  catalog: Catalog;
  logs: string[];
  /** Move the pages' clock (web.ts `now`: real time plus what the tests added). Tokens
   * are made and identified on real time: move it back when done. */
  advance(ms: number): void;
  /** Another replica: an app of its own (its own caches) over the same store. */
  replica(): Promise<{ url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface PagesOptions {
  smtpUrl?: string;
  basePath?: string;
  /** Set PUBLIC_URL (default true). */
  publicUrl?: boolean;
}

export async function startPages(opts: PagesOptions = {}): Promise<Pages> {
  const dir = await mkdtemp(join(tmpdir(), "pkgate-recovery-"));
  const store = new FsStore(dir);
  let offset = 0;
  const now = () => Date.now() + offset;
  const logs: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  async function serve(): Promise<{ url: string; catalog: Catalog; stop(): Promise<void> }> {
    let fetcher: ((req: Request, env: unknown) => Response | Promise<Response>) | null = null;
    const server = createAdaptorServer({ fetch: (req, env) => fetcher!(req, env) }) as Server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env: Record<string, string> = { SIGNUP: "open", SIGNUP_LIMIT: "1000", TRUST_PROXY: "127.0.0.1", ...(opts.basePath ? { BASE_PATH: opts.basePath } : {}) };
    if (opts.smtpUrl) env.SMTP_URL = opts.smtpUrl;
    if (opts.publicUrl !== false) env.PUBLIC_URL = url;
    const config = loadConfig(env);
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 60 });
    const logger = createLogger("info", new Writable({ write: (c, _e, cb) => (logs.push(...String(c).split("\n").filter(Boolean)), cb()) }));
    const views = new ViewCache(cache, { maxLocalBytes: 1 << 20, maxSharedBytes: 1 << 20, sharedTtlSeconds: 60 });
    const deps = Object.assign(appDeps({ store, cache, catalog, objects: new ObjectSource(store, DEFAULT_HOT), views, logger, metrics: new Metrics() }, config), { now, web: config.web });
    const app = createApp(deps);
    fetcher = (req, e) => app.fetch(req, e as never);
    return {
      url,
      catalog,
      async stop() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await catalog.close();
        await cache.close();
      },
    };
  }

  const first = await serve();
  stops.push(first.stop);
  return {
    url: first.url,
    base: `${first.url}${opts.basePath ?? ""}`,
    catalog: first.catalog,
    logs,
    advance: (ms) => void (offset += ms),
    async replica() {
      const r = await serve();
      stops.push(r.stop);
      return { url: r.url, stop: r.stop };
    },
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface MailedPages extends Pages {
  mail: Mailbox;
}

/** A mailbox and the pages mailing to it, with `users` (name, password) signed up; stop()
 * stops both. */
export async function startMailedPages(users: [name: string, password: string, email?: string][] = [], opts: Omit<PagesOptions, "smtpUrl"> = {}): Promise<MailedPages> {
  const mail = await startMailbox();
  const pages = await startPages({ ...opts, smtpUrl: mail.url }).catch(async (err: unknown) => {
    await mail.stop();
    throw err;
  });
  const started: MailedPages = {
    ...pages,
    mail,
    async stop() {
      try {
        await pages.stop();
      } finally {
        await mail.stop();
      }
    },
  };
  try {
    for (const [name, password, email] of users) await signUpUser(pages.base, name, password, email);
  } catch (err) {
    await started.stop();
    throw err;
  }
  return started;
}

let probes = 0;

/** Wait until every mail job asked for so far has run. The outbox runs its jobs one at a
 * time, in order: once a mail asked for now has arrived, so has every one asked before it,
 * and a mail that has not is not coming. */
export async function settle(pages: MailedPages): Promise<void> {
  const probe = `probe${++probes}`;
  await signUpUser(pages.base, probe, "probe-password", `${probe}@probe.example`);
  const jar = new WebClient(pages.base, `198.18.0.${probes}`);
  assert.equal((await jar.post("/account/forgot-username", { who: `${probe}@probe.example` }, { from: "/account/forgot-username" })).status, 303);
  await pages.mail.next(`${probe}@probe.example`, 10_000);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
