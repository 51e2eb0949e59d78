// The organization pages in a real browser (Debian's chromium through playwright-core)
// against a real gateway, end to end: a user creates an organization from the Tools menu,
// makes its channel private, creates a group with read on one package and adds a member;
// the member finds the group under Group Membership, makes their own conda:download token on
// the Tokens page, and conda's solver (rattler) resolves that package with it, and nothing
// else of the organization. axe-core finds nothing serious or critical on any of the pages,
// with the group's edit form open too; every page carries the Content-Security-Policy.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import type { Page, Response } from "playwright-core";
import { startStack, type Stack } from "../harness/gateway.js";
import { axeFindings, openBrowser, type Browser } from "./chromium.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
const DOCS = process.env.SCREENSHOTS === "1" ? new URL("../../docs/", import.meta.url).pathname : join(tmpdir(), `pkgate-org-screenshots-${process.pid}/`);
const PASSWORD = "correct horse 7";
const ORG = "vera-lab";

describe("the organization pages in Chromium", () => {
  let s: Stack;
  let b: Browser;
  let page: Page;
  let token = "";
  const seen: Response[] = [];

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open" });
    for (const name of ["vera", "mona"]) {
      const res = await fetch(`${s.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: name, email: `${name}@example.com`, password: PASSWORD }) });
      assert.equal(res.status, 201);
    }
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

  async function signIn(user: string): Promise<void> {
    await page.goto(`${s.url}/?tab=signin`);
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${s.url}/dashboard/${user}`);
  }

  async function tool(entry: string): Promise<void> {
    await page.locator("details.menu summary", { hasText: "Tools" }).click();
    await Promise.all([page.waitForNavigation(), page.getByRole("navigation", { name: "Tools" }).getByRole("link", { name: entry }).click()]);
  }

  const notice = async () => ((await page.getByRole("status").textContent()) ?? "").trim();

  test("create an organization from the Tools menu: its creator is its admin", async () => {
    await signIn("vera");
    await tool("Organizations");
    assert.equal(page.url(), `${s.url}/organizations`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Organizations");
    await accessible("Organizations, none yet");
    await page.getByLabel("Name").fill(ORG);
    await page.getByRole("button", { name: "Create organization" }).click();
    await page.waitForURL(`${s.url}/organizations/${ORG}?done=created`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), ORG);
    assert.match(await notice(), /created, with you as its admin/);
    assert.match((await page.locator("details.profile > summary").textContent()) ?? "", new RegExp(ORG), "the Profile menu names the organization");
    assert.deepEqual((await s.rt.catalog.getAccount(ORG))?.admins, ["vera"]);
    await accessible("an organization, just created");
  });

  test("its channel made private, a group with read on one package, and a member", async () => {
    await s.seedConda({
      channel: ORG,
      subdirs: ["linux-64"],
      packages: [
        { name: "shared-lib", version: "1.0", subdir: "linux-64" },
        { name: "secret-app", version: "2.0", subdir: "linux-64" },
      ],
    });
    await page.reload();
    // the default privacy, switched with the keyboard
    await page.getByRole("radio", { name: /^private/ }).focus();
    await page.keyboard.press("Space");
    await page.getByRole("button", { name: "Save default privacy" }).click();
    await page.waitForURL(/done=privacy/);
    assert.match(await notice(), /Packages without their own setting are private now/);

    const create = page.locator("section", { has: page.getByRole("heading", { name: "Create a group" }) });
    await create.getByLabel("Group name").fill("readers");
    await create.getByLabel("Permission").selectOption("read");
    assert.ok(await create.getByRole("radio", { name: "Only these packages:" }).isChecked(), "a new group lists its packages unless told otherwise");
    await create.getByRole("checkbox", { name: "shared-lib" }).check();
    await accessible("the create-group form, filled in");
    await create.getByRole("button", { name: "Create group" }).click();
    await page.waitForURL(/done=group-created/);
    assert.match(await notice(), /The group readers is created/);

    const readers = page.getByRole("article", { name: /readers/ });
    assert.match((await readers.textContent()) ?? "", /Members may download\s*shared-lib/);
    await readers.getByLabel("Add a member to readers").fill("mona");
    await readers.getByRole("button", { name: "Add member to readers" }).click();
    await page.waitForURL(/done=member-added/);
    assert.match(await notice(), /mona is a member of readers now/);
    assert.deepEqual((await s.rt.catalog.getAccount(ORG))?.groups, [{ name: "readers", permission: "read", packages: ["shared-lib"], members: ["mona"] }]);

    // the group's edit form opens from the keyboard
    await page.getByText("Change the permission or packages").focus();
    await page.keyboard.press("Enter");
    assert.ok(await page.getByRole("article", { name: /readers/ }).getByRole("checkbox", { name: "shared-lib" }).isChecked());
    await accessible("an organization with a group, its edit form open");
    await mkdir(DOCS, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${DOCS}web-organization.png`, fullPage: true });
  });

  test("the member finds the group, makes a token on the Tokens page, and rattler sees that package and nothing else", async () => {
    await page.locator("details.profile > summary").click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/\?tab=signin/);
    await signIn("mona");

    await tool("Group Membership");
    assert.match((await page.getByRole("row", { name: new RegExp(ORG) }).textContent()) ?? "", /vera-lab\s*readers\s*read.*shared-lib/);
    await accessible("Group Membership");
    await page.getByRole("link", { name: ORG }).click();
    await page.waitForURL(`${s.url}/organizations/${ORG}`);
    assert.match((await page.locator("main").textContent()) ?? "", /you are a member/);
    assert.equal(await page.locator("main form").count(), 0, "a member gets no form");
    await accessible("an organization, as a member sees it");

    await page.goto(`${s.url}/settings/mona/tokens`);
    await page.getByLabel("Name").fill("lab-laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    token = await page.locator("#new-token-value").inputValue();
    assert.match(token, /^pkg-[A-Za-z0-9]{40}$/);

    const channel = `${s.url}/t/${token}/${ORG}`;
    const solved = await simpleSolve(["shared-lib"], [channel], PLATFORMS, undefined);
    assert.deepEqual(solved.map((r) => r.packageName), ["shared-lib"]);
    await assert.rejects(simpleSolve(["secret-app"], [channel], PLATFORMS, undefined), "the other private package does not exist for her");
    await assert.rejects(simpleSolve(["shared-lib"], [`${s.url}/${ORG}`], PLATFORMS, undefined), "nor that one without the token");
    const index = (await (await fetch(`${channel}/linux-64/repodata.json`)).json()) as { packages: Record<string, { name: string }>; "packages.conda": Record<string, { name: string }> };
    const names = [...Object.values(index.packages), ...Object.values(index["packages.conda"] ?? {})].map((p) => p.name);
    assert.deepEqual([...new Set(names)], ["shared-lib"], "her index lists that package only");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => {
    const ours = seen.filter((r) => r.url().startsWith(s.url));
    assert.ok(ours.length >= 8, `pages seen: ${ours.length}`);
    for (const r of ours) assert.equal(r.headers()["content-security-policy"], CONTENT_SECURITY_POLICY, r.url());
    assert.deepEqual(
      b.console.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
    );
  });
});
