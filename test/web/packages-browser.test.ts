// The package pages in a real browser (Debian's chromium through playwright-core) against a
// real gateway: a user opens a channel's address and finds a package with the search, opens
// its page, copies the install line with the Copy button, stars the package and finds it
// under Favorites, switches its privacy as the channel's admin, and looks at the channel's
// Labels and Dashboard. axe-core finds nothing serious or critical on any of these pages, and
// none needs an inline script or style.
//
// The package page's screenshot is taken on every run: SCREENSHOTS=1 writes it into docs/
// (the README shows it), otherwise into a scratch folder.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page, Response } from "playwright-core";
import { startStack, type Stack } from "../harness/gateway.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { axeFindings, openBrowser, type Browser } from "./chromium.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";

const DOCS = process.env.SCREENSHOTS === "1" ? new URL("../../docs/", import.meta.url).pathname : join(tmpdir(), `pkgate-screenshots-packages-${process.pid}/`);
const USER = "rosa";
const PASSWORD = "a long password";
const ORG = "labs";

describe("the package pages in Chromium", () => {
  let s: Stack;
  let b: Browser;
  let page: Page;
  const seen: Response[] = [];

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open" });
    const res = await fetch(`${s.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: USER, email: `${USER}@example.com`, password: PASSWORD }) });
    assert.equal(res.status, 201);
    await s.rt.catalog.createAccount({ name: ORG, kind: "org", admins: [USER] });
    await s.seedConda({
      channel: ORG,
      subdirs: ["linux-64", "osx-arm64"],
      packages: [
        { name: "sciplot", version: "1.0", subdir: "linux-64", payloadBytes: 40_000 },
        { name: "sciplot", version: "1.1", subdir: "linux-64", payloadBytes: 42_000 },
        { name: "sciplot", version: "1.1", subdir: "osx-arm64", payloadBytes: 41_000 },
        { name: "datakit", version: "0.3", subdir: "noarch", labels: ["main", "dev"] },
        { name: "datakit", version: "0.4", subdir: "noarch", labels: ["dev"] },
      ],
    });
    for (const version of ["1.0", "1.1"]) await s.rt.store.put(`${ORG}/pypi/sciplot/${wheelFilename("sciplot", version)}`, buildWheel({ name: "sciplot", version, requiresPython: ">=3.9" }));
    await s.rt.catalog.setPackagePrivacy(ORG, "sciplot", "private");
    b = await openBrowser();
    page = b.page;
    await b.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: s.url });
    page.on("response", (r) => {
      if (r.request().resourceType() === "document") seen.push(r);
    });
  });
  after(async () => {
    await b?.close();
    await s?.stop();
    if (process.env.SCREENSHOTS !== "1") await rm(DOCS, { recursive: true, force: true });
  });

  async function accessible(what: string): Promise<void> {
    const findings = await axeFindings(page);
    assert.deepEqual(findings, [], `${what}: axe-core found ${findings.map((f) => `${f.id} (${f.impact}): ${f.help} at ${f.nodes.join(" ")}`).join("; ")}`);
  }

  async function tool(entry: string): Promise<void> {
    await page.locator("details.menu summary", { hasText: "Tools" }).click();
    await Promise.all([page.waitForNavigation(), page.getByRole("navigation", { name: "Tools" }).getByRole("link", { name: entry }).click()]);
  }

  test("signed in, the user opens the organization's address and finds a package with the search", async () => {
    await page.goto(`${s.url}/?tab=signin`);
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${s.url}/dashboard/${USER}`);
    const res = await page.goto(`${s.url}/${ORG}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), ORG);
    assert.deepEqual(await page.locator("tbody tr td:first-child").allTextContents(), ["datakit", "sciplot", "sciplot"], "conda's and PyPI's sciplot");
    await accessible("channel page");
    await page.getByLabel("Search packages").fill("sci");
    await page.getByLabel("Search packages").press("Enter");
    await page.waitForURL(`${s.url}/${ORG}/?q=sci`);
    assert.match((await page.locator(".list-summary").textContent()) ?? "", /2 packages of 3 match “sci”/);
    await accessible("channel page, searched");
  });

  test("the package page: files, install lines; the Copy button copies the line", async () => {
    await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "sciplot" }).first().click()]);
    assert.equal(new URL(page.url()).pathname, `/packages/${ORG}/sciplot`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "sciplot");
    assert.equal(await page.getByRole("heading", { name: "linux-64 label main" }).count(), 1);
    assert.equal(await page.getByRole("heading", { name: "osx-arm64 label main" }).count(), 1);
    assert.equal(await page.getByRole("heading", { name: "1.1", exact: true }).count(), 1, "a PyPI release");
    await accessible("package page");
    await mkdir(DOCS, { recursive: true });
    await page.screenshot({ path: `${DOCS}web-package.png`, fullPage: true });
    await page.getByRole("button", { name: "Copy the conda line" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `conda install -c ${s.url}/t/<TOKEN>/${ORG} sciplot`);
    await page.getByRole("button", { name: "Copy the pip line" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `pip install --index-url http://__token__:<TOKEN>@${new URL(s.url).host}/${ORG}/simple/ sciplot`);
  });

  test("the star keeps the package among Favorites, whence its page opens again", async () => {
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Star" }).click()]);
    assert.equal(await page.getByRole("button", { name: "Starred" }).getAttribute("aria-pressed"), "true");
    await accessible("package page, starred");
    await tool("Favorites");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Favorites");
    const row = page.getByRole("row", { name: /sciplot/ });
    assert.match((await row.textContent()) ?? "", new RegExp(`sciplot\\s*${ORG}\\s*private`));
    await accessible("Favorites");
    await Promise.all([page.waitForNavigation(), row.getByRole("link", { name: "sciplot" }).click()]);
    assert.equal(new URL(page.url()).pathname, `/packages/${ORG}/sciplot`);
  });

  test("the channel's admin makes the package public with the privacy switch", async () => {
    assert.ok(await page.getByRole("radio", { name: /^Private/ }).isChecked());
    await page.getByRole("radio", { name: /^Public/ }).check();
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Save access" }).click()]);
    assert.match((await page.getByRole("status").textContent()) ?? "", /sciplot is now public\./);
    assert.ok(await page.getByRole("radio", { name: /^Public/ }).isChecked());
    assert.equal((await s.rt.catalog.getAccount(ORG))!.packages["sciplot"], "public");
    await accessible("package page, saved");
    const anonymous = await fetch(`${s.url}/packages/${ORG}/sciplot`);
    assert.equal(anonymous.status, 200, "public now: anyone sees its page");
  });

  test("the Labels and the Dashboard of the organization", async () => {
    await page.goto(`${s.url}/dashboard/${ORG}`);
    assert.match((await page.getByRole("row", { name: /datakit/ }).textContent()) ?? "", /0\.3.*noarch.*main.*dev.*public/);
    await page.getByLabel("Search packages").fill("data");
    await page.getByLabel("Search packages").press("Enter");
    await page.waitForURL(/\?q=data/);
    assert.equal(await page.locator("tbody tr").count(), 1);
    await accessible("Dashboard, searched");
    await tool("Labels");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Labels");
    const dev = page.getByRole("region", { name: /^dev/ });
    assert.match((await dev.getByRole("row", { name: /datakit/ }).textContent()) ?? "", /0\.4/);
    assert.equal(await dev.locator("code").first().textContent(), `conda config --add channels ${s.url}/t/<TOKEN>/${ORG}/label/dev`);
    await accessible("Labels");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => {
    const ours = seen.filter((r) => r.url().startsWith(s.url));
    assert.ok(ours.length >= 8, `pages seen: ${ours.length}`);
    for (const r of ours) assert.equal(r.headers()["content-security-policy"], CONTENT_SECURITY_POLICY, r.url());
    assert.deepEqual(b.console.filter((m) => /Content Security Policy|Refused to/i.test(m)), []);
  });
});
