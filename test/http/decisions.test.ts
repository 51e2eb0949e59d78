// The decision table of the whole request path: createApp + app.request(), a local-directory
// store and the in-process cache (no Redis, no S3, no socket). Every kind of caller asks
// every door for every kind of resource, and gets the status the access model gives
// (ARCHITECTURE.md, "The access model"):
//   - public content stays public to any caller, whatever its token's scopes;
//   - content the caller's account could reach but its token's scopes do not cover: 403;
//   - anything else the caller may not see: exactly what a missing thing gets.
// "Exactly" is checked against a twin world: the same store without the thing hidden from
// the caller. The same request there must get a byte-identical body, the same headers
// (but x-request-id and date) and cost the same store calls of each kind, on a cold
// gateway and again on a warm one. Index views (repodata, the PyPI root, the API's
// organization documents) must be byte-identical to the twin's too: what a caller is shown
// derives only from what it may see.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { PypiRegistry } from "../../src/pypi/registry.js";
import { generateToken } from "../../src/auth/token.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { inProcessGateway, type StoreWork } from "../harness/inproc.js";

// ── the world ─────────────────────────────────────────────────────────────────────────
// acme: an organization, public by default (so a name that does not exist there is looked
//   up like a public one); olivia is its admin; the group "readers" gives mia read on privpkg.
//     pubpkg   public              privpkg  private, mia reads it     hidpkg  private
// vault: an organization, private by default, nothing public; olivia is its admin.
//     vaultpkg private (the default)
// Each package has a conda artifact in noarch and linux-64 (both indexed in repodata.json)
// and a wheel in the channel's PyPI index.
const ACME_PACKAGES = ["pubpkg", "privpkg", "hidpkg"] as const;
type Omittable = "privpkg" | "hidpkg" | "vault";

const CALLERS = ["anonymous", "bad token", "owner (all)", "owner (pypi:download)", "member", "stranger", "org token", "server admin"] as const;
type Caller = (typeof CALLERS)[number];

/** What each caller's account may see at all (its token's scopes aside). */
const REACHES: Record<Caller, string[]> = {
  anonymous: ["pubpkg"],
  "bad token": [],
  "owner (all)": ["pubpkg", "privpkg", "hidpkg", "vaultpkg"],
  "owner (pypi:download)": ["pubpkg", "privpkg", "hidpkg", "vaultpkg"],
  member: ["pubpkg", "privpkg"],
  stranger: ["pubpkg"],
  "org token": ["pubpkg", "privpkg", "hidpkg"],
  "server admin": ["pubpkg", "privpkg", "hidpkg", "vaultpkg"],
};
/** What acme's indexes list for each caller: conda (the owner's pypi:download token is
 * served the public view there) and PyPI. */
const CONDA_VIEW: Partial<Record<Caller, string[]>> = { ...REACHES, "owner (pypi:download)": ["pubpkg"] };
const PYPI_VIEW: Partial<Record<Caller, string[]>> = REACHES;

const PACKAGE_RESOURCES = {
  public: ["acme", "pubpkg"],
  private: ["acme", "privpkg"],
  hidden: ["acme", "hidpkg"],
  missing: ["acme", "ghost"],
  "hidden channel": ["vault", "vaultpkg"],
  "missing channel": ["nochan", "vaultpkg"],
} as const;
type PackageResource = keyof typeof PACKAGE_RESOURCES;
const CHANNEL_RESOURCES = { channel: "acme", "hidden channel": "vault", "missing channel": "nochan" } as const;
type ChannelResource = keyof typeof CHANNEL_RESOURCES;

