// Password recovery over HTTP, with a real SMTP server catching the mail: "I forgot my
// password" mails a link that works once and for 24 hours (the pages' clock is moved), sets
// a password the next sign-in takes (and the old one no longer), and ends every web session;
// "I forgot my username" mails the names registered with an address; whatever is typed, the
// answer is the same; the limits hold; without SMTP_URL (or, for links, PUBLIC_URL) the pages
// say to ask an administrator; a form from elsewhere is refused; no link reaches a log line.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startMailedPages, startPages, settle, linkIn, type MailedPages } from "./recovery-harness.js";
import { WebClient } from "./client.js";
import { RECOVERY_LIMITS, RESET_LINK_SECONDS } from "../../src/web/recovery.js";

/** A response as far as a client can compare two: status, location, body, and the headers
 * that are not per request. */
async function answer(res: Response): Promise<{ status: number; location: string | null; body: string; headers: string[] }> {
  const varying = new Set(["date", "x-request-id", "set-cookie", "content-length"]);
  const headers = [...res.headers].filter(([k]) => !varying.has(k)).map(([k, v]) => `${k}: ${v}`);
  return { status: res.status, location: res.headers.get("location"), body: await res.text(), headers };
}

describe("password recovery by mail", () => {
  let pages: MailedPages;

  before(async () => {
    pages = await startMailedPages([
      ["ada", "ada-password-1"],
      ["bea", "bea-password-1", "shared@example.com"],
      ["bex", "bex-password-1", "Shared@Example.com"],
      ["cyd", "cyd-password-1"],
    ]);
  });
  after(() => pages?.stop());

  test("the mailed link sets a new password once: the new one signs in, the old one no longer, every session ends", async () => {
    const browser = new WebClient(pages.base, "192.0.2.10");
    assert.equal((await browser.attemptSignIn("ada", "ada-password-1")).status, 303, "ada has a session before");
    const asker = new WebClient(pages.base, "192.0.2.11");
    const form = await asker.get("/account/forgot-password");
    assert.equal(form.status, 200);
    assert.match(await form.text(), /Username or email/);
    const asked = await asker.post("/account/forgot-password", { who: "ada" }, { from: "/account/forgot-password" });
    assert.equal(asked.status, 303);
    assert.equal(asked.headers.get("location"), "/account/forgot-password?sent");
    assert.match(await (await asker.follow(asked)).text(), /on its way/);

    const sent = await pages.mail.next("ada@example.com");
    assert.equal(sent.subject, "Reset your pkgate password");
    const link = linkIn(sent);
    assert.ok(link.startsWith(`${pages.base}/account/reset/t/`), link);
    assert.match(sent.text, /works once, within 24 hours/);

    // the link, opened in two browsers (a second click, a forwarded mail)
    const [first, second] = [new WebClient(pages.base, "192.0.2.12"), new WebClient(pages.base, "192.0.2.13")];
    for (const jar of [first, second]) {
      const opened = await jar.get(link);
      assert.equal(opened.status, 303, "the code leaves the address bar at once");
      assert.equal(opened.headers.get("location"), "/account/reset");
      const page = await jar.follow(opened);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /For the account <strong>ada<\/strong>/);
    }
    const done = await first.post("/account/reset", { password: "ada-new-password", confirm: "ada-new-password" }, { from: "/account/reset" });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/?tab=signin&reset");
    assert.match(await (await first.follow(done)).text(), /Your new password is set/);

    // used: the second browser's form is refused, and the link opens a dead page
    const again = await second.post("/account/reset", { password: "mallory-password", confirm: "mallory-password" });
    assert.equal(again.status, 410);
    assert.match(await again.text(), /used already/);
    // a browser opening the used link gets the dead page; one that opened none, what to do
    const late = new WebClient(pages.base, "192.0.2.14");
    const deadPage = await late.follow(await late.get(link));
    assert.equal(deadPage.status, 410);
    assert.match(await deadPage.text(), /used already/);
    const none = await new WebClient(pages.base, "192.0.2.15").get("/account/reset");
    assert.equal(none.status, 400);
    assert.match(await none.text(), /Open the link from the mail/);

    assert.equal((await new WebClient(pages.base, "192.0.2.16").attemptSignIn("ada", "ada-password-1")).status, 401, "the old password");
    assert.equal((await new WebClient(pages.base, "192.0.2.16").attemptSignIn("ada", "mallory-password")).status, 401, "the refused second use set nothing");
    assert.equal((await new WebClient(pages.base, "192.0.2.16").attemptSignIn("ada", "ada-new-password")).status, 303, "the new password");
    const before = await browser.get("/dashboard/ada");
    assert.equal(before.status, 303, "the session from before the reset has ended");
    assert.match(before.headers.get("location") ?? "", /tab=signin/);

    const code = link.slice(link.lastIndexOf("/") + 1);
    assert.ok(!pages.logs.some((l) => l.includes(code)), "the link's code is in no log line");
    assert.ok(pages.logs.some((l) => l.includes('"path":"/account/reset/t/<token>"')), "the access log names the link's place, not its code");
  });

  test("a link works for 24 hours and not after", async () => {
    const asker = new WebClient(pages.base, "192.0.2.20");
    await asker.post("/account/forgot-password", { who: "cyd@example.com" }, { from: "/account/forgot-password" });
    const link = linkIn(await pages.mail.next("cyd@example.com"));
    const late = new WebClient(pages.base, "192.0.2.21");
    try {
      pages.advance((RESET_LINK_SECONDS - 60) * 1000);
      assert.equal((await late.follow(await late.get(link))).status, 200, "a minute before its end it works");
      pages.advance(2 * 60 * 1000);
      const page = await late.get("/account/reset");
      assert.equal(page.status, 410);
      assert.match(await page.text(), /expired/);
      const post = await late.post("/account/reset", { password: "cyd-new-password", confirm: "cyd-new-password" });
      assert.equal(post.status, 410);
    } finally {
      // back to the clock the catalog's tokens are made on
      pages.advance(-(RESET_LINK_SECONDS + 60) * 1000);
    }
    assert.equal((await new WebClient(pages.base, "192.0.2.22").attemptSignIn("cyd", "cyd-password-1")).status, 303, "the password is unchanged");
  });

  test("a link altered, or cut short, is not one", async () => {
    const asker = new WebClient(pages.base, "192.0.2.25");
    await asker.post("/account/forgot-password", { who: "cyd" }, { from: "/account/forgot-password" });
    const link = linkIn(await pages.mail.next("cyd@example.com"));
    // cyd's link made out to ada: the signature no longer fits
    const [head, payload, signature] = link.slice(link.lastIndexOf("/") + 1).split(".") as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "ada" })).toString("base64url");
    const elsewhere = `${pages.base}/account/reset/t/`;
    for (const bad of [link.slice(0, -3), `${elsewhere}${head}.${forged}.${signature}`, `${elsewhere}not-a-link`]) {
      const jar = new WebClient(pages.base, "192.0.2.26");
      const opened = await jar.get(bad);
      // what cannot be a code at all is answered at once; a code is opened on the reset page
      const page = opened.status === 303 ? await jar.follow(opened) : opened;
      assert.equal(page.status, 400, bad);
      assert.match(await page.text(), /not a reset link of this server/);
    }
  });

  test("forgot-username mails every name registered with the address, whatever its case", async () => {
    const asker = new WebClient(pages.base, "192.0.2.30");
    const page = await asker.get("/account/forgot-username");
    assert.match(await page.text(), /Mail my username/);
    const asked = await asker.post("/account/forgot-username", { who: "SHARED@example.com" }, { from: "/account/forgot-username" });
    assert.equal(asked.status, 303);
    assert.equal(asked.headers.get("location"), "/account/forgot-username?sent");
    const sent = await pages.mail.next("shared@example.com");
    assert.equal(sent.subject, "Your pkgate username");
    assert.match(sent.text, /accounts registered with this address .* are:\n\n {2}bea\n {2}bex\n/);
    assert.match(sent.text, new RegExp(`Sign in at ${pages.base}/\\?tab=signin`));
  });

  test("a name or address that exists and one that does not get the same answer, and only one gets mail", async () => {
    const cases = { password: ["ada", "nobody-here", "ada@example.com", "nobody@example.com"], username: ["ada@example.com", "nobody@example.com"] };
    for (const [what, typed] of Object.entries(cases)) {
      const asker = new WebClient(pages.base, `192.0.2.4${what === "password" ? 0 : 1}`);
      const token = await asker.formToken(`/account/forgot-${what}`);
      const answers = [];
      for (const who of typed) {
        const res = await asker.postRaw(`/account/forgot-${what}`, { _csrf: token, who });
        answers.push({ posted: await answer(res), page: await answer(await asker.follow(res)) });
      }
      for (const a of answers.slice(1)) assert.deepEqual(a, answers[0], `${what}: ${typed.join(" / ")}`);
    }
    await settle(pages);
    const toAda = pages.mail.drain("ada@example.com");
    assert.deepEqual(toAda.map((m) => m.subject).sort(), ["Reset your pkgate password", "Reset your pkgate password", "Your pkgate username"], "two reset links and a username for ada");
    assert.deepEqual(pages.mail.drain("nobody@example.com"), []);
  });

  test("mail bombing is bounded: links per account, requests per client", async () => {
    const limit = RECOVERY_LIMITS.account.max;
    for (let i = 0; i < limit + 2; i++) {
      const asker = new WebClient(pages.base, `198.51.100.${i + 1}`);
      assert.equal((await asker.post("/account/forgot-password", { who: "bea" }, { from: "/account/forgot-password" })).status, 303, "the same answer past the limit");
    }
    await settle(pages);
    const sent = pages.mail.drain("shared@example.com");
    assert.equal(sent.length, limit, `${limit} links at most an hour for one account`);
    assert.ok(pages.logs.some((l) => l.includes("password reset link not mailed: limit reached")));

    // the count is of a fixed window: not across its edge
    const edgeIn = RECOVERY_LIMITS.client.windowSeconds * 1000 - (Date.now() % (RECOVERY_LIMITS.client.windowSeconds * 1000));
    if (edgeIn < 10_000) await new Promise((r) => setTimeout(r, edgeIn + 200));
    const one = new WebClient(pages.base, "203.0.113.7");
    const token = await one.formToken("/account/forgot-username");
    let last: Response | undefined;
    for (let i = 0; i <= RECOVERY_LIMITS.client.max; i++) last = await one.postRaw("/account/forgot-username", { _csrf: token, who: `x${i}@example.org` });
    assert.equal(last!.status, 429);
    // Retry-After is when the fixed window ends (the pages' clock is real time here), not a whole window
    const windowMs = RECOVERY_LIMITS.client.windowSeconds * 1000;
    const left = Math.ceil((windowMs - (Date.now() % windowMs)) / 1000);
    const retry = Number(last!.headers.get("retry-after"));
    assert.ok(retry >= left && retry <= left + 2, `Retry-After ${retry}, the window ends in ${left} s`);
    assert.match(await last!.text(), new RegExp(`too many recovery requests from this address; retry in ${retry} s`));
  });

  test("the forms refuse a post from another origin, or without the form token", async () => {
    const jar = new WebClient(pages.base, "192.0.2.50");
    const token = await jar.formToken("/account/forgot-password");
    assert.equal((await jar.postRaw("/account/forgot-password", { _csrf: token, who: "ada" }, "http://evil.example")).status, 403);
    assert.equal((await jar.postRaw("/account/forgot-password", { who: "ada" })).status, 403);
    assert.equal((await jar.postRaw("/account/forgot-username", { who: "ada@example.com" })).status, 403);
    assert.equal((await jar.postRaw("/account/reset", { password: "whatever-1", confirm: "whatever-1" })).status, 403);
    await settle(pages);
    assert.deepEqual(pages.mail.drain("ada@example.com"), []);
  });

  test("what is typed is checked for shape only", async () => {
    const jar = new WebClient(pages.base, "192.0.2.60");
    const res = await jar.post("/account/forgot-username", { who: "ada" }, { from: "/account/forgot-username" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Type an email address/);
    const empty = await jar.post("/account/forgot-password", { who: "  " }, { from: "/account/forgot-password" });
    assert.equal(empty.status, 400);
  });
});

