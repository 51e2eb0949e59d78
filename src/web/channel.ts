// What a channel holds, for its owner's Dashboard: its conda packages (from the channel's
// channeldata.json, which conda-index writes at the channel root) and its PyPI projects (as
// the PyPI door lists them), each with the privacy the policy gives it.
import type { Store } from "../store/store.js";
import type { Account, Privacy } from "../access/model.js";
import { privacyOf } from "../access/policy.js";
import type { PypiRegistry } from "../pypi/registry.js";

export interface PackageRow {
  name: string;
  ecosystem: "conda" | "pypi";
  /** The latest version (conda); null where the listing does not say (PyPI). */
  version: string | null;
  /** conda platforms (`linux-64`, `noarch`). */
  subdirs: string[];
  privacy: Privacy;
}

interface ChannelData {
  packages?: Record<string, { version?: unknown; subdirs?: unknown }>;
}

/** Every package of the account's channel, by name, conda before PyPI for a shared name. */
export async function channelPackages(store: Store, pypi: PypiRegistry, account: Account): Promise<PackageRow[]> {
  const [conda, projects] = await Promise.all([condaPackages(store, account), pypi.projectNames(account.name)]);
  const rows = [...conda, ...projects.names.map((name): PackageRow => ({ name, ecosystem: "pypi", version: null, subdirs: [], privacy: privacyOf(account, name) }))];
  return rows.sort((a, b) => a.name.localeCompare(b.name) || a.ecosystem.localeCompare(b.ecosystem));
}

async function condaPackages(store: Store, account: Account): Promise<PackageRow[]> {
  const got = await store.get(`${account.name}/channeldata.json`);
  if (!got) return [];
  let doc: ChannelData;
  try {
    doc = JSON.parse(got.body.toString("utf8")) as ChannelData;
  } catch {
    return [];
  }
  const packages = doc.packages && typeof doc.packages === "object" ? doc.packages : {};
  return Object.entries(packages).map(([name, p]) => ({
    name,
    ecosystem: "conda" as const,
    version: typeof p?.version === "string" ? p.version : null,
    subdirs: Array.isArray(p?.subdirs) ? p.subdirs.filter((s): s is string => typeof s === "string") : [],
    privacy: privacyOf(account, name),
  }));
}
