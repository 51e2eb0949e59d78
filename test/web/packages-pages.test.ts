// The package pages over HTTP: a package's page (files per label and platform, PyPI releases,
// sizes, SHA-256, upload times, the exact install lines), the privacy switch and the star with
// their form guard, Favorites, the Labels page, the Dashboard's search and pages, and a
// channel's page for a browser opening the channel's address, while conda, pip, twine and the
// API see no change there. Whatever a visitor may not see is answered exactly as what does not
// exist.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Stack } from "../harness/gateway.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import type { BuiltChannel } from "../fixtures/conda-channel.js";
import { CONTENT_SECURITY_POLICY } from "../../src/web/index.js";
import { LISTING_FRESH_MS } from "../../src/web/channel.js";
import { apiToken, startWebStack, textOf, WebClient } from "./client.js";

const PASSWORD = "a long password";
const PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Two answers alike but for the names asked for. */
function sameBut(a: string, aName: string, b: string, bName: string): void {
  assert.equal(a.replaceAll(aName, "NAME"), b.replaceAll(bName, "NAME"));
}

describe("the package pages over HTTP", () => {
  let s: Stack;
  let conda: BuiltChannel;
  const wheels = new Map<string, Buffer>();

  before(async () => {
    // olga runs the organization acme; gus is in a group that reads priv-app; pat is nobody there
    s = await startWebStack({ users: ["olga", "gus", "pat", "hana", "bert"], password: PASSWORD });
    await s.rt.catalog.createAccount({ name: "acme", kind: "org", admins: ["olga"] });
    await s.rt.catalog.createGroup("acme", { name: "readers", permission: "read", packages: ["priv-app"] });
    await s.rt.catalog.addGroupMember("acme", "readers", "gus");
    conda = await s.seedConda({
      channel: "acme",
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64", labels: ["main", "dev"] },
        { name: "pub-lib", version: "1.1", subdir: "linux-64", labels: ["dev"] },
        { name: "priv-app", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0"] },
      ],
    });
    await s.rt.catalog.setPackagePrivacy("acme", "priv-app", "private");
    for (const version of ["0.1", "0.2"]) {
      const wheel = buildWheel({ name: "web-tool", version, requiresPython: ">=3.8" });
      wheels.set(version, wheel);
      await s.rt.store.put(`acme/pypi/web-tool/${wheelFilename("web-tool", version)}`, wheel);
    }
    // hana's channel is private as a whole: nobody else sees anything of it
    await s.rt.catalog.setChannelPrivacy("hana", "private");
    await s.rt.store.put("hana/pypi/secret-tool/secret_tool-1.0-py3-none-any.whl", buildWheel({ name: "secret-tool", version: "1.0" }));
    // bert's channel has 120 packages (an index as conda-index writes it)
    const packages = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`pkg-${String(i).padStart(3, "0")}`, { version: `1.${i}`, subdirs: ["noarch"] }]));
    await s.rt.store.put("bert/channeldata.json", Buffer.from(JSON.stringify({ channeldata_version: 1, packages, subdirs: ["noarch"] })));
  });
  after(() => s.stop());

  test("a public package's page: its files per label and platform with size, SHA-256 and upload time, and the exact install lines", async () => {
    const { status, html } = await new WebClient(s.url).page("/packages/acme/pub-lib");
    assert.equal(status, 200);
    const text = textOf(html);
    assert.match(text, /conda install -c http:\/\/127\.0\.0\.1:\d+\/t\/<TOKEN>\/acme pub-lib/);
    assert.ok(text.includes(`conda install -c ${s.url}/t/<TOKEN>/acme pub-lib`), "the main label's line");
    assert.ok(text.includes(`conda install -c ${s.url}/t/<TOKEN>/acme/label/dev pub-lib`), "the dev label's line");
    assert.ok(!text.includes("pip install"), "no PyPI project of that name");
    for (const p of conda.packages.filter((p) => p.name === "pub-lib")) {
      assert.ok(text.includes(p.filename), p.filename);
      assert.ok(text.includes(p.sha256), `the SHA-256 of ${p.filename}`);
      assert.ok(html.includes(`title="${p.size.toLocaleString("en-US")} bytes"`), `the size of ${p.filename}`);
    }
    assert.match(text, /linux-64 label main .*pub-lib-1\.0-0\.conda/);
    assert.match(text, /linux-64 label dev .*pub-lib-1\.1-0\.conda.*pub-lib-1\.0-0\.conda/, "newest first");
    assert.match(html, /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>/, "upload times");
    assert.match(text, /Sign in to star/);
    assert.doesNotMatch(html, /name="privacy"/, "no switch for a visitor");
  });

  test("a PyPI project's page: releases newest first, each file's size, SHA-256 and upload time, pip's line", async () => {
    const { status, html } = await new WebClient(s.url).page("/packages/acme/web-tool");
    assert.equal(status, 200);
    const text = textOf(html);
    assert.ok(text.includes(`pip install --index-url http://__token__:<TOKEN>@${new URL(s.url).host}/acme/simple/ web-tool`), text);
    assert.match(text, /0\.2 .*web_tool-0\.2-py3-none-any\.whl.*0\.1 .*web_tool-0\.1-py3-none-any\.whl/);
    for (const [version, wheel] of wheels) {
      assert.ok(text.includes(sha256(wheel)), `the SHA-256 of ${version}`);
      assert.ok(html.includes(`title="${wheel.length.toLocaleString("en-US")} bytes"`), `the size of ${version}`);
    }
    assert.match(text, />=3\.8/, "Requires-Python");
    // any spelling of the name reaches the same page
    assert.equal((await new WebClient(s.url).page("/packages/acme/Web_Tool")).status, 200);
  });

  test("a private package is seen by its admins and its group, and answered as missing to everyone else", async () => {
    const olga = await new WebClient(s.url).signIn("olga", PASSWORD);
    const gus = await new WebClient(s.url).signIn("gus", PASSWORD);
    assert.equal((await olga.page("/packages/acme/priv-app")).status, 200);
    const seen = await gus.page("/packages/acme/priv-app");
    assert.equal(seen.status, 200);
    assert.doesNotMatch(seen.html, /name="privacy"/, "a reader does not manage it");
    for (const who of [new WebClient(s.url), await new WebClient(s.url).signIn("pat", PASSWORD)]) {
      await who.get("/"); // the form cookie a first visit is given
      const hidden = await who.get("/packages/acme/priv-app");
      const absent = await who.get("/packages/acme/no-such-app");
      const noChannel = await who.get("/packages/no-such-org/priv-app");
      assert.equal(hidden.status, 404);
      assert.equal(absent.status, 404);
      assert.equal(noChannel.status, 404);
      assert.deepEqual([...hidden.headers.keys()].sort(), [...absent.headers.keys()].sort());
      const [h, a, n] = [await hidden.text(), await absent.text(), await noChannel.text()];
      sameBut(h, "priv-app", a, "no-such-app");
      assert.equal(h, n, "a missing channel is answered alike");
    }
    // a whole private channel: nothing of it is there for an outsider
    const pat = await new WebClient(s.url).signIn("pat", PASSWORD);
    sameBut(await (await pat.get("/packages/hana/secret-tool")).text(), "hana", await (await pat.get("/packages/nobody/secret-tool")).text(), "nobody");
  });

  test("the privacy switch: the channel's admins set it, with the API's own function; the form guard and the rule as at the API", async () => {
    const olga = await new WebClient(s.url).signIn("olga", PASSWORD);
    const page = await olga.page("/packages/acme/web-tool");
    assert.match(page.html, /<input id="privacy-default" type="radio" name="privacy" value="default" checked=""/);
    const token = await olga.formToken("/packages/acme/web-tool");
    // refused without the page's token, or from another origin: nothing changes
    assert.equal((await olga.post("/packages/acme/web-tool/privacy", { privacy: "private" }, { token: "" })).status, 403);
    assert.equal((await olga.post("/packages/acme/web-tool/privacy", { privacy: "private" }, { token, origin: "https://evil.example" })).status, 403);
    assert.equal((await s.rt.catalog.getAccount("acme"))!.packages["web-tool"], undefined);
    const set = await olga.post("/packages/acme/web-tool/privacy", { privacy: "private" }, { token });
    assert.equal(set.status, 303);
    assert.equal(set.headers.get("location"), "/packages/acme/web-tool?saved=privacy");
    assert.equal((await s.rt.catalog.getAccount("acme"))!.packages["web-tool"], "private");
    assert.match(textOf((await olga.page("/packages/acme/web-tool?saved=privacy")).html), /web-tool is now private\./);
    assert.equal((await new WebClient(s.url).get("/packages/acme/web-tool")).status, 404, "private now: missing to a visitor");
    // back to the channel's default
    assert.equal((await olga.post("/packages/acme/web-tool/privacy", { privacy: "default" }, { token })).status, 303);
    assert.equal(Object.hasOwn((await s.rt.catalog.getAccount("acme"))!.packages, "web-tool"), false);
    assert.equal((await new WebClient(s.url).get("/packages/acme/web-tool")).status, 200);
    assert.equal((await olga.post("/packages/acme/web-tool/privacy", { privacy: "secret" }, { token })).status, 400);
    // authorize()'s rule, as at the API: pat sees acme's content, so he is refused (403) the
    // same way for every name of it, whether it exists, is hidden from him, or is public...
    const pat = await new WebClient(s.url).signIn("pat", PASSWORD);
    const patToken = await pat.formToken("/packages/acme/pub-lib");
    const refusals = await Promise.all(["pub-lib", "priv-app", "no-such-app"].map(async (pkg) => {
      const res = await pat.post(`/packages/acme/${pkg}/privacy`, { privacy: "public" }, { token: patToken });
      return { status: res.status, text: await res.text() };
    }));
    assert.deepEqual(refusals.map((r) => r.status), [403, 403, 403]);
    assert.match(refusals[0]!.text, /pat may not manage package privacy in acme/);
    assert.equal(refusals[0]!.text, refusals[1]!.text);
    assert.equal(refusals[1]!.text, refusals[2]!.text);
    // ...and where nothing is in his sight, the channel is missing
    const hidden = await pat.post("/packages/hana/secret-tool/privacy", { privacy: "public" }, { token: patToken });
    const absent = await pat.post("/packages/nobody/secret-tool/privacy", { privacy: "public" }, { token: patToken });
    assert.equal(hidden.status, 404);
    sameBut(await hidden.text(), "hana", await absent.text(), "nobody");
    assert.equal((await s.rt.catalog.getAccount("acme"))!.packages["priv-app"], "private");
    assert.equal((await s.rt.catalog.getAccount("hana"))!.packages["secret-tool"], undefined);
    // the API answers the same through the same function
    const api = await apiToken(s.url, "pat", PASSWORD);
    const put = (pkg: string) => fetch(`${s.url}/api/channels/acme/packages/${pkg}`, { method: "PUT", headers: { authorization: `Bearer ${api}`, "content-type": "application/json" }, body: JSON.stringify({ privacy: "public" }) });
    assert.equal((await put("pub-lib")).status, 403);
    assert.equal((await put("priv-app")).status, 403);
  });

  test("the star: a signed-in visitor keeps a package among Favorites; the form guard; nothing hidden can be starred", async () => {
    const pat = await new WebClient(s.url).signIn("pat", PASSWORD);
    assert.match(textOf((await pat.page("/favorites")).html), /No favorites yet/);
    const token = await pat.formToken("/packages/acme/pub-lib");
    assert.equal((await pat.post("/packages/acme/pub-lib/star", { star: "1" }, { token: "" })).status, 403);
    assert.equal((await pat.post("/packages/acme/pub-lib/star", { star: "1" }, { token, origin: "https://evil.example" })).status, 403);
    assert.deepEqual((await s.rt.catalog.getAccount("pat"))!.favorites ?? [], []);
    const starred = await pat.post("/packages/acme/pub-lib/star", { star: "1" }, { token });
    assert.equal(starred.status, 303);
    assert.equal(starred.headers.get("location"), "/packages/acme/pub-lib");
    assert.match((await pat.page("/packages/acme/pub-lib")).html, /aria-pressed="true"/);
    assert.match(textOf((await pat.page("/favorites")).html), /Favorites .*pub-lib acme public Unstar/);
    // starring twice keeps one entry, whatever the spelling
    await pat.post("/packages/acme/Pub_Lib/star", { star: "1" }, { token });
    assert.deepEqual((await s.rt.catalog.getAccount("pat"))!.favorites, ["acme/pub-lib"]);
    // what pat may not see cannot be starred, and is answered as missing
    const hidden = await pat.post("/packages/acme/priv-app/star", { star: "1" }, { token });
    const absent = await pat.post("/packages/acme/no-such-app/star", { star: "1" }, { token });
    assert.equal(hidden.status, 404);
    sameBut(await hidden.text(), "priv-app", await absent.text(), "no-such-app");
    assert.deepEqual((await s.rt.catalog.getAccount("pat"))!.favorites, ["acme/pub-lib"]);
    // a favorite that turns private out of pat's reach leaves the list (and comes back)
    await s.rt.catalog.setPackagePrivacy("acme", "pub-lib", "private");
    assert.doesNotMatch(textOf((await pat.page("/favorites")).html), /pub-lib/);
    await s.rt.catalog.clearPackagePrivacy("acme", "pub-lib");
    assert.match(textOf((await pat.page("/favorites")).html), /pub-lib/);
    // unstarred from Favorites, back to Favorites
    const off = await pat.post("/packages/acme/pub-lib/star", { star: "0", back: "favorites" }, { token });
    assert.equal(off.headers.get("location"), "/favorites");
    assert.deepEqual((await s.rt.catalog.getAccount("pat"))!.favorites, []);
    // signed out: no star, and posting one asks to sign in
    assert.equal((await new WebClient(s.url).post("/packages/acme/pub-lib/star", { star: "1" })).status, 303);
  });

  test("View All: the channel's packages, then its notebooks and environments", async () => {
    await s.rt.store.put("acme/notebooks/analysis/2026.11.30.101500/analysis.ipynb", Buffer.from(JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] })));
    await s.rt.store.put("acme/environments/data-env/2026.11.30.101500/environment.yml", Buffer.from("name: data-env\nchannels: [acme]\ndependencies: [pub-lib]\n"));
    const olga = await new WebClient(s.url).signIn("olga", PASSWORD);
    const all = await olga.page("/dashboard/acme/all");
    assert.equal(all.status, 200);
    const text = textOf(all.html);
    assert.match(text, /The packages, notebooks and environments of acme\./);
    for (const name of ["pub-lib", "priv-app", "web-tool"]) assert.ok(text.includes(name), name);
    assert.match(text, /Notebooks Name Version File Size Uploaded Access analysis 2026\.11\.30\.101500 analysis\.ipynb/);
    assert.match(text, /Environments Name Version File Size Uploaded Access data-env 2026\.11\.30\.101500 environment\.yml/);
    assert.match(all.html, /href="\/dashboard\/acme\/environments\/data-env\/2026\.11\.30\.101500\/environment\.yml"/, "the file, downloaded by the admins");
    // Packages lists only the packages
    const packages = textOf((await olga.page("/dashboard/acme/packages")).html);
    assert.ok(packages.includes("pub-lib") && !packages.includes("data-env"));
  });

  test("Labels: each label of the channel, what it holds, and conda's line for it", async () => {
    const olga = await new WebClient(s.url).signIn("olga", PASSWORD);
    const { status, html } = await olga.page("/dashboard/acme/labels");
    assert.equal(status, 200);
    const text = textOf(html);
    assert.match(text, /main 2 packages .*priv-app 2\.1 linux-64 private .*pub-lib 1\.0 linux-64 public/);
    assert.match(text, /dev 1 package .*pub-lib 1\.1 linux-64 public/);
    assert.ok(text.includes(`conda config --add channels ${s.url}/t/<TOKEN>/acme/label/dev`));
    assert.ok(text.includes(`conda config --add channels ${s.url}/t/<TOKEN>/acme `));
    // the Dashboard names the labels of each package
    assert.match(textOf((await olga.page("/dashboard/acme")).html), /pub-lib conda 1\.0 linux-64 main dev public/);
    // another user's labels: as missing as their Dashboard
    const pat = await new WebClient(s.url).signIn("pat", PASSWORD);
    assert.equal((await pat.get("/dashboard/hana/labels")).status, 404);
  });

  test("the Dashboard searches every package and shows one page of 50", async () => {
    const bert = await new WebClient(s.url).signIn("bert", PASSWORD);
    const rows = (html: string) => [...html.matchAll(/<a href="\/packages\/bert\/(pkg-\d+)"/g)].map((m) => m[1]);
    const cases: [query: string, summary: RegExp, names: string[] | { first: string; count: number }][] = [
      ["", /1–50 of 120 packages/, { first: "pkg-000", count: 50 }],
      ["?page=2", /51–100 of 120 packages/, { first: "pkg-050", count: 50 }],
      ["?page=3", /101–120 of 120 packages/, { first: "pkg-100", count: 20 }],
      ["?page=999", /101–120 of 120 packages/, { first: "pkg-100", count: 20 }],
      ["?page=x", /1–50 of 120 packages/, { first: "pkg-000", count: 50 }],
      ["?q=pkg-01", /10 packages of 120 match “pkg-01”/, { first: "pkg-010", count: 10 }],
      ["?q=PKG_011", /1 package of 120 match “PKG_011”/, ["pkg-011"]],
      ["?q=1", /39 packages of 120 match “1” Name/, { first: "pkg-001", count: 39 }],
      ["?q=0", /111 packages of 120 match “0” · 1–50/, { first: "pkg-000", count: 50 }],
      ["?q=0&page=3", /111 packages of 120 match “0” · 101–111/, { first: "pkg-100", count: 11 }],
      ["?q=nothing", /0 packages of 120 match “nothing”/, []],
    ];
    for (const [query, summary, want] of cases) {
      const { status, html } = await bert.page(`/dashboard/bert${query}`);
      assert.equal(status, 200, query);
      assert.match(textOf(html), summary, query);
      const got = rows(html);
      if (Array.isArray(want)) assert.deepEqual(got, want, query);
      else assert.deepEqual({ first: got[0], count: got.length }, want, query);
    }
    const first = (await bert.page("/dashboard/bert?q=0")).html;
    assert.match(first, /<a class="button secondary" href="\/dashboard\/bert\?q=0&amp;page=2" rel="next">Next<\/a>/, "the pages keep the search");
    assert.match(textOf(first), /Page 1 of 3/);
    // the other package lists search and page alike
    assert.match(textOf((await bert.page("/dashboard/bert/packages?page=3")).html), /101–120 of 120 packages/);
  });

  test("what the pages keep in process: a new conda index shows at once, a new PyPI project within LISTING_FRESH_MS", async () => {
    const bert = await new WebClient(s.url).signIn("bert", PASSWORD);
    assert.match(textOf((await bert.page("/dashboard/bert")).html), /120 packages/);
    const packages = Object.fromEntries(Array.from({ length: 121 }, (_, i) => [`pkg-${String(i).padStart(3, "0")}`, { version: `1.${i}`, subdirs: ["noarch"] }]));
    await s.rt.store.put("bert/channeldata.json", Buffer.from(JSON.stringify({ channeldata_version: 1, packages, subdirs: ["noarch"] })));
    assert.match(textOf((await bert.page("/dashboard/bert?q=pkg-120")).html), /1 package of 121 match/, "the index is checked on every view");
    await s.rt.store.put(`bert/pypi/late-tool/${wheelFilename("late-tool", "1.0")}`, buildWheel({ name: "late-tool", version: "1.0" }));
    const started = Date.now();
    let seen = false;
    while (!seen && Date.now() - started < LISTING_FRESH_MS + 3000) {
      seen = /late-tool/.test((await bert.page("/dashboard/bert?q=late")).html);
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen, "the new project shows once the listing is made again");
    assert.ok(Date.now() - started < LISTING_FRESH_MS + 2000, `within ${Date.now() - started} ms`);
    await s.rt.store.delete(`bert/pypi/late-tool/${wheelFilename("late-tool", "1.0")}`);
    await s.rt.store.put("bert/channeldata.json", Buffer.from(JSON.stringify({ channeldata_version: 1, packages: Object.fromEntries(Object.entries(packages).slice(0, 120)), subdirs: ["noarch"] })));
  });

  test("a browser opening a channel's address gets its page, with what the visitor may see", async () => {
    for (const path of ["/acme/", "/acme"]) {
      const res = await new WebClient(s.url).get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      const text = textOf(await res.text());
      assert.match(text, /pub-lib/);
      assert.match(text, /web-tool/);
      assert.doesNotMatch(text, /priv-app/, "the private package is not in sight");
      assert.ok(text.includes(`conda config --add channels ${s.url}/t/<TOKEN>/acme`));
    }
    const gus = await new WebClient(s.url).signIn("gus", PASSWORD);
    assert.match(textOf((await gus.page("/acme/")).html), /priv-app .*private/, "its group sees it");
    assert.doesNotMatch((await gus.page("/acme/")).html, /href="\/dashboard\/acme"/, "a reader is no admin");
    const olga = await new WebClient(s.url).signIn("olga", PASSWORD);
    assert.match((await olga.page("/acme/")).html, /href="\/dashboard\/acme"/);
    assert.match(textOf((await olga.page("/acme/?q=priv")).html), /1 package of 3 match “priv”/);
    // a channel nobody may see anything of is answered as one that does not exist
    for (const who of [new WebClient(s.url), await new WebClient(s.url).signIn("pat", PASSWORD)]) {
      await who.get("/");
      const hidden = await who.get("/hana/");
      const absent = await who.get("/nobody-here/");
      assert.equal(hidden.status, 404);
      assert.equal(absent.status, 404);
      assert.match(hidden.headers.get("content-type") ?? "", /text\/html/);
      sameBut(await hidden.text(), "hana", await absent.text(), "nobody-here");
    }
    assert.equal((await (await new WebClient(s.url).signIn("hana", PASSWORD)).get("/hana/")).status, 200);
  });

  test("conda, pip, twine and the API see no change at a channel's address", async () => {
    const gate = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${s.url}${path}`, { redirect: "manual", ...init });
      return { status: res.status, type: res.headers.get("content-type") ?? "", csp: res.headers.get("content-security-policy"), body: await res.text() };
    };
    const cases: [what: string, path: string, init: RequestInit, status: number, type: RegExp][] = [
      ["conda (Accept: */*)", "/acme/", { headers: { accept: "*/*" } }, 404, /json/],
      ["no Accept", "/acme", {}, 404, /json/],
      ["JSON asked for", "/acme/", { headers: { accept: "application/json" } }, 404, /json/],
      ["pip's root", "/acme/simple/", { headers: { accept: PIP_ACCEPT } }, 200, /pypi\.simple/],
      ["a browser at the PyPI root", "/acme/simple/", { headers: { accept: "text/html" } }, 200, /html/],
      ["a browser at a conda index", "/acme/linux-64/repodata.json", { headers: { accept: "text/html,*/*;q=0.8" } }, 200, /json/],
      ["twine's upload without credentials", "/acme/", { method: "POST", headers: { accept: "text/html" } }, 401, /json/],
      ["a reserved name: the API's root (anaconda-client asks it), not a channel page", "/api", { headers: { accept: "text/html" } }, 200, /json/],
      ["a reserved name with nothing behind it", "/simple", { headers: { accept: "text/html" } }, 404, /json/],
    ];
    for (const [what, path, init, status, type] of cases) {
      const got = await gate(path, init);
      assert.equal(got.status, status, `${what}: ${got.body.slice(0, 200)}`);
      assert.match(got.type, type, what);
      assert.equal(got.csp, null, `${what}: not a page`);
    }
  });
});

describe("the package pages behind PUBLIC_URL and BASE_PATH", () => {
  let s: Stack;
  before(async () => {
    s = await startWebStack({ env: { PUBLIC_URL: "https://pkgs.example.com/pk", BASE_PATH: "/pk" } });
    await s.rt.catalog.createAccount({ name: "acme", kind: "org", admins: [] });
    await s.rt.store.put(`acme/pypi/web-tool/${wheelFilename("web-tool", "1.0")}`, buildWheel({ name: "web-tool", version: "1.0" }));
  });
  after(() => s.stop());

  test("install lines carry the public address and the prefix; the channel's page is under the prefix", async () => {
    const browser = new WebClient(`${s.url}/pk`);
    const { status, html } = await browser.page("/packages/acme/web-tool");
    assert.equal(status, 200);
    assert.ok(textOf(html).includes("pip install --index-url https://__token__:<TOKEN>@pkgs.example.com/pk/acme/simple/ web-tool"));
    const channel = await browser.get("/acme/");
    assert.equal(channel.status, 200);
    assert.match(textOf(await channel.text()), /conda config --add channels https:\/\/pkgs\.example\.com\/pk\/t\/<TOKEN>\/acme/);
    assert.match(html, /href="\/pk\/acme\/"/, "links carry the prefix");
    assert.equal((await fetch(`${s.url}/acme/`, { headers: { accept: "text/html" } })).status, 404, "nothing outside the prefix");
  });
});
