// The Dashboard of an account (the guide's Landscape) and the other entries of the Tools
// menu. Whose Dashboard a user may see is authorize()'s answer for `channel:read` (the
// account's admins: the user, an organization's admins, server admins); to anyone else it
// is exactly what a missing account is.
import type { Context, MiddlewareHandler } from "hono";
import { GateError } from "../../errors.js";
import type { Account } from "../../access/model.js";
import { authorize, refusal, type Action } from "../../access/authorize.js";
import { channelPackages } from "../channel.js";
import { publicBase } from "../visitor.js";
import { frameFor, render } from "../render.js";
import { DashboardView, PackageTable } from "../views/dashboard.js";
import { MessageView } from "../views/message.js";
import { href, type Web } from "../web.js";

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

export async function dashboardPage(c: Context, web: Web): Promise<Response> {
  const account = await accountFor(c, web, "channel:read");
  const packages = await channelPackages(web.deps.store, web.pypi, account);
  const channelUrl = `${publicBase(c, web)}/t/<TOKEN>/${account.name}`;
  return render(c, await frameFor(c, web, account.name, { active: account.name }), <DashboardView web={web} account={account} packages={packages} channelUrl={channelUrl} />);
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
    const packages = await channelPackages(web.deps.store, web.pypi, account);
    return render(
      c,
      frame,
      <>
        <div class="page-head">
          <div>
            <h1>{title}</h1>
            <p class="sub">
              {section === "all" ? "Everything" : "The packages"} in the channel {account.name}.{section === "all" ? " pkgate hosts conda and PyPI packages; notebooks and environments are not hosted." : ""}
            </p>
          </div>
        </div>
        <section class="card" aria-label="Packages">
          <PackageTable packages={packages} />
        </section>
      </>,
    );
  }
  const why: Record<"notebooks" | "environments" | "labels", string> = {
    notebooks: "pkgate serves conda and PyPI packages; it does not host notebooks.",
    environments: "pkgate serves conda and PyPI packages; it does not host environments. Export one with `conda env export` and keep it beside your code.",
    labels: "A page of the channel's labels and what each holds is coming. Until then conda reaches a label at /<channel>/label/<label>/.",
  };
  return render(
    c,
    frame,
    <MessageView web={web} title={title} back={false}>
      <p>{why[section]}</p>
      <p>
        <a href={href(web, `/dashboard/${account.name}`)}>Back to the Dashboard of {account.name}</a>
      </p>
    </MessageView>,
  );
}

/** Favorites, Organizations and Group Membership: what the user has of each so far. */
export async function userToolPage(c: Context, web: Web, tool: "favorites" | "organizations" | "memberships"): Promise<Response> {
  const user = c.get("visitor").user!;
  if (tool === "favorites") {
    return render(
      c,
      await frameFor(c, web, "Favorites"),
      <MessageView web={web} title="Favorites" back={false}>
        <p>Starring packages comes with the package pages. Nothing here yet.</p>
      </MessageView>,
    );
  }
  if (tool === "organizations") {
    const orgs = await web.directory.administeredBy(user.name);
    return render(
      c,
      await frameFor(c, web, "Organizations"),
      <MessageView web={web} title="Organizations" back={false}>
        {orgs.length ? (
          <ul>
            {orgs.map((o) => (
              <li>
                <a href={href(web, `/dashboard/${o.name}`)}>{o.name}</a>
              </li>
            ))}
          </ul>
        ) : (
          <p>You administer no organization.</p>
        )}
        <p>
          Creating organizations and managing their groups in these pages is coming. Until then: <code>pkgate org --create &lt;name&gt;</code>, or <code>POST /api/orgs</code>.
        </p>
      </MessageView>,
    );
  }
  const groups = await web.directory.membershipsOf(user.name);
  return render(
    c,
    await frameFor(c, web, "Group Membership"),
    <MessageView web={web} title="Group Membership" back={false}>
      {groups.length ? (
        <ul>
          {groups.map((m) => (
            <li>
              <strong>
                {m.org}/{m.group.name}
              </strong>
              : {m.group.permission} on {m.group.packages === "*" ? "every package" : m.group.packages.join(", ") || "no package"}
            </li>
          ))}
        </ul>
      ) : (
        <p>You are in no group of any organization.</p>
      )}
    </MessageView>,
  );
}
