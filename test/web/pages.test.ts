// The web pages over HTTP, without a browser: sign-in counts against the API login's own
// throttle (one set of counters), sign-out ends a session on another replica too (which
// opens it with the key both read from the store), the static files are cached for good,
// and the gate, the API and conda's paths answer as before.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { CONTENT_SECURITY_POLICY, PAGE_ROOTS } from "../../src/web/index.js";
import { ASSETS } from "../../src/web/assets.js";
import { apiLogin, apiToken, startWebStack, textOf, WebClient } from "./client.js";

describe("web pages over HTTP", () => {
  let s: Stack;

  before(async () => {
    s = await startWebStack({ users: ["erin", "finn", "gail"] });
  });
  after(() => s.stop());

  test("sign-in through the page and login through the API count against one throttle", async () => {
    const page = new WebClient(s.url);
    // five wrong passwords in the page use up erin's attempts...
    for (let i = 0; i < 5; i++) assert.equal((await page.attemptSignIn("erin", `wrong ${i}`)).status, 401);
    // ...so the API refuses even the right one, and the page refuses the next one
    const api = await apiLogin(s.url, "erin", "erin-password");
    assert.equal(api.status, 429);
    const refused = await page.attemptSignIn("erin", "erin-password");
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    assert.match(await refused.text(), /too many wrong passwords/i);
    // and the other way round: wrong passwords through the API close the page's door
    for (let i = 0; i < 5; i++) {
      const r = await apiLogin(s.url, "finn", `wrong ${i}`);
      assert.equal(r.status, 401);
    }
    assert.equal((await new WebClient(s.url).attemptSignIn("finn", "finn-password")).status, 429);
  });

  test("signed out on one replica, the session is refused on another (which opens it with the same stored key)", async () => {
    const replica = await s.spawnReplica();
    try {
      const browser = new WebClient(s.url);
      const signedIn = await browser.attemptSignIn("gail", "gail-password");
      assert.equal(signedIn.status, 303);
      assert.equal(signedIn.headers.get("location"), "/dashboard/gail");
      const cookie = browser.cookies.get("pkgate_session");
      assert.ok(cookie);
      // the same cookie, taken to the other replica
      const there = new WebClient(replica.url);
      there.cookies.set("pkgate_session", cookie);
      assert.equal((await there.get("/dashboard/gail")).status, 200);
      const token = await browser.formToken("/dashboard/gail");
      assert.equal((await browser.post("/account/signout", {}, { token })).status, 303);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 3000) {
        there.cookies.set("pkgate_session", cookie);
        status = (await there.get("/dashboard/gail")).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 303, "the other replica sends the browser to sign in");
      assert.ok(Date.now() - started < 2000, `refused within 2 s (${Date.now() - started} ms)`);
    } finally {
      await replica.stop();
    }
  });

  test("a cookie that is not one of ours is nobody, and the session cookie is HttpOnly and SameSite=Lax", async () => {
    const res = await fetch(`${s.url}/dashboard/gail`, { redirect: "manual", headers: { cookie: "pkgate_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC" } });
    assert.equal(res.status, 303);
    assert.match(res.headers.getSetCookie().join("\n"), /pkgate_session=;/, "the bad cookie is cleared");
    const browser = new WebClient(s.url);
    const signedIn = await browser.attemptSignIn("gail", "gail-password");
    const set = signedIn.headers.getSetCookie().find((c) => c.startsWith("pkgate_session="))!;
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Lax/);
    assert.match(set, /Max-Age=3600/);
    assert.doesNotMatch(set, /Secure/, "plain HTTP here");
  });

  test("a form without its token, or from another origin, is refused", async () => {
    const browser = new WebClient(s.url);
    await browser.signIn("gail", "gail-password");
    const token = await browser.formToken("/settings/gail/tokens");
    const cases: [string, Record<string, string>, { origin?: string; token?: string }][] = [
      ["no token", {}, { token: "" }],
      ["another session's token", {}, { token: await new WebClient(s.url).formToken() }],
      ["another origin", {}, { token, origin: "https://evil.example" }],
    ];
    for (const [what, extra, opts] of cases) {
      const res = await browser.post("/settings/gail/tokens", { name: "x", scopes: "all", ...extra }, opts);
      assert.equal(res.status, 403, what);
      assert.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    }
    assert.equal((await s.rt.catalog.listTokens("gail")).filter((t) => t.name === "x").length, 0);
    const ok = await browser.post("/settings/gail/tokens", { name: "x", scopes: "conda:download" }, { token });
    assert.equal(ok.status, 200);
  });

  test("another user's tokens page: refused, or, where nothing of theirs is visible, missing", async () => {
    const browser = new WebClient(s.url);
    await browser.signIn("gail", "gail-password");
    // authorize()'s rule, as at every door: a channel whose content is visible says no...
    const visible = await browser.get("/settings/finn/tokens");
    assert.equal(visible.status, 403);
    assert.match(await visible.text(), /gail may not manage the tokens of finn/);
    // ...one whose content is hidden is answered exactly as one that does not exist
    await s.rt.catalog.setChannelPrivacy("erin", "private");
    const hidden = await browser.get("/settings/erin/tokens");
    const nobody = await browser.get("/settings/no-such-user/tokens");
    assert.equal(hidden.status, 404);
    assert.equal(nobody.status, 404);
    assert.equal((await hidden.text()).replace(/erin/g, "X"), (await nobody.text()).replace(/no-such-user/g, "X"));
    assert.equal((await browser.get("/settings/gail/tokens")).status, 200);
  });

  test("an organization's admin switches to it in the Profile menu and makes its tokens", async () => {
    const bearer = await apiToken(s.url, "gail", "gail-password");
    const org = await fetch(`${s.url}/api/orgs`, { method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body: JSON.stringify({ name: "gail-lab" }) });
    assert.equal(org.status, 201);
    const browser = new WebClient(s.url);
    await browser.signIn("gail", "gail-password");
    const dashboard = await (await browser.get("/dashboard/gail")).text();
    assert.match(dashboard, /<a href="\/dashboard\/gail-lab"><span>gail-lab<\/span><span class="kind">organization<\/span><\/a>/, "the Profile menu offers the organization");
    const orgPage = await (await browser.get("/dashboard/gail-lab")).text();
    assert.match(orgPage, /<span class="visually-hidden">Profile: <\/span><span>gail-lab<\/span>/, "and names it once switched to");
    const token = await browser.formToken("/settings/gail-lab/tokens");
    const created = await browser.post("/settings/gail-lab/tokens", { name: "ci", scopes: "conda:download" }, { token });
    assert.equal(created.status, 200);
    const listed = (await s.rt.catalog.listTokens("gail-lab")).find((t) => t.name === "ci");
    assert.equal(listed?.createdBy, "gail");
    const page = await (await browser.get("/settings/gail-lab/tokens")).text();
    assert.match(page, /created by gail/);
    assert.doesNotMatch(page, /Signed-in browsers/, "an organization has no sessions");
  });

  test("the Sign Up form: the password twice, at least 7 characters, the terms accepted; then signed in on the Dashboard", async () => {
    const fields = { username: "hana", email: "hana@example.com", password: "hana-pw1", confirm: "hana-pw1", terms: "accepted" };
    const refused: [string, Record<string, string>, RegExp][] = [
      ["6 characters", { password: "hana-p", confirm: "hana-p" }, /at least 7 characters/],
      ["the passwords differ", { confirm: "hana-pw2" }, /The two passwords differ/],
      ["the terms not accepted", { terms: "" }, /Accept the Terms and Conditions/],
      ["a name the API refuses", { username: "Hana!" }, /username/i],
    ];
    for (const [what, change, words] of refused) {
      const res = await new WebClient(s.url).post("/account/signup", { ...fields, ...change });
      assert.equal(res.status, 400, what);
      const html = await res.text();
      assert.match(textOf(html), words, what);
      assert.match(html, /value="hana@example.com"/, `${what}: what was typed is kept`);
      assert.doesNotMatch(html, /hana-p/, `${what}: never a password`);
    }
    assert.equal(await s.rt.catalog.getAccount("hana"), null, "no account was made");
    const browser = new WebClient(s.url);
    const res = await browser.post("/account/signup", fields);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/dashboard/hana");
    assert.equal((await browser.follow(res)).status, 200, "signed in");
  });

  test("a token made in the page holds no more than the API would give", async () => {
    const browser = new WebClient(s.url);
    await browser.signIn("hana", "hana-pw1");
    const token = await browser.formToken("/settings/hana/tokens");
    const day = (days: number) => new Date(Date.now() + days * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const refused: [string, Record<string, string>, RegExp][] = [
      ["an expiry past TOKEN_MAX_AGE (a year)", { expires: day(400) }, new RegExp(`${day(365)} at the latest`)],
      ["an expiry in the past", { expires: day(-1) }, /a day in the future/],
      ["a scope that does not exist", { scopes: "root" }, /scope/],
    ];
    for (const [what, change, words] of refused) {
      const res = await browser.post("/settings/hana/tokens", { name: "too-much", scopes: "conda:download", ...change }, { token });
      assert.equal(res.status, 400, what);
      assert.match(textOf(await res.text()), words, what);
    }
    assert.ok(!(await s.rt.catalog.listTokens("hana")).some((t) => t.name === "too-much"), "no token was made");
    // the form's own default: one year
    const made = await browser.post("/settings/hana/tokens", { name: "a-year", scopes: "conda:download", expires: day(365) }, { token });
    assert.equal(made.status, 200);
    const record = (await s.rt.catalog.listTokens("hana")).find((t) => t.name === "a-year")!;
    assert.ok(Math.abs(Date.parse(record.expiresAt) - (Date.now() + 365 * 24 * 3600 * 1000)) < 60_000, `one year: ${record.expiresAt}`);
    // an organization's tokens are its admins' to make: a user who is none is refused, as by the API
    const bearer = await apiToken(s.url, "gail", "gail-password");
    assert.equal((await fetch(`${s.url}/api/orgs`, { method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body: JSON.stringify({ name: "gail-team" }) })).status, 201);
    const theirs = await browser.post("/settings/gail-team/tokens", { name: "mine-now", scopes: "all" }, { token });
    assert.equal(theirs.status, 403);
    assert.match(textOf(await theirs.text()), /hana may not manage the tokens of gail-team/);
    assert.deepEqual(await s.rt.catalog.listTokens("gail-team"), []);
  });

  test("the stylesheet and the script are cached for a year under their content hash", async () => {
    for (const asset of Object.values(ASSETS)) {
      const res = await fetch(`${s.url}/static/${asset.name}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(res.headers.get("content-type"), asset.contentType);
      const again = await fetch(`${s.url}/static/${asset.name}`, { headers: { "if-none-match": res.headers.get("etag")! } });
      assert.equal(again.status, 304);
    }
    assert.equal((await fetch(`${s.url}/static/style.000000000000.css`)).status, 404);
  });

  test("the pages' names are theirs, and conda, pip and the API answer as before", async () => {
    for (const root of PAGE_ROOTS) {
      const res = await fetch(`${s.url}/${root}/a/b/c/d`, { redirect: "manual" });
      assert.equal(res.status, 404, root);
      assert.match(res.headers.get("content-type") ?? "", /text\/html/, root);
      const signup = await fetch(`${s.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: root, email: "x@example.com", password: "long enough" }) });
      assert.equal(signup.status, 400, `no account can be named ${root}`);
    }
    // the gate's own answers for a channel, the API's for its paths
    const conda = await fetch(`${s.url}/gail/linux-64/repodata.json`);
    assert.equal(conda.status, 404);
    assert.match(conda.headers.get("content-type") ?? "", /json/);
    assert.equal(conda.headers.get("content-security-policy"), null, "conda's paths are not pages");
    const pypi = await fetch(`${s.url}/gail/simple/`, { headers: { accept: "text/html" } });
    assert.ok(pypi.status === 200 || pypi.status === 404);
    assert.equal(pypi.headers.get("content-security-policy"), null, "PyPI's paths are not pages");
    const api = await fetch(`${s.url}/api/openapi.json`);
    assert.equal(api.status, 200);
    assert.equal(api.headers.get("content-security-policy"), null, "the API is not a page");
  });
});
