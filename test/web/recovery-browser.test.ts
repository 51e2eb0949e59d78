// Password recovery and account settings in a real browser (Debian's chromium through
// playwright-core), with a real SMTP server catching the mail: from the Sign In tab's "I
// forgot my password" to a mailed link that sets a new password once (the code gone from
// the address bar), and not after 24 hours; "I forgot my username"; the settings page
// changing the email and the password, which signs out another browser (a cookie jar) and
// keeps this one; a settings form posted from another origin refused. axe-core finds nothing
// serious or critical on any of these pages, and none needs an inline script or style.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chromiumTab } from "./chromium.js";
import { WebClient } from "./client.js";
import { startMailedPages, linkIn, type MailedPages } from "./recovery-harness.js";
import { RESET_LINK_SECONDS } from "../../src/web/recovery.js";

const USER = "hal";

describe("recovery and settings in Chromium", () => {
  let pages: MailedPages;
  const tab = chromiumTab(async () => (pages = await startMailedPages([[USER, "hal-password-1"]])));

  async function askForLink(who: string): Promise<void> {
    const { page } = tab;
    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByRole("link", { name: "I forgot my password" }).click();
    await page.waitForURL(`${pages.url}/account/forgot-password`);
    await page.getByLabel("Username or email").fill(who);
    await page.getByRole("button", { name: "Mail me a reset link" }).click();
    await page.waitForURL(`${pages.url}/account/forgot-password?sent`);
  }

  test("I forgot my password: the mailed link sets a new password once", async () => {
    const { page } = tab;
    await askForLink(USER);
    assert.match((await page.getByRole("status").textContent()) ?? "", /on its way/);
    await tab.accessible("forgot password, sent");
    const link = linkIn(await pages.mail.next("hal@example.com"));

    const res = await page.goto(link);
    assert.equal(res?.status(), 200);
    assert.equal(page.url(), `${pages.url}/account/reset`, "the code is no longer in the address bar");
    assert.match((await page.locator("main").textContent()) ?? "", /For the account hal/);
    await tab.accessible("choose a new password");
    await page.getByLabel("New password", { exact: true }).fill("hal-password-2");
    await page.getByLabel("Confirm new password").fill("hal-password-3");
    await page.getByRole("button", { name: "Set the new password" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /the two passwords differ/);
    await page.getByLabel("New password", { exact: true }).fill("hal-password-2");
    await page.getByLabel("Confirm new password").fill("hal-password-2");
    await page.getByRole("button", { name: "Set the new password" }).click();
    await page.waitForURL(/\/\?tab=signin&reset/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /Your new password is set/);

    const again = await page.goto(link);
    assert.equal(again?.status(), 410, "a second time, the link is dead");
    assert.match((await page.getByRole("alert").textContent()) ?? "", /used already/);
    await tab.accessible("a used link");

    await page.goto(`${pages.url}/?tab=signin`);
    await tab.submitSignIn("hal-password-1", USER);
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Wrong username or password/, "the old password");
    await tab.submitSignIn("hal-password-2");
    await page.waitForURL(`${pages.url}/dashboard/${USER}`);
  });

  test("a link past its 24 hours says so", async () => {
    const { page } = tab;
    await page.context().clearCookies();
    await askForLink("hal@example.com");
    const link = linkIn(await pages.mail.next("hal@example.com"));
    const day = (RESET_LINK_SECONDS + 60) * 1000;
    pages.advance(day);
    try {
      const res = await page.goto(link);
      assert.equal(res?.status(), 410);
      assert.match((await page.getByRole("alert").textContent()) ?? "", /expired/);
      await tab.accessible("an expired link");
    } finally {
      // back to the clock the catalog's tokens are made on
      pages.advance(-day);
    }
  });

  test("I forgot my username: the name is mailed", async () => {
    const { page } = tab;
    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByRole("link", { name: "I forgot my username" }).click();
    await tab.accessible("forgot username");
    await page.getByLabel("Email").fill("HAL@example.com");
    await page.getByRole("button", { name: "Mail my username" }).click();
    await page.waitForURL(/forgot-username\?sent/);
    const sent = await pages.mail.next("hal@example.com");
    assert.equal(sent.subject, "Your pkgate username");
    assert.match(sent.text, /\n {2}hal\n/);
  });

  test("account settings: the email, then the password, which signs out the other browser and keeps this one", async () => {
    const { page } = tab;
    await page.context().clearCookies();
    await tab.signIn(USER, "hal-password-2");
    const other = new WebClient(pages.base, "192.0.2.200");
    assert.equal((await other.attemptSignIn(USER, "hal-password-2")).status, 303);

    await page.goto(`${pages.url}/settings/${USER}/account`);
    await tab.accessible("account settings");
    const email = page.getByRole("region", { name: "Email" });
    await email.getByLabel("Email").fill("hal@new.example");
    await email.getByLabel("Current password").fill("hal-password-2");
    await email.getByRole("button", { name: "Change email" }).click();
    await page.waitForURL(/saved=email/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /Your email is now hal@new.example/);
    assert.match((await pages.mail.next("hal@example.com")).text, /email address was changed/);

    const password = page.getByRole("region", { name: "Password" });
    await password.getByLabel("Current password").fill("wrong-password");
    await password.getByLabel("New password", { exact: true }).fill("hal-password-4");
    await password.getByLabel("Confirm new password").fill("hal-password-4");
    await password.getByRole("button", { name: "Change password" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /the current password is wrong/);
    await tab.accessible("account settings, refused");
    assert.equal((await other.get(`/dashboard/${USER}`)).status, 200, "nothing ended yet");
    await password.getByLabel("Current password").fill("hal-password-2");
    await password.getByLabel("New password", { exact: true }).fill("hal-password-4");
    await password.getByLabel("Confirm new password").fill("hal-password-4");
    await password.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL(/saved=password/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /Your password is changed/);

    const res = await page.goto(`${pages.url}/dashboard/${USER}`);
    assert.equal(res?.status(), 200, "this browser is still signed in");
    const ended = await other.get(`/dashboard/${USER}`);
    assert.equal(ended.status, 303, "the other browser is signed out");
    assert.match((await pages.mail.next("hal@new.example")).text, /its password was changed/);
  });

  test("a settings form posted from another origin is refused, even carrying the form's own token", async () => {
    await tab.assertForeignFormRefused(`/settings/${USER}/account`, `/settings/${USER}/account/email`, { email: "mallory@evil.example", current: "hal-password-4" });
    assert.equal((await pages.catalog.requireAccount(USER)).email, "hal@new.example");
  });

  test("every page carried the Content-Security-Policy, and none needed an inline script or style", () => tab.assertPagesGuarded(15));
});
