// The conda publisher over a real store (a directory) with cph-built packages: what an upload,
// a removal and a rebuild leave in the store, how a repeated file name is answered, and that
// concurrent publishers with separate caches (two processes' worth) lose nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decompress as zstdDecompress } from "zstd-napi";
import { decode } from "@msgpack/msgpack";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { readCondaPackage } from "../../src/conda/archive.js";
import { CondaPublisher, labelRoot, type IncomingPackage } from "../../src/conda/publish.js";
import { isGateError } from "../../src/errors.js";
import { buildCondaChannel, type BuiltChannel, type BuiltPackage } from "../fixtures/conda-channel.js";

const LIMITS = { maxFileBytes: 64 * 1024 * 1024 };
let dir: string;
let built: BuiltChannel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-publish-"));
  built = await buildCondaChannel(join(dir, "fixture"), {
    channel: "acme",
    packages: [
      { name: "pure-lib", version: "1.0", subdir: "noarch", format: ".conda", depends: ["python >=3.8"] },
      { name: "pure-lib", version: "2.0", subdir: "noarch", format: ".conda" },
      { name: "pure-tool", version: "0.3.1", build: "py_0", subdir: "noarch", format: ".tar.bz2" },
      { name: "native-lib", version: "2.1", build: "h1234_3", build_number: 3, subdir: "linux-64", format: ".conda" },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `many-${i}`, version: "1.0", subdir: "noarch", format: ".conda" as const })),
    ],
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function incoming(p: BuiltPackage): Promise<IncomingPackage> {
  const pkg = await readCondaPackage(p.path, p.filename, LIMITS);
  return { pkg, body: () => createReadStream(p.path) };
}

const pkgNamed = (filename: string) => built.packages.find((p) => p.filename === filename)!;

function fresh(): { store: FsStore; root: string; publisher: (cache?: MemoryCache) => CondaPublisher } {
  const root = mkdtempSync(join(dir, "store-"));
  const store = new FsStore(root);
  return { store, root, publisher: (cache = new MemoryCache()) => new CondaPublisher(store, cache, { limits: LIMITS }) };
}

async function json(store: FsStore, key: string): Promise<any> {
  const got = await store.get(key);
  assert.ok(got, `${key} exists`);
  return JSON.parse(got.body.toString("utf8"));
}

/** Every index of a subdir names the same records, and every shard it names is there. */
async function assertConsistent(store: FsStore, prefix: string, filenames: string[]): Promise<void> {
  const repodata = await json(store, `${prefix}repodata.json`);
  const all = { ...repodata.packages, ...repodata["packages.conda"] };
  assert.deepEqual(Object.keys(all).sort(), [...filenames].sort());
  assert.deepEqual(await json(store, `${prefix}repodata_from_packages.json`), repodata);
  const zst = JSON.parse(zstdDecompress((await store.get(`${prefix}repodata.json.zst`))!.body).toString("utf8"));
  assert.deepEqual(zst, repodata);
  for (const f of filenames) assert.ok(await store.stat(`${prefix}${f}`), `${f} is stored`);
  const index = decode(zstdDecompress((await store.get(`${prefix}repodata_shards.msgpack.zst`))!.body)) as { info: { shards_base_url: string }; shards: Record<string, Uint8Array> };
  const inShards: string[] = [];
  for (const [name, hash] of Object.entries(index.shards)) {
    const key = `${prefix}${index.info.shards_base_url.replace(/^\.\//, "")}${Buffer.from(hash).toString("hex")}.msgpack.zst`;
    const shard = await store.get(key);
    assert.ok(shard, `shard of ${name} exists`);
    const doc = decode(zstdDecompress(shard.body)) as { packages: Record<string, unknown>; "packages.conda": Record<string, unknown> };
    inShards.push(...Object.keys(doc.packages), ...Object.keys(doc["packages.conda"]));
  }
  assert.deepEqual(inShards.sort(), [...filenames].sort());
}

