// The web pages' router, mounted by app.ts before the gate's catch-all. Each page takes the
// same short path: security headers → visit (the session cookie → the principal, through
// the Identifier every door uses) → [signed in] → [the form guard, for forms that change
// something] → the page, which decides through authorize() and acts through the API's own
// verbs. Only the pages' reserved top-level names (access/names.ts) and `/` are routed
// here, under BASE_PATH (the router is mounted at the root); every other path goes on to
// the gate untouched.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import "../http/vars.js";
import { GateError } from "../errors.js";
import { ASSET_CACHE_CONTROL, assetNamed } from "./assets.js";
import { createWeb, type WebDeps, type Web } from "./web.js";
import { visit } from "./visitor.js";
import { formGuard } from "./forms.js";
import { errorPage } from "./render.js";
import { forgotPage, homePage, signIn, signOut, signUpPage, termsPage } from "./routes/account.js";
import { dashboardHome, dashboardPage, kindFilePage, sectionPage, signedIn } from "./routes/dashboard.js";
import { createToken, removePublisherPage, revokeToken, tokensPage } from "./routes/tokens.js";
import { packagePages } from "./routes/packages.js";
import { orgPages } from "./routes/orgs.js";
import { settingsPages } from "./routes/settings.js";
import type { Chains, On, Page } from "./routing.js";

export type { WebDeps } from "./web.js";

/** No script but our own file, no style but our own sheet, no frames, forms only to us. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** The top-level names the pages own besides `/` and `/static/` (reserved in names.ts). */
export const PAGE_ROOTS = ["account", "dashboard", "settings", "packages", "favorites", "organizations", "memberships"] as const;

function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    c.set("route", "web");
    await next();
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-content-type-options", "nosniff");
    c.header("x-frame-options", "DENY");
    c.header("referrer-policy", "same-origin");
    c.header("cross-origin-opener-policy", "same-origin");
    // pages show what only this session may see (and once, a token's secret)
    c.header("cache-control", "no-store");
    c.header("vary", "Cookie");
  };
}

export function webRoutes(deps: WebDeps): Hono {
  const web = createWeb(deps);
  const r = new Hono();
  const open = [securityHeaders(), visit(web)];
  const user = [...open, signedIn(web)];
  const form = formGuard(web);
  const run = (page: Page) => (c: Context) => page(c, web);

  r.get(`${web.base}/static/:name`, (c) => {
    c.set("route", "web");
    const asset = assetNamed(c.req.param("name"));
    if (!asset) throw new GateError("not_found", "no such file");
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, { etag: asset.etag, "cache-control": ASSET_CACHE_CONTROL });
    return c.body(new Uint8Array(asset.body), 200, {
      "content-type": asset.contentType,
      "cache-control": ASSET_CACHE_CONTROL,
      etag: asset.etag,
      "x-content-type-options": "nosniff",
    });
  });

  // each route: its chain of middleware, then its page
  const on: On = (method, path, chain, page) => {
    const methods = method === "ALL" ? ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] : [method];
    r.on(methods, [`${web.base}${path}`], ...(chain as [MiddlewareHandler]), page);
  };
  // the start page: `/`, and under BASE_PATH both `/prefix/` and `/prefix`
  for (const home of web.base ? ["/", ""] : ["/"]) on("GET", home, open, run(homePage));
  on("POST", "/account/signin", [...open, form], run(signIn));
  on("POST", "/account/signup", [...open, form], run(signUpPage));
  on("POST", "/account/signout", [...open, form], run(signOut));
  on("GET", "/account/forgot-username", open, (c) => forgotPage(c, web, "username"));
  on("GET", "/account/forgot-password", open, (c) => forgotPage(c, web, "password"));
  on("GET", "/account/terms", open, run(termsPage));

  on("GET", "/dashboard", user, run(dashboardHome));
  on("GET", "/dashboard/:account", user, run(dashboardPage));
  on("GET", "/dashboard/:account/:section", user, run(sectionPage));
  on("GET", "/dashboard/:account/:section/:name/:version/:file", user, run(kindFilePage));

  on("GET", "/settings/:account/tokens", user, run(tokensPage));
  on("POST", "/settings/:account/tokens", [...user, form], run(createToken));
  on("POST", "/settings/:account/tokens/revoke", [...user, form], run(revokeToken));
  on("POST", "/settings/:account/tokens/publishers/remove", [...user, form], run(removePublisherPage));

  // the areas of the site, each in its own module
  const chains: Chains = { open, user, form, run };
  for (const area of [packagePages, orgPages, settingsPages]) area(on, chains, web);

  // anything else under the pages' names is a page that does not exist (never the gate's)
  const missing = () => {
    throw new GateError("not_found", "there is no such page");
  };
  for (const root of PAGE_ROOTS) {
    on("ALL", `/${root}`, open, missing);
    on("ALL", `/${root}/*`, open, missing);
  }
  on("ALL", "/static/*", [], missing);
  r.onError((err, c) => errorPage(err, c, web));
  return r;
}
