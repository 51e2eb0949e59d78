// What `pkgate doctor` learns from one listing of the store: the top-level folders (each a
// channel once an account owns it), the directories holding conda index files and their
// compressed twins, and the PyPI projects with their files and index documents. The listing
// is bounded: on a store larger than the bound, what sorts after the last key looked at is
// not in the survey, and the survey says so. Classifying a key is pure (addToSurvey).
import type { ListedObject, Store } from "../store/store.js";
import { CATALOG_PREFIX } from "../access/catalog.js";
import { isCondaSubdir, parseCondaFilename } from "../conda/filename.js";
import { PYPI_SEGMENT, metadataKey, projectPrefix } from "../pypi/registry.js";
import { parseDistFilename } from "../pypi/names.js";

/** The index files of a conda subdir that doctor compares with each other. */
const CONDA_INDEX_FILES: ReadonlySet<string> = new Set([
  "repodata.json",
  "repodata.json.zst",
  "repodata.json.bz2",
  "current_repodata.json",
  "current_repodata.json.zst",
  "current_repodata.json.bz2",
  "repodata_from_packages.json",
  "repodata_from_packages.json.zst",
  "repodata_from_packages.json.bz2",
  "repodata_shards.msgpack.zst",
]);

/** The document the gateway keeps beside a project's files (pypi/registry.ts). */
const PYPI_INDEX_DOCUMENT = ".index.json";

export interface FolderSurvey {
  objects: number;
  /** Subdirs (with their label, `label/dev/linux-64`) holding conda packages or indexes. */
  conda: Set<string>;
  /** Normalized names of PyPI projects with files where the gateway serves them. */
  pypi: Set<string>;
}

export interface PypiProjectSurvey {
  channel: string;
  normalized: string;
  /** Distribution files where the gateway serves them: name → listed object. */
  files: Map<string, ListedObject>;
  /** Files with a stored core-metadata document beside them. */
  metadata: Set<string>;
  document: ListedObject | null;
}

export interface StoreSurvey {
  /** Top-level folders but the dot-folders (the catalog), by name. */
  folders: Map<string, FolderSurvey>;
  /** Directories (`acme/linux-64/`) holding conda index files: file name → listed object. */
  indexDirs: Map<string, Map<string, ListedObject>>;
  /** PyPI projects by their prefix (`acme/pypi/foo/`). */
  pypi: Map<string, PypiProjectSurvey>;
  /** Wheels and sdists the gateway never serves where they are (not under
   * `<channel>/pypi/<normalized>/`), by channel. */
  misplaced: Map<string, string[]>;
  /** Objects looked at. */
  examined: number;
  /** False when the listing stopped at its bound before the end of the store. */
  complete: boolean;
  /** The last key looked at (where an incomplete listing stopped). */
  lastKey: string | null;
}

export function emptySurvey(): StoreSurvey {
  return { folders: new Map(), indexDirs: new Map(), pypi: new Map(), misplaced: new Map(), examined: 0, complete: true, lastKey: null };
}

/** One listing of the store, at most `maxObjects` objects, classified. */
export async function surveyStore(store: Store, maxObjects: number): Promise<StoreSurvey> {
  const survey = emptySurvey();
  // no `limit`: on S3 a limited listing of up to one page answers some keys, not the first ones
  for await (const o of store.list("")) {
    if (survey.examined >= maxObjects) {
      survey.complete = false;
      break;
    }
    addToSurvey(survey, o);
  }
  return survey;
}

/** Classify one listed object into the survey. */
export function addToSurvey(survey: StoreSurvey, o: ListedObject): void {
  survey.examined++;
  survey.lastKey = o.key;
  if (o.key.startsWith(CATALOG_PREFIX)) return;
  const parts = o.key.split("/");
  if (parts.length < 2 || parts[0]!.startsWith(".")) return;
  const channel = parts[0]!;
  let folder = survey.folders.get(channel);
  if (!folder) survey.folders.set(channel, (folder = { objects: 0, conda: new Set(), pypi: new Set() }));
  folder.objects++;
  const file = parts[parts.length - 1]!;

  // <channel>[/label/<label>]/<subdir>/<file>
  const inner = parts.slice(1, -1);
  const conda = inner.length === 1 || (inner.length === 3 && inner[0] === "label");
  if (conda && isCondaSubdir(inner[inner.length - 1]!)) {
    const isIndex = CONDA_INDEX_FILES.has(file);
    if (isIndex || parseCondaFilename(file)) folder.conda.add(inner.join("/"));
    if (isIndex) {
      const dir = o.key.slice(0, o.key.length - file.length);
      let files = survey.indexDirs.get(dir);
      if (!files) survey.indexDirs.set(dir, (files = new Map()));
      files.set(file, o);
    }
    return;
  }

  // <channel>/pypi/<normalized>/<file>, .index.json, .meta/<file>.metadata
  if (parts[1] === PYPI_SEGMENT && parts.length >= 4) {
    const normalized = parts[2]!;
    const prefix = projectPrefix(channel, normalized);
    const project = () => {
      let p = survey.pypi.get(prefix);
      if (!p) survey.pypi.set(prefix, (p = { channel, normalized, files: new Map(), metadata: new Set(), document: null }));
      return p;
    };
    const rest = o.key.slice(prefix.length);
    if (rest === PYPI_INDEX_DOCUMENT) return void (project().document = o);
    if (rest.startsWith(".meta/")) {
      const dist = rest.slice(".meta/".length).replace(/\.metadata$/, "");
      if (o.key === metadataKey(channel, normalized, dist)) project().metadata.add(dist);
      return;
    }
    if (parts.length === 4 && parseDistFilename(file)?.name === normalized) {
      project().files.set(file, o);
      folder.pypi.add(normalized);
      return;
    }
  }
  // a wheel or sdist anywhere else in a channel is never served
  if (parseDistFilename(file)) {
    const list = survey.misplaced.get(channel) ?? [];
    list.push(o.key);
    survey.misplaced.set(channel, list);
  }
}
