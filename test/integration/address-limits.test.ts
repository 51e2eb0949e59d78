// Per-address limits as an attacker meets them, on a real gateway (S3 + Redis, a second
// gateway process on the same Redis) behind a proxy it trusts (X-Forwarded-For from
// 127.0.0.1 names the client):
//   - SIGNUP=open has a per-address limit (SIGNUP_LIMIT): a burst of sign-ups makes at most
//     the limit's accounts, counted before any password is hashed or anything written, the
//     API's, the pages' and the other replica's together; 429 with Retry-After, and the page
//     says so;
//   - an IPv6 client is counted by its /64: a host that picks new addresses in its /64 for
//     each request shares one budget (sign-up, unknown tokens, wrong passwords); IPv4 and
//     IPv4-mapped IPv6 are one client;
//   - the recovery forms' per-address budget is one across the two processes (a real SMTP
//     server catches the mail), with the window's real end as Retry-After.
// Each test uses prefixes of its own, so each has budgets of its own.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startStack, type Stack } from "../harness/gateway.js";
import { textOf, WebClient } from "../web/client.js";
import { generateToken } from "../../src/auth/token.js";
import { RECOVERY_LIMITS } from "../../src/web/recovery.js";
import { startMailbox, type Mailbox } from "../web/recovery-harness.js";

const LIMIT = 3;
/** One hour windows: a test never straddles two (it waits past an edge that is near). */
const WINDOW = 3600;

async function awayFromWindowEdge(): Promise<void> {
  const left = WINDOW - ((Date.now() / 1000) % WINDOW);
  if (left < 30) await new Promise((r) => setTimeout(r, left * 1000 + 500));
}

