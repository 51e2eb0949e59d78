// The Notebooks and Environments of an account (Tools menu): every file of the kind, newest
// version first within each name, with its privacy (the name's, as a package's), and links to
// download it here (signed in) and the address tools use with a token.
import type { Account } from "../../access/model.js";
import { privacyOf } from "../../access/policy.js";
import type { Kind } from "../../kinds/kinds.js";
import type { KindEntry } from "../../kinds/files.js";
import { href, type Web } from "../web.js";
import { Table } from "./layout.js";

const size = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

/** `apiBase`: where the gateway's API is, for the download address shown. */
export function KindsView({ web, account, kind, title, files, apiBase }: { web: Web; account: Account; kind: Kind; title: string; files: KindEntry[]; apiBase: string }) {
  const upload = kind.name === "env" ? "pkgate upload environment.yml" : "pkgate upload analysis.ipynb";
  return (
    <>
      <div class="page-head">
        <div>
          <h1>{title}</h1>
          <p class="sub">
            The {kind.folder} of {account.name}. Each name has the privacy, groups and tokens of a package of the channel. Add one with <code>{`${upload} --channel ${account.name}`}</code> or <code>anaconda upload</code>; tools download them from{" "}
            <code>{`${apiBase}/download/${account.name}/<name>/<version>/<file>`}</code> with a token.
          </p>
        </div>
      </div>
      <section class="card" aria-label={title}>
        <KindTable web={web} account={account} kind={kind} label={`${title} of ${account.name}`} files={files} />
      </section>
    </>
  );
}

/** The files of a kind, newest version first within each name (or that there is none). */
export function KindTable({ web, account, kind, label, files }: { web: Web; account: Account; kind: Kind; label: string; files: KindEntry[] }) {
  const rows = [...files].sort((a, b) => (a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.version !== b.version ? (a.version < b.version ? 1 : -1) : a.basename < b.basename ? -1 : 1));
  if (rows.length === 0) return <p class="empty">No {kind.folder} yet.</p>;
  return (
    <Table label={label} columns={["Name", "Version", "File", "Size", "Uploaded", "Access"]}>
      {rows.map((f) => (
        <tr>
          <td>
            <strong>{f.name}</strong>
          </td>
          <td>{f.version}</td>
          <td>
            <a href={href(web, `/dashboard/${account.name}/${kind.folder}/${f.name}/${f.version}/${f.basename}`)} download={f.basename}>
              {f.basename}
            </a>
          </td>
          <td>{size(f.size)}</td>
          <td>
            <time datetime={f.lastModified}>{f.lastModified.slice(0, 10)}</time>
          </td>
          <td>
            <span class={`badge ${privacyOf(account, f.name)}`}>{privacyOf(account, f.name)}</span>
          </td>
        </tr>
      ))}
    </Table>
  );
}
