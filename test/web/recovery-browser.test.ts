// Password recovery and account settings in a real browser (Debian's chromium through
// playwright-core), with a real SMTP server catching the mail: from the Sign In tab's "I
// forgot my password" to a mailed link that sets a new password once (the code gone from
// the address bar), and not after 24 hours; "I forgot my username"; the settings page
// changing the email and the password, which signs out another browser (a cookie jar) and
// keeps this one; a settings form posted from another origin refused. axe-core finds nothing
// serious or critical on any of these pages, and none needs an inline script or style.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { axeFindings, openBrowser, type Browser } from "./chromium.js";
import { foreignPage, startMailbox, startPages, signUpUser, linkIn, Jar, type Mailbox, type Pages } from "./recovery-harness.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";
import { RESET_LINK_SECONDS } from "../../src/web/recovery.js";

const USER = "hal";

describe("recovery and settings in Chromium", () => {
  let mail: Mailbox;
  let pages: Pages;
  let b: Browser;
  let page: Page;

  before(async () => {
    mail = await startMailbox();
    pages = await startPages({ smtpUrl: mail.url });
    await signUpUser(pages, USER, "hal-password-1");
    b = await openBrowser();
    page = b.page;
    page.on("response", (r) => {
      if (r.request().resourceType() === "document" && r.url().startsWith(pages.url)) {
        assert.equal(r.headers()["content-security-policy"], CONTENT_SECURITY_POLICY, r.url());
      }
    });
  });
  after(async () => {
    await b?.close();
    await pages?.stop();
    await mail?.stop();
  });

  async function accessible(what: string): Promise<void> {
    const findings = await axeFindings(page);
    assert.deepEqual(findings, [], `${what}: axe-core found ${findings.map((f) => `${f.id} (${f.impact}): ${f.help} at ${f.nodes.join(" ")}`).join("; ")}`);
  }

  async function askForLink(who: string): Promise<void> {
    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByRole("link", { name: "I forgot my password" }).click();
    await page.waitForURL(`${pages.url}/account/forgot-password`);
    await page.getByLabel("Username or email").fill(who);
    await page.getByRole("button", { name: "Mail me a reset link" }).click();
    await page.waitForURL(`${pages.url}/account/forgot-password?sent`);
  }

  test("I forgot my password: the mailed link sets a new password once", async () => {
    await askForLink(USER);
    assert.match((await page.getByRole("status").textContent()) ?? "", /on its way/);
    await accessible("forgot password, sent");
    const link = linkIn(await mail.next("hal@example.com"));

    const res = await page.goto(link);
    assert.equal(res?.status(), 200);
    assert.equal(page.url(), `${pages.url}/account/reset`, "the code is no longer in the address bar");
    assert.match((await page.locator("main").textContent()) ?? "", /For the account hal/);
    await accessible("choose a new password");
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
    await accessible("a used link");

    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill("hal-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Wrong username or password/, "the old password");
    await page.getByLabel("Password").fill("hal-password-2");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${pages.url}/dashboard/${USER}`);
  });

  test("a link past its 24 hours says so", async () => {
    await page.context().clearCookies();
    await askForLink("hal@example.com");
    const link = linkIn(await mail.next("hal@example.com"));
    const day = (RESET_LINK_SECONDS + 60) * 1000;
    pages.advance(day);
    try {
      const res = await page.goto(link);
      assert.equal(res?.status(), 410);
      assert.match((await page.getByRole("alert").textContent()) ?? "", /expired/);
      await accessible("an expired link");
    } finally {
      // back to the clock the catalog's tokens are made on
      pages.advance(-day);
    }
  });

  test("I forgot my username: the name is mailed", async () => {
    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByRole("link", { name: "I forgot my username" }).click();
    await accessible("forgot username");
    await page.getByLabel("Email").fill("HAL@example.com");
    await page.getByRole("button", { name: "Mail my username" }).click();
    await page.waitForURL(/forgot-username\?sent/);
    const sent = await mail.next("hal@example.com");
    assert.equal(sent.subject, "Your pkgate username");
    assert.match(sent.text, /\n {2}hal\n/);
  });

  test("account settings: the email, then the password, which signs out the other browser and keeps this one", async () => {
    await page.context().clearCookies();
    await page.goto(`${pages.url}/?tab=signin`);
    await page.getByLabel("Username").fill(USER);
    await page.getByLabel("Password").fill("hal-password-2");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${pages.url}/dashboard/${USER}`);
    const other = new Jar(pages.base, "192.0.2.200");
    assert.equal((await other.signIn(USER, "hal-password-2")).status, 303);

    await page.goto(`${pages.url}/settings/${USER}/account`);
    await accessible("account settings");
    const email = page.getByRole("region", { name: "Email" });
    await email.getByLabel("Email").fill("hal@new.example");
    await email.getByLabel("Current password").fill("hal-password-2");
    await email.getByRole("button", { name: "Change email" }).click();
    await page.waitForURL(/saved=email/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /Your email is now hal@new.example/);
    assert.match((await mail.next("hal@example.com")).text, /email address was changed/);

    const password = page.getByRole("region", { name: "Password" });
    await password.getByLabel("Current password").fill("wrong-password");
    await password.getByLabel("New password", { exact: true }).fill("hal-password-4");
    await password.getByLabel("Confirm new password").fill("hal-password-4");
    await password.getByRole("button", { name: "Change password" }).click();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /the current password is wrong/);
    await accessible("account settings, refused");
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
    assert.match((await mail.next("hal@new.example")).text, /its password was changed/);
  });

  test("a settings form posted from another origin is refused, even carrying the form's own token", async () => {
    await page.goto(`${pages.url}/settings/${USER}/account`);
    const formToken = await page.locator("input[name=_csrf]").first().inputValue();
    const evil = await foreignPage(`<!doctype html><title>win a prize</title>
<form method="post" action="${pages.url}/settings/${USER}/account/email">
<input name="_csrf" value="${formToken}"><input name="email" value="mallory@evil.example"><input name="current" value="hal-password-4">
<button>claim</button></form>`);
    try {
      await page.goto(evil.url);
      const [res] = await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "claim" }).click()]);
      assert.equal(res?.status(), 403);
      assert.match((await page.locator("main").textContent()) ?? "", /not sent from pkgate's own page/);
    } finally {
      evil.close();
    }
    assert.equal((await pages.catalog.requireAccount(USER)).email, "hal@new.example");
  });

  test("no page needed an inline script or style", () => {
    assert.deepEqual(
      b.console.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
    );
  });
});
