// The package pages: a package's page (`/packages/<channel>/<name>`: its files, the lines that
// install it, the privacy switch for its managers, the star for everybody signed in), the
// user's Favorites, and a channel's page for a browser that opens the channel's own address
// (`/acme/`). What a visitor may see is authorize()'s answer for a download of it, as at the
// gate: a package or a channel the visitor may not see is answered exactly as a missing one,
// after the store work a missing one costs.
import type { Context, MiddlewareHandler, Next } from "hono";
import { GateError } from "../../errors.js";
import type { Account, Privacy } from "../../access/model.js";
import { authorize, missing, refusal, type Resource } from "../../access/authorize.js";
import { privacyOf, visibility } from "../../access/policy.js";
import { isAccountName, isPackageName } from "../../access/names.js";
import { setFavorite } from "../../access/catalog.js";
import { normalizeProjectName } from "../../pypi/names.js";
import { setPackagePrivacy } from "../../api/channels.js";
import { header } from "../../http/headers.js";
import type { Area, Chains } from "../routing.js";
import { channelAddresses, channelContents, visibleEntries } from "../channel.js";
import { packageDetail, probePackage, type PackageDetail } from "../package-files.js";
import { field } from "../forms.js";
import { publicBase } from "../visitor.js";
import { errorPage, frameFor, render } from "../render.js";
import { packageList } from "./dashboard.js";
import { ChannelView } from "../views/channel.js";
import { FavoritesView, type Favorite } from "../views/favorites.js";
import { PackageView, labelPath, packagePath } from "../views/package.js";
import { href, type Web } from "../web.js";

export const packagePages: Area = (on, chains, web) => {
  on("GET", "/packages/:account/:name", chains.open, chains.run(packagePage));
  on("POST", "/packages/:account/:name/star", [...chains.user, chains.form], chains.run(star));
  on("POST", "/packages/:account/:name/privacy", [...chains.user, chains.form], chains.run(switchPrivacy));
  on("GET", "/favorites", chains.user, chains.run(favoritesPage));
  // A browser opening a channel's address; anything else there goes on to the gate.
  const door = channelDoor(web, chains);
  on("GET", "/:channel", [], door);
  on("GET", "/:channel/", [], door);
};

// ---- a package's page -------------------------------------------------------------------

/** The package of the path, when the visitor may see it; otherwise exactly the answer a
 * missing package gets (after the look-up a missing one costs). */
async function findPackage(c: Context, web: Web): Promise<{ account: Account; detail: PackageDetail; resource: Resource }> {
  const channel = c.req.param("account") ?? "";
  const name = c.req.param("name") ?? "";
  const principal = c.get("visitor").principal;
  const valid = isAccountName(channel) && isPackageName(name);
  const account = valid ? await web.deps.catalog.getAccount(channel) : null;
  const resource: Resource = { account, name: channel, kind: "channel", package: name };
  const d = authorize(principal, "conda:download", resource);
  if (!d.allow) throw await refusal(d, async () => valid && (await probePackage(web.deps.store, web.pypi, channel, name)));
  const detail = await packageDetail(web.deps.store, web.pypi, channel, name);
  if (!detail) throw missing(principal, "conda:download", resource);
  return { account: account!, detail, resource };
}

async function packagePage(c: Context, web: Web): Promise<Response> {
  const { account, detail, resource } = await findPackage(c, web);
  const visitor = c.get("visitor");
  const at = channelAddresses(publicBase(c, web), account.name);
  const labels = [...new Set(detail.conda.map((p) => p.label))];
  const install = [
    ...labels.map((label) => ({ id: `install-conda${labels.length > 1 ? `-${label}` : ""}`, label: labels.length > 1 ? `conda, label ${label}` : "conda", text: `conda install -c ${at.conda}${labelPath(label)} ${detail.name}` })),
    ...(detail.pypi ? [{ id: "install-pip", label: "pip", text: `pip install --index-url ${at.pip} ${detail.pypi.name}` }] : []),
  ];
  const own = Object.hasOwn(account.packages, detail.normalized) ? account.packages[detail.normalized]! : null;
  const saved = c.req.query("saved");
  return render(
    c,
    await frameFor(c, web, `${detail.name} · ${account.name}`),
    <PackageView
      web={web}
      visitor={visitor}
      state={{
        channel: account.name,
        detail,
        privacy: privacyOf(account, detail.name),
        own,
        channelDefault: account.defaultPrivacy,
        manage: authorize(visitor.principal, "package:write", resource).allow,
        starred: visitor.user ? isFavorite(visitor.user, account.name, detail.normalized) : null,
        install,
        info: saved === "privacy" ? `${detail.name} is now ${privacyOf(account, detail.name)}${own === null ? `, as the channel's default` : ""}.` : undefined,
      }}
    />,
  );
}

function isFavorite(user: Account, channel: string, normalized: string): boolean {
  return (user.favorites ?? []).some((f) => {
    const ref = favoriteRef(f);
    return ref !== null && ref.channel === channel && normalizeProjectName(ref.name) === normalized;
  });
}

/** A stored favorite, `<channel>/<package>`, read back (null for one that is not). */
function favoriteRef(entry: string): { channel: string; name: string } | null {
  const slash = entry.indexOf("/");
  const channel = entry.slice(0, slash);
  const name = entry.slice(slash + 1);
  return slash > 0 && isAccountName(channel) && isPackageName(name) ? { channel, name } : null;
}

/** Star (`star=1`) or unstar (`star=0`). Starring needs the package in sight; unstarring
 * only changes the user's own list, so it is answered alike whatever the package is now. */
