// Token scopes, as on anaconda.org: what a token may be used for, independent of what its
// account may reach. A request states one Need; a token's scopes cover it or not.
//
//   all ─┬─ repos ─┬─ conda ── conda:download
//        │         └─ pypi ──┬─ pypi:download
//        │                   └─ pypi:upload
//        └─ api ───┬─ api:write ── api:read
//                  ├─ api:read
//                  └─ api:modify-group

import { badRequest } from "../errors.js";

export const SCOPES = [
  "all",
  "repos",
  "conda",
  "conda:download",
  "pypi",
  "pypi:download",
  "pypi:upload",
  "api",
  "api:read",
  "api:write",
  "api:modify-group",
] as const;
export type Scope = (typeof SCOPES)[number];

/** Each scope as the token guide (Generating tokens → Scopes) words it, in the guide's order:
 * the token page's checkboxes and anaconda-client's `anaconda auth --list-scopes` show these. */
export const SCOPE_DESCRIPTIONS: Readonly<Record<Scope, string>> = {
  all: "Allow all operations",
  repos: "Allow access to all package repositories",
  pypi: "Allow all operations on Standard Python repositories",
  "pypi:upload": "Provides upload permissions to Standard Python repositories",
  "pypi:download": "Provides download permissions for private packages in Standard Python repositories",
  conda: "Allow all operations on conda repositories",
  "conda:download": "Provides download permissions for private packages in conda repositories",
  api: "Allow all API operations",
  "api:write": "Provides write permissions to actions performed via API",
  "api:read": "Provides read permissions to actions performed via API",
  "api:modify-group": "Provides manage permissions to groups via the API",
};

/** What one request needs; the leaves of the hierarchy above. */
// "conda" is the need of conda uploads and removals: the conda scope itself (and repos, all)
// covers it, conda:download does not; so a download token cannot create a conda one.
export const NEEDS = ["conda:download", "conda", "pypi:download", "pypi:upload", "api:read", "api:write", "api:modify-group"] as const;
export type Need = (typeof NEEDS)[number];

/** Each scope's direct children. */
const CHILDREN: Record<Scope, readonly Scope[]> = {
  all: ["repos", "api"],
  repos: ["conda", "pypi"],
  conda: ["conda:download"],
  "conda:download": [],
  pypi: ["pypi:download", "pypi:upload"],
  "pypi:download": [],
  "pypi:upload": [],
  api: ["api:read", "api:write", "api:modify-group"],
  "api:read": [],
  "api:write": ["api:read"],
  "api:modify-group": [],
};

/** Each scope with everything it implies, itself included; computed once. */
const CLOSURE: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  SCOPES.map((scope) => {
    const reached = new Set<string>();
    const walk = (s: Scope) => {
      if (reached.has(s)) return;
      reached.add(s);
      for (const child of CHILDREN[s]) walk(child);
    };
    walk(scope);
    return [scope, reached] as const;
  }),
);

/**
 * The scopes a new token gets when its creator names none: downloads only.
 *
 * anaconda.org gives a scopeless token full access to the account (with a warning). We do
 * not: a download token is the one handed out most (CI, colleagues, `.condarc`), and it
 * travels in URL paths that pip prints and uv writes into uv.lock. If it leaks, it should
 * not be able to upload or change the account. Asking for more is one `--scopes` away.
 */
export const DEFAULT_SCOPES: readonly Scope[] = Object.freeze(["conda:download", "pypi:download"] as Scope[]);

export function isScope(s: string): s is Scope {
  return CLOSURE.has(s);
}

/**
 * Parse scopes given by a user: one string separated by spaces and/or commas (as
 * `anaconda auth --scopes 'repos conda:download'`), or a list of such strings. Validated,
 * deduplicated, in the canonical order of SCOPES so equal sets are stored identically.
 * An unknown scope or an empty list is a bad request.
 */
export function parseScopes(input: string | readonly string[]): Scope[] {
  const parts = (typeof input === "string" ? [input] : input).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== "");
  if (parts.length === 0) throw badRequest(`no scope given; choose from: ${SCOPES.join(" ")}`);
  for (const part of parts) {
    if (!isScope(part)) {
      const shown = part.length > 40 ? `${part.slice(0, 40)}…` : part;
      throw badRequest(`unknown scope ${JSON.stringify(shown)}; choose from: ${SCOPES.join(" ")}`);
    }
  }
  const given = new Set(parts);
  return SCOPES.filter((s) => given.has(s));
}

/** Whether any granted scope implies the need. Unknown strings in `granted` (a record
 * written by a newer or older version) grant nothing. */
export function covers(granted: readonly string[], need: Need): boolean {
  return granted.some((scope) => CLOSURE.get(scope)?.has(need) === true);
}
