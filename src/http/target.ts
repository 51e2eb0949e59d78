// The path grammar of the gateway: a pure parse of a URL path into a Target, with no I/O
// and no Hono. Hostile input ends here with a GateError (400 or 404) before anything
// touches the store.
//
//   /t/<token>/<channel>[/label/<label>]/<subdir>/<file>    conda index, shard or artifact
//   /t/<token>/<channel>[/label/<label>]/channeldata.json
//   /t/<token>/<channel>/simple/                              PyPI root (PEP 503/691)
//   /t/<token>/<channel>/simple/<project>/                    PyPI project page
//   /t/<token>/<channel>/simple/<project>/<file>[.metadata]   PyPI file or its core metadata
//   POST /t/<token>/<channel>/  (or /<channel>/)              twine upload
//   the same without /t/<token> for anonymous callers (or Bearer / Basic credentials)
//   /conda/t/<token>/<channel>/...  and  /conda/<channel>/...      the same, under /conda/
//   /t/<token>/conda/<channel>/...                                 (token first, as mamba puts it)
//
// Why /conda/: conda reads anaconda-client's token files and, for a site whose API is
// https://host/api, keys the token to https://host/conda as well (conda/gateways/
// anaconda_client.py replace_first_api_with_conda); a channel URL under /conda/ is parsed
// with location `host/conda` (conda/models/channel.py _read_channel_configuration, step 7,
// "bump the first token of paths starting with /conda") and rebuilt with the token after
// the location (Channel.url: [location, "t", token, name, subdir, file]), so the request is
// /conda/t/<token>/<channel>/<subdir>/<file>. Under /conda/ a channel answers exactly as at
// the root: the prefix is dropped here and nothing after this parse knows it was there.

export type CondaIndexFile =
  | "repodata.json"
  | "repodata.json.zst"
  | "repodata.json.bz2"
  | "current_repodata.json"
  | "current_repodata.json.zst"
  | "repodata_from_packages.json"
  | "repodata_from_packages.json.zst"
  | "repodata_shards.msgpack.zst";

interface Base {
  /** The token found in the path (`/t/<token>/`), already checked against the alphabet. */
  pathToken?: string;
  channel: string;
}

/** The path prefix under which conda looks for an anaconda-client site's channels (see the
 * header); reserved as an account name (access/names.ts). */
export const CONDA_PREFIX = "conda";

export type Target =
  | (Base & { kind: "conda-index"; label?: string; subdir: string; file: CondaIndexFile })
  | (Base & { kind: "conda-jlap"; label?: string; subdir: string })
  | (Base & { kind: "conda-shard"; label?: string; subdir: string; file: string; sha256: string })
  | (Base & { kind: "conda-artifact"; label?: string; subdir: string; file: string; package: string })
  | (Base & { kind: "channeldata"; label?: string })
  | (Base & { kind: "pypi-root" })
  | (Base & { kind: "pypi-project"; project: string; normalized: string })
  | (Base & { kind: "pypi-file"; project: string; normalized: string; file: string; metadata: boolean })
  | (Base & { kind: "pypi-upload" });

import { GateError, badRequest, notFound } from "../errors.js";
import { parseCondaFilename, isCondaSubdir } from "../conda/filename.js";
import { normalizeProjectName, isValidProjectName } from "../pypi/names.js";
import { RESERVED_ACCOUNT_NAMES, isAccountName, isLabelName } from "../access/names.js";

/** A parse that answers with a redirect instead of a Target (PEP 503 normalization). */
export interface Redirect {
  kind: "redirect";
  /** Relative to the request URL, so a path token and Basic credentials carry over. */
  location: string;
}

export const MAX_PATH_LENGTH = 2048;
export const MAX_SEGMENT_LENGTH = 255;
const TOKEN_SEGMENT = /^[A-Za-z0-9-]{1,128}$/;
const SHARD = /^([0-9a-f]{64})\.msgpack\.zst$/;
/** A path splitPath's fast path takes: no percent-encoding, control character or backslash
 * (printable ASCII but `%` and `\`, and non-ASCII, which decodeURIComponent leaves as it is). */