/** The twin world a refusal is compared with: the same store without what is hidden. */
const TWIN_OF: Partial<Record<PackageResource | ChannelResource, { omit: Omittable[]; from: Caller[] }>> = {
  private: { omit: ["privpkg"], from: ["anonymous", "bad token", "stranger"] },
  hidden: { omit: ["hidpkg"], from: ["anonymous", "bad token", "member", "stranger"] },
  "hidden channel": { omit: ["vault"], from: ["anonymous", "bad token", "member", "stranger", "org token"] },
};
/** Index views of acme, compared (bytes and headers) with acme without what is hidden. */
const VIEW_TWIN_OF: Partial<Record<Caller, Omittable[]>> = {
  anonymous: ["privpkg", "hidpkg"],
  "bad token": ["privpkg", "hidpkg"],
  stranger: ["privpkg", "hidpkg"],
  member: ["hidpkg"],
};

// ── the doors ─────────────────────────────────────────────────────────────────────────
// Downloads carry the token in the path (/t/<token>/, as conda and pip are configured),
// uploads as twine sends it (Basic __token__), the API as a Bearer token.
interface Door<R> {
  name: string;
  request(resource: R, token: string | undefined, version: string): Request;
  /** A door that writes: its table runs on a world of its own. */
  writes?: boolean;
  /** An index: what a 200 lists is checked against the caller's view. */
  view?: Partial<Record<Caller, string[]>>;
}

