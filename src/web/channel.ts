// What a channel holds, as the pages show it: its conda packages (from the channeldata.json
// conda-index writes at the channel root and at each label's root) and its PyPI projects (from
// one listing of the channel's PyPI folder), each with its privacy, its latest version, its
// platforms and its labels; the channel's labels and what each holds; and the search and
// pagination of the pages' package lists, which search every package and render one page.
//
// A channel of 10,000 packages is megabytes of channeldata.json and thousands of listed
// objects, so what is read is kept in process (ChannelMemo): each parsed channeldata.json
// with the validators of its bytes, checked with a stat on every read (a new index shows at
// once); each listing (the label folders, the PyPI files) used as it is for LISTING_FRESH_MS,
// then served while a new one is made in the background, and waited for once older than
// LISTING_STALE_MS (a new label or PyPI project shows within that). Privacy is never kept:
// it comes from the account document of the request.
import type { Store } from "../store/store.js";
import type { Account, Privacy } from "../access/model.js";
import { privacyOf, type Visibility } from "../access/policy.js";
import { isLabelName } from "../access/names.js";
import { normalizeProjectName, parseDistFilename } from "../pypi/names.js";
import { compareVersions } from "../pypi/version.js";
import { pypiPrefix } from "../pypi/registry.js";

/** The label conda reaches at the channel root (anaconda.org's `main`). */
export const MAIN_LABEL = "main";

/** A package of the channel as its files say (kept in process and shared: read-only). */
export interface PackageEntry {
  name: string;
  /** The name normalized as PEP 503 does: what privacy, search and the package page go by. */
  normalized: string;
  ecosystem: "conda" | "pypi";
  /** The latest version: conda-index's choice (the main label's first), the highest PEP 440
   * version of a PyPI project's files; null where the index does not say. */
  version: string | null;
  /** conda platforms (`linux-64`, `noarch`). */
  subdirs: string[];
  /** conda labels holding the package, `main` first (none for PyPI). */
  labels: string[];
}

/** A package as a list shows it: with the privacy the account document gives it now. */
export interface PackageRow extends PackageEntry {
  privacy: Privacy;
}

export const withPrivacy = (account: Account, p: PackageEntry): PackageRow => ({ ...p, privacy: privacyOf(account, p.normalized) });

/** How many of the packages are private: privacyOf's answer, asked only of names with a
 * setting of their own (the rest have the channel's default), so that counting 10,000
 * packages does not normalize 10,000 names again; counted once for a list and an account
 * document (both are kept objects: a change makes new ones). */
export function privateCount(account: Account, packages: readonly PackageEntry[]): number {
  let byAccount = counted.get(packages);
  if (!byAccount) counted.set(packages, (byAccount = new WeakMap()));
  let n = byAccount.get(account);
  if (n === undefined) {
    n = 0;
    for (const p of packages) if ((Object.hasOwn(account.packages, p.normalized) ? privacyOf(account, p.normalized) : account.defaultPrivacy) === "private") n++;
    byAccount.set(account, n);
  }
  return n;
}

const counted = new WeakMap<readonly PackageEntry[], WeakMap<Account, number>>();

/** The packages a principal may see (policy.ts visibility), filtered once for a list and a
 * view: the view's key names what it shows (the account document's content and the private
 * packages the principal reaches), so principals seeing the same share it. */
export function visibleEntries(packages: readonly PackageEntry[], vis: Visibility): readonly PackageEntry[] {
  if (vis.all) return packages;
  let byView = filtered.get(packages);
  if (!byView) filtered.set(packages, (byView = new Map()));
  let shown = byView.get(vis.key);
  if (!shown) {
    shown = packages.filter((p) => vis.visible(p.normalized));
    byView.set(vis.key, shown);
    while (byView.size > VIEWS_KEPT) byView.delete(byView.keys().next().value!);
  }
  return shown;
}

/** Views kept a list: each principal with its own set of private packages is one. */
const VIEWS_KEPT = 64;
const filtered = new WeakMap<readonly PackageEntry[], Map<string, readonly PackageEntry[]>>();

/** One label's packages: conda name → latest version and platforms. */
export type LabelPackages = Map<string, { version: string | null; subdirs: string[] }>;

export interface Label {
  name: string;
  packages: LabelPackages;
}

interface ChannelData {
  packages?: Record<string, { version?: unknown; subdirs?: unknown }>;
}

/** The store prefix of a label (`acme/`, `acme/label/dev/`). */
export const labelPrefix = (channel: string, label: string): string => (label === MAIN_LABEL ? `${channel}/` : `${channel}/label/${label}/`);

/** The labels of a channel, `main` first, then by name: the root, and every label folder. */
export function channelLabelNames(store: Store, channel: string): Promise<string[]> {
  return memoOf(store).listing(`labels:${channel}`, async () => {
    const prefix = `${channel}/label/`;
    const names = new Set<string>();
    for await (const o of store.list(prefix)) {
      const name = o.key.slice(prefix.length).split("/", 1)[0]!;
      if (name !== MAIN_LABEL && isLabelName(name)) names.add(name);
    }
    return [MAIN_LABEL, ...[...names].sort()];
  });
}