// eslint-disable-next-line no-control-regex
const PLAIN_PATH = /^[^%\u0000-\u001f\u007f\\]*$/;
/** Names no channel can take: they are the gateway's own routes (the rule is access/names.ts'). */
export const RESERVED_CHANNELS: ReadonlySet<string> = new Set(RESERVED_ACCOUNT_NAMES);

const CONDA_INDEX_FILES = new Set<string>([
  "repodata.json",
  "repodata.json.zst",
  "repodata.json.bz2",
  "current_repodata.json",
  "current_repodata.json.zst",
  "repodata_from_packages.json",
  "repodata_from_packages.json.zst",
  "repodata_shards.msgpack.zst",
]);

/** A channel is an account's name: access/names.ts' ACCOUNT_NAME (kept here under its
 * path-grammar name for existing callers). */
export const isChannelName = isAccountName;

/** Split a raw (still percent-encoded) path into decoded segments, refusing every trick that
 * could make a segment mean something else than it says: encoded slashes and backslashes,
 * NUL and control characters, '.' and '..', over-long input. */
export function splitPath(rawPath: string): string[] {
  if (rawPath.length > MAX_PATH_LENGTH) throw badRequest("the URL path is too long");
  if (!rawPath.startsWith("/")) throw badRequest("the URL path must start with /");
  const raw = rawPath.slice(1).split("/");
  // the common case: nothing encoded, no control character, no backslash: each segment is
  // its own decoded form, and only the structural checks remain
  if (PLAIN_PATH.test(rawPath)) {
    for (let i = 0; i < raw.length; i++) {
      const seg = raw[i]!;
      if (seg === "" && i !== raw.length - 1) throw badRequest("empty path segment (//) in URL");
      if (seg.length > MAX_SEGMENT_LENGTH) throw badRequest("a path segment is too long");
      if (seg === "." || seg === "..") throw badRequest("relative segment (. or ..) in URL path");
    }
    return raw;
  }
  return raw.map((seg, i) => {
    if (seg === "" && i !== raw.length - 1) throw badRequest("empty path segment (//) in URL");
    if (seg.length > MAX_SEGMENT_LENGTH) throw badRequest("a path segment is too long");
    if (/%(2f|5c|00)/i.test(seg)) throw badRequest("encoded slash, backslash or NUL in URL path");
    let dec: string;
    try {
      dec = decodeURIComponent(seg);
    } catch {
      throw badRequest("malformed percent-encoding in URL path");
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f\\]/.test(dec)) throw badRequest("control character or backslash in URL path");
    if (dec === "." || dec === "..") throw badRequest("relative segment (. or ..) in URL path");
    return dec;
  });
}