const BASE = "http://gate.test";
const gate = (token: string | undefined, path: string, method = "GET") => new Request(`${BASE}${token ? `/t/${token}` : ""}/${path}`, { method });
const api = (token: string | undefined, path: string) => new Request(`${BASE}/api/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const artifact = (name: string) => `${name}-1.0-0.conda`;

function twineUpload(channel: string, name: string, version: string, token: string | undefined): Request {
  const fd = new FormData();
  const fields = { ":action": "file_upload", protocol_version: "1", name, version, filetype: "bdist_wheel", pyversion: "py3", metadata_version: "2.1" };
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append("content", new Blob([new Uint8Array(buildWheel({ name, version }))]), wheelFilename(name, version));
  const headers: Record<string, string> = token ? { authorization: `Basic ${Buffer.from(`__token__:${token}`).toString("base64")}` } : {};
  return new Request(`${BASE}/${channel}/`, { method: "POST", body: fd, headers });
}

type Pkg = readonly [channel: string, pkg: string];
const PACKAGE_DOORS: Door<Pkg>[] = [
  { name: "conda artifact GET", request: ([c, p], t) => gate(t, `${c}/noarch/${artifact(p)}`) },
  { name: "conda artifact HEAD", request: ([c, p], t) => gate(t, `${c}/noarch/${artifact(p)}`, "HEAD") },
  { name: "PyPI project page", request: ([c, p], t) => gate(t, `${c}/simple/${p}/`) },
  { name: "PyPI file", request: ([c, p], t) => gate(t, `${c}/simple/${p}/${wheelFilename(p, "1.0")}`) },
  { name: "twine upload", request: ([c, p], t, v) => twineUpload(c, p, v, t), writes: true },
  { name: "API package privacy", request: ([c, p], t) => api(t, `channels/${c}/packages/${p}`) },
];
const CHANNEL_DOORS: Door<string>[] = [
  { name: "conda noarch/repodata.json", request: (c, t) => gate(t, `${c}/noarch/repodata.json`), view: CONDA_VIEW },
  { name: "conda linux-64/repodata.json", request: (c, t) => gate(t, `${c}/linux-64/repodata.json`), view: CONDA_VIEW },
  { name: "PyPI root", request: (c, t) => gate(t, `${c}/simple/`), view: PYPI_VIEW },
  { name: "API organization", request: (c, t) => api(t, `orgs/${c}`) },
  { name: "API organization's groups", request: (c, t) => api(t, `orgs/${c}/groups`) },
];

// ── the table ─────────────────────────────────────────────────────────────────────────
// caller × resource × door → status.
const PKG_COLUMNS: PackageResource[] = ["public", "private", "hidden", "missing", "hidden channel", "missing channel"];
const CHANNEL_COLUMNS: ChannelResource[] = ["channel", "hidden channel", "missing channel"];

// A bad token in the URL path (downloads, indexes) is refused 403, never 401: a 401 makes
// pip prompt for a user name, and no credentials can mend a URL. Credentials from the
// Authorization header (uploads, the API) keep 401.
const DOWNLOAD_CONDA: Record<Caller, number[]> = {
  //                       public private hidden missing hidden-ch missing-ch
  anonymous:               [200,   404,    404,   404,    404,      404],
  "bad token":             [403,   403,    403,   403,    403,      403],
  "owner (all)":           [200,   200,    200,   404,    200,      404],
  "owner (pypi:download)": [200,   403,    403,   404,    403,      404], // public stays public; the rest: 403 scope
  member:                  [200,   200,    404,   404,    404,      404],
  stranger:                [200,   404,    404,   404,    404,      404],
  "org token":             [200,   200,    200,   404,    404,      404],
  "server admin":          [200,   200,    200,   404,    200,      404],
};
const DOWNLOAD_PYPI: Record<Caller, number[]> = {
  //                       public private hidden missing hidden-ch missing-ch
  anonymous:               [200,   404,    404,   404,    404,      404],
  "bad token":             [403,   403,    403,   403,    403,      403],
  "owner (all)":           [200,   200,    200,   404,    200,      404],
  "owner (pypi:download)": [200,   200,    200,   404,    200,      404],
  member:                  [200,   200,    404,   404,    404,      404],
  stranger:                [200,   404,    404,   404,    404,      404],
  "org token":             [200,   200,    200,   404,    404,      404],
  "server admin":          [200,   200,    200,   404,    200,      404],
};
const MANAGE: Record<Caller, number[]> = {
  //                       public private hidden missing hidden-ch missing-ch
  anonymous:               [401,   401,    401,   401,    401,      401], // uploads: 401 whether it exists or not
  "bad token":             [401,   401,    401,   401,    401,      401],
  "owner (all)":           [200,   200,    200,   200,    200,      404],
  "owner (pypi:download)": [403,   403,    403,   403,    403,      404],
  member:                  [403,   403,    403,   403,    404,      404], // one answer for every name in acme
  stranger:                [403,   403,    403,   403,    404,      404],
  "org token":             [200,   200,    200,   200,    404,      404],
  "server admin":          [200,   200,    200,   200,    200,      404],
};
const PACKAGE_TABLE: Record<string, Record<Caller, number[]>> = {
  "conda artifact GET": DOWNLOAD_CONDA,
  "conda artifact HEAD": DOWNLOAD_CONDA,
  "PyPI project page": DOWNLOAD_PYPI,
  "PyPI file": DOWNLOAD_PYPI,
  "twine upload": MANAGE,
  "API package privacy": MANAGE,
};

const INDEX_CONDA: Record<Caller, number[]> = {
  //                       channel hidden-ch missing-ch
  anonymous:               [200,    404,      404],
  "bad token":             [403,    403,      403],
  "owner (all)":           [200,    200,      404],
  "owner (pypi:download)": [200,    403,      404], // acme: its public view
  member:                  [200,    404,      404],
  stranger:                [200,    404,      404],
  "org token":             [200,    404,      404],
  "server admin":          [200,    200,      404],
};
const INDEX_PYPI: Record<Caller, number[]> = { ...INDEX_CONDA, "owner (pypi:download)": [200, 200, 404] };
const ORG: Record<Caller, number[]> = {
  //                       channel hidden-ch missing-ch
  anonymous:               [401,    401,      401],
  "bad token":             [401,    401,      401],
  "owner (all)":           [200,    200,      404],
  "owner (pypi:download)": [403,    403,      404],
  member:                  [200,    404,      404], // her own groups, with the names she may see
  stranger:                [403,    404,      404], // acme's content is public: it is there
  "org token":             [200,    404,      404],
  "server admin":          [200,    200,      404],
};
const CHANNEL_TABLE: Record<string, Record<Caller, number[]>> = {
  "conda noarch/repodata.json": INDEX_CONDA,
  "conda linux-64/repodata.json": INDEX_CONDA,
  "PyPI root": INDEX_PYPI,
  "API organization": ORG,
  "API organization's groups": ORG,
};

// ── building the worlds ─────────────────────────────────────────────────────────────
interface World {
  dir: string;
  store: FsStore;
}

let root = "";
let base = "";
const tokens = {} as Record<Caller, string | undefined>;
const worlds = new Map<string, Promise<World>>();

function worldKey(omit: readonly Omittable[], purpose = "read"): string {
  return `${purpose}:${[...omit].sort().join(",")}`;
}

/** The catalog every world shares: accounts, acme's group, tokens. Copied, so tokens and
 * documents are the same bytes in every world. */
async function buildBase(dir: string): Promise<void> {
  const store = new FsStore(dir);
  const cache = new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
  try {
    for (const name of ["olivia", "mia", "uma"]) await catalog.createAccount({ name, kind: "user" });
    await catalog.createAccount({ name: "root", kind: "user", serverAdmin: true });
    await catalog.createAccount({ name: "acme", kind: "org", admins: ["olivia"] });
    await catalog.createGroup("acme", { name: "readers", permission: "read", packages: ["privpkg"] });
    await catalog.addGroupMember("acme", "readers", "mia");
    const token = async (account: string, name: string, scopes: string[]) => (await catalog.createToken({ account, name, scopes })).token;
    tokens.anonymous = undefined;
    tokens["bad token"] = generateToken(); // well-formed, unknown to the server
    tokens["owner (all)"] = await token("olivia", "all", ["all"]);
    tokens["owner (pypi:download)"] = await token("olivia", "pip", ["pypi:download"]);
    tokens.member = await token("mia", "all", ["all"]);
    tokens.stranger = await token("uma", "all", ["all"]);
    tokens["org token"] = await token("acme", "ci", ["all"]);
    tokens["server admin"] = await token("root", "all", ["all"]);
  } finally {
    await catalog.close();
    await cache.close();
    await store.close();
  }
}

const sha = (algo: string, b: Buffer) => createHash(algo).update(b).digest("hex");

/** conda-index's repodata.json: sorted keys, indent 2. */
function repodata(subdir: string, names: readonly string[], files: Map<string, Buffer>): Buffer {
  const conda: Record<string, unknown> = {};
  for (const name of [...names].sort()) {
    const bytes = files.get(`${subdir}/${name}`)!;
    conda[artifact(name)] = { build: "0", build_number: 0, depends: [], license: "MIT", md5: sha("md5", bytes), name, sha256: sha("sha256", bytes), size: bytes.length, subdir, timestamp: 1767225600000, version: "1.0" };
  }
  return Buffer.from(JSON.stringify({ info: { subdir }, packages: {}, "packages.conda": conda, removed: [], repodata_version: 1 }, null, 2));
}

async function seedChannel(store: FsStore, registry: PypiRegistry, channel: string, names: readonly string[]): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const subdir of ["noarch", "linux-64"]) {
    for (const name of names) {
      const bytes = Buffer.from(`a conda artifact: ${channel}/${subdir}/${artifact(name)}\n`);
      files.set(`${subdir}/${name}`, bytes);
      await store.put(`${channel}/${subdir}/${artifact(name)}`, bytes);
    }
    await store.put(`${channel}/${subdir}/repodata.json`, repodata(subdir, names, files));
  }
  for (const name of names) {
    await store.put(`${channel}/pypi/${name}/${wheelFilename(name, "1.0")}`, buildWheel({ name, version: "1.0" }));
    await registry.reindex(channel, name);
  }
}

async function buildWorld(omit: readonly Omittable[], purpose: string): Promise<World> {
  const dir = join(root, `world-${purpose}-${omit.join("-") || "full"}`);
  await cp(base, dir, { recursive: true, preserveTimestamps: true });
  const store = new FsStore(dir);
  const cache = new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
  try {
    const acme = ACME_PACKAGES.filter((p) => !omit.includes(p as Omittable));
    for (const p of acme) if (p !== "pubpkg") await catalog.setPackagePrivacy("acme", p, "private");
    if (!omit.includes("vault")) {
      await catalog.createAccount({ name: "vault", kind: "org", admins: ["olivia"] });
      await catalog.setChannelPrivacy("vault", "private");
    }
    const registry = new PypiRegistry(store, cache);
    await seedChannel(store, registry, "acme", acme);
    if (!omit.includes("vault")) await seedChannel(store, registry, "vault", ["vaultpkg"]);
  } finally {
    await catalog.close();
    await cache.close();
  }
  return { dir, store };
}

function world(omit: readonly Omittable[] = [], purpose = "read"): Promise<World> {
  const key = worldKey(omit, purpose);
  let w = worlds.get(key);
  if (!w) {
    w = buildWorld(omit, purpose);
    worlds.set(key, w);
  }
  return w;
}

// ── asking ────────────────────────────────────────────────────────────────────────────
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  work: StoreWork;
}

const UNCOMPARED_HEADERS = new Set(["x-request-id", "date"]);

/** The request on a fresh gateway over the world (every cache empty), then once more on
 * the same gateway (warm). */
async function ask(w: World, make: () => Request, times: 1 | 2): Promise<Answer[]> {
  const gw = inProcessGateway(w.store);
  const out: Answer[] = [];
  try {
    gw.work();
    for (let i = 0; i < times; i++) {
      const res = await gw.app.request(make());
      const body = Buffer.from(await res.arrayBuffer());
      const headers: Record<string, string> = {};
      for (const [k, v] of [...res.headers.entries()].sort(([a], [b]) => a.localeCompare(b))) if (!UNCOMPARED_HEADERS.has(k)) headers[k] = v;
      out.push({ status: res.status, headers, body, work: gw.work() });
    }
  } finally {
    await gw.close();
  }
  return out;
}

function shown(a: Answer): string {
  const text = a.body.toString("utf8");
  return `${a.status} ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}

