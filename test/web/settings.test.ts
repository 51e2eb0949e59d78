// Account settings over HTTP: the page is the signed-in user's own; the email and the
// password change only with the current password (the API's check, under the login
// throttle); a password change ends every other web session, on this replica and another,
// and keeps this one; the old address and the address of record are told by mail; a form
// from elsewhere is refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startMailedPages, sleep, type MailedPages } from "./recovery-harness.js";
import { apiLogin, apiToken, WebClient } from "./client.js";

const PAGE = "/settings/fay/account";

describe("account settings", () => {
  let pages: MailedPages;

  before(async () => {
    pages = await startMailedPages([["fay", "fay-password-1"], ["gus", "gus-password-1"], ["hal", "hal-password-1"]]);
  });
  after(() => pages?.stop());

  test("the settings page is the signed-in user's own", async () => {
    const anonymous = new WebClient(pages.base);
    const away = await anonymous.get(PAGE);
    assert.equal(away.status, 303);
    assert.equal(away.headers.get("location"), `/?tab=signin&next=${encodeURIComponent(PAGE)}`);
    const fay = new WebClient(pages.base, "192.0.2.101");
    assert.equal((await fay.attemptSignIn("fay", "fay-password-1")).status, 303);
    const page = await fay.get(PAGE);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<h1>Account settings<\/h1>/);
    assert.match(html, /value="fay@example.com"/);
    const short = await fay.get("/settings/fay");
    assert.equal(short.headers.get("location"), PAGE);
    const other = await fay.get("/settings/gus/account");
    const missing = await fay.get("/settings/nobody-at-all/account");
    assert.equal(other.status, 403, "another user's settings: authorize()'s answer, as on the Tokens page");
    assert.equal(missing.status, 404);
  });

  test("the email changes with the current password only, and the old address is told", async () => {
    const fay = new WebClient(pages.base, "192.0.2.102");
    await fay.signIn("fay", "fay-password-1");
    const wrong = await fay.post(`${PAGE}/email`, { email: "fay@new.example", current: "not-it-at-all" }, { from: PAGE });
    assert.equal(wrong.status, 403);
    assert.match(await wrong.text(), /the current password is wrong/);
    const bad = await fay.post(`${PAGE}/email`, { email: "not an address", current: "fay-password-1" }, { from: PAGE });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid email/);
    assert.equal((await pages.catalog.requireAccount("fay")).email, "fay@example.com");

    const done = await fay.post(`${PAGE}/email`, { email: "fay@new.example", current: "fay-password-1" }, { from: PAGE });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), `${PAGE}?saved=email`);
    assert.match(await (await fay.follow(done)).text(), /Your email is now fay@new.example/);
    assert.equal((await pages.catalog.requireAccount("fay")).email, "fay@new.example");
    const told = await pages.mail.next("fay@example.com");
    assert.match(told.text, /its email address was changed to fay@new.example/);
    // the API sees the same user
    const token = await apiToken(pages.base, "fay", "fay-password-1");
    const me = (await (await fetch(`${pages.base}/api/user`, { headers: { authorization: `Bearer ${token}` } })).json()) as { email: string };
    assert.equal(me.email, "fay@new.example");
  });

  test("the password changes with the current one; every other session ends, on every replica; this one stays", async () => {
    const here = new WebClient(pages.base, "192.0.2.103");
    const other = new WebClient(pages.base, "192.0.2.104");
    for (const jar of [here, other]) assert.equal((await jar.attemptSignIn("fay", "fay-password-1")).status, 303);
    const replica = await pages.replica();
    try {
      // the other browser's cookie, taken to another replica (its own caches, the same store)
      const there = new WebClient(replica.url, "192.0.2.105");
      there.cookies.set("pkgate_session", other.cookies.get("pkgate_session")!);
      assert.equal((await there.get("/dashboard/fay")).status, 200);

      const refusals: [Record<string, string>, number, RegExp][] = [
        [{ current: "fay-password-1", password: "fay-password-2", confirm: "fay-password-3" }, 400, /the two new passwords differ/],
        [{ current: "fay-password-1", password: "short", confirm: "short" }, 400, /at least 7 characters/],
        [{ current: "", password: "fay-password-2", confirm: "fay-password-2" }, 400, /type your current password/],
        [{ current: "not-it-at-all", password: "fay-password-2", confirm: "fay-password-2" }, 403, /the current password is wrong/],
      ];
      for (const [fields, status, message] of refusals) {
        const res = await here.post(`${PAGE}/password`, fields, { from: PAGE });
        assert.equal(res.status, status, JSON.stringify(fields));
        assert.match(await res.text(), message);
      }
      assert.equal((await other.get("/dashboard/fay")).status, 200, "a refused change ends nothing");

      const done = await here.post(`${PAGE}/password`, { current: "fay-password-1", password: "fay-password-2", confirm: "fay-password-2" }, { from: PAGE });
      assert.equal(done.status, 303);
      assert.match(await (await here.follow(done)).text(), /Every other browser signed in to your account is signed out/);
      assert.equal((await here.get("/dashboard/fay")).status, 200, "this browser stays signed in");
      const ended = await other.get("/dashboard/fay");
      assert.equal(ended.status, 303, "the other browser is signed out");
      assert.match(ended.headers.get("location") ?? "", /tab=signin/);
      let status = 200;
      for (const until = Date.now() + 3000; status === 200 && Date.now() < until; await sleep(50)) {
        there.cookies.set("pkgate_session", other.cookies.get("pkgate_session") ?? there.cookies.get("pkgate_session")!);
        status = (await there.get("/dashboard/fay")).status;
      }
      assert.equal(status, 303, "the other replica refuses the ended session too");
    } finally {
      await replica.stop();
    }
    assert.equal((await new WebClient(pages.base, "192.0.2.106").attemptSignIn("fay", "fay-password-1")).status, 401, "the old password");
    assert.equal((await new WebClient(pages.base, "192.0.2.106").attemptSignIn("fay", "fay-password-2")).status, 303, "the new password");
    const told = await pages.mail.next("fay@new.example");
    assert.match(told.text, /its password was changed/);
  });

  test("wrong current passwords count against the login throttle", async () => {
    const gus = new WebClient(pages.base, "192.0.2.107");
    await gus.signIn("gus", "gus-password-1");
    let last = 0;
    for (let i = 0; i < 6; i++) last = (await gus.post("/settings/gus/account/password", { current: `wrong ${i}`, password: "gus-password-2", confirm: "gus-password-2" }, { from: "/settings/gus/account" })).status;
    assert.equal(last, 429);
    const api = await apiLogin(pages.base, "gus", "gus-password-1");
    assert.equal(api.status, 429, "the API's login counts the same attempts");
  });

  test("a settings form from another origin, or without the form token, is refused", async () => {
    const fay = new WebClient(pages.base, "192.0.2.108");
    await fay.signIn("fay", "fay-password-2");
    const token = await fay.formToken(PAGE);
    const fields = { _csrf: token, current: "fay-password-2", password: "stolen-password", confirm: "stolen-password" };
    assert.equal((await fay.postRaw(`${PAGE}/password`, fields, "http://evil.example")).status, 403);
    assert.equal((await fay.postRaw(`${PAGE}/password`, { ...fields, _csrf: "" })).status, 403);
    assert.equal((await fay.postRaw(`${PAGE}/email`, { _csrf: "x", email: "evil@evil.example", current: "fay-password-2" })).status, 403);
    assert.equal((await new WebClient(pages.base, "192.0.2.109").attemptSignIn("fay", "fay-password-2")).status, 303, "nothing changed");
    assert.equal((await pages.catalog.requireAccount("fay")).email, "fay@new.example");
  });

  test("a password changed through the API (or the CLI) ends the user's web sessions too", async () => {
    const hal = new WebClient(pages.base, "192.0.2.110");
    await hal.signIn("hal", "hal-password-1");
    assert.equal((await hal.get("/settings/hal/account")).status, 200);
    const token = await apiToken(pages.base, "hal", "hal-password-1");
    const res = await fetch(`${pages.base}/api/users/hal/password`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ password: "hal-password-2", currentPassword: "hal-password-1" }),
    });
    assert.ok(res.ok, `the API changes the password: ${res.status}`);
    const after = await hal.get("/settings/hal/account");
    assert.equal(after.status, 303, "the browser's session ended with the change");
    assert.match(after.headers.get("location") ?? "", /tab=signin/);
    assert.ok((await apiLogin(pages.base, "hal", "hal-password-2")).ok, "the new password logs in");
  });
});
