// The access tokens of an account (a user's own, or an organization's for its admins):
// create one with a name, scopes and an expiry; see the secret once, with the line conda
// needs; list the live ones (never a secret) and revoke them. A user's web sessions are
// listed apart: each is a login token too, and signing one out revokes it.
import type { Account, TokenRecord, TrustedPublisher } from "../../access/model.js";
import { SCOPE_DESCRIPTIONS, type Scope } from "../../auth/scopes.js";
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Notice, Table } from "./layout.js";

export interface TokensState {
  account: Account;
  tokens: TokenRecord[];
  sessions: TokenRecord[];
  /** The id of the session this page is seen with. */
  sessionId: string | null;
  /** The token just created: shown this once. */
  created?: { record: TokenRecord; token: string; condaLine: string; pipLine: string };
  error?: string;
  info?: string;
  /** What was typed into the create form, to fill it in again. */
  form: { name: string; scopes: string[]; expires: string };
  /** The expiry date input's bounds (YYYY-MM-DD). */
  expiry: { min: string; max: string };
}

const day = (iso: string) => iso.slice(0, 10);

export function TokensView({ web, visitor, state }: { web: Web; visitor: Visitor; state: TokensState }) {
  const base = `/settings/${state.account.name}/tokens`;
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Access tokens</h1>
          <p class="sub">
            Tokens of <strong>{state.account.name}</strong>: each acts as {state.account.kind === "org" ? "the organization, on every package of its channel" : "you"}, within its scopes, until it expires or is revoked. A token cannot be changed: revoke it and create another.
          </p>
        </div>
      </div>
      {state.info ? <Notice>{state.info}</Notice> : null}
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      {state.created ? <Created created={state.created} /> : null}
      <section class="card" aria-labelledby="create">
        <h2 id="create">Create a token</h2>
        <form method="post" action={href(web, base)}>
          <FormToken visitor={visitor} />
          <div class="grid2">
            <div class="field">
              <label for="tk-name">Name</label>
              <input id="tk-name" name="name" type="text" required maxlength={64} value={state.form.name} aria-describedby="tk-name-hint" />
              <span id="tk-name-hint" class="hint">
                Unique among this account's tokens, e.g. "laptop" or "ci-builds".
              </span>
            </div>
            <div class="field">
              <label for="tk-expires">Expires on</label>
              <input id="tk-expires" name="expires" type="date" required value={state.form.expires} min={state.expiry.min} max={state.expiry.max} aria-describedby="tk-expires-hint" />
              <span id="tk-expires-hint" class="hint">
                One year unless you change it.
              </span>
            </div>
          </div>
          <fieldset class="scopes">
            <legend>Scopes</legend>
            {(Object.keys(SCOPE_DESCRIPTIONS) as Scope[]).map((scope) => (
              <label class="check" for={`scope-${scope}`}>
                <input id={`scope-${scope}`} type="checkbox" name="scopes" value={scope} checked={state.form.scopes.includes(scope)} />
                <span>
                  <code>{scope}</code>
                  <br />
                  <span class="hint">{SCOPE_DESCRIPTIONS[scope]}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <button type="submit">Create token</button>
        </form>
      </section>
      <section class="card" aria-labelledby="live">
        <h2 id="live">Tokens</h2>
        {state.tokens.length === 0 ? <p class="empty">No tokens yet.</p> : <TokenTable web={web} visitor={visitor} base={base} tokens={state.tokens} />}
      </section>
      <section class="card" aria-labelledby="publishers">
        <h2 id="publishers">Trusted publishers</h2>
        <p class="hint">
          CI jobs that publish without a stored secret: a job whose OIDC ID token matches exchanges it for a short-lived token. Register one with <code>pkgate publisher add</code> or the API.
        </p>
        {(state.account.publishers ?? []).length === 0 ? <p class="empty">None.</p> : <PublisherTable web={web} visitor={visitor} base={base} publishers={state.account.publishers!} />}
      </section>
      {state.account.kind === "user" ? (
        <section class="card" aria-labelledby="sessions">
          <h2 id="sessions">Signed-in browsers</h2>
          {state.sessions.length === 0 ? (
            <p class="empty">None.</p>
          ) : (
            <TokenTable web={web} visitor={visitor} base={base} tokens={state.sessions} sessionId={state.sessionId} />
          )}
        </section>
      ) : null}
    </>
  );
}

function Created({ created }: { created: NonNullable<TokensState["created"]> }) {
  return (
    <section class="card" aria-labelledby="new-token">
      <h2 id="new-token">Your new token "{created.record.name}"</h2>
      <Notice kind="warn">Copy it now: this is the only time it is shown. pkgate keeps only a hash of it.</Notice>
      <CopyField id="new-token-value" label="Token" copy="Copy the token" value={created.token} />
      <CopyField id="conda-line" label="Add the channel to conda with it" copy="Copy the conda line" value={created.condaLine} />
      <CopyField id="pip-line" label="or install from its PyPI index" copy="Copy the pip line" value={created.pipLine} />
      <p class="hint">
        Scopes: {created.record.scopes.join(" ")} · expires {day(created.record.expiresAt)}
      </p>
    </section>
  );
}

/** A value to copy: a read-only field, and a Copy button once the script runs. */
function CopyField({ id, label, copy, value }: { id: string; label: string; copy: string; value: string }) {
  return (
    <>
      <label for={id}>{label}</label>
      <div class="secret">
        <input id={id} type="text" readonly value={value} />
        <button type="button" class="secondary" data-copy={id} hidden aria-label={copy}>
          Copy
        </button>
      </div>
    </>
  );
}

function TokenTable({ web, visitor, base, tokens, sessionId }: { web: Web; visitor: Visitor; base: string; tokens: TokenRecord[]; sessionId?: string | null }) {
  const session = sessionId !== undefined;
  const actions = <span class="visually-hidden">Actions</span>;
  return (
    <Table label={session ? "Browser list" : "Token list"} columns={["Name", session ? null : "Scopes", "Created", "Expires", actions]}>
      {tokens.map((t) => (
        <tr>
          <td>
            <span class="mono">{t.name}</span>
            {t.id === sessionId ? <span class="badge public note">this browser</span> : null}
            {t.createdBy !== t.account ? <div class="hint">created by {t.createdBy}</div> : null}
          </td>
          {session ? null : <td>{t.scopes.map((s) => <span class="tag">{s}</span>)}</td>}
          <td>
            <time datetime={t.createdAt}>{day(t.createdAt)}</time>
          </td>
          <td>
            <time datetime={t.expiresAt}>{day(t.expiresAt)}</time>
          </td>
          <td>
            <form method="post" action={href(web, `${base}/revoke`)}>
              <FormToken visitor={visitor} />
              <input type="hidden" name="name" value={t.name} />
              <button type="submit" class="danger small" aria-label={`${session ? "Sign out" : "Revoke"} ${t.name}`}>
                {session ? "Sign out" : "Revoke"}
              </button>
            </form>
          </td>
        </tr>
      ))}
    </Table>
  );
}

function PublisherTable({ web, visitor, base, publishers }: { web: Web; visitor: Visitor; base: string; publishers: TrustedPublisher[] }) {
  return (
    <Table label="Publisher list" columns={["Name", "CI job", "Its tokens may", <span class="visually-hidden">Actions</span>]}>
      {publishers.map((p) => (
        <tr>
          <td>
            <span class="mono">{p.name}</span>
            <div class="hint">added by {p.createdBy}</div>
          </td>
          <td>
            <div>
              {p.kind} · <span class="mono">{p.issuer}</span>
            </div>
            {Object.entries(p.claims).map(([k, v]) => (
              <div class="hint">
                {k}: <span class="mono">{v}</span>
              </div>
            ))}
          </td>
          <td>
            {p.scopes.map((s) => <span class="tag">{s}</span>)}
            <div class="hint">{p.packages === "*" ? "every package" : p.packages.join(", ")}</div>
          </td>
          <td>
            <form method="post" action={href(web, `${base}/publishers/remove`)}>
              <FormToken visitor={visitor} />
              <input type="hidden" name="name" value={p.name} />
              <button type="submit" class="danger small" aria-label={`Remove ${p.name}`}>
                Remove
              </button>
            </form>
          </td>
        </tr>
      ))}
    </Table>
  );
}