/** The error code a refusal carries: who is refused says which (the owner's pypi:download
 * token is refused for its scope, the others for their rights). */
function expectedCode(caller: Caller, status: number): string | undefined {
  if (caller === "bad token" && (status === 401 || status === 403)) return "token_invalid";
  if (status === 401) return "auth_required";
  if (status === 403) return caller === "owner (pypi:download)" ? "insufficient_scope" : "forbidden";
  if (status === 404) return "not_found";
  return undefined;
}

function checkRefusal(caller: Caller, a: Answer, method: string): void {
  // only a 401 invites credentials: a client prompts for them on it
  assert.equal("www-authenticate" in a.headers, a.status === 401, `WWW-Authenticate on a ${a.status}`);
  const code = expectedCode(caller, a.status);
  if (code === undefined || method === "HEAD") return;
  const body = JSON.parse(a.body.toString("utf8")) as { error: string; message: string };
  assert.equal(body.error, code, shown(a));
  if (code === "insufficient_scope") assert.match(body.message, /conda:download|pypi:upload|api:read/, "the message names the scope");
}

/** Names of the world in a body, besides those the request itself named. */
function namesIn(body: Buffer, url: string): string[] {
  const text = body.toString("utf8");
  const has = (s: string, n: string) => new RegExp(`(^|[^a-z])${n}([^a-z]|$)`).test(s);
  return ["pubpkg", "privpkg", "hidpkg", "vaultpkg"].filter((n) => has(text, n) && !has(url, n));
}