describe("per-address limits (s3 + redis, two gateway processes)", () => {
  let s: Stack;
  let replica: { url: string; stop(): Promise<void> };
  let mail: Mailbox;

  before(async () => {
    mail = await startMailbox();
    s = await startStack({ store: "s3", cache: "redis" }, { SIGNUP: "open", SIGNUP_LIMIT: String(LIMIT), AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW: String(WINDOW), TRUST_PROXY: "127.0.0.1", SMTP_URL: mail.url });
    replica = await s.spawnReplica();
    await awayFromWindowEdge();
  });
  after(async () => {
    await replica?.stop();
    await s?.stop();
    await mail?.stop();
  });

  const signUp = (base: string, name: string, from: string) =>
    fetch(`${base}/api/users`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": from }, body: JSON.stringify({ username: name, email: `${name}@example.com`, password: `${name}-password` }) });

  test("a burst of sign-ups from one /64 makes SIGNUP_LIMIT accounts; the rest get 429 with Retry-After, through the API, the other replica and the page", async () => {
    const names = Array.from({ length: 8 }, (_, i) => `burst${i}`);
    // eight addresses of one /64, all at once, half of them at the other gateway process
    const answers = await Promise.all(names.map((name, i) => signUp(i % 2 ? replica.url : s.url, name, `2001:db8:51:7::${(i + 1).toString(16)}`)));
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 429, 429, 429, 429, 429]);
    for (const res of answers.filter((r) => r.status === 429)) {
      const retry = Number(res.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= WINDOW, `Retry-After ${retry}`);
      assert.match((await res.json()).message, /^too many sign-ups from this address; retry in \d+ s$/);
    }
    const made = (await Promise.all(names.map((n) => s.rt.catalog.getAccount(n)))).filter((a) => a !== null);
    assert.equal(made.length, LIMIT, "nothing was written for a refused sign-up");

    // the page, from yet another address of the /64: the Sign Up tab says so, with Retry-After
    const browser = new WebClient(s.url, "2001:db8:51:7:ffff:1:2:3");
    const page = await browser.post("/account/signup", { username: "paged", email: "paged@example.com", password: "paged-password", confirm: "paged-password", terms: "accepted" });
    assert.equal(page.status, 429);
    assert.ok(Number(page.headers.get("retry-after")) >= 1);
    assert.match(textOf(await page.text()), /too many sign-ups from this address; retry in \d+ s\./i);
    assert.equal(await s.rt.catalog.getAccount("paged"), null);

    // another /64 has its own budget, through the page too
    const elsewhere = new WebClient(s.url, "2001:db8:51:8::1");
    const ok = await elsewhere.post("/account/signup", { username: "other64", email: "other64@example.com", password: "other64-password", confirm: "other64-password", terms: "accepted" });
    assert.equal(ok.status, 303, await ok.clone().text());
    assert.notEqual(await s.rt.catalog.getAccount("other64"), null);
  });

  test("IPv4 and IPv4-mapped IPv6 are one client for the sign-up limit", async () => {
    const from = ["198.51.100.9", "::ffff:198.51.100.9", "::ffff:c633:6409", "198.51.100.9"];
    const statuses = [];
    for (const [i, addr] of from.entries()) statuses.push((await signUp(s.url, `mapped${i}`, addr)).status);
    assert.deepEqual(statuses, [201, 201, 201, 429]);
    assert.equal((await signUp(s.url, "mapped9", "198.51.100.10")).status, 201, "the next IPv4 address is another client");
  });

  test("an IPv4 client carried in IPv6 is that client: NAT64 clients each have a budget, a 6to4 host's /48 has one; a proxy's hop with a port is its client", async () => {
    // behind NAT64 every IPv4 client is 64:ff9b::a.b.c.d: one /64 would be one budget for all of them
    const nat64 = [];
    for (let i = 0; i < LIMIT + 1; i++) nat64.push((await signUp(s.url, `nat64x${i}`, `64:ff9b::203.0.113.${i + 1}`)).status);
    assert.deepEqual(nat64, Array(LIMIT + 1).fill(201));
    // a 6to4 host (one IPv4 address, 2002:c633:640b::/48) picking a new /64 for each sign-up
    const sixto4 = [];
    for (let i = 0; i < LIMIT + 1; i++) sixto4.push((await signUp(s.url, `sixtofour${i}`, `2002:c633:640b:${i + 1}::1`)).status);
    assert.deepEqual(sixto4, [...Array(LIMIT).fill(201), 429]);
    assert.equal((await signUp(s.url, "sixtofour9", "198.51.100.11")).status, 429, "the same host by its IPv4 address");
    // a proxy that writes the client's port: each client its own, not the proxy's one budget
    const ported = [];
    for (let i = 0; i < LIMIT + 1; i++) ported.push((await signUp(s.url, `ported${i}`, `198.51.100.${i + 20}:5${i}000`)).status);
    assert.deepEqual(ported, Array(LIMIT + 1).fill(201));
  });

  test("unknown tokens: two addresses of one /64 spend one AUTH_FAILURE_LIMIT; another /64 does not", async () => {
    const asUnknown = (from: string) => fetch(`${s.url}/api/user`, { headers: { authorization: `Bearer ${generateToken()}`, "x-forwarded-for": from } });
    const statuses = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await asUnknown(`2001:db8:52:1::${i % 2 ? "a" : "b"}`)).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const refused = await asUnknown("2001:db8:52:1:1234:5678:9abc:def0");
    assert.equal(refused.status, 429);
    assert.match((await refused.json()).message, /too many requests with unknown tokens from this address/);
    assert.equal((await asUnknown("2001:db8:52:2::a")).status, 401, "another /64 has its own budget");
  });

  test("wrong passwords: two addresses of one /64 share the per-address password budget", async () => {
    // the per-address budget (20 by default) is wider than one account's (5): guesses spread
    // over accounts, from addresses spread over one /64
    const login = (user: string, from: string) =>
      fetch(`${s.url}/api/login`, { method: "POST", headers: { authorization: `Basic ${Buffer.from(`${user}:wrong-password`).toString("base64")}`, "content-type": "application/json", "x-forwarded-for": from }, body: "{}" });
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await login(`guess${i}`, `2001:db8:53:1:${(i + 1).toString(16)}::1`)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.equal(statuses[20], 429);
    assert.equal((await login("guess99", "2001:db8:53:2::1")).status, 401, "another /64 has its own budget");
  });

  test("recovery requests: the two processes count one per-address budget, and the refusal says when its window ends", async () => {
    const { max, windowSeconds } = RECOVERY_LIMITS.client;
    const windowMs = windowSeconds * 1000;
    const edgeIn = windowMs - (Date.now() % windowMs);
    if (edgeIn < 30_000) await new Promise((r) => setTimeout(r, edgeIn + 500));
    // a browser at each process, from two addresses of one /64; each form token is its process's
    const here = new WebClient(s.url, "2001:db8:54:1::a");
    const there = new WebClient(replica.url, "2001:db8:54:1::b");
    const tokens = [await here.formToken("/account/forgot-username"), await there.formToken("/account/forgot-username")];
    const statuses: number[] = [];
    for (let i = 0; i < max; i++) {
      const [jar, token] = i % 2 ? [there, tokens[1]!] : [here, tokens[0]!];
      statuses.push((await jar.postRaw("/account/forgot-username", { _csrf: token, who: `nobody${i}@example.org` })).status);
    }
    assert.deepEqual(statuses, Array(max).fill(303), "the first RECOVERY_LIMITS.client.max are answered alike");
    for (const [jar, token] of [[here, tokens[0]!], [there, tokens[1]!]] as const) {
      const refused = await jar.postRaw("/account/forgot-username", { _csrf: token, who: "nobody@example.org" });
      assert.equal(refused.status, 429, `${jar.base}: the budget spent at both processes is spent at this one`);
      const left = Math.ceil((windowMs - (Date.now() % windowMs)) / 1000);
      const retry = Number(refused.headers.get("retry-after"));
      assert.ok(retry >= left && retry <= left + 2, `Retry-After ${retry}: the window ends in ${left} s`);
      assert.match(textOf(await refused.text()), new RegExp(`too many recovery requests from this address; retry in ${retry} s`, "i"));
    }
    const elsewhere = new WebClient(replica.url, "2001:db8:54:2::a");
    assert.equal((await elsewhere.post("/account/forgot-username", { who: "nobody@example.org" }, { from: "/account/forgot-username" })).status, 303, "another /64 has its own budget");
    assert.deepEqual(mail.mails.filter((m) => m.to.some((t) => t.endsWith("@example.org"))), [], "no user has these addresses: nothing is mailed");
  });
});
