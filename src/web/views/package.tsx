// The page of one package: who holds it and who may download it, the lines that install it
// (the token left as <TOKEN>), its conda files per label and platform and its PyPI releases
// with sizes, SHA-256 and upload times; for its managers the privacy switch, for everybody
// signed in the star that keeps it among their Favorites.
import type { Child } from "hono/jsx";
import type { Privacy } from "../../access/model.js";
import type { FileEntry } from "../../pypi/project.js";
import { parseDistFilename } from "../../pypi/names.js";
import type { CondaFile, CondaPlatform, PackageDetail, PypiRelease } from "../package-files.js";
import { MAIN_LABEL } from "../channel.js";
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Notice, Table } from "./layout.js";

export interface PackageState {
  channel: string;
  detail: PackageDetail;
  privacy: Privacy;
  /** The package's own setting; null when it follows the channel's default. */
  own: Privacy | null;
  channelDefault: Privacy;
  /** The visitor may switch its privacy (package:write). */
  manage: boolean;
  /** Whether the signed-in visitor starred it; null for a visitor who is not signed in. */
  starred: boolean | null;
  /** The lines that install it, each with what it is for. */
  install: { id: string; label: string; text: string }[];
  info?: string;
}

/** The page's own path: `/packages/<channel>/<name>`. */
export const packagePath = (channel: string, name: string): string => `/packages/${channel}/${encodeURIComponent(name)}`;

export function PackageView({ web, visitor, state }: { web: Web; visitor: Visitor; state: PackageState }) {
  const { detail } = state;
  const path = packagePath(state.channel, detail.name);
  const kinds = [detail.conda.length ? "conda" : null, detail.pypi ? "PyPI" : null].filter(Boolean).join(" and ");
  return (
    <>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href(web, `/${state.channel}/`)}>{state.channel}</a> /
          </p>
          <h1>{detail.name}</h1>
          <p class="sub">
            <span class={`badge ${state.privacy}`}>{state.privacy}</span> {kinds} package in the channel {state.channel}
            {state.privacy === "private" ? " · downloads need a token" : " · anyone can download it"}
          </p>
        </div>
        {state.starred !== null ? (
          <form method="post" action={href(web, `${path}/star`)} class="star">
            <FormToken visitor={visitor} />
            <input type="hidden" name="star" value={state.starred ? "0" : "1"} />
            <button type="submit" class={state.starred ? "secondary starred" : "secondary"} aria-pressed={state.starred ? "true" : "false"}>
              <span aria-hidden="true">{state.starred ? "★" : "☆"}</span> {state.starred ? "Starred" : "Star"}
            </button>
          </form>
        ) : (
          <a class="button secondary" href={href(web, `/?tab=signin&next=${encodeURIComponent(href(web, path))}`)}>
            Sign in to star
          </a>
        )}
      </div>
      {state.info ? <Notice>{state.info}</Notice> : null}
      <section class="card" aria-labelledby="install">
        <h2 id="install">Install</h2>
        {state.install.map((l) => (
          <CopyLine id={l.id} label={l.label} text={l.text} />
        ))}
        <p class="hint">
          Put a token with {detail.conda.length ? "conda:download" : ""}
          {detail.conda.length && detail.pypi ? " or " : ""}
          {detail.pypi ? "pypi:download" : ""} in place of &lt;TOKEN&gt;
          {visitor.user ? (
            <>
              {" "}
              (<a href={href(web, `/settings/${visitor.user.name}/tokens`)}>your access tokens</a>)
            </>
          ) : null}
          .{state.privacy === "public" ? " A public package needs no token: the channel's address alone works too." : ""}
        </p>
      </section>
      {state.manage ? <PrivacySwitch web={web} visitor={visitor} path={path} state={state} /> : null}
      {detail.conda.length ? (
        <section class="card" aria-labelledby="conda-files">
          <h2 id="conda-files">conda files</h2>
          {detail.conda.map((p) => (
            <CondaFiles platform={p} />
          ))}
        </section>
      ) : null}
      {detail.pypi ? (
        <section class="card" aria-labelledby="pypi-releases">
          <h2 id="pypi-releases">PyPI releases of {detail.pypi.name}</h2>
          {detail.pypi.releases.map((r) => (
            <PypiFiles release={r} />
          ))}
        </section>
      ) : null}
    </>
  );
}

