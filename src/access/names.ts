// Every naming rule of pkgate, once: account (= channel) names and the reserved ones, group
// names, token names, package names, and token lifetimes. Each rule is one anchored
// ECMAScript pattern; the predicate the server runs and the JSON Schema the OpenAPI document
// publishes are both built from it, so the two cannot disagree (test/access/names.test.ts
// compares them in both directions).
import { GateError, badRequest } from "../errors.js";

export interface NameRule {
  /** What the rule names, for messages: "account name". */
  readonly what: string;
  /** The whole rule as one anchored pattern (length bounds and reserved words included). */
  readonly pattern: string;
  readonly maxLength: number;
  /** The rule in words, for error messages. */
  readonly describe: string;
  test(value: string): boolean;
  /** The JSON Schema of a string following this rule. */
  schema(description?: string): { type: "string"; pattern: string; maxLength: number; description: string };
}

function rule(what: string, pattern: string, maxLength: number, describe: string): NameRule {
  // The "u" flag: JSON Schema validators read `pattern` as an ECMA-262 regular expression over
  // code points (ajv compiles it with "u"), so the server reads it the same way.
  const re = new RegExp(pattern, "u");
  return Object.freeze({
    what,
    pattern,
    maxLength,
    describe,
    test: (value: string) => typeof value === "string" && codePointsAtMost(value, maxLength) && re.test(value),
    schema: (description = describe) => ({ type: "string" as const, pattern, maxLength, description }),
  });
}

/** maxLength as JSON Schema counts it (code points), without spreading a hostile megabyte. */
function codePointsAtMost(value: string, max: number): boolean {
  if (value.length <= max) return true;
  if (value.length > 2 * max) return false;
  let n = 0;
  for (const _ of value) if (++n > max) return false;
  return true;
}

/** Names no account can take: the gateway's own top-level routes. `conda` is the prefix under
 * which conda looks for an anaconda-client site's channels (http/target.ts). The web pages' (src/web)
 * are the last seven: `/account/…` (sign in, sign up, recovery), `/dashboard/<account>/…`,
 * `/settings/<account>/…` (tokens, account settings), `/packages/<channel>/<package>`,
 * `/favorites`, `/organizations/<org>` (admins, groups, members), `/memberships`; `/static/` holds their stylesheet and script. */
export const RESERVED_ACCOUNT_NAMES: readonly string[] = Object.freeze([
  "t", "api", "conda", "healthz", "readyz", "metrics", "simple", "label", "static",
  "account", "dashboard", "settings", "packages", "favorites", "organizations", "memberships",
]);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Accounts (users and organizations) and so channels: lower-case letters, digits, '-', '_',
 * and '.' between them (never '..', never at either end: a dot-segment is never served),
 * 1-64 characters, not a reserved name. */
export const ACCOUNT_NAME = rule(
  "account name",
  `^(?!(?:${RESERVED_ACCOUNT_NAMES.map(escape).join("|")})$)(?=.{1,64}$)[a-z0-9][a-z0-9_-]*(?:\\.[a-z0-9_-]+)*$`,
  64,
  `1-64 lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, no '..' and no '.' at the end; not one of ${RESERVED_ACCOUNT_NAMES.join(", ")}`,
);

/** Groups of an organization. */
export const GROUP_NAME = rule("group name", "^[a-z0-9][a-z0-9_.-]{0,63}$", 64, "1-64 lower-case letters, digits, '_', '.', '-', starting with a letter or digit");

/** Token names: unique per account, shown in listings and logs. */
export const TOKEN_NAME = rule("token name", "^[A-Za-z0-9][A-Za-z0-9 _.:@-]{0,63}$", 64, "1-64 letters, digits, spaces and _ . : @ -, starting with a letter or digit");

/** Trusted publisher names: part of the names of the tokens they mint (oidc:<publisher>:<run>). */
export const PUBLISHER_NAME = rule("publisher name", "^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", 32, "1-32 letters, digits, '_', '.' and '-', starting with a letter or digit");

