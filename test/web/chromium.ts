// A real browser for the web tests: Debian's chromium driven by playwright-core (nothing is
// downloaded), in a fresh profile, and axe-core run inside the page it shows; and a Tab, what
// the browser tests share: the browser opened on a site before a suite's tests and closed
// after, and the steps every suite takes (axe-core clean, the Tools menu, sign in and out,
// screenshots, every page under the Content-Security-Policy).
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { chromium, type BrowserContext, type Page, type Response } from "playwright-core";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";
import { foreignPage } from "./client.js";

export const CHROMIUM = "/usr/bin/chromium";
/** The browser tests need Debian's chromium: without it they fail loudly, saying how to get
 * it, rather than being skipped. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
}

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Messages the browser printed about the pages (a refused inline script or style shows here). */
  console: string[];
  /** Every page (document) response the browser got, from any origin. */
  documents: Response[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), "pkgate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    colorScheme: "light",
    locale: "en-US",
    timezoneId: "UTC",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const messages: string[] = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  const documents: Response[] = [];
  page.on("response", (r) => {
    if (r.request().resourceType() === "document") documents.push(r);
  });
  return {
    context,
    page,
    console: messages,
    documents,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

let axeSource: Promise<string> | null = null;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical findings on the page as it is now. It is evaluated over
 * the DevTools protocol, which the page's Content-Security-Policy does not govern (the page
 * itself may run no script but its own). */
