// What every page handler shares: the app's parts it reads (the catalog, the Identifier, the
// store), the keys, the password throttle, the configuration of the web pages.
import type { OidcExchange } from "../oidc/exchange.js";
import type { Catalog } from "../access/catalog.js";
import type { Identifier } from "../auth/identify.js";
import type { Cache } from "../cache/cache.js";
import type { Store } from "../store/store.js";
import type { Logger } from "../log.js";
import type { WebConfig } from "../config.js";
import { DEFAULT_TOKEN_LIFETIME } from "../access/names.js";
import { DEFAULT_SIGNUP_LIMIT, PasswordThrottle, SignupThrottle, type ThrottleLimits } from "../api/throttle.js";
import { PypiRegistry } from "../pypi/registry.js";
import type { Metrics } from "../metrics.js";
import { keyring, masterSecret, type WebKeys } from "./keys.js";
import { Directory } from "./directory.js";

/** The parts of the app's dependencies (app.ts AppDeps) the pages use. */
export interface WebDeps {
  catalog: Catalog;
  identifier: Identifier;
  cache: Cache;
  store: Store;
  logger: Logger;
  metrics?: Metrics;
  basePath: string;
  signup: "open" | "admin";
  trustProxy: string[];
  tokenMaxAge?: number;
  /** The API's throttle limits, when a test sets them: the pages count against the same. */
  throttleLimits?: ThrottleLimits;
  /** SESSION_SECRET, SMTP_URL, MAIL_FROM, PUBLIC_URL (config.ts); defaults when absent. */
  web?: WebConfig;
  /** The clock of sessions (tests move it). */
  now?: () => number;
  /** Trusted publishing (its publishers are listed, and removed, on the Tokens page). */
  oidc?: OidcExchange;
  /** The gateway's PyPI registry (server.ts appDeps), shared with the PyPI door and the API. */
  pypiProjects?: PypiRegistry;
}

export interface Web {
  deps: WebDeps;
  config: WebConfig;
  /** BASE_PATH ('' or '/prefix'): every link starts with it. */
  base: string;
  keys: () => Promise<WebKeys>;
  /** The API login's throttle: its counters are in the shared cache, so a password guessed
   * at through the pages and through the API counts against the same limits. */
  throttle: PasswordThrottle;
  /** Sign-ups per client address (SIGNUP_LIMIT), counted with the API's in the shared cache. */
  signups: SignupThrottle;
  /** The PyPI projects of a channel, as the PyPI door lists them. */
  pypi: PypiRegistry;
  /** The organizations around a user (Profile menu, Group Membership). */
  directory: Directory;
  tokenMaxAge: number;
  now: () => number;
}

export const DEFAULT_WEB_CONFIG: WebConfig = { sessionSecret: null, smtpUrl: null, mailFrom: "pkgate <pkgate@localhost>", publicUrl: null, signupLimit: DEFAULT_SIGNUP_LIMIT };

export function createWeb(deps: WebDeps): Web {
  const config = deps.web ?? DEFAULT_WEB_CONFIG;
  return {
    deps,
    config,
    base: deps.basePath,
    keys: keyring(() => masterSecret(deps.store, deps.cache, config.sessionSecret)),
    throttle: new PasswordThrottle(deps.cache, deps.throttleLimits),
    signups: new SignupThrottle(deps.cache, config.signupLimit),
    pypi: deps.pypiProjects ?? new PypiRegistry(deps.store, deps.cache),
    directory: new Directory(deps.store, deps.catalog),
    tokenMaxAge: deps.tokenMaxAge ?? DEFAULT_TOKEN_LIFETIME,
    now: deps.now ?? Date.now,
  };
}

/** A path of the pages, under BASE_PATH. */
export const href = (web: Web, path: string): string => `${web.base}${path}`;
