// The package pages' pure parts, as tables: which requests for a channel's address are a
// browser's (and get its page) and which go on to the gate as before; the search and the
// pagination of package lists; the addresses conda and pip are given; PyPI releases.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { prefersHtml } from "../../src/web/routes/packages.js";
import { channelAddresses, condaEntries, pageOf, searchPackages, visibleEntries, type Label, type PackageEntry } from "../../src/web/channel.js";
import { visibility } from "../../src/access/policy.js";
import { releasesOf } from "../../src/web/package-files.js";
import type { FileEntry } from "../../src/pypi/project.js";

describe("prefersHtml: a browser opening a channel's address, and nobody else", () => {
  const cases: [who: string, accept: string | undefined, page: boolean][] = [
    ["Chromium", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", true],
    ["Firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["Safari", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["text/html alone", "text/html", true],
    ["spaces and case", " Text/HTML ; q=1 , */*;q=0.1", true],
    ["pip", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", false],
    ["uv", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", false],
    ["conda, requests and curl", "*/*", false],
    ["no Accept", undefined, false],
    ["empty", "", false],
    ["the API's clients", "application/json", false],
    ["JSON named first at the same q", "application/json, text/html", false],
    ["HTML named first at the same q", "text/html, application/json", true],
    ["HTML refused", "text/html;q=0, */*", false],
    ["something else preferred", "text/html;q=0.5, application/json;q=0.9", false],
    ["a wildcard preferred", "text/html;q=0.5, */*", false],
    ["a q that is not a number is ignored", "text/html;q=x, text/html", true],
  ];
  for (const [who, accept, page] of cases) {
    test(`${who}: ${page ? "the page" : "the gate"}`, () => assert.equal(prefersHtml(accept), page));
  }
});

const row = (name: string, ecosystem: "conda" | "pypi" = "conda"): PackageEntry => ({ name, normalized: name.replace(/[-_.]+/g, "-").toLowerCase(), ecosystem, version: "1", subdirs: [], labels: [] });

describe("searchPackages: every row searched, the exact name first, then names starting with it", () => {
  const rows = ["numpy", "numpy-base", "pandas", "py-numpy", "scipy", "foo_bar", "foo-bar"].map((n) => row(n));
  const cases: [query: string, names: string[]][] = [
    ["", ["numpy", "numpy-base", "pandas", "py-numpy", "scipy", "foo_bar", "foo-bar"]],
    ["   ", ["numpy", "numpy-base", "pandas", "py-numpy", "scipy", "foo_bar", "foo-bar"]],
    ["numpy", ["numpy", "numpy-base", "py-numpy"]],
    ["NumPy", ["numpy", "numpy-base", "py-numpy"]],
    ["py", ["py-numpy", "numpy", "numpy-base", "scipy"]],
    ["foo.bar", ["foo_bar", "foo-bar"]],
    ["nothing", []],
  ];
  for (const [query, names] of cases) {
    test(JSON.stringify(query), () => assert.deepEqual(searchPackages(rows, query).map((r) => r.name), names));
  }
});

describe("pageOf: one page of what the search found", () => {
  const all = Array.from({ length: 120 }, (_, i) => i + 1);
  const cases: [page: string | undefined, size: number, expect: { page: number; pages: number; from: number; first?: number; count: number }][] = [
    [undefined, 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["2", 50, { page: 2, pages: 3, from: 51, first: 51, count: 50 }],
    ["3", 50, { page: 3, pages: 3, from: 101, first: 101, count: 20 }],
    ["999", 50, { page: 3, pages: 3, from: 101, first: 101, count: 20 }],
    ["0", 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["-1", 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["2.5", 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["abc", 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["99999999999999999999", 50, { page: 1, pages: 3, from: 1, first: 1, count: 50 }],
    ["1", 200, { page: 1, pages: 1, from: 1, first: 1, count: 120 }],
  ];
  for (const [page, size, want] of cases) {
    test(`page ${JSON.stringify(page)} of ${size}`, () => {
      const p = pageOf(all, page, size);
      assert.deepEqual({ page: p.page, pages: p.pages, from: p.from, first: p.items[0], count: p.items.length }, want);
      assert.equal(p.total, 120);
    });
  }
  test("nothing found: one empty page", () => assert.deepEqual(pageOf([], "3"), { items: [], page: 1, pages: 1, total: 0, from: 0 }));
});

describe("channelAddresses: conda's and pip's address of a channel, the token left as <TOKEN>", () => {
  const cases: [base: string, want: ReturnType<typeof channelAddresses>][] = [
    [
      "https://pkgs.example.com",
      { conda: "https://pkgs.example.com/t/<TOKEN>/acme", condaPublic: "https://pkgs.example.com/acme", pip: "https://__token__:<TOKEN>@pkgs.example.com/acme/simple/", pipPublic: "https://pkgs.example.com/acme/simple/" },
    ],
    [
      "https://example.com/pk",
      { conda: "https://example.com/pk/t/<TOKEN>/acme", condaPublic: "https://example.com/pk/acme", pip: "https://__token__:<TOKEN>@example.com/pk/acme/simple/", pipPublic: "https://example.com/pk/acme/simple/" },
    ],
    [
      "http://127.0.0.1:8080",
      { conda: "http://127.0.0.1:8080/t/<TOKEN>/acme", condaPublic: "http://127.0.0.1:8080/acme", pip: "http://__token__:<TOKEN>@127.0.0.1:8080/acme/simple/", pipPublic: "http://127.0.0.1:8080/acme/simple/" },
    ],
  ];
  for (const [base, want] of cases) test(base, () => assert.deepEqual(channelAddresses(base, "acme"), want));
});

describe("condaEntries: one entry a package name over the channel's labels", () => {
  const labels: Label[] = [
    { name: "main", packages: new Map([["lib", { version: "1.0", subdirs: ["linux-64"] }]]) },
    { name: "dev", packages: new Map([["lib", { version: "1.1", subdirs: ["noarch", "linux-64"] }], ["_secret.x", { version: "0.1", subdirs: ["noarch"] }]]) },
  ];
  test("the main label's version, every platform and label, the normalized name", () => {
    assert.deepEqual(condaEntries(labels), [
      { name: "lib", normalized: "lib", ecosystem: "conda", version: "1.0", subdirs: ["linux-64", "noarch"], labels: ["main", "dev"] },
      { name: "_secret.x", normalized: "-secret-x", ecosystem: "conda", version: "0.1", subdirs: ["noarch"], labels: ["dev"] },
    ]);
  });
});

describe("releasesOf: a PyPI project's files by release, newest first", () => {
  const file = (filename: string): FileEntry => ({ filename, size: 1, sha256: "0".repeat(64), uploadTime: "2026-01-01T00:00:00Z" });
  test("1.0 and 1.0.0 are one release; 1.10 is after 1.9; a pre-release before its release", () => {
    const releases = releasesOf([file("w-1.9-py3-none-any.whl"), file("w-1.10.tar.gz"), file("w-1.10-py3-none-any.whl"), file("w-1.0.tar.gz"), file("w-1.0.0-py3-none-any.whl"), file("w-2.0rc1.tar.gz")]);
    assert.deepEqual(
      releases.map((r) => [r.version, r.files.map((f) => f.filename)]),
      [
        ["2.0rc1", ["w-2.0rc1.tar.gz"]],
        ["1.10", ["w-1.10-py3-none-any.whl", "w-1.10.tar.gz"]],
        ["1.9", ["w-1.9-py3-none-any.whl"]],
        ["1.0", ["w-1.0.0-py3-none-any.whl", "w-1.0.tar.gz"]],
      ],
    );
  });
});

describe("visibleEntries: what a channel's page lists for a principal, as the policy's view says", () => {
  const account = { name: "acme", kind: "org" as const, createdAt: "", defaultPrivacy: "public" as const, packages: { "secret-a": "private" as const, "secret-b": "private" as const }, groups: [{ name: "r", permission: "read" as const, packages: ["secret-a"], members: ["gus"] }], admins: ["olga"], revision: 1 };
  const entries = ["lib", "secret_a", "secret-b"].map((n) => row(n));
  const principal = (name: string | null) => ({ token: null, account: name, accountKind: name ? ("user" as const) : null, scopes: [] });
  const cases: [who: string | null, names: string[]][] = [
    [null, ["lib"]],
    ["pat", ["lib"]],
    ["gus", ["lib", "secret_a"]],
    ["olga", ["lib", "secret_a", "secret-b"]],
  ];
  for (const [who, names] of cases) {
    test(who ?? "anonymous", () => {
      const shown = visibleEntries(entries, visibility(principal(who), account));
      assert.deepEqual(shown.map((e) => e.name), names);
      assert.equal(visibleEntries(entries, visibility(principal(who), account)), shown, "filtered once a view");
    });
  }
});
