// Account settings of the signed-in user: the address of record and the password, each
// changed with the current password.
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import type { Account } from "../../access/model.js";
import { FormToken, Notice } from "./layout.js";
import { NewPasswordFields } from "./recovery.js";

export interface SettingsState {
  account: Account;
  /** What was just saved. */
  info?: string;
  /** A refusal, and the form it belongs to. */
  error?: { form: "email" | "password"; message: string };
  /** The address typed into the email form, to fill it in again. */
  email?: string;
  /** Whether recovery mail can reach the address of record (SMTP_URL). */
  mailing: boolean;
}

export function SettingsView({ web, visitor, state }: { web: Web; visitor: Visitor; state: SettingsState }) {
  const base = `/settings/${state.account.name}/account`;
  const errorOf = (form: "email" | "password") => (state.error?.form === form ? <Notice kind="error">{state.error.message}</Notice> : null);
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Account settings</h1>
          <p class="sub">
            The account <strong>{state.account.name}</strong>. Its tokens are on <a href={href(web, `/settings/${state.account.name}/tokens`)}>Access tokens</a>.
          </p>
        </div>
      </div>
      {state.info ? <Notice>{state.info}</Notice> : null}
      <div class="grid2">
        <section class="card" aria-labelledby="email-title">
          <h2 id="email-title">Email</h2>
          <p class="hint">{state.mailing ? "The address of record: a forgotten username or password is mailed here." : "The address of record."}</p>
          {errorOf("email")}
          <form method="post" action={href(web, `${base}/email`)}>
            <FormToken visitor={visitor} />
            <div class="field">
              <label for="em-email">Email</label>
              <input id="em-email" name="email" type="email" required maxlength={320} autocomplete="email" value={state.email ?? state.account.email ?? ""} />
            </div>
            <div class="field">
              <label for="em-current">Current password</label>
              <input id="em-current" name="current" type="password" required autocomplete="current-password" />
            </div>
            <button type="submit">Change email</button>
          </form>
        </section>
        <section class="card" aria-labelledby="password-title">
          <h2 id="password-title">Password</h2>
          <p class="hint">Changing it signs you out of every other browser; this one stays signed in.</p>
          {errorOf("password")}
          <form method="post" action={href(web, `${base}/password`)}>
            <FormToken visitor={visitor} />
            <div class="field">
              <label for="pw-current">Current password</label>
              <input id="pw-current" name="current" type="password" required autocomplete="current-password" />
            </div>
            <NewPasswordFields prefix="pw" />
            <button type="submit">Change password</button>
          </form>
        </section>
      </div>
    </>
  );
}
