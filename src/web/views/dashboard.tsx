// The Dashboard (the guide's Landscape): what the active account's channel holds, each
// package with its privacy, latest version, platforms and labels, searched over all of them
// and shown a page at a time, and how conda and pip reach the channel.
import type { Account } from "../../access/model.js";
import type { PackageRow, Paged } from "../channel.js";
import { href, type Web } from "../web.js";
import { Table } from "./layout.js";
import { CopyLine } from "./package.js";

/** A package list as a page shows it: one page of the rows the search found. */
export interface PackageListState {
  paged: Paged<PackageRow>;
  /** The search as typed ("" for none). */
  query: string;
  /** How many packages there are before the search. */
  count: number;
  /** The list's own path (under BASE_PATH): the search and the page links go there. */
  path: string;
  /** The channel the rows are of: each name links to its package page. */
  channel: string;
  /** What an empty list says (default: to the channel's admins, how packages get there). */
  empty?: string;
}

/** An empty channel, to its admins. */
const NO_PACKAGES_YET = "No packages yet. Publish them with pkgate upload, anaconda upload or twine, or copy an indexed conda channel into the store (README: Publishing).";

/** `channelUrl`: the channel's address with a token, the token left as `<TOKEN>`; `pipUrl`
 * its PyPI index the same way. */
export function DashboardView({ web, account, list, labels, privateCount, channelUrl, pipUrl }: { web: Web; account: Account; list: PackageListState; labels: number; privateCount: number; channelUrl: string; pipUrl: string }) {
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{account.name}</h1>
          <p class="sub">
            {account.kind === "org" ? "Organization" : "Personal"} channel · packages without their own setting are <strong>{account.defaultPrivacy}</strong>
          </p>
        </div>
        <div class="actions">
          <a class="button secondary" href={href(web, `/${account.name}/`)}>
            Channel page
          </a>
          <a class="button" href={href(web, `/settings/${account.name}/tokens`)}>
            Access tokens
          </a>
        </div>
      </div>
      <div class="stats">
        <div class="stat">
          <b>{list.count}</b>
          <span>packages</span>
        </div>
        <div class="stat">
          <b>{privateCount}</b>
          <span>private</span>
        </div>
        <div class="stat">
          <b>{list.count - privateCount}</b>
          <span>public</span>
        </div>
        <div class="stat">
          <b>{labels}</b>
          <span>
            <a href={href(web, `/dashboard/${account.name}/labels`)}>{labels === 1 ? "label" : "labels"}</a>
          </span>
        </div>
      </div>
      <PackagesAndUse web={web} list={list} channelUrl={channelUrl} pipUrl={pipUrl} />
    </>
  );
}

/** The channel's package list, then how conda and pip reach the channel. */
export function PackagesAndUse({ web, list, channelUrl, pipUrl }: { web: Web; list: PackageListState; channelUrl: string; pipUrl: string }) {
  return (
    <>
      <section class="card" aria-labelledby="pkgs">
        <h2 id="pkgs">Packages</h2>
        <PackageList web={web} state={list} />
      </section>
      <section class="card" aria-labelledby="use">
        <h2 id="use">Use this channel</h2>
        <p>Public packages need nothing more than the channel's address. For private ones, create a token with conda:download (pip: pypi:download) and put it in place of &lt;TOKEN&gt;:</p>
        <CopyLine id="conda-channel" label="conda" text={`conda config --add channels ${channelUrl}`} />
        <CopyLine id="pip-index" label="pip" text={`pip install --index-url ${pipUrl} <package>`} />
      </section>
    </>
  );
}

/** The search box, one page of the rows, and the links to the other pages. */
export function PackageList({ web, state }: { web: Web; state: PackageListState }) {
  const { paged, query } = state;
  const plural = (n: number) => `${n.toLocaleString("en-US")} package${n === 1 ? "" : "s"}`;
  const summary =
    query === ""
      ? paged.total > paged.items.length
        ? `${paged.from.toLocaleString("en-US")}–${(paged.from + paged.items.length - 1).toLocaleString("en-US")} of ${plural(paged.total)}`
        : plural(paged.total)
      : `${plural(paged.total)} of ${state.count.toLocaleString("en-US")} match “${query}”${paged.pages > 1 ? ` · ${paged.from.toLocaleString("en-US")}–${(paged.from + paged.items.length - 1).toLocaleString("en-US")}` : ""}`;
  return (
    <>
      {state.count > 0 ? (
        <form class="search" role="search" method="get" action={state.path}>
          <label for="pkg-search" class="visually-hidden">
            Search packages
          </label>
          <input id="pkg-search" type="search" name="q" value={query} placeholder="Search packages by name" />
          <button type="submit" class="secondary">
            Search
          </button>
          {query ? (
            <a class="button secondary" href={state.path}>
              Clear
            </a>
          ) : null}
        </form>
      ) : null}
      {state.count > 0 ? <p class="hint list-summary">{summary}</p> : null}
      <PackageTable web={web} channel={state.channel} packages={paged.items} searched={query !== ""} empty={state.empty} />
      {paged.pages > 1 ? <Pager state={state} /> : null}
    </>
  );
}

function Pager({ state }: { state: PackageListState }) {
  const { page, pages } = state.paged;
  const to = (p: number) => {
    const q = new URLSearchParams();
    if (state.query) q.set("q", state.query);
    if (p > 1) q.set("page", String(p));
    const s = q.toString();
    return s ? `${state.path}?${s}` : state.path;
  };
  return (
    <nav class="pager" aria-label="Pages of the package list">
      {page > 1 ? (
        <a class="button secondary" href={to(page - 1)} rel="prev">
          Previous
        </a>
      ) : (
        <span></span>
      )}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? (
        <a class="button secondary" href={to(page + 1)} rel="next">
          Next
        </a>
      ) : (
        <span></span>
      )}
    </nav>
  );
}

export function PackageTable({ web, channel, packages, searched = false, empty = NO_PACKAGES_YET }: { web: Web; channel: string; packages: PackageRow[]; searched?: boolean; empty?: string }) {
  if (packages.length === 0) {
    return <p class="empty">{searched ? "No package matches that search." : empty}</p>;
  }
  return (
    <Table label="Package list" columns={["Name", "Type", "Latest version", "Platforms", "Labels", "Access"]}>
      {packages.map((p) => (
        <tr>
          <td>
            <a href={href(web, `/packages/${channel}/${encodeURIComponent(p.name)}`)}>
              <strong>{p.name}</strong>
            </a>
          </td>
          <td>{p.ecosystem === "conda" ? "conda" : "PyPI"}</td>
          <td>{p.version ?? "—"}</td>
          <td>{p.subdirs.length ? p.subdirs.map((s) => <span class="tag">{s}</span>) : "—"}</td>
          <td>{p.labels.length ? p.labels.map((l) => <span class="tag">{l}</span>) : "—"}</td>
          <td>
            <span class={`badge ${p.privacy}`}>{p.privacy}</span>
          </td>
        </tr>
      ))}
    </Table>
  );
}
