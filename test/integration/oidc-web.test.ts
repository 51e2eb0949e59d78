// Trusted publishers on the web pages: the Tokens page of an account lists them (the CI job
// each trusts, what its tokens may do) and its admins remove them there, which the API's own
// operation does: the publisher mints no more, and its minted token stops working. Another
// user gets the page's refusal, and cannot remove one by posting the form.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Stack } from "../harness/gateway.js";
import { WebClient, apiToken, startWebStack, textOf } from "../web/client.js";
import { githubClaims, startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";

describe("trusted publishers on the Tokens page", () => {
  let s: Stack;
  let issuer: OidcIssuer;
  let minted: string;
  before(async () => {
    issuer = await startOidcIssuer();
    s = await startWebStack({ users: ["pia", "olaf"], env: { OIDC_ISSUERS: issuer.url } });
    const token = await apiToken(s.url, "pia", "pia-password");
    const res = await fetch(`${s.url}/api/channels/pia/publishers`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "release", issuer: issuer.url, kind: "github", claims: { repository: "pia/lib", workflow: "release.yml", environment: "pypi" }, scopes: ["pypi:upload"], packages: ["pia-lib"] }),
    });
    assert.equal(res.status, 201, await res.text());
    const mint = await fetch(`${s.url}/_/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: await issuer.sign(githubClaims("pia/lib", "release.yml", { environment: "pypi", run_id: "7", run_attempt: "1" })) }) });
    assert.equal(mint.status, 200, await mint.clone().text());
    minted = (await mint.json()).token;
  });
  after(async () => {
    await s.stop();
    await issuer.stop();
  });

  test("listed with the CI job and what its tokens may do; its minted token among the tokens", async () => {
    const pia = await new WebClient(s.url).signIn("pia", "pia-password");
    const { status, html } = await pia.page("/settings/pia/tokens");
    assert.equal(status, 200);
    const text = textOf(html);
    // with the repository's ids its first exchange recorded
    assert.match(text, /Trusted publishers .*release added by pia github · http:\/\/127\.0\.0\.1:\d+ repository: pia\/lib workflow: release\.yml environment: pypi repository_owner_id: 1234 repository_id: 5678 pypi:upload pia-lib Remove/);
    assert.match(text, /oidc:release:7\.1 pypi:upload/);
  });

  test("another user may not see them, nor remove one", async () => {
    const olaf = await new WebClient(s.url).signIn("olaf", "olaf-password");
    assert.notEqual((await olaf.get("/settings/pia/tokens")).status, 200);
    const res = await olaf.post("/settings/pia/tokens/publishers/remove", { name: "release" }, { from: "/settings/olaf/tokens" });
    assert.ok(res.status === 403 || res.status === 404, String(res.status));
    const pia = await new WebClient(s.url).signIn("pia", "pia-password");
    assert.match(textOf((await pia.page("/settings/pia/tokens")).html), /release added by pia/);
  });

  test("removed by its admin: gone from the page, its token refused, nothing more minted", async () => {
    const pia = await new WebClient(s.url).signIn("pia", "pia-password");
    const res = await pia.post("/settings/pia/tokens/publishers/remove", { name: "release" }, { from: "/settings/pia/tokens" });
    const page = textOf(await (await pia.follow(res)).text());
    assert.match(page, /The trusted publisher "release" is removed: it mints no more tokens, and the tokens it minted no longer work\./);
    assert.match(page, /Trusted publishers .* None\./);
    const used = await fetch(`${s.url}/pia/simple/`, { headers: { authorization: `Bearer ${minted}` } });
    assert.equal(used.status, 401);
    const again = await fetch(`${s.url}/_/oidc/mint-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: await issuer.sign(githubClaims("pia/lib", "release.yml", { environment: "pypi" })) }) });
    assert.equal(again.status, 403);
  });
});