/** The request here and in the twin world (where the thing hidden from the caller does not
 * exist), each on a cold gateway and again warm: every difference is reported at once. */
async function sameAsTwin(what: string, rowWorld: World, twin: World, make: () => Request, compareWork: boolean): Promise<void> {
  const [mine, theirs] = [await ask(rowWorld, make, 2), await ask(twin, make, 2)];
  const problems: string[] = [];
  for (const [i, round] of ["cold", "warm"].entries()) {
    const a = mine[i]!;
    const b = theirs[i]!;
    if (a.status !== b.status) problems.push(`${round}: status ${a.status} here, ${b.status} where it does not exist\n    here: ${shown(a)}\n    twin: ${shown(b)}`);
    else if (!a.body.equals(b.body)) problems.push(`${round}: bodies differ\n    here: ${shown(a)}\n    twin: ${shown(b)}`);
    try {
      assert.deepEqual(a.headers, b.headers);
    } catch {
      problems.push(`${round}: headers differ\n    here: ${JSON.stringify(a.headers)}\n    twin: ${JSON.stringify(b.headers)}`);
    }
    if (compareWork) {
      try {
        assert.deepEqual(a.work, b.work);
      } catch {
        problems.push(`${round}: store work differs\n    here: ${JSON.stringify(a.work)}\n    twin: ${JSON.stringify(b.work)}`);
      }
    }
  }
  assert.equal(problems.length, 0, `${what} is told apart from a missing one:\n  ${problems.join("\n  ")}`);
}

