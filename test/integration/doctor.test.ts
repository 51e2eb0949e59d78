// `pkgate doctor` against real stores (a directory with a conda-index tree copied in; s3rver
// with a real redis-server), called as runDoctor and through the `pkgate` command, and the
// gateway's log hint for a store folder no account owns.
// What each situation must get: its check's status, the words that say what to do, and the
// exit code (0 only when every check is ok).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, utimes, readFile, writeFile, mkdir } from "node:fs/promises";
import { Writable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config.js";
import { createRuntime } from "../../src/runtime.js";
import { runDoctor, type Check } from "../../src/ops/doctor.js";
import { compareIndexTwins } from "../../src/ops/index-twins.js";
import { surveyStore } from "../../src/ops/survey.js";
import { UnownedFolders } from "../../src/ops/unowned-folders.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { PypiRegistry } from "../../src/pypi/registry.js";
import { zstdCompress } from "../../src/conda/compress.js";
import { bzip2 } from "../../src/conda/bzip2.js";
import { createApp } from "../../src/app.js";
import { appDeps } from "../../src/server.js";
import { ViewCache } from "../../src/cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "../../src/http/objects.js";
import { Metrics } from "../../src/metrics.js";
import { createLogger } from "../../src/log.js";
import { buildCondaChannel, type BuiltChannel } from "../fixtures/conda-channel.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { countingStore } from "../harness/inproc.js";
import { startStack } from "../harness/gateway.js";
import { freePort, startRedis, startS3, type RedisService, type S3Service } from "../harness/services.js";

let work: string;
/** A conda-index tree (noarch + linux-64, compressed twins, shards) as conda-index leaves it. */
let tree: BuiltChannel;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "pkgate-doctor-"));
  tree = await buildCondaChannel(join(work, "fixtures"), {
    channel: "tree",
    packages: [
      { name: "pubpkg", version: "1.0" },
      { name: "other", version: "2.0", subdir: "linux-64" },
    ],
  });
});
after(() => rm(work, { recursive: true, force: true }));

/** Doctor's output, as text (and exit code) or as the JSON a script reads. */
async function doctor(config: Config, limits = {}): Promise<{ code: number; text: string; checks: Check[] }> {
  const human = { text: "", write(s: string) { this.text += s; } };
  const code = await runDoctor(config, human, { json: false, limits });
  const json = { text: "", write(s: string) { this.text += s; } };
  assert.equal(await runDoctor(config, json, { json: true, limits }), code, "the same exit code with --json");
  const doc = JSON.parse(json.text) as { ok: boolean; checks: Check[] };
  assert.equal(doc.ok, code === 0);
  return { code, text: human.text, checks: doc.checks };
}

const statuses = (checks: Check[], check: Check["check"]) => checks.filter((c) => c.check === check).map((c) => c.status);

/** A directory store holding the channel `acme` (the tree copied in, its account created
 * first), a server admin, and one indexed PyPI project. */
async function healthyDirectory(): Promise<{ dir: string; config: Config }> {
  const dir = await mkdtemp(join(work, "store-"));
  const config = loadConfig({ DATA_DIR: dir });
  const rt = await createRuntime(config);
  try {
    await rt.catalog.createAccount({ name: "root", kind: "user", email: "root@example.com", serverAdmin: true });
    await rt.catalog.createAccount({ name: "acme", kind: "org", admins: ["root"] });
    await cp(tree.root, join(dir, "acme"), { recursive: true });
    await rt.store.put(`acme/pypi/foo/${wheelFilename("foo", "1.0")}`, buildWheel({ name: "foo", version: "1.0" }));
    await new PypiRegistry(rt.store, rt.cache).reindex("acme", "foo");
  } finally {
    await rt.close();
  }
  return { dir, config };
}

