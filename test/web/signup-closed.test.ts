// A gateway whose sign-up is closed (SIGNUP=admin) behind a TLS-ending proxy it trusts
// (TRUST_PROXY): the Sign Up tab says to ask an administrator and its form makes no account;
// the cookies are Secure when the proxy says the browser came over https, and only then.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { startWebStack, textOf, WebClient } from "./client.js";

describe("sign-up closed, behind a TLS proxy", () => {
  let s: Stack;

  before(async () => {
    s = await startWebStack({ env: { SIGNUP: "admin", TRUST_PROXY: "127.0.0.1" } });
  });
  after(() => s.stop());

  test("the Sign Up tab says to ask an administrator, has no form, and its form's address makes no account", async () => {
    const browser = new WebClient(s.url);
    const home = await browser.page("/");
    assert.equal(home.status, 200);
    assert.match(home.html, /<a href="\/\?tab=signin" aria-current="page">/, "Sign In is the tab shown first");
    const tab = await browser.page("/?tab=signup");
    assert.match(textOf(tab.html), /New accounts on this server are created by an administrator\. Ask your administrator for a user name and password, then sign in\./);
    assert.doesNotMatch(tab.html, /action="\/account\/signup"/, "no Sign Up form");
    const res = await browser.post("/account/signup", { username: "ivy", email: "ivy@example.com", password: "ivy-password", confirm: "ivy-password", terms: "accepted" }, { from: "/?tab=signin" });
    assert.equal(res.status, 403);
    assert.match(textOf(await res.text()), /created by an administrator: ask yours/);
    assert.equal(await s.rt.catalog.getAccount("ivy"), null);
  });

  test("cookies are Secure when the trusted proxy says https, not when it says http", async () => {
    const over = async (proto: string) => (await fetch(`${s.url}/`, { headers: { "x-forwarded-proto": proto } })).headers.getSetCookie().find((c) => c.startsWith("pkgate_csrf="));
    assert.match((await over("https")) ?? "", /; Secure/);
    assert.doesNotMatch((await over("http")) ?? "missing", /Secure|missing/);
  });
});
