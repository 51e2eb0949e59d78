// The Labels of a channel: `main` (the channel root) and every label folder, each with the
// packages it holds, their latest version and platforms, and the line that adds the label to
// conda. A label is a channel of its own inside the account's; moving packages between
// labels comes with conda authoring.
import type { Account } from "../../access/model.js";
import { privacyOf } from "../../access/policy.js";
import { MAIN_LABEL, type Label } from "../channel.js";
import { href, type Web } from "../web.js";
import { Table } from "./layout.js";
import { CopyLine, labelPath, packagePath } from "./package.js";

/** `channelUrl`: the channel's address with a token, the token left as `<TOKEN>`. */
export function LabelsView({ web, account, labels, channelUrl }: { web: Web; account: Account; labels: Label[]; channelUrl: string }) {
  const others = labels.filter((l) => l.name !== MAIN_LABEL).length;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Labels</h1>
          <p class="sub">
            The labels of the channel {account.name}: <strong>main</strong> is the channel root{others ? `, and ${others} other label${others === 1 ? "" : "s"} each a channel of its own` : "; there is no other label yet"}. Moving packages between labels comes with conda authoring.
          </p>
        </div>
      </div>
      {labels.map((label) => (
        <section class="card" aria-labelledby={`label-${label.name}`}>
          <h2 id={`label-${label.name}`}>
            {label.name} <span class="kind">{label.packages.size === 1 ? "1 package" : `${label.packages.size} packages`}</span>
          </h2>
          <CopyLine id={`label-line-${label.name}`} label={`conda, label ${label.name}`} text={`conda config --add channels ${channelUrl}${labelPath(label.name)}`} />
          {label.packages.size === 0 ? (
            <p class="empty">Nothing under this label.</p>
          ) : (
            <Table label={`Packages under label ${label.name}`} columns={["Name", "Latest version", "Platforms", "Access"]}>
              {[...label.packages].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, p]) => (
                <tr>
                  <td>
                    <a href={href(web, packagePath(account.name, name))}>
                      <strong>{name}</strong>
                    </a>
                  </td>
                  <td>{p.version ?? "—"}</td>
                  <td>{p.subdirs.length ? p.subdirs.map((s) => <span class="tag">{s}</span>) : "—"}</td>
                  <td>
                    <span class={`badge ${privacyOf(account, name)}`}>{privacyOf(account, name)}</span>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </section>
      ))}
    </>
  );
}
