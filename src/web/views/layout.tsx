// The frame of every page: the document head (the one stylesheet and the one script, by
// their hashed names), the toolbar with the Tools menu at the left and the Profile menu at
// the right, as Anaconda Repository has them, and the footer. Menus are <details>: they open
// and close from the keyboard and without a script.
import type { Child } from "hono/jsx";
import { ASSETS } from "../assets.js";
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { CSRF_FIELD } from "../csrf.js";

export interface AccountChoice {
  name: string;
  kind: "user" | "org";
}

export interface Frame {
  web: Web;
  visitor: Visitor;
  title: string;
  /** The account the page is about: the Profile menu names it, the Tools menu's entries
   * are its. Defaults to the signed-in user. */
  active?: string;
  /** What the Profile menu switches between: the user, then the organizations they
   * administer. */
  accounts?: AccountChoice[];
  /** The page's own path (under BASE_PATH), to mark it in the menus. */
  path?: string;
}

/** The Tools menu, in the guide's order: its label, and its path for account `a`. */
export const TOOLS: readonly { label: string; path: (a: string) => string }[] = [
  { label: "Landscape", path: (a) => `/dashboard/${a}` },
  { label: "View All", path: (a) => `/dashboard/${a}/all` },
  { label: "Packages", path: (a) => `/dashboard/${a}/packages` },
  { label: "Notebooks", path: (a) => `/dashboard/${a}/notebooks` },
  { label: "Environments", path: (a) => `/dashboard/${a}/environments` },
  { label: "Favorites", path: () => "/favorites" },
  { label: "Organizations", path: () => "/organizations" },
  { label: "Group Membership", path: () => "/memberships" },
  { label: "Labels", path: (a) => `/dashboard/${a}/labels` },
];

const current = (frame: Frame, path: string) => (frame.path === path ? ("page" as const) : undefined);

function ToolsMenu({ frame, account }: { frame: Frame; account: string }) {
  return (
    <details class="menu">
      <summary>Tools</summary>
      <nav class="panel" aria-label="Tools">
        <ul>
          {TOOLS.map((t) => (
            <li>
              <a href={href(frame.web, t.path(account))} aria-current={current(frame, href(frame.web, t.path(account)))}>
                {t.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
    </details>
  );
}

function ProfileMenu({ frame, account }: { frame: Frame; account: string }) {
  const user = frame.visitor.user!;
  const accounts = frame.accounts ?? [{ name: user.name, kind: "user" as const }];
  const activeKind = accounts.find((a) => a.name === account)?.kind ?? "user";
  return (
    <details class="menu right profile">
      <summary>
        <span class="avatar" aria-hidden="true">{account.slice(0, 1).toUpperCase()}</span>
        <span class="visually-hidden">Profile: </span>
        <span>{account}</span>
        {activeKind === "org" ? <span class="kind">organization</span> : null}
      </summary>
      <div class="panel">
        <p class="label">Signed in as {user.name}</p>
        <nav aria-label="Switch account">
          <ul>
            {accounts.map((a) => (
              <li>
                <a href={href(frame.web, `/dashboard/${a.name}`)} aria-current={a.name === account ? "true" : undefined}>
                  <span>{a.name}</span>
                  <span class="kind">{a.kind === "org" ? "organization" : "you"}</span>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <hr />
        <ul>
          <li>
            <a href={href(frame.web, `/settings/${account}/tokens`)}>Access tokens</a>
          </li>
          <li>
            <a href={href(frame.web, `/settings/${user.name}/account`)}>Account settings</a>
          </li>
          <li>
            <form method="post" action={href(frame.web, "/account/signout")}>
              <FormToken visitor={frame.visitor} />
              <button type="submit">Sign out</button>
            </form>
          </li>
        </ul>
      </div>
    </details>
  );
}

export function Layout({ frame, children }: { frame: Frame; children?: Child }) {
  const { web, visitor } = frame;
  const account = frame.active ?? visitor.user?.name;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${frame.title} · pkgate`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={href(web, `/static/${ASSETS.style.name}`)} />
        <script src={href(web, `/static/${ASSETS.script.name}`)} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="toolbar">
          {visitor.user && account ? <ToolsMenu frame={frame} account={account} /> : null}
          <a class="brand" href={href(web, "/")}>
            <span class="logo" aria-hidden="true">
              pk
            </span>
            pkgate
          </a>
          <span class="spacer"></span>
          {visitor.user && account ? (
            <ProfileMenu frame={frame} account={account} />
          ) : (
            <a class="button secondary" href={href(web, "/?tab=signin")}>
              Sign in
            </a>
          )}
        </header>
        <main id="main">{children}</main>
        <footer>pkgate · a private conda and PyPI gateway</footer>
      </body>
    </html>
  );
}

/** A message above a page's content. */
export function Notice({ kind, children }: { kind?: "error" | "warn"; children?: Child }) {
  return (
    <div class={kind ? `notice ${kind}` : "notice"} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** The hidden field every form that changes something carries. */
export function FormToken({ visitor }: { visitor: Visitor }) {
  return <input type="hidden" name={CSRF_FIELD} value={visitor.formToken} />;
}

/** A table of rows under column headings (null headings are left out); it scrolls sideways
 * on a narrow screen, so it is a region named `label` that the keyboard can reach and scroll. */
export function Table({ label, columns, children }: { label: string; columns: (Child | null)[]; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabindex={0}>
      <table>
        <thead>
          <tr>{columns.filter((h) => h !== null).map((h) => <th scope="col">{h}</th>)}</tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
