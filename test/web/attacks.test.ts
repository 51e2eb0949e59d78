// The web pages against an attacker's requests, each sent as an attacker would send it
// (straight over HTTP, no browser to tidy it up): what a crafted field or path must not get.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import type { Stack } from "../harness/gateway.js";
import { apiToken, startWebStack, WebClient } from "./client.js";

describe("web pages, an attacker's requests", () => {
  let s: Stack;

  before(async () => {
    s = await startWebStack({ users: ["ivy"] });
  });
  after(() => s.stop());

  test("sign-in's `next` never sends the browser to another site, nor breaks the answer", async () => {
    // a browser drops tabs and newlines from an address and reads `\` as `/`: each of these
    // would be //evil.example, another site, once the browser resolved it
    for (const next of ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\\evil.example", "//evil.example", "/\x00/evil.example", "/x\r\nSet-Cookie: a=b"]) {
      const browser = new WebClient(s.url);
      const res = await browser.post("/account/signin", { username: "ivy", password: "ivy-password", next });
      assert.equal(res.status, 303, JSON.stringify(next));
      assert.equal(res.headers.get("location"), "/dashboard/ivy", JSON.stringify(next));
      assert.equal(res.headers.get("set-cookie")?.includes("a=b"), false);
    }
    // a path of ours is where the browser goes back to
    const res = await new WebClient(s.url).post("/account/signin", { username: "ivy", password: "ivy-password", next: "/favorites?x=%09" });
    assert.equal(res.headers.get("location"), "/favorites?x=%09");
  });

  test("a link to the Tokens page cannot put words of its own in the page's notice", async () => {
    const ivy = await new WebClient(s.url).signIn("ivy", "ivy-password");
    for (const q of ["revoked", "publisher-removed"]) {
      const words = "Your account is locked! Call +1 555 0100 or visit https://evil.example/unlock";
      const page = await ivy.page(`/settings/ivy/tokens?${q}=${encodeURIComponent(words)}`);
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.html, /evil\.example|555 0100/, q);
    }
    // a name is still named
    assert.match((await ivy.page("/settings/ivy/tokens?revoked=laptop")).html, /The token &quot;laptop&quot; is revoked/);
  });

  test("a body without Content-Length is refused at its bound, not read whole first (forms, the API's JSON, the exchange)", async () => {
    for (const [path, type] of [
      ["/account/signin", "application/x-www-form-urlencoded"],
      ["/api/users", "application/json"],
      ["/_/oidc/mint-token", "application/json"],
    ] as const) {
      const { status, sent } = await chunkedFlood(`${s.url}${path}`, type, 256 * 1024 * 1024);
      assert.equal(status, 413, path);
      // refused once past its bound (at most 256 KiB), long before the 256 MiB the client would send
      assert.ok(sent < 32 * 1024 * 1024, `${path}: the gateway read ${sent} bytes before answering`);
    }
  });

  test("Basic credentials a browser keeps for this origin change nothing when another site's page sends them", async () => {
    const token = await apiToken(s.url, "ivy", "ivy-password");
    const basic = `Basic ${Buffer.from(`__token__:${token}`).toString("base64")}`;
    // what a browser sends for another site's no-cors fetch or form, with the credentials it cached
    const forged = (path: string, body: string, site: string) =>
      fetch(`${s.url}${path}`, { method: "POST", headers: { authorization: basic, "content-type": "text/plain", "sec-fetch-site": site, "sec-fetch-mode": "no-cors", origin: "https://evil.example" }, body });
    for (const site of ["cross-site", "same-site"]) {
      const org = await forged("/api/orgs", JSON.stringify({ name: `evil-${site}` }), site);
      assert.equal(org.status, 403, site);
      assert.match(await org.text(), /another site's page/);
      assert.equal((await fetch(`${s.url}/api/orgs/evil-${site}`, { headers: { authorization: `Bearer ${token}` } })).status, 404, "no organization was made");
      // the gate's upload door (twine's) too
      assert.equal((await forged("/ivy/", "x", site)).status, 403, `${site}: upload`);
    }
    // a tool sends no Sec-Fetch-Site: the same request is its own
    const tool = await fetch(`${s.url}/api/orgs`, { method: "POST", headers: { authorization: basic, "content-type": "application/json" }, body: JSON.stringify({ name: "ivy-tools" }) });
    assert.equal(tool.status, 201, await tool.text());
  });

  test("the start page's `next` (a link someone sent) goes into the form only when it is ours", async () => {
    const page = await new WebClient(s.url).page(`/?tab=signin&next=${encodeURIComponent("/\t/evil.example")}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.html, /evil\.example/);
  });
});

/** POST up to `total` bytes chunked (no Content-Length), a MiB at a time, as fast as the
 * gateway takes them, until it answers: its status, and how much it had taken by then. */
function chunkedFlood(url: string, type: string, total: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1024 * 1024, "a");
    let sent = 0;
    let answered = false;
    const req = request(url, { method: "POST", headers: { "content-type": type, "transfer-encoding": "chunked", origin: new URL(url).origin } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode!, sent });
      req.destroy();
    });
    req.on("error", (err) => (answered ? undefined : reject(err)));
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
