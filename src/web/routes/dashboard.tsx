// The Dashboard of an account (the guide's Landscape) and the other entries of the Tools
// menu. Whose Dashboard a user may see is authorize()'s answer for `channel:read` (the
// account's admins: the user, an organization's admins, server admins); to anyone else it
// is exactly what a missing account is.
import type { Context, MiddlewareHandler } from "hono";
import { GateError } from "../../errors.js";
import type { Account } from "../../access/model.js";
import { authorize, refusal, type Action } from "../../access/authorize.js";
import { channelAddresses, channelContents, pageOf, privateCount, searchPackages, withPrivacy, type PackageEntry } from "../channel.js";
import { publicBase } from "../visitor.js";
import { frameFor, render } from "../render.js";
import { DashboardView, PackageList, type PackageListState } from "../views/dashboard.js";
import { LabelsView } from "../views/labels.js";
import { href, type Web } from "../web.js";
import { Readable } from "node:stream";
import { KINDS, kindOfFolder } from "../../kinds/kinds.js";
import { KindFiles } from "../../kinds/files.js";
import { KindTable, KindsView } from "../views/kinds.js";

/** Middleware: pages for signed-in users send anyone else to sign in, and back here after. */
export function signedIn(web: Web): MiddlewareHandler {
  return async (c, next) => {
    if (c.get("visitor").user) return next();
    const back = c.req.method === "GET" ? `&next=${encodeURIComponent(c.req.path)}` : "";
    return c.redirect(href(web, `/?tab=signin${back}`), 303);
  };
}

/** The account named in the path, with the visitor authorized for `action` on it (the
 * refusal thrown otherwise: the missing answer for what it may not see). */
export async function accountFor(c: Context, web: Web, action: Action): Promise<Account> {
  const name = c.req.param("account") ?? "";
  const account = await web.deps.catalog.getAccount(name);
  const d = authorize(c.get("visitor").principal, action, { account, name, kind: "channel" });
  if (!d.allow) throw await refusal(d, async () => undefined);
  return account!;
}

export function dashboardHome(c: Context, web: Web): Response {
  return c.redirect(href(web, `/dashboard/${c.get("visitor").user!.name}`), 303);
}

/** The longest search a list takes (longer ones are cut): no package name is longer. */
const MAX_QUERY = 200;

/** A package list as the request asks for it (`?q=` searches every package, `?page=` picks
 * one page of what it found, shown with the privacy `account` gives each); `path` is the
 * list's own page, under BASE_PATH. */
export function packageList(c: Context, account: Account, packages: readonly PackageEntry[], path: string): PackageListState {
  const query = (c.req.query("q") ?? "").trim().slice(0, MAX_QUERY);
  const paged = pageOf(searchPackages(packages, query), c.req.query("page"));
  return { paged: { ...paged, items: paged.items.map((p) => withPrivacy(account, p)) }, query, count: packages.length, path, channel: account.name };
}

export async function dashboardPage(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "channel:read");
  const { packages, labels } = await channelContents(web.deps.store, account.name);
  const at = channelAddresses(publicBase(c, web), account.name);
  const list = packageList(c, account, packages, href(web, `/dashboard/${account.name}`));
  return render(
    c,
    await frameFor(c, web, account.name, { active: account.name }),
    <DashboardView web={web} account={account} list={list} labels={labels.length} privateCount={privateCount(account, packages)} channelUrl={at.conda} pipUrl={at.pip} />,
  );
}

/** The Tools entries of an account that have a page of their own. */
const SECTIONS = {
  all: "View All",
  packages: "Packages",
  notebooks: "Notebooks",
  environments: "Environments",
  labels: "Labels",
} as const;

export async function sectionPage(c: Context, web: Web): Promise<Response> {
  const section = c.req.param("section") as keyof typeof SECTIONS;
  if (!Object.hasOwn(SECTIONS, section)) throw new GateError("not_found", "there is no such page");
  const account = await accountFor(c, web, "channel:read");
  const title = SECTIONS[section];
  const frame = await frameFor(c, web, `${title} · ${account.name}`, { active: account.name });
  if (section === "all" || section === "packages") {
    const { packages } = await channelContents(web.deps.store, account.name);
    const list = packageList(c, account, packages, href(web, `/dashboard/${account.name}/${section}`));
    // View All: the packages, then the notebooks and the environments (the guide's "all
    // packages, notebooks and environments you have created")
    const kinds = section === "all" ? await Promise.all([KINDS.ipynb, KINDS.env].map(async (kind) => ({ kind, files: await new KindFiles(web.deps.store).list(account.name, kind) }))) : [];
    return render(
      c,
      frame,
      <>
        <div class="page-head">
          <div>
            <h1>{title}</h1>
            <p class="sub">{section === "all" ? `The packages, notebooks and environments of ${account.name}.` : `The packages in the channel ${account.name}.`}</p>
          </div>
        </div>
        <section class="card" aria-labelledby="all-packages">
          <h2 id="all-packages">Packages</h2>
          <PackageList web={web} state={list} />
        </section>
        {kinds.map(({ kind, files }) => {
          const name = SECTIONS[kind.folder];
          return (
            <section class="card" aria-labelledby={`all-${kind.folder}`}>
              <h2 id={`all-${kind.folder}`}>
                <a href={href(web, `/dashboard/${account.name}/${kind.folder}`)}>{name}</a>
              </h2>
              <KindTable web={web} account={account} kind={kind} label={`${name} of ${account.name}`} files={files} />
            </section>
          );
        })}
      </>,
    );
  }
  if (section === "labels") {
    const { labels } = await channelContents(web.deps.store, account.name);
    return render(c, frame, <LabelsView web={web} account={account} labels={labels} channelUrl={channelAddresses(publicBase(c, web), account.name).conda} />);
  }
  const kind = kindOfFolder(section)!;
  const files = await new KindFiles(web.deps.store).list(account.name, kind);
  return render(c, frame, <KindsView web={web} account={account} kind={kind} title={title} files={files} apiBase={`${publicBase(c, web)}/api`} />);
}

/** An environment or notebook of the account, downloaded by whoever may see its Dashboard (the
 * account's admins); tools use the API's /download with a token instead. */
export async function kindFilePage(c: Context, web: Web): Promise<Response> {
  const kind = kindOfFolder(c.req.param("section") ?? "");
  if (!kind) throw new GateError("not_found", "there is no such page");
  const account = await accountFor(c, web, "channel:read");
  let file;
  try {
    file = await new KindFiles(web.deps.store).open({ kind, channel: account.name, name: c.req.param("name") ?? "", version: c.req.param("version") ?? "", basename: c.req.param("file") ?? "" });
  } catch (e) {
    if (!(e instanceof GateError && e.status === 400)) throw e;
  }
  if (!file) throw new GateError("not_found", "there is no such file");
  return new Response(Readable.toWeb(file.body) as ReadableStream, {
    status: 200,
    headers: { "content-type": kind.contentType, "content-length": String(file.size), "content-disposition": `attachment; filename="${c.req.param("file")}"`, "cache-control": "private, no-cache" },
  });
}
