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
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { chromium } from "playwright-core";
import { CHROMIUM, chromiumTab, requireChromium } from "./chromium.js";
import { apiToken, solve, startWebStack } from "./client.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";

const USER = "dana";
/** The scopes table of the token guide (seeds/000_30e118958716119b.txt), as it reads. */
const GUIDE_SCOPES = [
  ["all", "Allow all operations"],
  ["repos", "Allow access to all package repositories"],
  ["pypi", "Allow all operations on Standard Python repositories"],
  ["pypi:upload", "Provides upload permissions to Standard Python repositories"],
  ["pypi:download", "Provides download permissions for private packages in Standard Python repositories"],
  ["conda", "Allow all operations on conda repositories"],
  ["conda:download", "Provides download permissions for private packages in conda repositories"],
  ["api", "Allow all API operations"],
  ["api:write", "Provides write permissions to actions performed via API"],
  ["api:read", "Provides read permissions to actions performed via API"],
  ["api:modify-group", "Provides manage permissions to groups via the API"],
];
const PASSWORD = "correct horse 7";

describe("the web pages in Chromium", () => {
  let s: Stack;
  const tab = chromiumTab(async () => (s = await startWebStack()));

  test("sign up: the user is signed in and lands on their Dashboard", async () => {
    const { page } = tab;
    const res = await page.goto(`${s.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert.equal(await page.getByRole("link", { name: "Sign Up" }).getAttribute("aria-current"), "page", "Sign Up is the active tab");
    await tab.accessible("home, Sign Up");
    await tab.shot("web-home");
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Email").fill("dana@example.com");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByLabel(/I have read and accept/).check();
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL(`${s.url}/dashboard/${USER}`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), USER);
    assert.match((await page.locator("details.profile > summary").textContent()) ?? "", new RegExp(USER), "the Profile menu names the active account");
    await tab.accessible("dashboard");
  });

  test("the Dashboard lists the channel's packages with their privacy; the Tools menu opens from the keyboard", async () => {
    const { page } = tab;
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
    await tab.shot("web-dashboard");
    const row = page.getByRole("row", { name: /priv-app/ });
    assert.match((await row.textContent()) ?? "", /2\.1.*linux-64.*private/);
    assert.match((await page.getByRole("row", { name: /pub-lib/ }).textContent()) ?? "", /public/);
    await page.locator("details.menu summary", { hasText: "Tools" }).focus();
    await page.keyboard.press("Enter");
    const tools = page.getByRole("navigation", { name: "Tools" });
    const entries = (await tools.getByRole("link").allTextContents()).map((t) => t.trim());
    assert.deepEqual(entries, ["Landscape", "View All", "Packages", "Notebooks", "Environments", "Favorites", "Organizations", "Group Membership", "Labels"]);
    await tab.accessible("dashboard, Tools menu open");
    await page.keyboard.press("Escape");
    assert.equal(await page.locator("details.menu[open]").count(), 0, "Escape closes the menu");
    // an entry with nothing behind it yet says so, instead of a 404
    for (const entry of ["Notebooks", "Favorites", "Labels"]) {
      const res = await tab.tool(entry);
      assert.equal(res?.status(), 200, entry);
      assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), entry);
      await tab.accessible(entry);
    }
  });

  test("sign out from the Profile menu, then sign in again", async () => {
    const { page } = tab;
    await page.goto(`${s.url}/dashboard/${USER}`);
    await tab.signOut();
    assert.match((await page.getByRole("status").textContent()) ?? "", /signed out/);
    await tab.accessible("home, Sign In");
    // the Dashboard now sends the browser to sign in, and back after
    await page.goto(`${s.url}/dashboard/${USER}`);
    await page.waitForURL(/\/\?tab=signin&next=/);
    await tab.submitSignIn("wrong password", USER);
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Wrong username or password/);
    await tab.submitSignIn(PASSWORD);
    await page.waitForURL(`${s.url}/dashboard/${USER}`);
  });

  test("a conda:download token made in the page solves the private package with rattler; revoked in the page, it is refused", async () => {
    const { page } = tab;
    await page.locator("details.profile > summary").click();
    await page.locator("details.profile").getByRole("link", { name: "Access tokens" }).click();
    await page.waitForURL(`${s.url}/settings/${USER}/tokens`);
    // every scope, labelled with the guide's words; the expiry one year ahead
    const scopes = page.getByRole("group", { name: "Scopes" }).getByRole("checkbox");
    const labels = await scopes.evaluateAll((boxes) =>
      boxes.map((b) => {
        const label = (b as HTMLInputElement).labels![0]!;
        return [label.querySelector("code")!.textContent, label.querySelector(".hint")!.textContent];
      }),
    );
    assert.deepEqual(labels, GUIDE_SCOPES, "the token guide's scopes, in its words and order");
    assert.ok(await page.getByRole("checkbox", { name: /^conda:download/ }).isChecked(), "conda:download is ticked to start with");
    const expires = await page.getByLabel("Expires on").inputValue();
    assert.equal(expires, new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().slice(0, 10));
    await tab.accessible("tokens");
    const token = await tab.makeToken("laptop");
    assert.equal(await page.locator("#conda-line").inputValue(), `conda config --add channels ${s.url}/t/${token}/${USER}`);
    await tab.browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: s.url });
    await page.getByRole("button", { name: "Copy the conda line" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `conda config --add channels ${s.url}/t/${token}/${USER}`, "the Copy button copies the line");
    await page.getByRole("button", { name: "Copy the token" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    await tab.accessible("tokens, a token just created");
    // listed without its secret, with its scopes and dates
    const listed = page.getByRole("row", { name: /laptop/ });
    const text = (await listed.textContent()) ?? "";
    assert.match(text, /conda:download/);
    assert.match(text, new RegExp(expires));
    assert.ok(!(await page.locator("table").first().innerHTML()).includes(token), "the list never shows the secret");

    const solved = await solve(["priv-app"], `${s.url}/t/${token}/${USER}`);
    assert.deepEqual(solved.map((r) => r.packageName).sort(), ["priv-app", "pub-lib"]);
    await assert.rejects(solve(["priv-app"], `${s.url}/${USER}`), "without the token it does not exist");

    await page.getByRole("button", { name: "Revoke laptop" }).click();
    await page.waitForURL(/revoked=laptop/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /"laptop" is revoked/);
    assert.equal(await page.getByRole("row", { name: /laptop/ }).count(), 0);
    await assert.rejects(solve(["priv-app"], `${s.url}/t/${token}/${USER}`));
    const refused = await fetch(`${s.url}/t/${token}/${USER}/linux-64/repodata.json`);
    assert.ok(refused.status === 401 || refused.status === 403, `the revoked token is refused (${refused.status})`);
    assert.match(await refused.text(), /revoked/);
  });

  test("the Tokens page as the README shows it", async () => {
    const { page } = tab;
    await page.getByLabel("Name").fill("ci-builds");
    await page.getByRole("checkbox", { name: /^pypi:download/ }).check();
    await page.getByRole("button", { name: "Create token" }).click();
    await page.goto(`${s.url}/settings/${USER}/tokens`);
    await tab.shot("web-tokens");
  });

  test("a form posted from another origin is refused, even carrying the form's own token", async () => {
    await tab.assertForeignFormRefused(`/settings/${USER}/tokens`, `/settings/${USER}/tokens`, { name: "stolen", scopes: "all" });
    const tokens = await s.rt.catalog.listTokens(USER);
    assert.ok(!tokens.some((t) => t.name === "stolen"), "no token was made");
  });

  test("axe-core finds nothing serious on the pages the steps above did not check, signed in and out", async () => {
    const { page } = tab;
    await page.goto(`${s.url}/dashboard/${USER}`);
    await page.locator("details.profile > summary").focus();
    await page.keyboard.press("Enter");
    assert.ok(await page.locator("details.profile").getByRole("button", { name: "Sign out" }).isVisible(), "the Profile menu opens from the keyboard");
    await tab.accessible("dashboard, Profile menu open");
    await page.keyboard.press("Escape");
    await page.getByLabel("Search packages").fill("priv");
    await page.getByLabel("Search packages").press("Enter");
    await page.waitForURL(/\?q=priv/);
    await tab.accessible("dashboard, searched");
    const bearer = await apiToken(s.url, USER, PASSWORD);
    assert.equal((await fetch(`${s.url}/api/orgs`, { method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body: JSON.stringify({ name: "dana-lab" }) })).status, 201);
    const signedIn = [`/dashboard/${USER}/all`, `/dashboard/${USER}/packages`, `/dashboard/${USER}/environments`, `/packages/${USER}/priv-app`, `/${USER}/`, `/settings/${USER}/account`, "/organizations", "/organizations/dana-lab", "/dashboard/dana-lab", "/settings/dana-lab/tokens"];
    for (const path of signedIn) {
      assert.equal((await page.goto(`${s.url}${path}`))?.status(), 200, path);
      await tab.accessible(path);
    }
    assert.equal((await page.goto(`${s.url}/packages/${USER}/no-such-package`))?.status(), 404);
    await tab.accessible("a missing page");
    // on a phone's width the tables scroll sideways: each is a region the keyboard reaches
    const viewport = page.viewportSize()!;
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of [`/packages/${USER}/priv-app`, `/dashboard/${USER}`, `/settings/${USER}/tokens`, "/organizations", "/organizations/dana-lab", `/${USER}/`, `/dashboard/${USER}/notebooks`]) {
      await page.goto(`${s.url}${path}`);
      await tab.accessible(`${path}, on a phone`);
      // the page itself never scrolls sideways (only a wide table does, inside its region)
      assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, `${path}: as wide as the phone`);
    }
    await page.setViewportSize(viewport);
    await tab.signOut();
    for (const path of ["/?tab=signup", "/account/terms", "/account/forgot-username", "/account/forgot-password", `/${USER}/`]) {
      assert.equal((await page.goto(`${s.url}${path}`))?.status(), 200, path);
      await tab.accessible(`${path}, signed out`);
    }
    await page.goto(`${s.url}/?tab=signin`);
    await tab.submitSignIn("wrong password", USER);
    await page.getByRole("alert").waitFor();
    await tab.accessible("Sign In, refused");
    await page.goto(`${s.url}/?tab=signup`);
    await page.getByLabel("Username").fill("Not A Name");
    await page.getByLabel("Email").fill("x@example.com");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByLabel(/I have read and accept/).check();
    await page.getByRole("button", { name: "Sign up" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /username/i);
    await tab.accessible("Sign Up, refused");
  });

  test("without JavaScript: sign in, the Tools and Profile menus, a token made and shown, signed out", async () => {
    requireChromium();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    try {
      const page = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
      await page.goto(`${s.url}/?tab=signin`);
      await page.getByLabel("Username").fill(USER);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${s.url}/dashboard/${USER}`);
      await page.locator("details.menu summary", { hasText: "Tools" }).click();
      await Promise.all([page.waitForNavigation(), page.getByRole("navigation", { name: "Tools" }).getByRole("link", { name: "Labels" }).click()]);
      assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Labels");
      await page.locator("details.profile > summary").click();
      await Promise.all([page.waitForNavigation(), page.locator("details.profile").getByRole("link", { name: "Access tokens" }).click()]);
      await page.getByLabel("Name").fill("no-script");
      await page.getByRole("button", { name: "Create token" }).click();
      const token = await page.locator("#new-token-value").inputValue();
      assert.match(token, /^pkg-[A-Za-z0-9]{40}$/);
      assert.equal(await page.locator("#conda-line").inputValue(), `conda config --add channels ${s.url}/t/${token}/${USER}`, "the line is there to select and copy by hand");
      assert.equal(await page.getByRole("button", { name: "Copy the token" }).isVisible(), false, "no Copy button that could not work");
      await page.getByRole("button", { name: "Revoke no-script" }).click();
      await page.waitForURL(/revoked=no-script/);
      await page.locator("details.profile > summary").click();
      await page.locator("details.profile").getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(/\/\?tab=signin/);
    } finally {
      await browser.close();
    }
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => tab.assertPagesGuarded(30));
});
