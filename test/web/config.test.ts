// The pages under their configuration (config.ts WebConfig, BASE_PATH), in process: with
// SESSION_SECRET no key is generated into the store; with an https PUBLIC_URL the session
// cookie is Secure, forms are accepted from that exact origin only, and conda lines name it;
// under BASE_PATH every link, redirect and cookie path carries the prefix.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { Identifier } from "../../src/auth/identify.js";
import { createLogger } from "../../src/log.js";
import { PAGE_ROOTS, webRoutes, type WebDeps } from "../../src/web/index.js";
import { SESSION_KEY_OBJECT } from "../../src/web/keys.js";
import { DEFAULT_WEB_CONFIG } from "../../src/web/web.js";

const silent = () => createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() }));

/** The pages alone, mounted as app.ts mounts them. */
function pages(deps: WebDeps): Hono {
  const app = new Hono();
  app.route("/", webRoutes(deps));
  return app;
}

/** GET a page and return its cookies and form token, as a browser would keep them. */
async function visit(app: Hono, url: string, cookie = ""): Promise<{ cookie: string; token: string; res: Response; html: string }> {
  const res = await app.request(url, { headers: { cookie } });
  const html = await res.text();
  const set = res.headers.getSetCookie().map((c) => c.split(";")[0]!);
  return { cookie: [cookie, ...set].filter(Boolean).join("; "), token: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "", res, html };
}