describe("recovery under its configuration", () => {
  test("links are built on PUBLIC_URL and BASE_PATH", async () => {
    const pages = await startMailedPages([["dov", "dov-password-1"]], { basePath: "/pk" });
    try {
      const jar = new WebClient(pages.base, "192.0.2.70");
      const asked = await jar.post("/account/forgot-password", { who: "dov" }, { from: "/account/forgot-password" });
      assert.equal(asked.headers.get("location"), "/pk/account/forgot-password?sent");
      const link = linkIn(await pages.mail.next("dov@example.com"));
      assert.ok(link.startsWith(`${pages.url}/pk/account/reset/t/`), link);
      const opened = await jar.get(link);
      assert.equal(opened.headers.get("location"), "/pk/account/reset");
      assert.match(opened.headers.get("set-cookie") ?? "", /Path=\/pk\/account\/reset/);
      assert.equal((await jar.follow(opened)).status, 200);
      const done = await jar.post("/account/reset", { password: "dov-new-password", confirm: "dov-new-password" }, { from: "/account/reset" });
      assert.equal(done.headers.get("location"), "/pk/?tab=signin&reset");
      assert.equal((await new WebClient(pages.base).attemptSignIn("dov", "dov-new-password")).status, 303);
    } finally {
      await pages.stop();
    }
  });

  test("without SMTP_URL both pages say to ask an administrator, and their forms mail nothing", async () => {
    const pages = await startPages({});
    try {
      const jar = new WebClient(pages.base);
      const pw = await (await jar.get("/account/forgot-password")).text();
      assert.match(pw, /pkgate user --reset &lt;username&gt;/);
      assert.doesNotMatch(pw, /<form method="post" action="\/account\/forgot/);
      assert.match(await (await jar.get("/account/forgot-username")).text(), /Ask your administrator/);
      const res = await jar.post("/account/forgot-password", { who: "ada" });
      assert.equal(res.headers.get("location"), "/account/forgot-password", "back to the page that says what to do");
    } finally {
      await pages.stop();
    }
  });

  test("with SMTP_URL but no PUBLIC_URL usernames are mailed, reset links are not (a Host header must not choose where they point)", async () => {
    const pages = await startMailedPages([["eli", "eli-password-1"]], { publicUrl: false });
    try {
      const jar = new WebClient(pages.base, "192.0.2.80");
      assert.match(await (await jar.get("/account/forgot-password")).text(), /pkgate user --reset/);
      assert.equal((await jar.post("/account/forgot-password", { who: "eli" })).headers.get("location"), "/account/forgot-password");
      await jar.post("/account/forgot-username", { who: "eli@example.com" }, { from: "/account/forgot-username" });
      // the outbox keeps order: a reset link asked for first would have come first
      const got = await pages.mail.next("eli@example.com");
      assert.equal(got.subject, "Your pkgate username");
      assert.doesNotMatch(got.text, /http/, "no address the request could have chosen");
      assert.deepEqual(pages.mail.drain("eli@example.com"), []);
    } finally {
      await pages.stop();
    }
  });
});
