// Forms are accepted from our own pages only: the browser's provenance headers, and a form
// token bound to this browser that only our key can make.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formToken, fromOwnPages, isFormToken, type OwnOrigin, type Provenance } from "../../src/web/csrf.js";

const key = Buffer.alloc(32, 3);
const other = Buffer.alloc(32, 4);

describe("form tokens", () => {
  const token = formToken(key, "session-1");

  test("accepted for its binding, under its key", () => {
    assert.ok(isFormToken(key, "session-1", token));
    assert.equal(formToken(key, "session-1"), token, "stable: every form of one session carries it");
  });

  const refused: [string, Buffer, string, unknown][] = [
    ["another session", key, "session-2", token],
    ["another key", other, "session-1", token],
    ["missing", key, "session-1", undefined],
    ["empty", key, "session-1", ""],
    ["sent twice", key, "session-1", [token, token]],
    ["cut short", key, "session-1", token.slice(0, -1)],
    ["too long", key, "session-1", token + "x".repeat(200)],
    ["the binding itself", key, "session-1", "session-1"],
  ];
  for (const [what, k, binding, given] of refused) {
    test(`refused: ${what}`, () => assert.equal(isFormToken(k, binding, given), false));
  }
});

describe("provenance", () => {
  const byHost: OwnOrigin = { origin: null, host: "pk.example.com:8080" };
  const byUrl: OwnOrigin = { origin: "https://pk.example.com", host: "internal:8080" };
  const rows: [string, Provenance, OwnOrigin, boolean][] = [
    ["same origin (Origin)", { origin: "http://pk.example.com:8080", secFetchSite: "same-origin" }, byHost, true],
    ["same host behind TLS ending at a proxy", { origin: "https://pk.example.com:8080" }, byHost, true],
    ["host differs in case", { origin: "http://PK.example.com:8080" }, byHost, true],
    ["another site", { origin: "https://evil.example", secFetchSite: "cross-site" }, byHost, false],
    ["another site, Origin only", { origin: "https://evil.example" }, byHost, false],
    ["a sibling subdomain", { origin: "https://x.pk.example.com:8080", secFetchSite: "same-site" }, byHost, false],
    ["Sec-Fetch-Site says cross-site whatever Origin says", { origin: "http://pk.example.com:8080", secFetchSite: "cross-site" }, byHost, false],
    ["opaque origin", { origin: "null" }, byHost, false],
    ["Referer only, ours", { referer: "http://pk.example.com:8080/settings/a/tokens" }, byHost, true],
    ["Referer only, theirs", { referer: "https://evil.example/form.html" }, byHost, false],
    ["Referer unreadable", { referer: "::" }, byHost, false],
    ["nothing said (not a browser): left to the token", {}, byHost, true],
    ["PUBLIC_URL: exact origin", { origin: "https://pk.example.com" }, byUrl, true],
    ["PUBLIC_URL: http is not https", { origin: "http://pk.example.com" }, byUrl, false],
    ["PUBLIC_URL: the Host header does not count", { origin: "http://internal:8080" }, byUrl, false],
    ["no Host header", { origin: "http://pk.example.com:8080" }, { origin: null, host: undefined }, false],
    ["a non-web origin", { origin: "file://pk.example.com:8080" }, byHost, false],
  ];
  for (const [what, p, own, want] of rows) {
    test(`${want ? "accepted" : "refused"}: ${what}`, () => assert.equal(fromOwnPages(p, own), want));
  }
});
