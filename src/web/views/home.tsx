// The home page: what pkgate is, and the Sign Up and Sign In tabs of the account guide.
// The tabs are links (`/?tab=signin`), so they work without a script; each form posts to its
// own address and, when refused, comes back here with what was typed (never a password).
import { href, type Web } from "../web.js";
import type { Visitor } from "../visitor.js";
import { FormToken, Notice } from "./layout.js";
import { MIN_PASSWORD_LENGTH } from "../../auth/password.js";

export type Tab = "signup" | "signin";

export interface HomeState {
  tab: Tab;
  signupOpen: boolean;
  /** A refusal to show above the active form. */
  error?: string;
  /** A message that is no refusal ("you are signed out"). */
  info?: string;
  /** What was typed, to fill the form in again. */
  username?: string;
  email?: string;
  /** Where to go after signing in (a path of ours). */
  next?: string;
}

export function HomeView({ web, visitor, state }: { web: Web; visitor: Visitor; state: HomeState }) {
  const tab = state.tab;
  return (
    <div class="hero">
      <section>
        <h1>Your packages, private where they need to be.</h1>
        <p class="lead">pkgate serves conda channels and PyPI indexes from your own storage, to conda, mamba, pixi, pip and uv, exactly as they talk to anaconda.org.</p>
        <ul>
          <li>Every user and organization owns a channel; packages are public or private.</li>
          <li>Tokens with scopes give conda and pip access, without sharing a password.</li>
          <li>Organizations give groups read, write or admin on their packages.</li>
        </ul>
      </section>
      <section class="card" aria-label="Sign up or sign in">
        <nav class="tabs" aria-label="Account">
          <a href={href(web, "/?tab=signup")} aria-current={tab === "signup" ? "page" : undefined}>
            Sign Up
          </a>
          <a href={href(web, "/?tab=signin")} aria-current={tab === "signin" ? "page" : undefined}>
            Sign In
          </a>
        </nav>
        {state.info ? <Notice>{state.info}</Notice> : null}
        {state.error ? <Notice kind="error">{state.error}</Notice> : null}
        {tab === "signup" ? <SignUpForm web={web} visitor={visitor} state={state} /> : <SignInForm web={web} visitor={visitor} state={state} />}
      </section>
    </div>
  );
}

function SignUpForm({ web, visitor, state }: { web: Web; visitor: Visitor; state: HomeState }) {
  if (!state.signupOpen) {
    return (
      <div>
        <h2>Sign up</h2>
        <p>New accounts on this server are created by an administrator. Ask your administrator for a user name and password, then sign in.</p>
        <p>
          <a href={href(web, "/?tab=signin")}>I have an account: sign in</a>
        </p>
      </div>
    );
  }
  return (
    <form method="post" action={href(web, "/account/signup")}>
      <h2>Create your account</h2>
      <FormToken visitor={visitor} />
      <div class="field">
        <label for="su-username">Username</label>
        <input id="su-username" name="username" type="text" required maxlength={64} autocomplete="username" autocapitalize="none" spellcheck={false} value={state.username ?? ""} aria-describedby="su-username-hint" />
        <span id="su-username-hint" class="hint">
          Lower-case letters, digits, '-', '_' and '.'; it is also your channel's name.
        </span>
      </div>
      <div class="field">
        <label for="su-email">Email</label>
        <input id="su-email" name="email" type="email" required autocomplete="email" value={state.email ?? ""} />
      </div>
      <div class="field">
        <label for="su-password">Password</label>
        <input id="su-password" name="password" type="password" required minlength={MIN_PASSWORD_LENGTH} autocomplete="new-password" aria-describedby="su-password-hint" />
        <span id="su-password-hint" class="hint">
          At least {MIN_PASSWORD_LENGTH} characters.
        </span>
      </div>
      <div class="field">
        <label for="su-confirm">Confirm password</label>
        <input id="su-confirm" name="confirm" type="password" required minlength={MIN_PASSWORD_LENGTH} autocomplete="new-password" />
      </div>
      <div class="field">
        <label class="check" for="su-terms">
          <input id="su-terms" name="terms" type="checkbox" value="accepted" required />
          <span>
            I have read and accept the <a href={href(web, "/account/terms")}>Terms and Conditions</a>
          </span>
        </label>
      </div>
      <button type="submit">Sign up</button>
    </form>
  );
}

function SignInForm({ web, visitor, state }: { web: Web; visitor: Visitor; state: HomeState }) {
  return (
    <form method="post" action={href(web, "/account/signin")}>
      <h2>Sign in</h2>
      <FormToken visitor={visitor} />
      {state.next ? <input type="hidden" name="next" value={state.next} /> : null}
      <div class="field">
        <label for="si-username">Username</label>
        <input id="si-username" name="username" type="text" required maxlength={64} autocomplete="username" autocapitalize="none" spellcheck={false} value={state.username ?? ""} />
      </div>
      <div class="field">
        <label for="si-password">Password</label>
        <input id="si-password" name="password" type="password" required autocomplete="current-password" />
      </div>
      <button type="submit">Sign in</button>
      <div class="links">
        <a href={href(web, "/account/forgot-username")}>I forgot my username</a>
        <a href={href(web, "/account/forgot-password")}>I forgot my password</a>
      </div>
    </form>
  );
}
