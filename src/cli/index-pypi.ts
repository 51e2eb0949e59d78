// `pkgate index --pypi CHANNEL`: (re)builds the index document of every PyPI project of a
// channel whose files were put into the store by other means (an existing bucket, a sync
// job). Idempotent: a second run finds nothing to add or remove and writes nothing. The
// gateway reconciles on each page request anyway; this does the hashing up front, so the
// first pip user does not wait for it.
import type { Runtime } from "../runtime.js";
import { GateError } from "../errors.js";
import { isAccountName } from "../access/names.js";
import { PypiRegistry } from "../pypi/registry.js";

export interface IndexPypiResult {
  /** Projects looked at (every `<channel>/pypi/<name>/` prefix). */
  projects: number;
  /** Distribution files indexed after the run. */
  files: number;
  /** Files hashed and added to an index document by this run. */
  added: number;
  /** Entries dropped because their file is gone (or changed size). */
  removed: number;
}

export async function indexPypi(rt: Runtime, channel: string): Promise<IndexPypiResult> {
  if (!isAccountName(channel)) throw new GateError("bad_request", `invalid channel name "${channel}"`);
  const registry = new PypiRegistry(rt.store, rt.cache);
  const { names } = await registry.projectNames(channel, { includeEmpty: true });
  const total: IndexPypiResult = { projects: names.length, files: 0, added: 0, removed: 0 };
  for (const name of names) {
    const r = await registry.reindex(channel, name);
    total.files += r.files;
    total.added += r.added;
    total.removed += r.removed;
  }
  return total;
}