async function post(app: Hono, url: string, cookie: string, origin: string, fields: Record<string, string>): Promise<Response> {
  // a Request made here has no Host header unless given one; a browser always sends it
  const host = new URL(url).host;
  return app.request(url, { method: "POST", headers: { host, cookie, origin, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
}

describe("web pages under their configuration", () => {
  let dir: string;
  let deps: WebDeps;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pkgate-web-config-"));
    const store = new FsStore(dir);
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
    deps = { store, cache, catalog, identifier: new Identifier(catalog), logger: silent(), basePath: "", signup: "open", trustProxy: [] };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("SESSION_SECRET and an https PUBLIC_URL: Secure cookie, that exact origin, conda lines naming it", async () => {
    const app = pages({ ...deps, web: { ...DEFAULT_WEB_CONFIG, sessionSecret: "s".repeat(48), publicUrl: "https://pk.example.com" } });
    const home = await visit(app, "http://internal:8080/");
    const fields = { _csrf: home.token, username: "hana", email: "hana@example.com", password: "hana-password", confirm: "hana-password", terms: "accepted" };
    assert.equal((await post(app, "http://internal:8080/account/signup", home.cookie, "http://pk.example.com", fields)).status, 403, "http is not the public origin");
    assert.equal((await post(app, "http://internal:8080/account/signup", home.cookie, "http://internal:8080", fields)).status, 403, "nor is the internal host");
    const signedUp = await post(app, "http://internal:8080/account/signup", home.cookie, "https://pk.example.com", fields);
    assert.equal(signedUp.status, 303);
    const session = signedUp.headers.getSetCookie().find((c) => c.startsWith("pkgate_session="))!;
    assert.match(session, /; Secure/);
    assert.equal(await deps.store.get(SESSION_KEY_OBJECT), null, "no key is generated when SESSION_SECRET is set");

    const cookie = `${home.cookie}; ${session.split(";")[0]}`;
    const tokens = await visit(app, "http://internal:8080/settings/hana/tokens", cookie);
    const created = await post(app, "http://internal:8080/settings/hana/tokens", cookie, "https://pk.example.com", { _csrf: tokens.token, name: "laptop", scopes: "conda:download" });
    assert.equal(created.status, 200);
    assert.match(await created.text(), /conda config --add channels https:\/\/pk\.example\.com\/t\/pkg-[A-Za-z0-9]{40}\/hana/);
    // a page sealed with another secret's key does not open this session
    const other = pages({ ...deps, web: { ...DEFAULT_WEB_CONFIG, sessionSecret: "t".repeat(48) } });
    assert.equal((await other.request("http://internal:8080/dashboard/hana", { headers: { cookie } })).status, 303);
  });

  test("under BASE_PATH: links, redirects and cookies carry the prefix", async () => {
    const app = pages({ ...deps, basePath: "/conda" });
    const home = await visit(app, "http://pk.local/conda/");
    assert.equal(home.res.status, 200);
    assert.equal((await app.request("http://pk.local/conda")).status, 200, "without the slash too");
    assert.match(home.html, /href="\/conda\/static\/style\.[0-9a-f]{12}\.css"/);
    assert.match(home.html, /action="\/conda\/account\/signup"/);
    assert.match(home.res.headers.getSetCookie().join("\n"), /Path=\/conda/);
    const res = await post(app, "http://pk.local/conda/account/signup", home.cookie, "http://pk.local", { _csrf: home.token, username: "ivan", email: "ivan@example.com", password: "ivan-password", confirm: "ivan-password", terms: "accepted" });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/conda/dashboard/ivan");
    assert.equal((await app.request("http://pk.local/dashboard/ivan")).status, 404, "nothing outside the prefix");
  });

  test("every form that changes something is refused without its form token, or from another origin, signed in or not", async () => {
    const app = pages(deps);
    const home = await visit(app, "http://pk.local/");
    const signedUp = await post(app, "http://pk.local/account/signup", home.cookie, "http://pk.local", { _csrf: home.token, username: "kira", email: "kira@example.com", password: "kira-password", confirm: "kira-password", terms: "accepted" });
    assert.equal(signedUp.status, 303);
    const session = signedUp.headers.getSetCookie().find((c) => c.startsWith("pkgate_session="))!.split(";")[0]!;
    const signedIn = await visit(app, "http://pk.local/dashboard/kira", `${home.cookie}; ${session}`);
    // every POST the router knows, its parameters filled in
    const posts = webRoutes(deps)
      // (the catch-alls that answer any method under the pages' names with a 404 are no forms)
      .routes.filter((r) => r.method === "POST" && !r.path.endsWith("*") && !PAGE_ROOTS.some((root) => r.path === `/${root}`))
      .map((r) => r.path.replace(/:account|:org/g, "kira").replace(/:name/g, "pkg").replace(/:group/g, "team"));
    assert.ok(posts.length >= 20, `POST routes: ${posts.length}`);
    for (const path of new Set(posts)) {
      for (const [who, cookie, token] of [["signed in", signedIn.cookie, signedIn.token], ["signed out", home.cookie, home.token]] as const) {
        const url = `http://pk.local${path}`;
        for (const [what, origin, fields] of [
          ["no form token", "http://pk.local", {}],
          ["another origin", "http://evil.example", { _csrf: token }],
        ] as const) {
          const res = await post(app, url, cookie, origin, { name: "x", ...fields });
          if (who === "signed out" && res.status === 303) continue; // sent to sign in first: nothing done
          assert.equal(res.status, 403, `${path}, ${who}, ${what}`);
          assert.match(await res.text(), /not sent from pkgate&#39;s own page|not sent from pkgate's own page/, `${path}, ${who}, ${what}`);
        }
      }
    }
  });

  test("a session is renewed as it is used, and ends after an idle hour", async () => {
    let offset = 0;
    const minutes = (n: number) => n * 60 * 1000;
    const app = pages({ ...deps, now: () => Date.now() + offset });
    const home = await visit(app, "http://pk.local/");
    const signedUp = await post(app, "http://pk.local/account/signup", home.cookie, "http://pk.local", { _csrf: home.token, username: "jude", email: "jude@example.com", password: "jude-password", confirm: "jude-password", terms: "accepted" });
    assert.equal(signedUp.status, 303);
    const sessionOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith("pkgate_session="))?.split(";")[0];
    let cookie = sessionOf(signedUp)!;
    const dashboard = () => app.request("http://pk.local/dashboard/jude", { headers: { cookie } });
    offset = minutes(10);
    const early = await dashboard();
    assert.equal(early.status, 200);
    assert.equal(sessionOf(early), undefined, "a fresh cookie is not sealed again");
    offset = minutes(20);
    const renewed = await dashboard();
    assert.equal(renewed.status, 200);
    assert.ok(sessionOf(renewed), "past a quarter of an hour of use, a new cookie");
    cookie = sessionOf(renewed)!;
    offset = minutes(20 + 59);
    assert.equal((await dashboard()).status, 200, "59 minutes after its renewal, still signed in");
    offset = minutes(20 + 59 + 61);
    const idle = await dashboard();
    assert.equal(idle.status, 303, "an idle hour later, sent to sign in");
    assert.match(idle.headers.get("location") ?? "", /tab=signin/);
  });
});