export async function axeFindings(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const source = await axeSource;
  await page.evaluate(`${source}\n;0`);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

// ---- a suite's tab --------------------------------------------------------------------

/** What a browser suite runs against: a stack, or the recovery tests' pages. */
export interface Site {
  url: string;
  /** Every log line it wrote. */
  logs: string[];
  stop(): Promise<void>;
}

/** Screenshots go into docs/ with SCREENSHOTS=1 (the README shows them), else into a scratch
 * folder removed after the suite. */
const DOCS = new URL("../../docs/", import.meta.url).pathname;

/** The browser of one suite, on one site. */
export class Tab {
  #browser: Browser | undefined;
  #site: Site | undefined;
  #shots: string | undefined;
  /** Secrets the pages showed, which no log line of the site may hold. */
  readonly #secrets: string[] = [];

  get browser(): Browser {
    assert.ok(this.#browser, "the browser is open (in the suite's tests)");
    return this.#browser;
  }

  get page(): Page {
    return this.browser.page;
  }

  /** The site's address. */
  get url(): string {
    assert.ok(this.#site, "the site is up (in the suite's tests)");
    return this.#site.url;
  }

  async open(site: Site): Promise<void> {
    this.#site = site;
    this.#shots = process.env.SCREENSHOTS === "1" ? DOCS : `${await mkdtemp(join(tmpdir(), "pkgate-screenshots-"))}/`;
    this.#browser = await openBrowser();
  }

  /** The browser closed; no secret in the site's logs; the site stopped; the scratch
   * screenshots removed. */
  async close(): Promise<void> {
    try {
      await this.#browser?.close();
      const logs = this.#site?.logs.join("\n") ?? "";
      for (const secret of this.#secrets) assert.ok(!logs.includes(secret), "a token appeared in the gateway's logs");
    } finally {
      try {
        await this.#site?.stop();
      } finally {
        if (this.#shots && this.#shots !== DOCS) await rm(this.#shots, { recursive: true, force: true });
      }
    }
  }

  /** axe-core finds nothing serious or critical on the page as it is now. */
  async accessible(what: string): Promise<void> {
    const findings = await axeFindings(this.page);
    assert.deepEqual(findings, [], `${what}: axe-core found ${findings.map((f) => `${f.id} (${f.impact}): ${f.help} at ${f.nodes.join(" ")}`).join("; ")}`);
  }

  /** An entry of the Tools menu followed: the page it answered with. */
  async tool(entry: string): Promise<Response | null> {
    await this.page.locator("details.menu summary", { hasText: "Tools" }).click();
    const [res] = await Promise.all([this.page.waitForNavigation(), this.page.getByRole("navigation", { name: "Tools" }).getByRole("link", { name: entry }).click()]);
    return res;
  }

  /** The Sign In form, where the page shows it, filled in and sent: the username unless
   * left out (a refused try keeps it), and the password. */
  async submitSignIn(password: string, user?: string): Promise<void> {
    if (user !== undefined) await this.page.getByLabel("Username").fill(user);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  /** Signed in from the Sign In tab, on the user's Dashboard. */
  async signIn(user: string, password: string): Promise<void> {
    await this.page.goto(`${this.url}/?tab=signin`);
    await this.submitSignIn(password, user);
    await this.page.waitForURL(`${this.url}/dashboard/${user}`);
  }

  /** Signed out from the Profile menu, back on the Sign In tab. */
  async signOut(): Promise<void> {
    await this.page.locator("details.profile > summary").click();
    await this.page.getByRole("button", { name: "Sign out" }).click();
    await this.page.waitForURL(/\/\?tab=signin/);
  }

  /** A token made on the Tokens page, named `name` with the scopes as they are checked: its
   * value (checked at close to be in no log line). */
  async makeToken(name: string): Promise<string> {
    await this.page.getByLabel("Name").fill(name);
    await this.page.getByRole("button", { name: "Create token" }).click();
    const token = await this.page.locator("#new-token-value").inputValue();
    assert.match(token, /^pkg-[A-Za-z0-9]{40}$/);
    this.#secrets.push(token);
    return token;
  }

  /** The whole page, from its top, as `name`.png. */
  async shot(name: string): Promise<void> {
    await mkdir(this.#shots!, { recursive: true });
    await this.page.evaluate(() => window.scrollTo(0, 0));
    await this.page.screenshot({ path: `${this.#shots}${name}.png`, fullPage: true });
  }

  /** The form on `from` posted to `action` from a page on another origin (the same host on
   * another port: same-site, so the session cookie goes along), carrying `fields` (plain
   * values) and the form's own token: refused (403), as not sent from pkgate's own page. */
  async assertForeignFormRefused(from: string, action: string, fields: Record<string, string>): Promise<void> {
    await this.page.goto(`${this.url}${from}`);
    const formToken = await this.page.locator("input[name=_csrf]").first().inputValue();
    const inputs = Object.entries({ _csrf: formToken, ...fields }).map(([name, value]) => `<input name="${name}" value="${value}">`);
    const evil = await foreignPage(`<!doctype html><title>win a prize</title>
<form method="post" action="${this.url}${action}">
${inputs.join("")}
<button>claim</button></form>`);
    try {
      await this.page.goto(evil.url);
      const [res] = await Promise.all([this.page.waitForNavigation(), this.page.getByRole("button", { name: "claim" }).click()]);
      assert.equal(res?.status(), 403);
      assert.match((await this.page.locator("main").textContent()) ?? "", /not sent from pkgate's own page/);
    } finally {
      evil.close();
    }
  }

  /** Every page of the site the browser got (at least `atLeast` of them) carried the
   * Content-Security-Policy, and none needed an inline script or style. */
  assertPagesGuarded(atLeast: number): void {
    const origin = new URL(this.url).origin;
    const ours = this.browser.documents.filter((r) => new URL(r.url()).origin === origin);
    assert.ok(ours.length >= atLeast, `pages seen: ${ours.length}`);
    for (const r of ours) assert.equal(r.headers()["content-security-policy"], CONTENT_SECURITY_POLICY, r.url());
    assert.deepEqual(
      this.browser.console.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
    );
  }
}

/** A Tab for the calling describe(): `start` brings the site up and the browser opens on it
 * before the suite's tests; after them, the tab closes (Tab.close). */
export function chromiumTab(start: () => Promise<Site>): Tab {
  const tab = new Tab();
  before(async () => tab.open(await start()));
  after(() => tab.close());
  return tab;
}