/** PyPI project names: PEP 508's grammar (ASCII letters, digits, '-', '_', '.', a letter or
 * digit at both ends), at most 200 characters. */
export const PYPI_PROJECT_NAME = rule(
  "project name",
  "^(?=.{1,200}$)(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$",
  200,
  "letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 200 characters",
);

/** conda package names: lower-case letters, digits, '_', '.', '-', not starting with '.' or
 * '-' (conda's own `_libgcc_mutex`, `_openmp_mutex`, `__glibc` start with '_', which PEP 508
 * refuses), at most 200 characters. */
export const CONDA_PACKAGE_NAME = rule(
  "conda package name",
  "^(?=.{1,200}$)[a-z0-9_][a-z0-9_.-]*$",
  200,
  "lower-case letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 200 characters",
);

/** A package of a channel, whatever its ecosystem: a PyPI project name or a conda package
 * name. Privacy and group package lists take these (normalized as PEP 503 does, one privacy
 * per channel and name). */
export const PACKAGE_NAME = rule(
  "package name",
  "^(?=.{1,200}$)(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[a-z0-9_][a-z0-9_.-]*)$",
  200,
  "a PyPI project name (letters, digits, '-', '_' and '.', a letter or digit at both ends) or a conda package name (lower-case letters, digits, '_', '.' and '-', not starting with '.' or '-'), at most 200 characters",
);

/** A package name as the catalog stores and the API shows it: a PACKAGE_NAME normalized as
 * PEP 503 does (lower case, each run of '-', '_', '.' one '-'; conda's `_openmp_mutex` is
 * `-openmp-mutex`). Never typed by a user; published so responses are described exactly. */
export const NORMALIZED_PACKAGE_NAME = rule(
  "normalized package name",
  "^(?=.{1,200}$)(?!.*--)[a-z0-9-]+$",
  200,
  "a package name normalized: lower-case letters, digits and single '-', at most 200 characters",
);

/** The parts of a conda package file name, `<name>-<version>-<build>.conda|.tar.bz2`, and of
 * the subdir it sits in. '-' separates the parts, so only the name may hold one (a file name
 * splits from the right); conda-build accepts these characters. */
export const CONDA_VERSION = rule("conda version", "^(?=.{1,128}$)[A-Za-z0-9_.+!]+$", 128, "letters, digits, '_', '.', '+' and '!', at most 128 characters");
export const CONDA_BUILD = rule("conda build string", "^(?=.{1,128}$)[A-Za-z0-9_.+]+$", 128, "letters, digits, '_', '.' and '+', at most 128 characters");
export const CONDA_SUBDIR = rule("conda subdir", "^(?=.{1,32}$)(?:noarch|[a-z0-9]+-[a-z0-9_]+)$", 32, "noarch or <platform>-<arch> (linux-64, osx-arm64, win-64, ...)");
export const CONDA_FILE = rule(
  "conda package file name",
  "^(?=.{1,255}$)[a-z0-9_][a-z0-9_.-]*-[A-Za-z0-9_.+!]+-[A-Za-z0-9_.+]+\\.(?:conda|tar\\.bz2)$",
  255,
  "<name>-<version>-<build>.conda or .tar.bz2",
);
/** An environment (environment.yml) or notebook (.ipynb) file as uploaded (src/kinds): its
 * kind is its extension. */
export const KIND_FILE = rule(
  "environment or notebook file name",
  "^(?=.{1,128}$)[A-Za-z0-9_][A-Za-z0-9_.-]*\\.(?:yml|yaml|ipynb)$",
  128,
  "a file name ending in .yml, .yaml or .ipynb: letters, digits, '_', '.' and '-', starting with a letter, digit or '_', at most 128 characters",
);
/** A signed, short-lived upload URL's token (a JWT in its compact form). */
export const SIGNED_TOKEN = rule("signed token", "^(?=.{1,4096}$)[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", 4096, "a signed token as the gateway gave it");

/** conda channel labels (`/<channel>/label/<label>/`): letters, digits, '-', '_', and '.'
 * between them (never a dot-segment), at most 64 characters. */