describe("pkgate doctor on a directory store", () => {
  test("a healthy setup: every check ok, exit 0", async () => {
    const { config } = await healthyDirectory();
    const { code, text, checks } = await doctor(config);
    assert.equal(code, 0, text);
    for (const c of checks) assert.equal(c.status, "ok", `${c.check}: ${c.message}`);
    assert.deepEqual([...new Set(checks.map((c) => c.check))], ["config", "store", "cache", "locks", "admins", "survey", "folders", "indexes", "pypi"]);
    assert.match(text, /^ok {4}config {3}store directory .*; cache in-process; base path \/; sign-up by server admins only/m);
    assert.match(text, /; downloads stream \(through the gateway\)$/m);
    assert.match(text, /^ok {4}admins {3}server admins: root \(1 user, 1 organization\)/m);
    assert.match(text, /^ok {4}indexes {2}\d+ pairs of index files compared in 2 directories: they agree/m);
    assert.match(text, /^ok {4}pypi {5}the index documents of 1 PyPI project list their files/m);
  });

  test("an account document that does not parse: doctor names it; the gateway answers 503 for that channel and logs which document", async () => {
    const { dir, config } = await healthyDirectory();
    const doc = join(dir, ".pkgate/by-account/acme/account.json");
    await writeFile(doc, '{"name": "acme", "kind": "or');
    const { code, text, checks } = await doctor(config);
    assert.equal(code, 1);
    assert.match(text, /^fail {2}admins {3}the account acme cannot be read: the stored document \.pkgate\/by-account\/acme\/account\.json is not valid JSON \(.+\); its channel and tokens answer 503 until it is mended → restore the document from a backup/m);
    // the folders check reads the same account: it says so and points at the line above
    assert.match(text, /^fail {2}folders {2}could not be checked: the stored document \.pkgate\/by-account\/acme\/account\.json is not valid JSON/m);
    assert.match(text, /^ok {4}admins {3}server admins: root \(1 user, 0 organizations\)/m, "the other accounts still counted");
    assert.deepEqual(checks.find((c) => c.status === "fail")?.subject, "acme/");

    const rt = await createRuntime(config);
    const logs: string[] = [];
    const logger = createLogger("info", new Writable({ write: (c, _e, cb) => (logs.push(...String(c).split("\n").filter(Boolean)), cb()) }));
    const views = new ViewCache(rt.cache, { maxLocalBytes: 1 << 24, maxSharedBytes: 1 << 20, sharedTtlSeconds: 3600 });
    const objects = new ObjectSource(rt.store, { ...DEFAULT_HOT });
    const app = createApp(appDeps({ store: rt.store, cache: rt.cache, catalog: rt.catalog, objects, views, logger, metrics: new Metrics() }, config));
    try {
      const res = await app.request("http://gate.test/acme/noarch/repodata.json");
      assert.equal(res.status, 503);
      assert.match((await res.json()).message, /retry later/);
      const warned = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "backend unavailable");
      assert.match(warned[0]?.err ?? "", /\.pkgate\/by-account\/acme\/account\.json is not valid JSON/);
      assert.equal((await app.request("http://gate.test/nochan/noarch/repodata.json")).status, 404, "other channels answer as before");
      assert.equal(await readFile(doc, "utf8"), '{"name": "acme", "kind": "or', "nothing written over it");
    } finally {
      await rt.close();
    }
  });

  test("the config line says who sends an artifact's bytes (DOWNLOAD_MODE)", async () => {
    const { dir } = await healthyDirectory();
    const { text } = await doctor(loadConfig({ DATA_DIR: dir, DOWNLOAD_MODE: "accel", ACCEL_LOCATION: "/_bytes/" }));
    assert.match(text, /; downloads accel \(X-Accel-Redirect to \/_bytes\/: nginx in front must serve it, deploy\/nginx\/pkgate-accel\.conf\)$/m);
  });

  test("a folder without an account: the adopt command, exit 1; adopted, exit 0", async () => {
    const { dir, config } = await healthyDirectory();
    await cp(tree.root, join(dir, "beta"), { recursive: true });
    const { code, text, checks } = await doctor(config);
    assert.equal(code, 1);
    const folder = checks.find((c) => c.check === "folders" && c.status === "warn");
    assert.equal(folder?.subject, "beta/");
    assert.match(text, /^warn {2}folders {2}store folder "beta\/" \(conda linux-64, noarch\) is not served: no account owns it.* → a server admin adopts it with: pkgate org --create beta --adopt/m);
    assert.deepEqual(statuses(checks, "folders"), ["warn"], "acme is not reported");

    const rt = await createRuntime(config);
    await rt.catalog.createAccount({ name: "beta", kind: "org", admins: ["root"], adopt: true });
    await rt.close();
    assert.equal((await doctor(config)).code, 0);
  });

  test("a folder whose name no channel can have is reported as never served", async () => {
    const { dir, config } = await healthyDirectory();
    await cp(tree.root, join(dir, "Big_Co"), { recursive: true });
    const { code, checks } = await doctor(config);
    assert.equal(code, 1);
    const c = checks.find((c) => c.subject === "Big_Co/");
    assert.match(c?.message ?? "", /can never be served: "Big_Co" is not a valid channel name/);
  });

  test("no server admin: how to create one", async () => {
    const dir = await mkdtemp(join(work, "store-"));
    const config = loadConfig({ DATA_DIR: dir });
    const { code, text } = await doctor(config);
    assert.equal(code, 1);
    assert.match(text, /^warn {2}admins {3}no server admin \(0 users, 0 organizations\).* → create one where the store is configured: pkgate user --create NAME --email EMAIL --admin/m);
  });

  test("a stale .zst twin: which file, how it differs, what to do", async () => {
    const { dir, config } = await healthyDirectory();
    const json = join(dir, "acme/noarch/repodata.json");
    const doc = JSON.parse(await readFile(json, "utf8"));
    const [dropped] = Object.keys(doc["packages.conda"]);
    delete doc["packages.conda"][dropped!];
    await writeFile(`${json}.zst`, zstdCompress(Buffer.from(JSON.stringify(doc))));
    const past = new Date(Date.now() - 3600_000);
    await utimes(`${json}.zst`, past, past);

    const { code, text, checks } = await doctor(config);
    assert.equal(code, 1);
    const warns = checks.filter((c) => c.check === "indexes" && c.status === "warn");
    assert.equal(warns.length, 1, text);
    assert.equal(warns[0]!.subject, "acme/noarch/");
    assert.match(warns[0]!.message, new RegExp(`^acme/noarch/repodata.json.zst disagrees with repodata.json: 1 package only in repodata.json \\(${dropped!.replace(/\./g, "\\.")}\\); it is older`));
    assert.equal(warns[0]!.action, "re-run conda-index on acme/noarch/, or delete the stale acme/noarch/repodata.json.zst (clients then read repodata.json)");
  });

  test("PyPI: files the index document does not list, and wheels outside <channel>/pypi/<project>/", async () => {
    const { dir, config } = await healthyDirectory();
    await mkdir(join(dir, "acme/pypi/bar"), { recursive: true });
    await writeFile(join(dir, "acme/pypi/bar", wheelFilename("bar", "1.0")), buildWheel({ name: "bar", version: "1.0" }));
    await mkdir(join(dir, "acme/simple/baz"), { recursive: true });
    await writeFile(join(dir, "acme/simple/baz", wheelFilename("baz", "1.0")), buildWheel({ name: "baz", version: "1.0" }));
    const { code, text } = await doctor(config);
    assert.equal(code, 1);
    assert.match(text, /^warn {2}pypi {5}1 PyPI project of acme \(bar\) have files their index document does not list as they are.* → pkgate index --pypi acme$/m);
    assert.match(text, /^warn {2}pypi {5}1 wheel or sdist under acme\/ \(acme\/simple\/baz\/baz-1\.0-py3-none-any\.whl\) are never served.* → move each there \(acme\/simple\/baz\/baz-1\.0-py3-none-any\.whl → acme\/pypi\/baz\/baz-1\.0-py3-none-any\.whl\), then pkgate index --pypi acme$/m);
  });

  test("a store larger than the bound: what was not looked at is said, and is no failure", async () => {
    const { config } = await healthyDirectory();
    const { code, text } = await doctor(config, { objects: 5 });
    assert.equal(code, 0, text);
    assert.match(text, /^ok {4}survey {3}looked at 5 objects in the store: .*; stopped at the bound of 5 objects, at \S+: what sorts after it was not checked$/m);
  });

  test("Redis configured but down: fail, with what to do", async () => {
    const { dir } = await healthyDirectory();
    const port = await freePort();
    const config = loadConfig({ DATA_DIR: dir, REDIS_URL: `redis://:sekret@127.0.0.1:${port}` });
    const { code, text, checks } = await doctor(config);
    assert.equal(code, 1);
    assert.deepEqual(statuses(checks, "cache"), ["fail"]);
    assert.match(text, new RegExp(`^fail {2}cache {4}cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .* → start Redis, or correct REDIS_URL`, "m"));
    assert.ok(!text.includes("sekret"), "the password is masked");
    assert.deepEqual(statuses(checks, "folders"), ["ok"], "the store's checks still run");
  });

  test("an unreachable store: fail, and the checks that need it are not run", async () => {
    const dir = await mkdtemp(join(work, "store-"));
    await writeFile(join(dir, "file"), "not a directory\n");
    const { code, checks } = await doctor(loadConfig({ DATA_DIR: join(dir, "file") }));
    assert.equal(code, 1);
    assert.deepEqual(checks.map((c) => `${c.check} ${c.status}`), ["config ok", "store fail"]);
    assert.match(checks[1]!.action ?? "", /^check that DATA_DIR \(.*\) can be created, read and written by this user$/);
  });
});