function PrivacySwitch({ web, visitor, path, state }: { web: Web; visitor: Visitor; path: string; state: PackageState }) {
  const choice = state.own ?? "default";
  const options: { value: string; label: string; hint: string }[] = [
    { value: "public", label: "Public", hint: "anyone can download it, without a token" },
    { value: "private", label: "Private", hint: "only those given access: the channel's admins, groups that list it, their tokens" },
    { value: "default", label: `The channel's default (${state.channelDefault})`, hint: "follows the channel when its default changes" },
  ];
  return (
    <section class="card" aria-labelledby="access">
      <h2 id="access">Access</h2>
      <form method="post" action={href(web, `${path}/privacy`)}>
        <FormToken visitor={visitor} />
        <fieldset class="choices">
          <legend>Who can download {state.detail.name}</legend>
          {options.map((o) => (
            <label class="check" for={`privacy-${o.value}`}>
              <input id={`privacy-${o.value}`} type="radio" name="privacy" value={o.value} checked={choice === o.value} />
              <span>
                {o.label}
                <br />
                <span class="hint">{o.hint}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <button type="submit">Save access</button>
      </form>
    </section>
  );
}

function CondaFiles({ platform }: { platform: CondaPlatform }) {
  return (
    <>
      <h3>
        {platform.subdir} <span class="kind">label {platform.label}</span>
      </h3>
      <Table label={`Files for ${platform.subdir}, label ${platform.label}`} columns={["File", "Version", "Build", "Size", "SHA-256", "Uploaded"]}>
        {platform.files.map((f: CondaFile) => (
          <tr>
            <td class="mono">{f.filename}</td>
            <td>{f.version}</td>
            <td class="mono">{f.build}</td>
            <td>{f.size === null ? "—" : bytes(f.size)}</td>
            <td>{f.sha256 ? <code class="hash">{f.sha256}</code> : "—"}</td>
            <td>{f.uploaded ? <When iso={f.uploaded} /> : "—"}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}

function PypiFiles({ release }: { release: PypiRelease }) {
  return (
    <>
      <h3>{release.version}</h3>
      <Table label={`Files of release ${release.version}`} columns={["File", "Kind", "Size", "SHA-256", "Uploaded", "Requires Python"]}>
        {release.files.map((f: FileEntry) => (
          <tr>
            <td class="mono">
              {f.filename}
              {f.yanked !== undefined && f.yanked !== false ? <span class="badge private"> yanked{f.yanked ? `: ${f.yanked}` : ""}</span> : null}
            </td>
            <td>{parseDistFilename(f.filename)?.kind ?? "—"}</td>
            <td>{bytes(f.size)}</td>
            <td>
              <code class="hash">{f.sha256}</code>
            </td>
            <td>
              <When iso={f.uploadTime} />
            </td>
            <td>{f.requiresPython ?? "—"}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}

/** A line to paste into a terminal, and a Copy button once the script runs. */
export function CopyLine({ id, label, text }: { id: string; label: string; text: string }) {
  return (
    <div class="copy-line">
      <span class="copy-label">{label}</span>
      <pre>
        <code id={id}>{text}</code>
      </pre>
      <button type="button" class="secondary small" data-copy={id} hidden aria-label={`Copy the ${label} line`}>
        Copy
      </button>
    </div>
  );
}

/** A size as people read it (binary units), the exact byte count beside it for a tooltip. */
export function bytes(n: number): Child {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return <span class="size" title={`${n.toLocaleString("en-US")} bytes`}>{u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`}</span>;
}

/** A moment, in UTC to the minute. */
export function When({ iso }: { iso: string }) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return <span>{iso}</span>;
  return <time datetime={d.toISOString()}>{`${d.toISOString().slice(0, 16).replace("T", " ")} UTC`}</time>;
}

/** The label part of a conda channel URL: none for `main` (the channel root). */
export const labelPath = (label: string): string => (label === MAIN_LABEL ? "" : `/label/${label}`);