export const LABEL_NAME = rule(
  "label",
  "^(?=.{1,64}$)[A-Za-z0-9][A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]+)*$",
  64,
  "1-64 letters, digits, '-', '_' and '.', starting with a letter or digit, no '..' and no '.' at the end",
);

export const isAccountName = (s: string): boolean => ACCOUNT_NAME.test(s);
export const isGroupName = (s: string): boolean => GROUP_NAME.test(s);
export const isTokenName = (s: string): boolean => TOKEN_NAME.test(s);
export const isPackageName = (s: string): boolean => PACKAGE_NAME.test(s);
export const isLabelName = (s: string): boolean => LABEL_NAME.test(s);

/** Every rule, for the tests that compare each one with its published schema. */
export const NAME_RULES: readonly NameRule[] = Object.freeze([ACCOUNT_NAME, GROUP_NAME, TOKEN_NAME, PUBLISHER_NAME, PYPI_PROJECT_NAME, CONDA_PACKAGE_NAME, PACKAGE_NAME, NORMALIZED_PACKAGE_NAME, LABEL_NAME, CONDA_VERSION, CONDA_BUILD, CONDA_SUBDIR, CONDA_FILE, KIND_FILE, SIGNED_TOKEN]);

/** A 400 naming the field and the rule, or the value itself when it follows the rule. */
export function requireName(r: NameRule, value: unknown, field: string = r.what): string {
  if (typeof value !== "string" || !r.test(value)) throw badRequest(`invalid ${field}: ${r.describe}`);
  return value;
}

// ---- token lifetimes ------------------------------------------------------------------

/** A new token lives one year unless asked otherwise (anaconda.org's default). */
export const DEFAULT_TOKEN_LIFETIME = 365 * 24 * 3600;
/** The largest TOKEN_MAX_AGE an operator can configure. */
export const LIFETIME_CEILING = 10 * 365 * 24 * 3600;

export interface LifetimeBounds {
  /** The server-wide maximum (TOKEN_MAX_AGE), seconds. */
  serverMax: number;
  /** When the token (or session) creating this one expires; none for the local CLI. */
  parentExpiresAt?: string | null;
  now?: number;
}

/** The JSON Schema of a requested lifetime. */
export function lifetimeSchema(serverMax: number): { type: "integer"; minimum: 1; maximum: number; description: string } {
  return { type: "integer", minimum: 1, maximum: serverMax, description: "seconds until the token expires; never beyond the creating token's own expiry" };
}

/**
 * When a new token expires. `requested` (seconds) must be a whole number from 1 to the
 * server's maximum, and may not reach past the creating token's expiry (400 saying until
 * when it may live). Without a request: `fallback` (one year by default), cut to both bounds,
 * so a token never outlives the one that made it.
 */
export function tokenExpiry(requested: number | undefined, bounds: LifetimeBounds, fallback = DEFAULT_TOKEN_LIFETIME): Date {
  const now = bounds.now ?? Date.now();
  const parent = bounds.parentExpiresAt ? Date.parse(bounds.parentExpiresAt) : Infinity;
  // fail closed: an unreadable parent expiry must not lift the bound (NaN compares false)
  if (Number.isNaN(parent)) throw new GateError("internal", "the creating token's expiry is unreadable");
  const cap = Math.min(now + bounds.serverMax * 1000, parent);
  if (requested !== undefined) {
    if (typeof requested !== "number" || !Number.isInteger(requested) || requested <= 0 || requested > bounds.serverMax) {
      throw badRequest(`invalid max age: a whole number of seconds from 1 to ${bounds.serverMax} (TOKEN_MAX_AGE)`);
    }
    if (now + requested * 1000 > parent) {
      throw badRequest(`invalid max age: a token cannot outlive the token that creates it, which expires on ${new Date(parent).toISOString()}; ask for at most ${Math.max(0, Math.floor((parent - now) / 1000))} seconds`);
    }
    return new Date(now + requested * 1000);
  }
  return new Date(Math.min(now + fallback * 1000, cap));
}