/** Parse a request path (already stripped of BASE_PATH) into what it asks for. */
export function parseTarget(method: string, rawPath: string): Target | Redirect {
  const seg = splitPath(rawPath);
  // /t/<token>/conda/…, /conda/t/<token>/…, /conda/…: at most one token, one prefix
  let pathToken = takePathToken(seg);
  if (seg[0] === CONDA_PREFIX) {
    seg.shift();
    pathToken ??= takePathToken(seg);
  }
  // Nothing whose name starts with a dot is served: conda-index keeps its SQLite cache in
  // <subdir>/.cache/, and the catalog lives under the reserved .pkgate/ prefix.
  if (seg.some((s) => s.startsWith("."))) throw notFound();

  const channel = seg[0] ?? "";
  if (!isChannelName(channel)) throw notFound(channel === "" ? "not found" : "no such channel");
  // the targets are written out field by field: a spread followed by more fields (`{ ...base,
  // kind }`) costs V8 (Node 20) a microsecond or more per added field, a tenth of a small request
  const rest = seg.slice(1);
  // an upload anywhere under a channel but its root (PyPI's habit of /legacy/, the index URL)
  // hears where uploads go, whatever the path looks like and whether the channel exists
  if (method === "POST") {
    if (rest.length === 0 || (rest.length === 1 && rest[0] === "")) return { pathToken, channel, kind: "pypi-upload" };
    throw new GateError("method_not_allowed", "uploads go to the channel URL: POST /<channel>/");
  }
  if (rest.length > 0 && rest[rest.length - 1] === "" && rest.length > 1 && rest[0] !== "simple") {
    // trailing slash on a conda path: nothing there is a directory we list
    throw notFound();
  }

  if (rest.length === 0 || (rest.length === 1 && rest[0] === "")) throw notFound();
  if (rest[0] === "simple") return parsePypi({ pathToken, channel }, rest.slice(1));

  let label: string | undefined;
  let conda = rest;
  if (conda[0] === "label") {
    const l = conda[1];
    if (l === undefined || !isLabelName(l)) throw notFound("no such label");
    // anaconda.org serves the `main` label at the channel root
    label = l === "main" ? undefined : l;
    conda = conda.slice(2);
  }
  if (conda.length === 1 && conda[0] === "channeldata.json") return { pathToken, channel, kind: "channeldata", label };
  const [subdir, file, extra] = conda;
  if (subdir === undefined || !isCondaSubdir(subdir) || file === undefined || file === "") throw notFound();
  if (extra !== undefined) {
    // shards may live in a shards/ folder beside the shard index
    const m = file === "shards" && conda.length === 3 ? SHARD.exec(extra) : null;
    if (!m) throw notFound();
    return { pathToken, channel, kind: "conda-shard", label, subdir, file: `shards/${extra}`, sha256: m[1]! };
  }
  if (CONDA_INDEX_FILES.has(file)) return { pathToken, channel, kind: "conda-index", label, subdir, file: file as CondaIndexFile };
  if (file === "repodata.jlap") return { pathToken, channel, kind: "conda-jlap", label, subdir };
  const shard = SHARD.exec(file);
  if (shard) return { pathToken, channel, kind: "conda-shard", label, subdir, file, sha256: shard[1]! };
  const parsed = parseCondaFilename(file);
  if (!parsed) throw notFound();
  return { pathToken, channel, kind: "conda-artifact", label, subdir, file, package: parsed.name };
}

/** Take `t/<token>` off the front of `seg`, if it is there. */
function takePathToken(seg: string[]): string | undefined {
  if (seg[0] !== "t") return undefined;
  const tok = seg[1];
  if (tok === undefined || tok === "") throw notFound("missing token after /t/");
  if (!TOKEN_SEGMENT.test(tok)) throw badRequest("malformed token in URL: tokens use only letters, digits and '-'");
  seg.splice(0, 2);
  return tok;
}

function parsePypi(base: { pathToken?: string; channel: string }, rest: string[]): Target | Redirect {
  // rest is what follows /simple
  if (rest.length === 0) return { kind: "redirect", location: "simple/" };
  if (rest.length === 1 && rest[0] === "") return { pathToken: base.pathToken, channel: base.channel, kind: "pypi-root" };
  const project = rest[0]!;
  if (!isValidProjectName(project)) throw notFound("no such project");
  const normalized = normalizeProjectName(project);
  if (rest.length === 1) return { kind: "redirect", location: `${encodeURIComponent(normalized)}/` };
  if (project !== normalized) {
    // /simple/Foo_Bar/ → ../foo-bar/ (files under a non-normalized name do not exist)
    if (rest.length === 2 && rest[1] === "") return { kind: "redirect", location: `../${encodeURIComponent(normalized)}/` };
    throw notFound();
  }
  if (rest.length === 2 && rest[1] === "") return { pathToken: base.pathToken, channel: base.channel, kind: "pypi-project", project, normalized };
  if (rest.length === 2) {
    let file = rest[1]!;
    const metadata = file.endsWith(".metadata");
    if (metadata) file = file.slice(0, -".metadata".length);
    if (file === "") throw notFound();
    return { pathToken: base.pathToken, channel: base.channel, kind: "pypi-file", project, normalized, file, metadata };
  }
  throw notFound();
}
