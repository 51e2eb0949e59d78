// The recovery pages: "I forgot my username", "I forgot my password" (a form, or what to do
// when this server sends no mail), the page every such request answers with, and the page a
// mailed reset link opens.
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Notice } from "./layout.js";
import { MIN_PASSWORD_LENGTH } from "../../auth/password.js";

export type Forgotten = "username" | "password";

export interface ForgotState {
  what: Forgotten;
  /** form: ask for the address (or name); sent: the one answer to every request; offline:
   * this server cannot mail this. */
  step: "form" | "sent" | "offline";
  error?: string;
  typed?: string;
}

export const FORGOT_TITLES: Record<Forgotten, string> = { username: "Forgot your username?", password: "Forgot your password?" };

export function ForgotView({ web, visitor, state }: { web: Web; visitor: Visitor; state: ForgotState }) {
  const { what } = state;
  return (
    <section class="card narrow" aria-labelledby="forgot-title">
      <h1 id="forgot-title">{FORGOT_TITLES[what]}</h1>
      {state.step === "offline" ? <Offline what={what} /> : state.step === "sent" ? <Sent what={what} /> : <ForgotForm web={web} visitor={visitor} state={state} />}
      <p class="links">
        <a href={href(web, "/?tab=signin")}>Back to sign in</a>
        {what === "username" ? <a href={href(web, "/account/forgot-password")}>I forgot my password</a> : <a href={href(web, "/account/forgot-username")}>I forgot my username</a>}
      </p>
    </section>
  );
}

function ForgotForm({ web, visitor, state }: { web: Web; visitor: Visitor; state: ForgotState }) {
  const username = state.what === "username";
  return (
    <form method="post" action={href(web, `/account/forgot-${state.what}`)}>
      <p>{username ? "Type the email address your account was registered with: we mail it the username." : "Type your username, or the email address your account was registered with: we mail a link to choose a new password to the address of record."}</p>
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      <FormToken visitor={visitor} />
      <div class="field">
        <label for="fg-who">{username ? "Email" : "Username or email"}</label>
        <input id="fg-who" name="who" type={username ? "email" : "text"} required maxlength={320} autocomplete={username ? "email" : "username"} autocapitalize="none" spellcheck={false} value={state.typed ?? ""} />
      </div>
      <button type="submit">{username ? "Mail my username" : "Mail me a reset link"}</button>
    </form>
  );
}

function Sent({ what }: { what: Forgotten }) {
  return (
    <>
      <Notice>{what === "username" ? "If an account is registered with that address, its username is on its way there." : "If that names an account with an address of record, a reset link is on its way there."}</Notice>
      <p>{what === "password" ? "The link works once, within 24 hours. " : ""}It can take a few minutes; look in the spam folder too.</p>
      <p>Nothing came? You may have used another address, or asked too often: a few mails an hour go to one address at most. Your administrator can help.</p>
    </>
  );
}

function Offline({ what }: { what: Forgotten }) {
  return (
    <>
      <p>This server does not send {what === "username" ? "mail" : "reset links by mail"}, so {what === "username" ? "your username cannot be mailed to you" : "no reset link can be mailed to you"}.</p>
      <p>
        Ask your administrator: they can {what === "username" ? "tell you your username" : <>set a new password for you (<code>pkgate user --reset &lt;username&gt;</code>)</>}.
      </p>
    </>
  );
}

export type ResetState =
  /** the link is good: choose the password */
  | { step: "form"; user: string; error?: string }
  /** the link does not work (any more) */
  | { step: "dead"; why: "expired" | "used" | "invalid" | "missing" };

const DEAD: Record<Extract<ResetState, { step: "dead" }>["why"], string> = {
  expired: "This reset link has expired: a link works for 24 hours after it was mailed.",
  used: "This reset link has been used already, or the account's password or address changed since it was mailed. A link works once.",
  invalid: "This is not a reset link of this server, or it was cut short. Copy the whole link from the mail.",
  missing: "Open the link from the mail to choose a new password (a reset started here must be finished within the hour).",
};

export function ResetView({ web, visitor, state }: { web: Web; visitor: Visitor; state: ResetState }) {
  if (state.step === "dead") {
    return (
      <section class="card narrow" aria-labelledby="reset-title">
        <h1 id="reset-title">Choose a new password</h1>
        <Notice kind="error">{DEAD[state.why]}</Notice>
        <p class="links">
          <a href={href(web, "/account/forgot-password")}>Mail me a new link</a>
          <a href={href(web, "/?tab=signin")}>Back to sign in</a>
        </p>
      </section>
    );
  }
  return (
    <section class="card narrow" aria-labelledby="reset-title">
      <h1 id="reset-title">Choose a new password</h1>
      <p>
        For the account <strong>{state.user}</strong>. Setting it signs the account out of every browser.
      </p>
      {state.error ? <Notice kind="error">{state.error}</Notice> : null}
      <form method="post" action={href(web, "/account/reset")}>
        <FormToken visitor={visitor} />
        <NewPasswordFields prefix="rs" />
        <button type="submit">Set the new password</button>
      </form>
    </section>
  );
}

/** A new password and its confirmation (fields `password` and `confirm`), as the reset and
 * the settings pages ask for them; `prefix` keeps their ids apart on one page. */
export function NewPasswordFields({ prefix }: { prefix: string }) {
  return (
    <>
      <div class="field">
        <label for={`${prefix}-password`}>New password</label>
        <input id={`${prefix}-password`} name="password" type="password" required minlength={MIN_PASSWORD_LENGTH} autocomplete="new-password" aria-describedby={`${prefix}-password-hint`} />
        <span id={`${prefix}-password-hint`} class="hint">
          At least {MIN_PASSWORD_LENGTH} characters.
        </span>
      </div>
      <div class="field">
        <label for={`${prefix}-confirm`}>Confirm new password</label>
        <input id={`${prefix}-confirm`} name="confirm" type="password" required minlength={MIN_PASSWORD_LENGTH} autocomplete="new-password" />
      </div>
    </>
  );
}
