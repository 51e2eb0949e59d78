// The web pages in a real browser (Debian's chromium through playwright-core) against a real
// gateway: a new user signs up, signs out and in again, creates a conda:download token on the
// Tokens page, and conda's solver (rattler) resolves a private package of theirs with it;
// revoked in the page, the solver is refused. A form posted from another origin is refused
// even with the form's own token; every page carries the Content-Security-Policy, no page
// asks the browser for an inline script or style, and axe-core finds nothing serious or
// critical on any of them.
//
// The pages' screenshots are taken on every run; SCREENSHOTS=1 writes them into docs/ (the
// README shows them), otherwise into a scratch folder.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import type { Page, Response } from "playwright-core";
import { startStack, type Stack } from "../harness/gateway.js";
import { axeFindings, openBrowser, type Browser } from "./chromium.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
const DOCS = process.env.SCREENSHOTS === "1" ? new URL("../../docs/", import.meta.url).pathname : join(tmpdir(), `pkgate-screenshots-${process.pid}/`);
const USER = "dana";
const PASSWORD = "correct horse 7";

describe("the web pages in Chromium", () => {
  let s: Stack;
  let b: Browser;
  let page: Page;
  let token = "";
  /** Every page response the browser got from the gateway. */
  const seen: Response[] = [];

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open" });
    b = await openBrowser();
    page = b.page;
    page.on("response", (r) => {
      if (r.request().resourceType() === "document") seen.push(r);
    });
  });
  after(async () => {
    await b?.close();
    if (token) assert.ok(!s.logs.join("\n").includes(token), "the token appeared in the gateway's logs");
    await s?.stop();
    if (process.env.SCREENSHOTS !== "1") await rm(DOCS, { recursive: true, force: true });
  });

  async function accessible(what: string): Promise<void> {
    const findings = await axeFindings(page);
    assert.deepEqual(findings, [], `${what}: axe-core found ${findings.map((f) => `${f.id} (${f.impact}): ${f.help} at ${f.nodes.join(" ")}`).join("; ")}`);
  }

  async function shot(name: string): Promise<void> {
    await mkdir(DOCS, { recursive: true });
    await page.screenshot({ path: `${DOCS}${name}.png`, fullPage: true });
  }

  test("sign up: the user is signed in and lands on their Dashboard", async () => {
    const res = await page.goto(`${s.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert.equal(await page.getByRole("link", { name: "Sign Up" }).getAttribute("aria-current"), "page", "Sign Up is the active tab");
    await accessible("home, Sign Up");
    await shot("web-home");
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Email").fill("dana@example.com");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByLabel(/I have read and accept/).check();
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL(`${s.url}/dashboard/${USER}`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), USER);
    assert.match((await page.locator("details.profile > summary").textContent()) ?? "", new RegExp(USER), "the Profile menu names the active account");
    await accessible("dashboard");
  });

  test("the Dashboard lists the channel's packages with their privacy; the Tools menu opens from the keyboard", async () => {
    await s.seedConda({
      channel: USER,
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64" },
        { name: "priv-app", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0"] },
      ],
    });
    await s.rt.catalog.setPackagePrivacy(USER, "priv-app", "private");
    await page.reload();
    await shot("web-dashboard");
    const row = page.getByRole("row", { name: /priv-app/ });
    assert.match((await row.textContent()) ?? "", /2\.1.*linux-64.*private/);
    assert.match((await page.getByRole("row", { name: /pub-lib/ }).textContent()) ?? "", /public/);
    await page.locator("details.menu summary", { hasText: "Tools" }).focus();
    await page.keyboard.press("Enter");
    const tools = page.getByRole("navigation", { name: "Tools" });
    const entries = (await tools.getByRole("link").allTextContents()).map((t) => t.trim());
    assert.deepEqual(entries, ["Landscape", "View All", "Packages", "Notebooks", "Environments", "Favorites", "Organizations", "Group Membership", "Labels"]);
    await accessible("dashboard, Tools menu open");
    await page.keyboard.press("Escape");
    assert.equal(await page.locator("details.menu[open]").count(), 0, "Escape closes the menu");
    // an entry with nothing behind it yet says so, instead of a 404
    for (const entry of ["Notebooks", "Favorites", "Labels"]) {
      await page.locator("details.menu summary", { hasText: "Tools" }).click();
      const res = await Promise.all([page.waitForNavigation(), tools.getByRole("link", { name: entry }).click()]).then(([r]) => r);
      assert.equal(res?.status(), 200, entry);
      assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), entry);
      await accessible(entry);
    }
  });

  test("sign out from the Profile menu, then sign in again", async () => {
    await page.goto(`${s.url}/dashboard/${USER}`);
    await page.locator("details.profile > summary").click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/\?tab=signin/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /signed out/);
    await accessible("home, Sign In");
    // the Dashboard now sends the browser to sign in, and back after
    await page.goto(`${s.url}/dashboard/${USER}`);
    await page.waitForURL(/\/\?tab=signin&next=/);
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Wrong username or password/);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${s.url}/dashboard/${USER}`);
  });

  test("a conda:download token made in the page solves the private package with rattler; revoked in the page, it is refused", async () => {
    await page.locator("details.profile > summary").click();
    await page.locator("details.profile").getByRole("link", { name: "Access tokens" }).click();
    await page.waitForURL(`${s.url}/settings/${USER}/tokens`);
    // every scope, labelled with the guide's words; the expiry one year ahead
    assert.equal(await page.getByRole("checkbox").count(), 11);
    assert.ok(await page.getByRole("checkbox", { name: /conda:download Allow private downloads from Conda repositories/ }).isChecked());
    const expires = await page.getByLabel("Expires on").inputValue();
    assert.equal(expires, new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().slice(0, 10));
    await accessible("tokens");
    await page.getByLabel("Name").fill("laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    token = await page.locator("#new-token-value").inputValue();
    assert.match(token, /^pkg-[A-Za-z0-9]{40}$/);
    assert.equal(await page.locator("#conda-line").inputValue(), `conda config --add channels ${s.url}/t/${token}/${USER}`);
    await accessible("tokens, a token just created");
    // listed without its secret, with its scopes and dates
    const listed = page.getByRole("row", { name: /laptop/ });
    const text = (await listed.textContent()) ?? "";
    assert.match(text, /conda:download/);
    assert.match(text, new RegExp(expires));
    assert.ok(!(await page.locator("table").first().innerHTML()).includes(token), "the list never shows the secret");

    const solved = await simpleSolve(["priv-app"], [`${s.url}/t/${token}/${USER}`], PLATFORMS, undefined);
    assert.deepEqual(solved.map((r) => r.packageName).sort(), ["priv-app", "pub-lib"]);
    await assert.rejects(simpleSolve(["priv-app"], [`${s.url}/${USER}`], PLATFORMS, undefined), "without the token it does not exist");

    await page.getByRole("button", { name: "Revoke laptop" }).click();
    await page.waitForURL(/revoked=laptop/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /"laptop" is revoked/);
    assert.equal(await page.getByRole("row", { name: /laptop/ }).count(), 0);
    await assert.rejects(simpleSolve(["priv-app"], [`${s.url}/t/${token}/${USER}`], PLATFORMS, undefined));
    const refused = await fetch(`${s.url}/t/${token}/${USER}/linux-64/repodata.json`);
    assert.ok(refused.status === 401 || refused.status === 403, `the revoked token is refused (${refused.status})`);
    assert.match(await refused.text(), /revoked/);
  });

  test("the Tokens page as the README shows it", async () => {
    await page.getByLabel("Name").fill("ci-builds");
    await page.getByRole("checkbox", { name: /^pypi:download/ }).check();
    await page.getByRole("button", { name: "Create token" }).click();
    await page.goto(`${s.url}/settings/${USER}/tokens`);
    await shot("web-tokens");
  });

  test("a form posted from another origin is refused, even carrying the form's own token", async () => {
    await page.goto(`${s.url}/settings/${USER}/tokens`);
    const formToken = await page.locator("input[name=_csrf]").first().inputValue();
    // another origin: the same host on another port (same-site, so the session cookie goes along)
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>win a prize</title>
<form method="post" action="${s.url}/settings/${USER}/tokens">
<input name="_csrf" value="${formToken}"><input name="name" value="stolen"><input name="scopes" value="all">
<button>claim</button></form>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
    try {
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const [res] = await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "claim" }).click()]);
      assert.equal(res?.status(), 403);
      assert.match((await page.locator("main").textContent()) ?? "", /not sent from pkgate's own page/);
    } finally {
      evil.close();
    }
    const tokens = await s.rt.catalog.listTokens(USER);
    assert.ok(!tokens.some((t) => t.name === "stolen"), "no token was made");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => {
    const ours = seen.filter((r) => r.url().startsWith(s.url));
    assert.ok(ours.length >= 10, `pages seen: ${ours.length}`);
    for (const r of ours) assert.equal(r.headers()["content-security-policy"], CONTENT_SECURITY_POLICY, r.url());
    const refused = b.console.filter((m) => /Content Security Policy|Refused to/i.test(m));
    assert.deepEqual(refused, []);
  });
});
