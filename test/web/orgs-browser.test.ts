// The organization pages in a real browser (Debian's chromium through playwright-core)
// against a real gateway, end to end: a user creates an organization from the Tools menu,
// makes its channel private, creates a group with read on one package and adds a member;
// the member finds the group under Group Membership, makes their own conda:download token on
// the Tokens page, and conda's solver (rattler) resolves that package with it, and nothing
// else of the organization. axe-core finds nothing serious or critical on any of the pages,
// with the group's edit form open too; every page carries the Content-Security-Policy.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { chromiumTab } from "./chromium.js";
import { solve, startWebStack } from "./client.js";

const PASSWORD = "correct horse 7";
const ORG = "vera-lab";

describe("the organization pages in Chromium", () => {
  let s: Stack;
  const tab = chromiumTab(async () => (s = await startWebStack({ users: ["vera", "mona"], password: PASSWORD })));

  const notice = async () => ((await tab.page.getByRole("status").textContent()) ?? "").trim();

  test("create an organization from the Tools menu: its creator is its admin", async () => {
    const { page } = tab;
    await tab.signIn("vera", PASSWORD);
    await tab.tool("Organizations");
    assert.equal(page.url(), `${s.url}/organizations`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Organizations");
    await tab.accessible("Organizations, none yet");
    await page.getByLabel("Name").fill(ORG);
    await page.getByRole("button", { name: "Create organization" }).click();
    await page.waitForURL(`${s.url}/organizations/${ORG}?done=created`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), ORG);
    assert.match(await notice(), /created, with you as its admin/);
    assert.match((await page.locator("details.profile > summary").textContent()) ?? "", new RegExp(ORG), "the Profile menu names the organization");
    assert.deepEqual((await s.rt.catalog.getAccount(ORG))?.admins, ["vera"]);
    await tab.accessible("an organization, just created");
  });

  test("its channel made private, a group with read on one package, and a member", async () => {
    const { page } = tab;
    await s.seedConda({ channel: ORG, subdirs: ["linux-64"], packages: [{ name: "shared-lib", version: "1.0", subdir: "linux-64" }, { name: "secret-app", version: "2.0", subdir: "linux-64" }] });
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
    await tab.accessible("the create-group form, filled in");
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
    await tab.accessible("an organization with a group, its edit form open");
    await tab.shot("web-organization");
  });

  test("the member finds the group, makes a token on the Tokens page, and rattler sees that package and nothing else", async () => {
    const { page } = tab;
    await tab.signOut();
    await tab.signIn("mona", PASSWORD);

    await tab.tool("Group Membership");
    assert.match((await page.getByRole("row", { name: new RegExp(ORG) }).textContent()) ?? "", /vera-lab\s*readers\s*read.*shared-lib/);
    await tab.accessible("Group Membership");
    await page.getByRole("link", { name: ORG }).click();
    await page.waitForURL(`${s.url}/organizations/${ORG}`);
    assert.match((await page.locator("main").textContent()) ?? "", /you are a member/);
    assert.equal(await page.locator("main form").count(), 0, "a member gets no form");
    await tab.accessible("an organization, as a member sees it");

    await page.goto(`${s.url}/settings/mona/tokens`);
    const token = await tab.makeToken("lab-laptop");

    const channel = `${s.url}/t/${token}/${ORG}`;
    const solved = await solve(["shared-lib"], channel);
    assert.deepEqual(solved.map((r) => r.packageName), ["shared-lib"]);
    await assert.rejects(solve(["secret-app"], channel), "the other private package does not exist for her");
    await assert.rejects(solve(["shared-lib"], `${s.url}/${ORG}`), "nor that one without the token");
    const index = (await (await fetch(`${channel}/linux-64/repodata.json`)).json()) as { packages: Record<string, { name: string }>; "packages.conda": Record<string, { name: string }> };
    const names = [...Object.values(index.packages), ...Object.values(index["packages.conda"] ?? {})].map((p) => p.name);
    assert.deepEqual([...new Set(names)], ["shared-lib"], "her index lists that package only");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => tab.assertPagesGuarded(8));
});