describe("compareIndexTwins: a subdir's index files against each other", () => {
  /** The tree's noarch with one change made by `edit` (given the repodata.json text). */
  async function noarchWith(edit: (dir: string, json: Buffer) => Promise<void>) {
    const root = await mkdtemp(join(work, "twins-"));
    await cp(tree.root, join(root, "acme"), { recursive: true });
    const dir = join(root, "acme/noarch");
    await edit(dir, await readFile(join(dir, "repodata.json")));
    const store = new FsStore(root);
    const survey = await surveyStore(store, 10_000);
    return compareIndexTwins(store, "acme/noarch/", survey.indexDirs.get("acme/noarch/")!, 1 << 30);
  }
  const withExtraPackage = (json: Buffer) => {
    const doc = JSON.parse(json.toString());
    const [fn, rec] = Object.entries(doc["packages.conda"])[0]!;
    doc["packages.conda"][fn.replace(/^[^-]+/, "newpkg")] = { ...(rec as object), name: "newpkg" };
    return Buffer.from(JSON.stringify(doc, null, 1));
  };

  const cases: [string, (dir: string, json: Buffer) => Promise<void>, RegExp | null][] = [
    ["as conda-index wrote them", async () => {}, null],
    ["a .zst of the same content formatted otherwise", async (d, json) => writeFile(join(d, "repodata.json.zst"), zstdCompress(Buffer.from(JSON.stringify(JSON.parse(json.toString()))))), null],
    ["a .bz2 that is not bzip2", async (d) => writeFile(join(d, "repodata.json.bz2"), "garbage"), /^acme\/noarch\/repodata\.json\.bz2 cannot be decompressed/],
    ["twins without their repodata.json", async (d) => rm(join(d, "repodata.json")), /^acme\/noarch\/ has repodata\.json\.zst and repodata\.json\.bz2 but no repodata\.json/],
    [
      "a repodata.json newer than its twins",
      async (d, json) => writeFile(join(d, "repodata.json"), withExtraPackage(json)),
      /^acme\/noarch\/repodata\.json\.zst disagrees with repodata\.json: 1 package only in repodata\.json \(newpkg-[^)]+\); it is (older|newer)/,
    ],
    [
      "a shard index that lacks a package repodata.json has",
      async (d, json) => {
        const changed = withExtraPackage(json);
        await writeFile(join(d, "repodata.json"), changed);
        await writeFile(join(d, "repodata.json.zst"), zstdCompress(changed));
        await writeFile(join(d, "repodata.json.bz2"), (await bzip2(changed))!);
      },
      /^acme\/noarch\/repodata_shards\.msgpack\.zst lacks 1 package repodata\.json has \(newpkg\): clients that use shards/,
    ],
  ];
  for (const [what, edit, expected] of cases) {
    test(what, async () => {
      const report = await noarchWith(edit);
      if (expected === null) {
        assert.deepEqual(report.disagreements, []);
        assert.ok(report.compared >= 3, "json against zst and bz2, and the shard index");
      } else {
        assert.ok(report.disagreements.some((d) => expected.test(d.message)), JSON.stringify(report.disagreements, null, 1));
      }
    });
  }
});