// ── the tests ─────────────────────────────────────────────────────────────────────────
let version = 0;

describe("decisions: caller × resource × door → status, hidden = missing", () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "pkgate-decisions-"));
    base = join(root, "base");
    await buildBase(base);
  });
  after(async () => {
    for (const w of worlds.values()) await (await w.catch(() => null))?.store.close();
    await rm(root, { recursive: true, force: true });
  });

  for (const door of PACKAGE_DOORS) {
    describe(door.name, () => {
      for (const caller of CALLERS) {
        for (const [i, resource] of PKG_COLUMNS.entries()) {
          const expected = PACKAGE_TABLE[door.name]![caller][i]!;
          const target = PACKAGE_RESOURCES[resource];
          test(`${caller} · ${resource} (${target.join("/")}) → ${expected}`, async () => {
            const v = `1.${++version}`;
            const make = () => door.request(target, tokens[caller], v);
            const w = await world([], door.writes ? "upload" : "read");
            const [a] = await ask(w, make, 1);
            assert.equal(a!.status, expected, `${door.name}: ${shown(a!)}`);
            checkRefusal(caller, a!, make().method);
            const url = make().url;
            assert.deepEqual(namesIn(a!.body, url).filter((n) => !REACHES[caller].includes(n)), [], `names ${caller} may not see: ${shown(a!)}`);
            const twin = TWIN_OF[resource];
            if (twin?.from.includes(caller)) await sameAsTwin(`${caller} ${door.name} ${target.join("/")}`, w, await world(twin.omit), make, true);
          });
        }
      }
    });
  }

  for (const door of CHANNEL_DOORS) {
    describe(door.name, () => {
      for (const caller of CALLERS) {
        for (const [i, resource] of CHANNEL_COLUMNS.entries()) {
          const expected = CHANNEL_TABLE[door.name]![caller][i]!;
          const channel = CHANNEL_RESOURCES[resource];
          test(`${caller} · ${resource} (${channel}) → ${expected}`, async () => {
            const make = () => door.request(channel, tokens[caller], "");
            const w = await world();
            const [a] = await ask(w, make, 1);
            assert.equal(a!.status, expected, `${door.name}: ${shown(a!)}`);
            checkRefusal(caller, a!, make().method);
            const url = make().url;
            assert.deepEqual(namesIn(a!.body, url).filter((n) => !REACHES[caller].includes(n)), [], `names ${caller} may not see: ${shown(a!)}`);
            if (a!.status === 200 && door.view) {
              const listed = namesIn(a!.body, url);
              const view = channel === "vault" ? ["vaultpkg"] : door.view[caller]!.filter((n) => (ACME_PACKAGES as readonly string[]).includes(n));
              assert.deepEqual(listed.sort(), [...view].sort(), `what the index lists for ${caller}`);
            }
            const twin = TWIN_OF[resource];
            if (twin?.from.includes(caller)) await sameAsTwin(`${caller} ${door.name} ${channel}`, w, await world(twin.omit), make, true);
            const viewTwin = resource === "channel" ? VIEW_TWIN_OF[caller] : undefined;
            if (viewTwin) await sameAsTwin(`${caller} ${door.name} ${channel} (view)`, w, await world(viewTwin), make, false);
          });
        }
      }
    });
  }
});