describe("CondaPublisher", () => {
  test("publish writes the package and every index of its subdir, and channeldata", async () => {
    const { store, publisher } = fresh();
    const p = publisher();
    const lib = pkgNamed("pure-lib-1.0-0.conda");
    const native = pkgNamed("native-lib-2.1-h1234_3.conda");
    const result = await p.publish("acme", "main", [await incoming(lib), await incoming(native)]);
    assert.deepEqual(result.published, ["linux-64/native-lib-2.1-h1234_3.conda", "noarch/pure-lib-1.0-0.conda"]);
    await assertConsistent(store, "acme/noarch/", ["pure-lib-1.0-0.conda"]);
    await assertConsistent(store, "acme/linux-64/", ["native-lib-2.1-h1234_3.conda"]);
    const repodata = await json(store, "acme/noarch/repodata.json");
    assert.deepEqual(repodata["packages.conda"]["pure-lib-1.0-0.conda"], lib.record);
    const current = await json(store, "acme/noarch/current_repodata.json");
    assert.ok(current["packages.conda"]["pure-lib-1.0-0.conda"]);
    const channeldata = await json(store, "acme/channeldata.json");
    assert.deepEqual(channeldata.packages["pure-lib"].subdirs, ["noarch"]);
    assert.equal(channeldata.packages["pure-lib"].summary, "pure-lib test fixture");
    assert.deepEqual(channeldata.subdirs, ["linux-64", "noarch"]);
  });

  test("labels other than main live under label/<name>/", async () => {
    const { store, publisher } = fresh();
    await publisher().publish("acme", "dev", [await incoming(pkgNamed("pure-tool-0.3.1-py_0.tar.bz2"))]);
    assert.equal(labelRoot("acme", "dev"), "acme/label/dev/");
    await assertConsistent(store, "acme/label/dev/noarch/", ["pure-tool-0.3.1-py_0.tar.bz2"]);
    assert.equal(await store.stat("acme/noarch/repodata.json"), null);
  });

  test("the same file name again: 409 (refuse), left alone (skip), replaced (replace)", async () => {
    const { store, publisher } = fresh();
    const p = publisher();
    const lib = pkgNamed("pure-lib-1.0-0.conda");
    await p.publish("acme", "main", [await incoming(lib)]);
    const before = (await store.get("acme/noarch/repodata.json"))!.body;
    await assert.rejects(p.publish("acme", "main", [await incoming(lib)]), (err: unknown) => isGateError(err) && err.status === 409 && /--force/.test(err.message));
    const skipped = await p.publish("acme", "main", [await incoming(lib)], "skip");
    assert.deepEqual(skipped, { channel: "acme", label: "main", published: [], skipped: ["noarch/pure-lib-1.0-0.conda"] });
    assert.deepEqual((await store.get("acme/noarch/repodata.json"))!.body, before);
    const replaced = await p.publish("acme", "main", [await incoming(lib)], "replace");
    assert.deepEqual(replaced.published, ["noarch/pure-lib-1.0-0.conda"]);
    await assertConsistent(store, "acme/noarch/", ["pure-lib-1.0-0.conda"]);
  });

  test("remove takes the file out of every index, then deletes it; a file not there is 404", async () => {
    const { store, publisher } = fresh();
    const p = publisher();
    await p.publish("acme", "main", [await incoming(pkgNamed("pure-lib-1.0-0.conda")), await incoming(pkgNamed("pure-lib-2.0-0.conda"))]);
    let cd = await json(store, "acme/channeldata.json");
    assert.equal(cd.packages["pure-lib"].version, "2.0");
    const r = await p.remove("acme", "main", ["noarch/pure-lib-2.0-0.conda"]);
    assert.deepEqual(r.removed, ["noarch/pure-lib-2.0-0.conda"]);
    await assertConsistent(store, "acme/noarch/", ["pure-lib-1.0-0.conda"]);
    assert.equal(await store.stat("acme/noarch/pure-lib-2.0-0.conda"), null);
    cd = await json(store, "acme/channeldata.json");
    assert.equal(cd.packages["pure-lib"].version, "1.0");
    assert.equal(cd.packages["pure-lib"].summary, "pure-lib test fixture", "about.json of the build that is newest now was read again");
    await assert.rejects(p.remove("acme", "main", ["noarch/pure-lib-2.0-0.conda"]), (err: unknown) => isGateError(err) && err.status === 404);
    await p.remove("acme", "main", ["noarch/pure-lib-1.0-0.conda"]);
    await assertConsistent(store, "acme/noarch/", []);
    assert.deepEqual((await json(store, "acme/channeldata.json")).packages, {});
  });

  test("rebuild (pkgate index --conda) writes what the uploads wrote, and is idempotent", async () => {
    const { store, publisher } = fresh();
    const p = publisher();
    await p.publish("acme", "main", [await incoming(pkgNamed("pure-lib-1.0-0.conda")), await incoming(pkgNamed("native-lib-2.1-h1234_3.conda"))]);
    await p.publish("acme", "dev", [await incoming(pkgNamed("pure-tool-0.3.1-py_0.tar.bz2"))]);
    const keys = ["acme/noarch/repodata.json", "acme/noarch/current_repodata.json", "acme/linux-64/repodata.json", "acme/channeldata.json", "acme/label/dev/noarch/repodata.json", "acme/label/dev/channeldata.json"];
    const uploaded = await Promise.all(keys.map((k) => json(store, k)));
    // a package dropped into the bucket by other means, and an index damaged
    await store.put("acme/noarch/pure-lib-2.0-0.conda", readFileSync(pkgNamed("pure-lib-2.0-0.conda").path));
    await store.put("acme/noarch/repodata.json", Buffer.from("{}"));
    const first = await p.rebuild("acme");
    assert.deepEqual(first.labels, [
      { label: "dev", subdirs: [{ subdir: "noarch", packages: 1 }] },
      { label: "main", subdirs: [{ subdir: "linux-64", packages: 1 }, { subdir: "noarch", packages: 2 }] },
    ]);
    await assertConsistent(store, "acme/noarch/", ["pure-lib-1.0-0.conda", "pure-lib-2.0-0.conda"]);
    const rebuilt = await Promise.all(keys.map((k) => json(store, k)));
    assert.deepEqual(rebuilt[2], uploaded[2]);
    assert.deepEqual(rebuilt[4], uploaded[4]);
    assert.deepEqual(rebuilt[5], uploaded[5]);
    const again = await Promise.all(keys.map(async (k) => (await p.rebuild("acme"), (await store.get(k))!.body)));
    const once = await Promise.all(keys.map(async (k) => (await store.get(k))!.body));
    assert.deepEqual(again, once);
  });

  test("20 concurrent publishes through two publishers with separate caches lose nothing", async () => {
    const { store, publisher } = fresh();
    const a = publisher(new MemoryCache());
    const b = publisher(new MemoryCache());
    const many = built.packages.filter((p) => p.name.startsWith("many-"));
    assert.equal(many.length, 20);
    const files = await Promise.all(many.map(incoming));
    const t0 = performance.now();
    await Promise.all(files.map((f, i) => (i % 2 ? a : b).publish("acme", "main", [f])));
    const ms = performance.now() - t0;
    await assertConsistent(store, "acme/noarch/", many.map((p) => p.filename));
    const cd = await json(store, "acme/channeldata.json");
    assert.equal(Object.keys(cd.packages).length, 20);
    const current = await json(store, "acme/noarch/current_repodata.json");
    assert.equal(Object.keys(current["packages.conda"]).length, 20);
    console.log(`# 20 concurrent publishes (fs store lock, two caches): ${ms.toFixed(0)} ms`);
  });

  test("a bad channel or label name is refused before anything is read", async () => {
    const { publisher } = fresh();
    await assert.rejects(publisher().publish("../x", "main", []), (err: unknown) => isGateError(err) && err.status === 400);
    await assert.rejects(publisher().publish("acme", "a/b", []), (err: unknown) => isGateError(err) && err.status === 400);
  });
});