describe("pkgate doctor on S3 with Redis", () => {
  let s3: S3Service;
  let redis: RedisService;
  let env: Record<string, string>;
  before(async () => {
    s3 = await startS3();
    redis = await startRedis();
    env = { S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey };
    const rt = await createRuntime(loadConfig({ ...env, REDIS_URL: redis.url }));
    try {
      await rt.catalog.createAccount({ name: "root", kind: "user", email: "root@example.com", serverAdmin: true });
      await rt.catalog.createAccount({ name: "acme", kind: "org", admins: ["root"] });
      for (const rel of tree.files) await rt.store.put(`acme/${rel}`, await readFile(join(tree.root, rel)));
    } finally {
      await rt.close();
    }
  });
  after(async () => {
    await redis?.stop();
    await s3?.stop();
  });

  test("healthy: exit 0; the locks rest on Redis; no secret printed", async () => {
    const { code, text, checks } = await doctor(loadConfig({ ...env, REDIS_URL: redis.url, DOWNLOAD_MODE: "redirect", PRESIGN_TTL: "90", S3_PUBLIC_ENDPOINT: "https://s3.example.com" }));
    assert.equal(code, 0, text);
    assert.match(text, /; downloads redirect \(302 to S3 URLs presigned for 90 s at https:\/\/s3\.example\.com\)$/m);
    assert.match(text, /^ok {4}cache {4}Redis answers at redis:\/\/127\.0\.0\.1:\d+$/m);
    assert.deepEqual(statuses(checks, "locks"), ["ok"]);
    assert.match(text, /^ok {4}config {3}store S3 bucket pkgate-test at http:\/\/127\.0\.0\.1:\d+ \(region us-east-1, access key \*\*\*, secret key set\)/m);
    assert.ok(!text.includes(s3.secretKey), "no key in the output");
  });

  test("without REDIS_URL on a server that ignores conditional writes: locks fail, set REDIS_URL", async () => {
    const { code, text } = await doctor(loadConfig(env));
    assert.equal(code, 1);
    assert.match(text, /^fail {2}locks {4}the S3 server ignores conditional writes \(If-None-Match\) and REDIS_URL is not set.* → set REDIS_URL/m);
  });
});