/** What each label of the channel holds, from its channeldata.json (a label without one
 * holds nothing the pages can name). */
export async function channelLabels(store: Store, channel: string): Promise<Label[]> {
  const names = await channelLabelNames(store, channel);
  const memo = memoOf(store);
  return Promise.all(names.map(async (name) => ({ name, packages: await memo.labelPackages(labelPrefix(channel, name)) })));
}

function parseChannelData(body: Buffer): LabelPackages {
  const out: LabelPackages = new Map();
  let doc: ChannelData;
  try {
    doc = JSON.parse(body.toString("utf8")) as ChannelData;
  } catch {
    return out;
  }
  const packages = doc.packages && typeof doc.packages === "object" ? doc.packages : {};
  for (const [name, p] of Object.entries(packages)) {
    out.set(name, {
      version: typeof p?.version === "string" ? p.version : null,
      subdirs: Array.isArray(p?.subdirs) ? p.subdirs.filter((s): s is string => typeof s === "string") : [],
    });
  }
  return out;
}

/** The conda packages of a channel's labels: one a name, its version from the first label
 * holding it (`main` comes first), its platforms from all of them. */
export function condaEntries(labels: Label[]): PackageEntry[] {
  const entries = new Map<string, PackageEntry>();
  for (const label of labels) {
    for (const [name, p] of label.packages) {
      const entry = entries.get(name);
      if (!entry) {
        entries.set(name, { name, normalized: normalizeProjectName(name), ecosystem: "conda", version: p.version, subdirs: [...p.subdirs], labels: [label.name] });
        continue;
      }
      entry.labels.push(label.name);
      entry.version ??= p.version;
      for (const s of p.subdirs) if (!entry.subdirs.includes(s)) entry.subdirs.push(s);
    }
  }
  for (const entry of entries.values()) entry.subdirs.sort();
  return [...entries.values()];
}

/** The channel's PyPI projects with a file where the PyPI door serves it
 * (`<channel>/pypi/<normalized>/<file>`), each with its highest version: one listing. */
export function pypiLatest(store: Store, channel: string): Promise<Map<string, string>> {
  return memoOf(store).listing(`pypi:${channel}`, async () => {
    const prefix = pypiPrefix(channel);
    const latest = new Map<string, string>();
    for await (const o of store.list(prefix)) {
      const [project, file, deeper] = o.key.slice(prefix.length).split("/");
      if (!project || !file || deeper !== undefined) continue;
      const dist = parseDistFilename(file);
      if (dist?.name !== project) continue;
      const had = latest.get(project);
      if (had === undefined || compareVersions(dist.version, had) > 0) latest.set(project, dist.version);
    }
    return latest;
  });
}

export interface ChannelContents {
  /** Every package, by name, conda before PyPI for a shared name (shared: read-only). */
  packages: readonly PackageEntry[];
  /** `main`, then every label folder. */
  labels: Label[];
}

/** What the channel holds. For a channel that has no account, or that the visitor may not
 * see, this is also the store work of a look that finds nothing: hidden and missing cost
 * the same. The channel: an account, or a valid account name. */
export async function channelContents(store: Store, of: string | Pick<Account, "name">): Promise<ChannelContents> {
  const channel = typeof of === "string" ? of : of.name;
  const [labels, pypi] = await Promise.all([channelLabels(store, channel), pypiLatest(store, channel)]);
  const packages = memoOf(store).derived(`rows:${channel}`, [...labels.map((l) => l.packages), pypi], () => {
    const pypiEntries = [...pypi].map(([name, version]): PackageEntry => ({ name, normalized: name, ecosystem: "pypi", version, subdirs: [], labels: [] }));
    return sortEntries([...condaEntries(labels), ...pypiEntries]);
  });
  return { packages, labels };
}

/** How conda and pip reach a channel, from the gateway's public address (`publicBase`, no
 * trailing slash): with a token, left as `<TOKEN>`, and without. */
export function channelAddresses(base: string, channel: string): { conda: string; condaPublic: string; pip: string; pipPublic: string } {
  const url = new URL(base);
  const path = url.pathname.replace(/\/$/, "");
  return {
    conda: `${base}/t/<TOKEN>/${channel}`,
    condaPublic: `${base}/${channel}`,
    pip: `${url.protocol}//__token__:<TOKEN>@${url.host}${path}/${channel}/simple/`,
    pipPublic: `${base}/${channel}/simple/`,
  };
}

/** By name (code units: names are ASCII), conda before PyPI for a shared name. */
export function sortEntries<T extends PackageEntry>(rows: T[]): T[] {
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.ecosystem < b.ecosystem ? -1 : a.ecosystem > b.ecosystem ? 1 : 0));
}

// ---- search and pagination --------------------------------------------------------------

/** Rows a page of the package list shows. */
export const PAGE_SIZE = 50;

