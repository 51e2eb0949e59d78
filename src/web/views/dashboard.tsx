// The Dashboard (the guide's Landscape): what the active account's channel holds, each
// package with its privacy, and how conda reaches the channel.
import type { Account } from "../../access/model.js";
import type { PackageRow } from "../channel.js";
import { href, type Web } from "../web.js";
import { Table } from "./layout.js";

/** `channelUrl`: the channel's address with a token, the token left as `<TOKEN>`. */
export function DashboardView({ web, account, packages, channelUrl }: { web: Web; account: Account; packages: PackageRow[]; channelUrl: string }) {
  const privateCount = packages.filter((p) => p.privacy === "private").length;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{account.name}</h1>
          <p class="sub">
            {account.kind === "org" ? "Organization" : "Personal"} channel · packages without their own setting are <strong>{account.defaultPrivacy}</strong>
          </p>
        </div>
        <a class="button" href={href(web, `/settings/${account.name}/tokens`)}>
          Access tokens
        </a>
      </div>
      <div class="stats">
        <div class="stat">
          <b>{packages.length}</b>
          <span>packages</span>
        </div>
        <div class="stat">
          <b>{privateCount}</b>
          <span>private</span>
        </div>
        <div class="stat">
          <b>{packages.length - privateCount}</b>
          <span>public</span>
        </div>
      </div>
      <section class="card" aria-labelledby="pkgs">
        <h2 id="pkgs">Packages</h2>
        <PackageTable packages={packages} />
      </section>
      <section class="card" aria-labelledby="use">
        <h2 id="use">Use this channel</h2>
        <p>Public packages need nothing more than the channel's address. For private ones, create a token with conda:download and add the channel with it:</p>
        <pre>
          <code>conda config --add channels {channelUrl}</code>
        </pre>
      </section>
    </>
  );
}

export function PackageTable({ packages }: { packages: PackageRow[] }) {
  if (packages.length === 0) return <p class="empty">No packages yet. Upload with twine, or copy an indexed conda channel into the store.</p>;
  return (
    <Table columns={["Name", "Type", "Latest version", "Platforms", "Access"]}>
      {packages.map((p) => (
        <tr>
          <td>
            <strong>{p.name}</strong>
          </td>
          <td>{p.ecosystem === "conda" ? "conda" : "PyPI"}</td>
          <td>{p.version ?? "—"}</td>
          <td>{p.subdirs.length ? p.subdirs.map((s) => <span class="tag">{s}</span>) : "—"}</td>
          <td>
            <span class={`badge ${p.privacy}`}>{p.privacy}</span>
          </td>
        </tr>
      ))}
    </Table>
  );
}