describe("the gateway's hint for a store folder no account owns", () => {
  /** A gateway (server.ts's wiring) over a directory store holding `acme` (an account),
   * `beta` (a folder copied in, no account); `nochan` is nothing at all. */
  async function gateway() {
    const dir = await mkdtemp(join(work, "gate-"));
    const counted = countingStore(new FsStore(dir));
    const store = counted.store;
    const cache = new MemoryCache();
    const catalog = new Catalog(store, cache, { localTtlSeconds: 60 });
    await catalog.createAccount({ name: "acme", kind: "org" });
    await cp(tree.root, join(dir, "acme"), { recursive: true });
    await cp(tree.root, join(dir, "beta"), { recursive: true });
    const logs: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (logs.push(...String(c).split("\n").filter(Boolean)), cb()) });
    const logger = createLogger("info", sink);
    const unowned = new UnownedFolders(store, catalog, logger, { checkEveryMs: 20 });
    const views = new ViewCache(cache, { maxLocalBytes: 1 << 24, maxSharedBytes: 1 << 20, sharedTtlSeconds: 3600 });
    const objects = new ObjectSource(store, { ...DEFAULT_HOT, revalidateMs: 60_000 });
    const deps = appDeps({ store, cache, catalog, objects, views, logger, metrics: new Metrics() }, loadConfig({}));
    const app = createApp({ ...deps, unownedFolders: unowned });
    const hints = () => logs.map((l) => JSON.parse(l)).filter((l) => l.level === "warn");
    return { app, unowned, hints, work: counted.take, close: () => unowned.stop() };
  }

  test("an unowned folder answers exactly as a missing channel, with no store work of its own", async () => {
    const g = await gateway();
    try {
      const answer = async (path: string) => {
        const res = await g.app.request(`http://gate.test/${path}`);
        const headers = [...res.headers].filter(([k]) => k !== "date" && k !== "x-request-id");
        return { status: res.status, headers, body: await res.text(), work: g.work() };
      };
      // the first request of a gateway also looks at the catalog's generation
      await answer("warmup/noarch/repodata.json");
      for (const file of ["noarch/repodata.json", "noarch/repodata.json.zst", "channeldata.json", `noarch/${tree.packages[0]!.filename}`, "simple/"]) {
        const unowned = await answer(`beta/${file}`);
        const missing = await answer(`nochan/${file}`);
        assert.equal(unowned.status, 404, file);
        assert.deepEqual(unowned, missing, file);
      }
      assert.deepEqual(g.hints(), [], "nothing is logged on the request path");
    } finally {
      await g.close();
    }
  });

  test("the hint is logged once, not per request, and names the command", async () => {
    const g = await gateway();
    g.unowned.start();
    try {
      for (let i = 0; i < 5; i++) await g.app.request("http://gate.test/beta/noarch/repodata.json");
      await g.app.request("http://gate.test/nochan/noarch/repodata.json");
      for (let waited = 0; g.hints().length === 0 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      for (const path of ["beta/channeldata.json", "beta/linux-64/repodata.json.zst", "beta/simple/", "beta/noarch/repodata.json"]) {
        assert.equal((await g.app.request(`http://gate.test/${path}`)).status, 404);
      }
      await new Promise((r) => setTimeout(r, 200));
      const hints = g.hints();
      assert.equal(hints.length, 1, JSON.stringify(hints));
      assert.equal(hints[0].channel, "beta");
      assert.equal(
        hints[0].msg,
        'store folder "beta/" is not served: no account owns it, so requests for channel beta answer 404 as for a missing channel; a server admin adopts it with: pkgate org --create beta --adopt (or, for a user\'s channel: pkgate user --create beta --email EMAIL --adopt)',
      );
    } finally {
      await g.close();
    }
  });
});