/** The rows whose name holds the query (any case; `-`, `_` and `.` alike), the exact name
 * first, then names starting with it, each group in the rows' order. An empty query: all. */
export function searchPackages<T extends PackageEntry>(rows: readonly T[], query: string): T[] {
  const q = normalizeProjectName(query.trim());
  if (q === "") return [...rows];
  const exact: T[] = [];
  const starts: T[] = [];
  const within: T[] = [];
  for (const row of rows) {
    const name = row.normalized;
    if (name === q) exact.push(row);
    else if (name.startsWith(q)) starts.push(row);
    else if (name.includes(q)) within.push(row);
  }
  return [...exact, ...starts, ...within];
}

export interface Paged<T> {
  items: T[];
  /** 1-based; the last page when the one asked for is beyond it. */
  page: number;
  pages: number;
  total: number;
  /** 1-based position of the first item shown (0 when there is none). */
  from: number;
}

/** One page of `all` (`page` as the query string spells it: anything but a whole number ≥ 1
 * is the first page). */
export function pageOf<T>(all: readonly T[], page: string | number | undefined, size = PAGE_SIZE): Paged<T> {
  const pages = Math.max(1, Math.ceil(all.length / size));
  const asked = typeof page === "number" ? page : /^[1-9][0-9]{0,8}$/.test(page ?? "") ? Number(page) : 1;
  const p = Math.min(Math.max(1, Math.floor(asked)), pages);
  const items = all.slice((p - 1) * size, p * size);
  return { items, page: p, pages, total: all.length, from: items.length ? (p - 1) * size + 1 : 0 };
}

// ---- what is kept in process ------------------------------------------------------------

/** How long a listing is used as it is; how old one may be before a page waits for another. */
export const LISTING_FRESH_MS = 2_000;
export const LISTING_STALE_MS = 10_000;
/** What a label without a channeldata.json holds (one object, so rows made from it are kept). */
const NO_PACKAGES: LabelPackages = new Map();
/** Parsed indexes and listings kept (the least recently used go first). */
const MEMO_ENTRIES = 256;

class ChannelMemo {
  private readonly indexes = new Map<string, { etag: string; size: number; packages: LabelPackages }>();
  private readonly listings = new Map<string, { at: number; value: Promise<unknown>; refreshing: boolean }>();
  private readonly results = new Map<string, { inputs: readonly unknown[]; value: unknown }>();

  constructor(private readonly store: Store) {}

  /** A label's packages from its channeldata.json, parsed again only when its bytes changed. */
  async labelPackages(prefix: string): Promise<LabelPackages> {
    const key = `${prefix}channeldata.json`;
    const info = await this.store.stat(key);
    const known = this.indexes.get(key);
    if (info && known && known.etag === info.etag && known.size === info.size) return touch(this.indexes, key, known).packages;
    const got = info ? await this.store.get(key) : null;
    if (!got) {
      this.indexes.delete(key);
      return NO_PACKAGES;
    }
    const entry = { etag: got.info.etag, size: got.info.size, packages: parseChannelData(got.body) };
    touch(this.indexes, key, entry);
    bounded(this.indexes);
    return entry.packages;
  }

  /** A listing's result, made again as the freshness rule above says. */
  listing<T>(key: string, list: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const known = this.listings.get(key);
    if (known && now - known.at < LISTING_STALE_MS) {
      if (now - known.at >= LISTING_FRESH_MS && !known.refreshing) {
        known.refreshing = true;
        list().then(
          (value) => this.keep(key, Promise.resolve(value), Date.now()),
          () => (known.refreshing = false),
        );
      }
      return touch(this.listings, key, known).value as Promise<T>;
    }
    const value = list();
    this.keep(key, value, now);
    value.catch(() => this.listings.get(key)?.value === value && this.listings.delete(key));
    return value;
  }

  /** What `make` derives from `inputs` (kept objects): made again when one of them is not
   * the very object it was made from. */
  derived<T>(key: string, inputs: readonly unknown[], make: () => T): T {
    const known = this.results.get(key);
    if (known && known.inputs.length === inputs.length && known.inputs.every((x, i) => x === inputs[i])) return touch(this.results, key, known).value as T;
    const value = make();
    touch(this.results, key, { inputs, value });
    bounded(this.results);
    return value;
  }

  private keep(key: string, value: Promise<unknown>, at: number): void {
    touch(this.listings, key, { at, value, refreshing: false });
    bounded(this.listings);
  }
}

function touch<V>(map: Map<string, V>, key: string, value: V): V {
  map.delete(key);
  map.set(key, value);
  return value;
}

function bounded(map: Map<string, unknown>): void {
  while (map.size > MEMO_ENTRIES) map.delete(map.keys().next().value!);
}

const memos = new WeakMap<Store, ChannelMemo>();

function memoOf(store: Store): ChannelMemo {
  let memo = memos.get(store);
  if (!memo) memos.set(store, (memo = new ChannelMemo(store)));
  return memo;
}
