// The package pages in a real browser (Debian's chromium through playwright-core) against a
// real gateway: a user opens a channel's address and finds a package with the search, opens
// its page, copies the install line with the Copy button, stars the package and finds it
// under Favorites, switches its privacy as the channel's admin, and looks at the channel's
// Labels and Dashboard. axe-core finds nothing serious or critical on any of these pages, and
// none needs an inline script or style.
//
// The package page's screenshot is taken on every run: SCREENSHOTS=1 writes it into docs/
// (the README shows it), otherwise into a scratch folder.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { chromiumTab } from "./chromium.js";
import { startWebStack } from "./client.js";

const USER = "rosa";
const PASSWORD = "a long password";
const ORG = "labs";

describe("the package pages in Chromium", () => {
  let s: Stack;
  const tab = chromiumTab(async () => {
    s = await startWebStack({ users: [USER], password: PASSWORD });
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
    return s;
  });
  before(() => tab.browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: s.url }));

  test("signed in, the user opens the organization's address and finds a package with the search", async () => {
    const { page } = tab;
    await tab.signIn(USER, PASSWORD);
    const res = await page.goto(`${s.url}/${ORG}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), ORG);
    assert.deepEqual(await page.locator("tbody tr td:first-child").allTextContents(), ["datakit", "sciplot", "sciplot"], "conda's and PyPI's sciplot");
    await tab.accessible("channel page");
    await page.getByLabel("Search packages").fill("sci");
    await page.getByLabel("Search packages").press("Enter");
    await page.waitForURL(`${s.url}/${ORG}/?q=sci`);
    assert.match((await page.locator(".list-summary").textContent()) ?? "", /2 packages of 3 match “sci”/);
    await tab.accessible("channel page, searched");
  });

  test("the package page: files, install lines; the Copy button copies the line", async () => {
    const { page } = tab;
    await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "sciplot" }).first().click()]);
    assert.equal(new URL(page.url()).pathname, `/packages/${ORG}/sciplot`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "sciplot");
    assert.equal(await page.getByRole("heading", { name: "linux-64 label main" }).count(), 1);
    assert.equal(await page.getByRole("heading", { name: "osx-arm64 label main" }).count(), 1);
    assert.equal(await page.getByRole("heading", { name: "1.1", exact: true }).count(), 1, "a PyPI release");
    await tab.accessible("package page");
    await tab.shot("web-package");
    await page.getByRole("button", { name: "Copy the conda line" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `conda install -c ${s.url}/t/<TOKEN>/${ORG} sciplot`);
    await page.getByRole("button", { name: "Copy the pip line" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `pip install --index-url http://__token__:<TOKEN>@${new URL(s.url).host}/${ORG}/simple/ sciplot`);
  });

  test("the star keeps the package among Favorites, whence its page opens again", async () => {
    const { page } = tab;
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Star" }).click()]);
    assert.equal(await page.getByRole("button", { name: "Starred" }).getAttribute("aria-pressed"), "true");
    await tab.accessible("package page, starred");
    await tab.tool("Favorites");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Favorites");
    const row = page.getByRole("row", { name: /sciplot/ });
    assert.match((await row.textContent()) ?? "", new RegExp(`sciplot\\s*${ORG}\\s*private`));
    await tab.accessible("Favorites");
    await Promise.all([page.waitForNavigation(), row.getByRole("link", { name: "sciplot" }).click()]);
    assert.equal(new URL(page.url()).pathname, `/packages/${ORG}/sciplot`);
  });

  test("the channel's admin makes the package public with the privacy switch", async () => {
    const { page } = tab;
    assert.ok(await page.getByRole("radio", { name: /^Private/ }).isChecked());
    await page.getByRole("radio", { name: /^Public/ }).check();
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Save access" }).click()]);
    assert.match((await page.getByRole("status").textContent()) ?? "", /sciplot is now public\./);
    assert.ok(await page.getByRole("radio", { name: /^Public/ }).isChecked());
    assert.equal((await s.rt.catalog.getAccount(ORG))!.packages["sciplot"], "public");
    await tab.accessible("package page, saved");
    const anonymous = await fetch(`${s.url}/packages/${ORG}/sciplot`);
    assert.equal(anonymous.status, 200, "public now: anyone sees its page");
  });

  test("the Labels and the Dashboard of the organization", async () => {
    const { page } = tab;
    await page.goto(`${s.url}/dashboard/${ORG}`);
    assert.match((await page.getByRole("row", { name: /datakit/ }).textContent()) ?? "", /0\.3.*noarch.*main.*dev.*public/);
    await page.getByLabel("Search packages").fill("data");
    await page.getByLabel("Search packages").press("Enter");
    await page.waitForURL(/\?q=data/);
    assert.equal(await page.locator("tbody tr").count(), 1);
    await tab.accessible("Dashboard, searched");
    await tab.tool("Labels");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Labels");
    const dev = page.getByRole("region", { name: /^dev/ });
    assert.match((await dev.getByRole("row", { name: /datakit/ }).textContent()) ?? "", /0\.4/);
    assert.equal(await dev.locator("code").first().textContent(), `conda config --add channels ${s.url}/t/<TOKEN>/${ORG}/label/dev`);
    await tab.accessible("Labels");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => tab.assertPagesGuarded(8));
});