describe("through the pkgate command", () => {
  test("a running gateway logs the adopt command; pkgate doctor: the adopt command for a folder without an account, exit 1; --json for scripts; exit 0 once adopted", async () => {
    const s = await startStack({ store: "fs", cache: "memory" });
    try {
      await cp(tree.root, join(s.env.DATA_DIR!, "beta"), { recursive: true });
      assert.equal((await s.cli(["user", "--create", "root", "--email", "root@example.com", "--admin"], "correct horse battery\n")).code, 0);
      // the running gateway (server.ts's wiring) logs the hint once a client asks for beta
      assert.equal((await fetch(`${s.url}/beta/noarch/repodata.json`)).status, 404);
      const hinted = () => s.logs.some((l) => l.includes('"level":"warn"') && l.includes("pkgate org --create beta --adopt"));
      for (let waited = 0; !hinted() && waited < 15_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      assert.ok(hinted(), "the gateway logged the adopt command for beta");
      const human = await s.cli(["doctor"]);
      assert.equal(human.code, 1, human.stdout + human.stderr);
      assert.match(human.stdout, /^warn {2}folders {2}store folder "beta\/" \(conda linux-64, noarch\) is not served: .* → a server admin adopts it with: pkgate org --create beta --adopt/m);
      const json = await s.cli(["doctor", "--json"]);
      assert.equal(json.code, 1);
      const doc = JSON.parse(json.stdout) as { ok: boolean; checks: Check[] };
      assert.equal(doc.ok, false);
      assert.deepEqual(doc.checks.filter((c) => c.status !== "ok").map((c) => [c.check, c.subject]), [["folders", "beta/"]]);

      assert.equal((await s.cli(["org", "--create", "beta", "--adopt"])).code, 0);
      const healed = await s.cli(["doctor"]);
      assert.equal(healed.code, 0, healed.stdout);
    } finally {
      await s.stop();
    }
  });
});
