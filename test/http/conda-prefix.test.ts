// Channels under /conda/, as conda asks for them after `anaconda login` (issue #12): conda
// keys anaconda-client's token for https://host/api to https://host/conda too
// (conda/gateways/anaconda_client.py replace_first_api_with_conda) and rebuilds a channel
// URL under /conda/ as /conda/t/<token>/<channel>/<subdir>/<file> (conda/models/channel.py:
// _read_channel_configuration step 7 makes `host/conda` the location, Channel.url puts
// "t", token after it). mamba and rattler keep /t/<token> first: /t/<token>/conda/<channel>.
//
// The table: caller × resource × door → status, the same as the root's (decisions.test.ts),
// and each answer byte-for-byte the root's (headers but x-request-id and date), so hidden
// stays exactly missing under the prefix too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { generateToken } from "../../src/auth/token.js";
import { inProcessGateway, type InProcessGateway } from "../harness/inproc.js";

const BASE = "http://gate.test";
const CALLERS = ["anonymous", "bad token", "owner", "member", "stranger"] as const;
type Caller = (typeof CALLERS)[number];

// acme: public org; pubpkg public, privpkg private (mia reads it through a group), hidpkg
// private. vault: a private org. nochan: no such account.
const RESOURCES = {
  public: "acme/noarch/pubpkg-1.0-0.conda",
  private: "acme/noarch/privpkg-1.0-0.conda",
  hidden: "acme/noarch/hidpkg-1.0-0.conda",
  missing: "acme/noarch/ghost-1.0-0.conda",
  "acme index": "acme/noarch/repodata.json",
  "hidden channel": "vault/noarch/repodata.json",
  "missing channel": "nochan/noarch/repodata.json",
} as const;
type Resource = keyof typeof RESOURCES;
const COLUMNS = Object.keys(RESOURCES) as Resource[];

const STATUS: Record<Caller, number[]> = {
  //            public private hidden missing acme-index hidden-ch missing-ch
  anonymous:    [200,   404,    404,   404,    200,       404,      404],
  "bad token":  [403,   403,    403,   403,    403,       403,      403],
  owner:        [200,   200,    200,   404,    200,       200,      404],
  member:       [200,   200,    404,   404,    200,       404,      404],
  stranger:     [200,   404,    404,   404,    200,       404,      404],
};

/** The URL shapes one resource is asked at: the root's, then conda's and mamba's under /conda/. */
const SHAPES: Record<string, (token: string | undefined, path: string) => string> = {
  root: (t, p) => `${BASE}${t ? `/t/${t}` : ""}/${p}`,
  "conda (/conda/t/<token>/…)": (t, p) => `${BASE}/conda${t ? `/t/${t}` : ""}/${p}`,
  "mamba (/t/<token>/conda/…)": (t, p) => `${BASE}${t ? `/t/${t}` : ""}/conda/${p}`,
};

const tokens = {} as Record<Caller, string | undefined>;
let dir = "";
let store: FsStore;
let gw: InProcessGateway;

async function seed(): Promise<void> {
  const cache = new MemoryCache();
  const catalog = new Catalog(store, cache, { localTtlSeconds: 0 });
  try {
    for (const name of ["olivia", "mia", "uma"]) await catalog.createAccount({ name, kind: "user" });
    await catalog.createAccount({ name: "acme", kind: "org", admins: ["olivia"] });
    await catalog.createAccount({ name: "vault", kind: "org", admins: ["olivia"] });
    await catalog.setChannelPrivacy("vault", "private");
    await catalog.createGroup("acme", { name: "readers", permission: "read", packages: ["privpkg"] });
    await catalog.addGroupMember("acme", "readers", "mia");
    for (const p of ["privpkg", "hidpkg"]) await catalog.setPackagePrivacy("acme", p, "private");
    const token = async (account: string) => (await catalog.createToken({ account, name: "all", scopes: ["all"] })).token;
    tokens.anonymous = undefined;
    tokens["bad token"] = generateToken();
    tokens.owner = await token("olivia");
    tokens.member = await token("mia");
    tokens.stranger = await token("uma");
  } finally {
    await catalog.close();
    await cache.close();
  }
  const channels: Record<string, string[]> = { acme: ["pubpkg", "privpkg", "hidpkg"], vault: ["vaultpkg"] };
  for (const [channel, names] of Object.entries(channels)) {
    const records: Record<string, unknown> = {};
    for (const name of names) {
      const bytes = Buffer.from(`a conda artifact: ${channel}/noarch/${name}\n`);
      const file = `${name}-1.0-0.conda`;
      await store.put(`${channel}/noarch/${file}`, bytes);
      const sha = (a: string) => createHash(a).update(bytes).digest("hex");
      records[file] = { build: "0", build_number: 0, depends: [], md5: sha("md5"), name, sha256: sha("sha256"), size: bytes.length, subdir: "noarch", version: "1.0" };
    }
    const repodata = { info: { subdir: "noarch" }, packages: {}, "packages.conda": records, removed: [], repodata_version: 1 };
    await store.put(`${channel}/noarch/repodata.json`, Buffer.from(JSON.stringify(repodata, null, 2)));
  }
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function ask(url: string, method = "GET"): Promise<Answer> {
  const res = await gw.app.request(new Request(url, { method }));
  const headers: Record<string, string> = {};
  for (const [k, v] of res.headers.entries()) if (k !== "x-request-id" && k !== "date") headers[k] = v;
  return { status: res.status, headers, body: await res.text() };
}

describe("channels under /conda/: caller × resource × URL shape → the root's answer", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pkgate-conda-prefix-"));
    store = new FsStore(dir);
    await seed();
    gw = inProcessGateway(store);
  });
  after(async () => {
    await gw.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const caller of CALLERS) {
    for (const [i, resource] of COLUMNS.entries()) {
      const expected = STATUS[caller][i]!;
      test(`${caller} · ${resource} → ${expected} at the root and under /conda/`, async () => {
        const path = RESOURCES[resource];
        const [root, ...prefixed] = await Promise.all(Object.values(SHAPES).map((shape) => ask(shape(tokens[caller], path))));
        assert.equal(root!.status, expected, `root: ${root!.status} ${root!.body.slice(0, 200)}`);
        for (const [j, name] of Object.keys(SHAPES).slice(1).entries()) {
          const a = prefixed[j]!;
          assert.equal(a.status, root!.status, `${name}: ${a.body.slice(0, 200)}`);
          assert.equal(a.body, root!.body, `${name}: the body differs from the root's`);
          assert.deepEqual(a.headers, root!.headers, `${name}: the headers differ from the root's`);
        }
      });
    }
  }

  test("HEAD under /conda/ answers as at the root", async () => {
    const path = RESOURCES.private;
    const root = await ask(SHAPES.root!(tokens.member, path), "HEAD");
    const conda = await ask(SHAPES["conda (/conda/t/<token>/…)"]!(tokens.member, path), "HEAD");
    assert.equal(root.status, 200);
    assert.deepEqual(conda, root);
  });

  test("/conda/ is no channel: a channel named like a subdir is not looked up there", async () => {
    assert.equal((await ask(`${BASE}/conda/noarch/repodata.json`)).status, 404);
    assert.equal((await ask(`${BASE}/conda/`)).status, 404);
  });
});
