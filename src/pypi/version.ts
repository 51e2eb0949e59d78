// PEP 440 versions: parse, normalize and order them the way pip and packaging do, so the
// index lists files in release order and an upload's filename, form and metadata can be
// compared as versions ("1.0" equals "1.0.0", "1.0RC1" equals "1.0rc1").

export interface Pep440Version {
  epoch: bigint;
  release: bigint[];
  pre?: { label: "a" | "b" | "rc"; number: bigint };
  post?: bigint;
  dev?: bigint;
  local?: Array<string | bigint>;
}

// The regex of packaging.version (VERSION_PATTERN), anchored and case-insensitive.
const VERSION = new RegExp(
  "^\\s*v?" +
    "(?:(?<epoch>[0-9]+)!)?" +
    "(?<release>[0-9]+(?:\\.[0-9]+)*)" +
    "(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?" +
    "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?" +
    "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?" +
    "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?" +
    "\\s*$",
  "i",
);

const PRE_LABEL: Record<string, "a" | "b" | "rc"> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  c: "rc",
  rc: "rc",
  pre: "rc",
  preview: "rc",
};

/** The parsed version, or null when the string is not a PEP 440 version. */
export function parseVersion(text: string): Pep440Version | null {
  if (text.length > 200) return null;
  const m = VERSION.exec(text);
  if (!m?.groups) return null;
  const g = m.groups;
  const v: Pep440Version = {
    epoch: g.epoch ? BigInt(g.epoch) : 0n,
    release: g.release!.split(".").map((part) => BigInt(part)),
  };
  if (g.pre_l) v.pre = { label: PRE_LABEL[g.pre_l.toLowerCase()]!, number: BigInt(g.pre_n ?? "0") };
  if (g.post) v.post = BigInt(g.post_n1 ?? g.post_n2 ?? "0");
  if (g.dev) v.dev = BigInt(g.dev_n ?? "0");
  if (g.local) {
    v.local = g.local
      .toLowerCase()
      .split(/[-_.]/)
      .map((part) => (/^[0-9]+$/.test(part) ? BigInt(part) : part));
  }
  return v;
}

export function isValidVersion(text: string): boolean {
  return parseVersion(text) !== null;
}

/** The canonical spelling (packaging's str(Version(text))), or null when invalid. */
export function normalizeVersion(text: string): string | null {
  const v = parseVersion(text);
  if (!v) return null;
  let out = v.epoch !== 0n ? `${v.epoch}!` : "";
  out += v.release.join(".");
  if (v.pre) out += `${v.pre.label}${v.pre.number}`;
  if (v.post !== undefined) out += `.post${v.post}`;
  if (v.dev !== undefined) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local.join(".")}`;
  return out;
}

/**
 * packaging's canonicalize_version: the normal form without trailing zero release segments
 * ("1.0.0" → "1"), so two spellings of one release share a key. Null when invalid.
 */
export function canonicalizeVersion(text: string): string | null {
  const v = parseVersion(text);
  if (!v) return null;
  const release = [...v.release];
  while (release.length > 1 && release[release.length - 1] === 0n) release.pop();
  return normalizeVersion(text)!.replace(/^(\d+!)?\d+(?:\.\d+)*/, (_, epoch: string | undefined) => `${epoch ?? ""}${release.join(".")}`);
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 } as const;

function cmp(a: bigint | number, b: bigint | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** packaging's ordering. Each part is compared as a rank (where "absent" sorts) then a value. */
function compareParsed(a: Pep440Version, b: Pep440Version): number {
  let c = cmp(a.epoch, b.epoch);
  if (c) return c;
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const len = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < len; i++) {
    c = cmp(a.release[i] ?? 0n, b.release[i] ?? 0n);
    if (c) return c;
  }
  // A dev release of a final version sorts before its pre-releases (1.0.dev0 < 1.0a1 < 1.0).
  const preRank = (v: Pep440Version): number =>
    v.pre ? 1 : v.post === undefined && v.dev !== undefined ? 0 : 2;
  c = cmp(preRank(a), preRank(b));
  if (c) return c;
  if (a.pre && b.pre) {
    c = cmp(PRE_ORDER[a.pre.label], PRE_ORDER[b.pre.label]) || cmp(a.pre.number, b.pre.number);
    if (c) return c;
  }
  c = cmp(a.post === undefined ? 0 : 1, b.post === undefined ? 0 : 1);
  if (c) return c;
  if (a.post !== undefined && b.post !== undefined) {
    c = cmp(a.post, b.post);
    if (c) return c;
  }
  c = cmp(a.dev === undefined ? 1 : 0, b.dev === undefined ? 1 : 0);
  if (c) return c;
  if (a.dev !== undefined && b.dev !== undefined) {
    c = cmp(a.dev, b.dev);
    if (c) return c;
  }
  // A local version sorts after the same public version; numeric segments beat strings.
  if (!a.local || !b.local) return cmp(a.local ? 1 : 0, b.local ? 1 : 0);
  const n = Math.max(a.local.length, b.local.length);
  for (let i = 0; i < n; i++) {
    const x = a.local[i];
    const y = b.local[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (typeof x !== typeof y) return typeof x === "bigint" ? 1 : -1;
    c = x < y ? -1 : x > y ? 1 : 0;
    if (c) return c;
  }
  return 0;
}

/** Orders two version strings; invalid versions sort before every valid one, then by text. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (pa && pb) return compareParsed(pa, pb);
  if (pa || pb) return pa ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when both are valid and denote the same version (1.0 and 1.0.0, 1.0RC1 and 1.0rc1). */
export function sameVersion(a: string, b: string): boolean {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  return pa !== null && pb !== null && compareParsed(pa, pb) === 0;
}