async function star(c: Context, web: Web): Promise<Response> {
  const form = c.get("form");
  const user = c.get("visitor").user!;
  const on = field(form, "star") === "1";
  const back = (channel: string, name: string) => (field(form, "back") === "favorites" ? href(web, "/favorites") : href(web, packagePath(channel, name)));
  if (on) {
    const { account, detail } = await findPackage(c, web);
    await setFavorite(web.deps.catalog, user.name, account.name, detail.name, true);
    return c.redirect(back(account.name, detail.name), 303);
  }
  const channel = c.req.param("account") ?? "";
  const name = c.req.param("name") ?? "";
  if (!isAccountName(channel) || !isPackageName(name)) throw new GateError("not_found", "there is no such page");
  await setFavorite(web.deps.catalog, user.name, channel, name, false);
  return c.redirect(back(channel, name), 303);
}

/** The privacy switch: the API's own setPackagePrivacy (authorized for package:write). */
async function switchPrivacy(c: Context, web: Web): Promise<Response> {
  const channel = c.req.param("account") ?? "";
  const name = c.req.param("name") ?? "";
  const chosen = field(c.get("form"), "privacy");
  const privacy: Privacy | null | undefined = chosen === "public" || chosen === "private" ? chosen : chosen === "default" ? null : undefined;
  if (privacy === undefined) throw new GateError("bad_request", `choose who can download ${name}: public, private, or the channel's default`);
  await setPackagePrivacy({ catalog: web.deps.catalog, principal: c.get("visitor").principal }, channel, name, privacy);
  return c.redirect(href(web, `${packagePath(channel, name)}?saved=privacy`), 303);
}

// ---- Favorites --------------------------------------------------------------------------

/** The user's starred packages that they may still see. */
async function favoritesPage(c: Context, web: Web): Promise<Response> {
  const visitor = c.get("visitor");
  const favorites: Favorite[] = [];
  for (const entry of visitor.user!.favorites ?? []) {
    const ref = favoriteRef(entry);
    if (!ref) continue;
    const account = await web.deps.catalog.getAccount(ref.channel);
    if (!authorize(visitor.principal, "conda:download", { account, name: ref.channel, kind: "channel", package: ref.name }).allow) continue;
    favorites.push({ channel: ref.channel, name: ref.name, privacy: privacyOf(account!, ref.name) });
  }
  return render(c, await frameFor(c, web, "Favorites"), <FavoritesView web={web} visitor={visitor} favorites={favorites} />);
}

// ---- a channel's page, for browsers -----------------------------------------------------

/** Whether the client would rather have HTML than anything else it accepts: `text/html`
 * named with a q above zero, and nothing named before it with a q as high, nor anything with
 * a higher one. Browsers put text/html first; pip asks for it last (q=0.01), conda and curl
 * not at all. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = -1;
  let best = -1;
  let bestBeforeHtml = -1;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!type) continue;
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === "text/html" && html < 0) html = q;
    else {
      if (html < 0) bestBeforeHtml = Math.max(bestBeforeHtml, q);
      best = Math.max(best, q);
    }
  }
  return html > 0 && html > bestBeforeHtml && html >= best;
}

/** The handler of `/<channel>` and `/<channel>/`: a browser's GET gets the channel's page
 * (through the pages' own chain); conda, pip, twine and the API go on to the gate unchanged. */
function channelDoor(web: Web, chains: Chains): (c: Context) => Promise<Response> {
  const door = async (c: Context, next: Next): Promise<Response | void> => {
    const asks = (c.req.method === "GET" || c.req.method === "HEAD") && isAccountName(c.req.param("channel") ?? "") && prefersHtml(header(c, "accept"));
    if (!asks) return next();
    return through(c, chains.open, () => channelPage(c, web), web);
  };
  // Hono hands every handler `next`; the routing table's page type leaves it out
  return door as unknown as (c: Context) => Promise<Response>;
}

/** A chain of middleware, then the page, as the router runs a route's handlers: a refusal
 * becomes the error page inside the chain, so the chain's headers reach it too. */
async function through(c: Context, chain: MiddlewareHandler[], page: () => Promise<Response>, web: Web): Promise<Response> {
  const step = async (i: number): Promise<void> => {
    const mw = chain[i];
    if (!mw) {
      c.res = await page().catch((err) => errorPage(err, c, web));
      return;
    }
    const res = await mw(c, () => step(i + 1));
    if (res instanceof Response) c.res = res;
  };
  await step(0);
  return c.res;
}

/** What a missing channel gets, and one the visitor may see nothing of: the page that does
 * not exist, as /dashboard/<name> answers it. */
const noChannel = (name: string) => new GateError("not_found", `no such channel: ${name}`);

async function channelPage(c: Context, web: Web): Promise<Response> {
  const name = c.req.param("channel")!;
  const principal = c.get("visitor").principal;
  const account = await web.deps.catalog.getAccount(name);
  // an index's rule: the channel is in sight when one package of it is
  const d = authorize(principal, "conda:download", { account, name, kind: "channel", package: null });
  if (!d.allow) {
    if (d.hidden) await channelContents(web.deps.store, name);
    throw d.hidden ? noChannel(name) : d.error;
  }
  const { packages } = await channelContents(web.deps.store, name);
  const visible = visibleEntries(packages, visibility(principal, account!));
  const at = channelAddresses(publicBase(c, web), account!.name);
  const admin = authorize(principal, "channel:read", { account, name, kind: "channel" }).allow;
  const list = packageList(c, account!, visible, href(web, `/${account!.name}/`));
  return render(c, await frameFor(c, web, account!.name), <ChannelView web={web} account={account!} list={list} admin={admin} channelUrl={at.conda} pipUrl={at.pip} />);
}
