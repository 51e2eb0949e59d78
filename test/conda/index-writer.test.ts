// The conda index writer, specified by what it must produce:
// - for the packages of a fixture channel (test/fixtures/conda-channel.ts, real cph-built
//   packages with conda-index-formatted indexes), the same repodata.json, repodata_from_packages.json,
//   .zst twins, shards and shard index byte for byte, and the same current_repodata.json and
//   channeldata.json field by field (the fixture's known departures from conda-index named);
// - incremental changes give the rebuild's bytes, whatever the order (fast-check);
// - Python's json.dumps formatting; record checks; the publication order, replayed against a
//   reader that must never see a dangling reference.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "@msgpack/msgpack";
import fc from "fast-check";
import { bz2Decompress, zstdDecompress } from "../../src/conda/compress.js";
import { filterRepodata } from "../../src/conda/repodata.js";
import { decodeShardIndex, shardOwners } from "../../src/conda/shards.js";
import { detectJsonFormat, pythonJson } from "../../src/conda/index-json.js";
import {
  applyChanges,
  IndexChangeError,
  publishPlan,
  rebuildSubdir,
  repodataRecord,
  serializeRepodata,
  updateSubdir,
  type PackageEntry,
  type RepodataDoc,
  type RepodataRecord,
  type SubdirIndex,
} from "../../src/conda/index-writer.js";
import {
  packageFacts,
  postInstallDetails,
  serializeChanneldata,
  updateChanneldata,
  type FactsLookup,
  type PackageFacts,
} from "../../src/conda/channeldata-writer.js";
import { buildCondaChannel, type BuiltChannel, type ChannelSpec } from "../fixtures/conda-channel.js";

const CREATED_AT = "2026-01-01T00:00:00Z";
const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

describe("pythonJson: Python's json.dumps(sort_keys=True)", () => {
  const value = {
    b: [1, { z: 1e-5, c: [], d: {}, y: 1.5e-10 }],
    a: 'é\u007f\u0001"\\/ \u{1F600}\u2028',
    é: null,
    x: 0.1,
    y: 0.0001,
    s: -2.5e-7,
    r: 1234.5678,
    q: true,
    p: false,
    "\u{1F600}": 1,
    "\uffff": 2,
  };
  // printed by Python 3 for the same value
  test("indented (indent=2, then a newline)", () => {
    assert.equal(
      pythonJson(value, "indented"),
      '{\n  "a": "\\u00e9\\u007f\\u0001\\"\\\\/ \\ud83d\\ude00\\u2028",\n  "b": [\n    1,\n    {\n      "c": [],\n      "d": {},\n      "y": 1.5e-10,\n      "z": 1e-05\n    }\n  ],\n  "p": false,\n  "q": true,\n  "r": 1234.5678,\n  "s": -2.5e-07,\n  "x": 0.1,\n  "y": 0.0001,\n  "\\u00e9": null,\n  "\\uffff": 2,\n  "\\ud83d\\ude00": 1\n}\n',
    );
  });
  test("compact (separators , and :, no newline)", () => {
    assert.equal(
      pythonJson(value, "compact"),
      '{"a":"\\u00e9\\u007f\\u0001\\"\\\\/ \\ud83d\\ude00\\u2028","b":[1,{"c":[],"d":{},"y":1.5e-10,"z":1e-05}],"p":false,"q":true,"r":1234.5678,"s":-2.5e-07,"x":0.1,"y":0.0001,"\\u00e9":null,"\\uffff":2,"\\ud83d\\ude00":1}',
    );
  });
  test("detectJsonFormat tells the two apart", () => {
    assert.equal(detectJsonFormat(Buffer.from(pythonJson({ a: 1 }, "indented"))), "indented");
    assert.equal(detectJsonFormat(Buffer.from(pythonJson({ a: 1 }, "compact"))), "compact");
  });
});

function record(name: string, version: string, build = "0", extra: Record<string, unknown> = {}): RepodataRecord {
  return {
    build,
    build_number: 0,
    depends: [],
    license: "MIT",
    md5: "0123456789abcdef0123456789abcdef",
    name,
    sha256: `${"ab".repeat(31)}${version.replace(/\D/g, "").padStart(2, "0").slice(-2)}`,
    size: 100,
    subdir: "noarch",
    timestamp: 1_700_000_000_000,
    version,
    ...extra,
  } as RepodataRecord;
}
const entry = (name: string, version: string, ext = ".conda", build = "0", extra: Record<string, unknown> = {}): PackageEntry => ({
  filename: `${name}-${version}-${build}${ext}`,
  record: record(name, version, build, extra),
});

describe("applyChanges", () => {
  const previous = serializeRepodata(applyChanges(null, { add: [entry("a", "1.0"), entry("a", "1.0", ".tar.bz2")], remove: [] }, "noarch"), "compact");

  test("sorts records into packages (.tar.bz2) and packages.conda (.conda)", () => {
    const doc = JSON.parse(text(previous)) as RepodataDoc;
    assert.deepEqual(Object.keys(doc.packages), ["a-1.0-0.tar.bz2"]);
    assert.deepEqual(Object.keys(doc["packages.conda"]), ["a-1.0-0.conda"]);
    assert.deepEqual(doc.info, { subdir: "noarch" });
    assert.deepEqual(doc.removed, []);
    assert.equal(doc.repodata_version, 1);
  });

  test("removals apply first, then additions; an unknown removal is a no-op; an addition replaces", () => {
    const replaced = entry("a", "1.0", ".conda", "0", { size: 999 });
    const doc = applyChanges(previous, { add: [replaced, entry("b", "2.0")], remove: ["a-1.0-0.conda", "a-1.0-0.tar.bz2", "zzz-1-0.conda"] });
    assert.deepEqual(Object.keys(doc.packages), []);
    assert.deepEqual(Object.keys(doc["packages.conda"]).sort(), ["a-1.0-0.conda", "b-2.0-0.conda"]);
    assert.equal(doc["packages.conda"]["a-1.0-0.conda"]!["size"], 999);
  });

  test("a re-added file leaves `removed`", () => {
    const withRemoved = Buffer.from(text(previous).replace('"removed":[]', '"removed":["b-2.0-0.conda","c-1-0.conda"]'));
    assert.deepEqual(applyChanges(withRemoved, { add: [entry("b", "2.0")], remove: [] }).removed, ["c-1-0.conda"]);
  });

  test("keeps info (base_url too) and repodata_version; drops keys conda-index does not write", () => {
    const stored = Buffer.from(JSON.stringify({ info: { subdir: "noarch", base_url: "https://x/" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 2, v3: {} }));
    const doc = applyChanges(stored, { add: [], remove: [] });
    assert.deepEqual(doc.info, { subdir: "noarch", base_url: "https://x/" });
    assert.equal(doc.repodata_version, 2);
    assert.equal("v3" in doc, false);
  });

  const refusals: Array<[string, () => unknown, RegExp]> = [
    ["a file name that is not a conda package", () => applyChanges(null, { add: [{ filename: "a-1.0-0.zip", record: record("a", "1.0") }], remove: [] }, "noarch"), /not a conda package/],
    ["a name that disagrees with the file name", () => applyChanges(null, { add: [{ filename: "b-1.0-0.conda", record: record("a", "1.0") }], remove: [] }, "noarch"), /name is "a"/],
    ["a version that disagrees", () => applyChanges(null, { add: [{ filename: "a-2.0-0.conda", record: record("a", "1.0") }], remove: [] }, "noarch"), /version/],
    ["a record for another subdir", () => applyChanges(null, { add: [entry("a", "1.0", ".conda", "0", { subdir: "linux-64" })], remove: [] }, "noarch"), /built for linux-64/],
    ["a record without sha256", () => applyChanges(null, { add: [entry("a", "1.0", ".conda", "0", { sha256: undefined })], remove: [] }, "noarch"), /no sha256/],
    ["previous repodata of another subdir", () => applyChanges(previous, { add: [], remove: [] }, "linux-64"), /not linux-64/],
    ["previous bytes that are not repodata", () => applyChanges(Buffer.from("[1]"), { add: [], remove: [] }), /no info.subdir/],
    ["a new subdir without a name", () => applyChanges(null, { add: [], remove: [] }), /needs its name/],
  ];
  for (const [why, run, message] of refusals) {
    test(`refuses ${why}`, () => assert.throws(run, (err: unknown) => err instanceof IndexChangeError && message.test(err.message)));
  }

  test("repodataRecord: index.json less the fields conda-index filters, plus digests and size", () => {
    const r = repodataRecord(
      { name: "a", version: "1", build: "0", build_number: 0, depends: ["b"], arch: "x86_64", platform: "linux", subdir: "linux-64", has_prefix: true, ucs: 4, license: "MIT", timestamp: 1 },
      { md5: "m", sha256: "s", size: 3 },
    );
    assert.deepEqual(r, { name: "a", version: "1", build: "0", build_number: 0, depends: ["b"], subdir: "linux-64", license: "MIT", timestamp: 1, md5: "m", sha256: "s", size: 3 });
  });
});

describe("against the fixture channel (conda-index formatting, rattler-index shards)", () => {
  const SPEC: ChannelSpec = {
    channel: "acme",
    packages: [
      { name: "pub-lib", version: "1.0", subdir: "linux-64", format: ".conda" },
      { name: "pub-lib", version: "0.9", subdir: "linux-64", format: ".conda" },
      { name: "pub-lib", version: "0.10", subdir: "linux-64", format: ".tar.bz2", build: "1", build_number: 1 },
      { name: "priv-app", version: "2.1", subdir: "linux-64", format: ".conda", depends: ["pub-lib"], constrains: ["other >1"] },
      { name: "priv-tool", version: "0.3", subdir: "noarch", format: ".tar.bz2" },
      { name: "dev-only", version: "0.1", subdir: "noarch", labels: ["dev"], depends: ["priv-tool"] },
    ],
  };
  let dir: string;
  let built: BuiltChannel;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pkgate-index-writer-"));
    built = await buildCondaChannel(dir, SPEC);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const read = (rel: string) => readFileSync(join(built.root, rel));
  const withoutNulls = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]))
      : v;
  const createdAt = (s: { url: string }) => (decode(zstdDecompress(read(`${s.url}/repodata_shards.msgpack.zst`))) as { info: { created_at: string } }).info.created_at;

  async function rebuilt(s: BuiltChannel["subdirs"][number]): Promise<SubdirIndex> {
    const records = built.packages
      .filter((p) => p.subdir === s.subdir && p.labels.includes(s.label))
      .map((p) => ({ filename: p.filename, record: p.record as unknown as RepodataRecord }));
    return rebuildSubdir(s.subdir, records, { format: "indented", createdAt: createdAt(s) });
  }
  const body = (s: SubdirIndex, path: string) => {
    for (const objects of s.documents.values()) for (const o of objects) if (o.path === path) return o.body;
    throw new Error(`no ${path}`);
  };

  test("repodata.json and repodata_from_packages.json: the fixture's bytes; the .zst twin too", async () => {
    for (const s of built.subdirs) {
      const mine = await rebuilt(s);
      for (const doc of ["repodata.json", "repodata_from_packages.json"]) {
        assert.equal(text(body(mine, `${s.subdir}/${doc}`)), text(read(`${s.url}/${doc}`)), `${s.url}/${doc}`);
        assert.ok(body(mine, `${s.subdir}/${doc}.zst`).equals(read(`${s.url}/${doc}.zst`)), `${s.url}/${doc}.zst`);
      }
    }
  });

  test("current_repodata.json: the fixture's, field by field, but for conda-index's legacy_bz2_md5", async () => {
    // The fixture leaves out legacy_bz2_md5, which conda-index's build_current_repodata sets on
    // every .conda record (null without a .tar.bz2 twin); with it taken out the bytes are equal.
    for (const s of built.subdirs) {
      const mine = JSON.parse(text(body(await rebuilt(s), `${s.subdir}/current_repodata.json`))) as RepodataDoc;
      for (const r of Object.values(mine["packages.conda"])) {
        assert.equal(r["legacy_bz2_md5"], null);
        delete r["legacy_bz2_md5"];
      }
      assert.deepEqual(mine, JSON.parse(text(read(`${s.url}/current_repodata.json`))), s.url);
      assert.equal(pythonJson(mine, "indented"), text(read(`${s.url}/current_repodata.json`)));
      if (s.subdir === "linux-64" && s.label === "main") {
        assert.deepEqual(Object.keys(mine["packages.conda"]).sort(), ["priv-app-2.1-0.conda", "pub-lib-1.0-0.conda"]);
      }
    }
  });

  test("shards and shard index: the fixture's bytes (same created_at), readable by shards.ts", async () => {
    for (const s of built.subdirs) {
      const mine = await rebuilt(s);
      assert.ok(mine.shardIndex.body.equals(read(`${s.url}/repodata_shards.msgpack.zst`)), `${s.url} shard index`);
      assert.deepEqual(mine.shards.map((o) => o.path).sort(), Object.values(s.shardUrls).map((u) => u.replace(/^label\/dev\//, "")).sort());
      for (const o of mine.shards) assert.ok(o.body.equals(read(`${s.url.replace(/[^/]+$/, "")}${o.path}`)), o.path);
      const owners = shardOwners(mine.shardIndex.body);
      assert.deepEqual([...owners.values()].sort(), Object.keys(s.shards).sort());
      assert.equal(decodeShardIndex(mine.shardIndex.body).info.shards_base_url, "./shards/");
    }
  });

  test("the gateway's repodata filter reads what is written, in both formats", async () => {
    const s = built.subdirs.find((x) => x.url === "linux-64")!;
    const mine = await rebuilt(s);
    const compact = serializeRepodata(mine.repodata, "compact");
    for (const bytes of [compact, body(mine, "linux-64/repodata.json")]) {
      const out = JSON.parse(text(filterRepodata(bytes, (n) => n !== "priv-app")!)) as RepodataDoc;
      assert.deepEqual(Object.keys(out["packages.conda"]).sort(), ["pub-lib-0.9-0.conda", "pub-lib-1.0-0.conda"]);
    }
    assert.equal(compact.includes(0x0a), false, "compact is one line without a trailing newline");
  });

  test("channeldata.json: the fixture's, field by field, less the null fields conda-index drops", () => {
    // conda-index's _write_channeldata drops None values (the fixture writes description, dev_url,
    // doc_url, home and source_url as null) and ends the file with one more "\n" than json_dumps.
    const facts: FactsLookup = (subdir, fn) => {
      const p = built.packages.find((x) => x.subdir === subdir && x.filename === fn);
      return p && packageFacts({ about: { summary: `${p.name} test fixture` }, paths: { paths: [{ _path: `share/${p.name}/payload.txt`, path_type: "hardlink" }] } });
    };
    for (const label of ["main", "dev"]) {
      const prefix = label === "main" ? "" : `label/${label}/`;
      const subdirs = built.subdirs.filter((s) => s.label === label).map((s) => ({ subdir: s.subdir, repodata: s.repodata as unknown as RepodataDoc }));
      const { channeldata, needsFacts } = updateChanneldata(null, subdirs, facts);
      assert.deepEqual(needsFacts, []);
      const fixture = JSON.parse(text(read(`${prefix}channeldata.json`)));
      assert.deepEqual(JSON.parse(text(serializeChanneldata(channeldata, "indented"))), withoutNulls(fixture), label);
      assert.equal(text(serializeChanneldata(channeldata, "indented")), `${pythonJson(withoutNulls(fixture), "indented")}\n`);
    }
  });
});

describe("channeldata: conda-index's fold, and removals", () => {
  const about = (fn: string, extra: Record<string, unknown> = {}): PackageFacts =>
    packageFacts({ about: { summary: `summary of ${fn}`, home: `https://home/${fn}`, ...extra } as never, runExports: { weak: [fn] } });
  const factsOf = (...known: string[]): FactsLookup => (subdir, fn) => (known.includes(`${subdir}/${fn}`) ? about(fn) : undefined);
  const sub = (subdir: string, entries: PackageEntry[]) => ({ subdir, repodata: applyChanges(null, { add: entries.map((e) => ({ ...e, record: { ...e.record, subdir } })), remove: [] }, subdir) });

  test("the newest version's about fields, every subdir, run_exports per version", () => {
    const { channeldata } = updateChanneldata(
      null,
      [sub("noarch", [entry("a", "1.0")]), sub("linux-64", [entry("a", "1.10"), entry("a", "1.9")])],
      factsOf("noarch/a-1.0-0.conda", "linux-64/a-1.10-0.conda", "linux-64/a-1.9-0.conda"),
    );
    const a = channeldata.packages["a"]!;
    assert.equal(a["version"], "1.10");
    assert.equal(a["summary"], "summary of a-1.10-0.conda");
    assert.deepEqual(a["subdirs"], ["linux-64", "noarch"]);
    assert.deepEqual(Object.keys(a["run_exports"] as object).sort(), ["1.0", "1.10", "1.9"]);
    assert.deepEqual(channeldata.subdirs, ["linux-64", "noarch"]);
    // conda-index's timestamp: that of the last group folded (noarch comes last), not the newest
    assert.equal(a["timestamp"], 1_700_000_000);
  });

  test("an older version added later changes nothing but fills what the entry lacks", () => {
    const first = updateChanneldata(null, [sub("noarch", [entry("a", "2.0")])], () => packageFacts({ about: { summary: "two" } })).channeldata;
    const second = updateChanneldata(
      first,
      [sub("noarch", [entry("a", "2.0"), entry("a", "1.0")])],
      (_s, fn) => (fn === "a-1.0-0.conda" ? packageFacts({ about: { summary: "one", doc_url: "https://docs" } }) : undefined),
    );
    assert.equal(second.channeldata.packages["a"]!["summary"], "two");
    assert.equal(second.channeldata.packages["a"]!["doc_url"], "https://docs");
    assert.equal(second.channeldata.packages["a"]!["version"], "2.0");
    assert.deepEqual(second.needsFacts, []);
  });

  test("a newer version without facts is reported in needsFacts", () => {
    const first = updateChanneldata(null, [sub("noarch", [entry("a", "1.0")])], factsOf("noarch/a-1.0-0.conda")).channeldata;
    const { channeldata, needsFacts } = updateChanneldata(first, [sub("noarch", [entry("a", "1.0"), entry("a", "2.0")])]);
    assert.deepEqual(needsFacts, ["noarch/a-2.0-0.conda"]);
    assert.equal(channeldata.packages["a"]!["version"], "2.0");
  });

  test("removal: a name leaves the subdir it is no longer in, and the file when in none", () => {
    const both = updateChanneldata(null, [sub("noarch", [entry("a", "1.0"), entry("b", "1.0")]), sub("linux-64", [entry("a", "1.0")])], factsOf()).channeldata;
    const after = updateChanneldata(both, [sub("noarch", [])]).channeldata;
    assert.deepEqual(Object.keys(after.packages), ["a"]);
    assert.deepEqual(after.packages["a"]!["subdirs"], ["linux-64"]);
    assert.deepEqual(after.subdirs, ["linux-64", "noarch"], "the channel's subdirs stay");
  });

  test("removal of the newest version recomputes the entry, asking for the new newest's facts", () => {
    const all = ["noarch/a-1.0-0.conda", "noarch/a-2.0-0.conda"];
    const two = updateChanneldata(null, [sub("noarch", [entry("a", "1.0"), entry("a", "2.0")])], factsOf(...all)).channeldata;
    const asked = updateChanneldata(two, [sub("noarch", [entry("a", "1.0")])]);
    assert.deepEqual(asked.needsFacts, ["noarch/a-1.0-0.conda"]);
    const answered = updateChanneldata(two, [sub("noarch", [entry("a", "1.0")])], factsOf("noarch/a-1.0-0.conda"));
    assert.deepEqual(answered.needsFacts, []);
    const rebuilt = updateChanneldata(null, [sub("noarch", [entry("a", "1.0")])], factsOf(...all)).channeldata;
    assert.deepEqual(answered.channeldata, rebuilt);
  });

  test("an entry whose other subdirs were not given is kept as it is", () => {
    const both = updateChanneldata(null, [sub("noarch", [entry("a", "1.0")]), sub("linux-64", [entry("a", "2.0")])], factsOf("linux-64/a-2.0-0.conda")).channeldata;
    const after = updateChanneldata(both, [sub("linux-64", [entry("a", "1.0")])]).channeldata;
    assert.equal(after.packages["a"]!["version"], "2.0", "2.0 may still be in a subdir not given");
  });

  test("serializeChanneldata drops null fields and commits, and ends with a newline", () => {
    const doc = { channeldata_version: 1, packages: { a: { version: "1", home: null, commits: 3 } }, subdirs: ["noarch"] };
    assert.equal(text(serializeChanneldata(doc, "compact")), '{"channeldata_version":1,"packages":{"a":{"version":"1"}},"subdirs":["noarch"]}\n');
    assert.ok(text(serializeChanneldata(doc, "indented")).endsWith("}\n\n"));
  });

  test("packageFacts: recipe, then about.json, post-install flags from paths.json, source_*, one-line summary", () => {
    const f = packageFacts({
      recipe: { source: { url: "https://src", git_url: "g" }, summary: "from recipe" },
      about: { summary: "  about\nsummary ", home: "h" },
      paths: { paths: [{ _path: "bin/x", prefix_placeholder: "/opt", file_mode: "text" }, { _path: "etc/conda/activate.d/x.sh" }, { _path: "bin/.x-post-link.sh" }] },
    });
    assert.equal(f["summary"], "about summary");
    assert.equal(f["source_url"], "https://src");
    assert.equal(f["source_git_url"], "g");
    assert.deepEqual(f["run_exports"], {});
    assert.deepEqual(postInstallDetails({ paths: [{ _path: "bin/x", prefix_placeholder: "/opt", file_mode: "binary" }] })["binary_prefix"], true);
    assert.deepEqual(
      Object.entries(f).filter(([, v]) => v === true).map(([k]) => k).sort(),
      ["activate.d", "post_link", "text_prefix"],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Incremental = rebuild

/** 20 records over two subdirs, a few names, .conda and .tar.bz2 twins, versions out of file-name order. */
const POOL: Array<{ subdir: string; entry: PackageEntry }> = (() => {
  const out: Array<{ subdir: string; entry: PackageEntry }> = [];
  const versions = ["1.9", "1.10", "2.0rc1", "2.0", "0.1"];
  const names = ["alpha", "beta", "gamma", "delta"];
  let i = 0;
  for (const name of names) {
    for (const v of versions) {
      const subdir = i % 3 === 0 ? "linux-64" : "noarch";
      const ext = i % 4 === 1 ? ".tar.bz2" : ".conda";
      const depends = name === "beta" ? ["alpha <2"] : [];
      const e = entry(name, v, ext, `h${i}_0`, { subdir, depends, timestamp: 1_700_000_000_000 + i * 1000, sha256: (i + 10).toString(16).padStart(64, "0") });
      out.push({ subdir, entry: e });
      i++;
    }
  }
  return out;
})();

const SUBDIRS = ["linux-64", "noarch"];
const FACTS: FactsLookup = (subdir, fn) => packageFacts({ about: { summary: `${subdir}/${fn}`, home: "https://example" }, runExports: { weak: [fn] } });

interface ChannelState {
  stored: Map<string, Buffer>;
  channeldata: Buffer | null;
}

/** The objects a full rebuild writes for the given records (shards by digest). */
async function rebuildAll(entries: typeof POOL): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const subdirs: SubdirIndex[] = [];
  for (const subdir of SUBDIRS) {
    const s = await rebuildSubdir(subdir, entries.filter((e) => e.subdir === subdir).map((e) => e.entry), { createdAt: CREATED_AT });
    subdirs.push(s);
  }
  const { channeldata } = updateChanneldata(null, subdirs.map((s) => ({ subdir: s.subdir, repodata: s.repodata })), FACTS);
  for (const step of publishPlan({ subdirs, channeldata: serializeChanneldata(channeldata, "compact") })) {
    if (step.op === "put") out.set(step.path, Buffer.from(step.body));
  }
  return out;
}

/** One change through updateSubdir + updateChanneldata, as the upload endpoint will run it. */
async function change(state: ChannelState, subdir: string, changes: { add: PackageEntry[]; remove: string[] }, onlyChanged = false): Promise<void> {
  const s = await updateSubdir(
    subdir,
    { repodata: state.stored.get(`${subdir}/repodata.json`) ?? null, shardIndex: state.stored.get(`${subdir}/repodata_shards.msgpack.zst`) ?? null },
    changes,
    { createdAt: CREATED_AT },
  );
  const added = new Set(changes.add.map((a) => `${subdir}/${a.filename}`));
  let known = new Set(added);
  const lookup: FactsLookup = (sd, fn) => (known.has(`${sd}/${fn}`) ? FACTS(sd, fn) : undefined);
  // Like conda-index's update_channeldata, every subdir of the label is folded: the changed one
  // as it is now, the others as stored (folding them again changes nothing they hold).
  const subdirs = SUBDIRS.filter((sd) => !onlyChanged || sd === subdir).map((sd) => {
    const stored = state.stored.get(`${sd}/repodata.json`);
    return { subdir: sd, repodata: sd === subdir ? s.repodata : applyChanges(stored ?? null, { add: [], remove: [] }, sd) };
  });
  let result = updateChanneldata(state.channeldata, subdirs, lookup);
  if (result.needsFacts.length > 0) {
    // the endpoint reads those packages' info and asks again
    known = new Set([...known, ...result.needsFacts]);
    result = updateChanneldata(state.channeldata, subdirs, lookup);
    assert.deepEqual(result.needsFacts, []);
  }
  const channeldata = serializeChanneldata(result.channeldata, "compact");
  for (const step of publishPlan({ subdirs: [s], channeldata })) if (step.op === "put") state.stored.set(step.path, Buffer.from(step.body));
  state.channeldata = channeldata;
}

async function emptyChannel(): Promise<ChannelState> {
  const state: ChannelState = { stored: new Map(), channeldata: null };
  for (const subdir of SUBDIRS) await change(state, subdir, { add: [], remove: [] });
  return state;
}

/** What a reader can fetch: every stored object the rebuild also has (old shards may linger). */
function current(state: ChannelState, rebuilt: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...state.stored].filter(([k]) => rebuilt.has(k) || !k.includes("/shards/")));
}

function assertSameObjects(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, v] of expected) assert.equal(text(actual.get(k)!), text(v), k);
}

describe("incremental changes give the rebuild's bytes", () => {
  test("add then remove = rebuild of what is left, for every object", async () => {
    const state = await emptyChannel();
    for (const p of POOL.slice(0, 10)) await change(state, p.subdir, { add: [p.entry], remove: [] });
    for (const p of POOL.slice(0, 10).filter((_, i) => i % 3 === 1)) await change(state, p.subdir, { add: [], remove: [p.entry.filename] });
    const left = POOL.slice(0, 10).filter((_, i) => i % 3 !== 1);
    const rebuilt = await rebuildAll(left);
    assertSameObjects(current(state, rebuilt), rebuilt);
  });

  test("20 records added one at a time, in any order, folding only the changed subdir (fast-check)", async () => {
    const rebuilt = await rebuildAll(POOL);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(POOL, { minLength: POOL.length, maxLength: POOL.length }), async (order) => {
        const state = await emptyChannel();
        for (const p of order) await change(state, p.subdir, { add: [p.entry], remove: [] }, true);
        assertSameObjects(current(state, rebuilt), rebuilt);
      }),
      { numRuns: 15 },
    );
  });

  test("any subset removed one at a time from the full channel (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(POOL, { minLength: 1, maxLength: POOL.length }), async (removed) => {
        const state = await emptyChannel();
        for (const subdir of SUBDIRS) await change(state, subdir, { add: POOL.filter((p) => p.subdir === subdir).map((p) => p.entry), remove: [] });
        for (const p of removed) await change(state, p.subdir, { add: [], remove: [p.entry.filename] });
        const rebuilt = await rebuildAll(POOL.filter((p) => !removed.includes(p)));
        assertSameObjects(current(state, rebuilt), rebuilt);
      }),
      { numRuns: 15 },
    );
  });

  test("rebuildSubdir is idempotent; given the stored shard index, a later run writes the same bytes", async () => {
    const records = POOL.filter((p) => p.subdir === "noarch").map((p) => p.entry);
    const first = await rebuildSubdir("noarch", records, { createdAt: CREATED_AT });
    const again = await rebuildSubdir("noarch", [...records].reverse(), { createdAt: CREATED_AT });
    const later = await rebuildSubdir("noarch", records, { createdAt: "2030-01-01T00:00:00Z", previousShardIndex: first.shardIndex.body });
    for (const other of [again, later]) {
      for (const [doc, objects] of first.documents) objects.forEach((o, i) => assert.ok(o.body.equals(other.documents.get(doc)![i]!.body), o.path));
      assert.ok(other.shardIndex.body.equals(first.shardIndex.body));
    }
    assert.deepEqual(later.shards, [], "no shard to write: the stored index has them all");
  });

  test("a change keeps the stored JSON format, and writes .bz2 only where asked", async () => {
    const indented = serializeRepodata(applyChanges(null, { add: [POOL[1]!.entry], remove: [] }, "noarch"), "indented");
    const s = await updateSubdir("noarch", { repodata: indented }, { add: [POOL[2]!.entry], remove: [] }, { bz2: ["repodata.json"], createdAt: CREATED_AT });
    assert.equal(s.format, "indented");
    const paths = [...s.documents.values()].flat().map((o) => o.path);
    assert.deepEqual(paths.filter((p) => p.endsWith(".bz2")), ["noarch/repodata.json.bz2"]);
    const [json, zst, bz2] = s.documents.get("repodata.json")!;
    assert.ok(zstdDecompress(zst!.body).equals(json!.body));
    assert.ok(bz2Decompress(bz2!.body).equals(json!.body));
  });
});

describe("publishPlan: a reader never sees a reference to a missing object", () => {
  /** Every package file and shard the stored indexes name must exist. */
  function dangling(store: Map<string, Uint8Array>): string[] {
    const missing: string[] = [];
    for (const [path, bytes] of store) {
      const subdir = path.split("/")[0]!;
      if (/\.json(\.zst|\.bz2)?$/.test(path) && path !== "channeldata.json") {
        const json = path.endsWith(".zst") ? zstdDecompress(bytes) : path.endsWith(".bz2") ? bz2Decompress(bytes) : Buffer.from(bytes);
        const doc = JSON.parse(text(json)) as RepodataDoc;
        for (const fn of [...Object.keys(doc.packages), ...Object.keys(doc["packages.conda"])]) if (!store.has(`${subdir}/${fn}`)) missing.push(`${path} → ${fn}`);
      }
      if (path.endsWith("repodata_shards.msgpack.zst")) {
        for (const hash of shardOwners(bytes).keys()) if (!store.has(`${subdir}/shards/${hash}.msgpack.zst`)) missing.push(`${path} → ${hash}`);
      }
      if (path === "channeldata.json") {
        const cd = JSON.parse(text(bytes)) as { packages: Record<string, { subdirs: string[] }> };
        for (const [name, e] of Object.entries(cd.packages)) {
          for (const sd of e.subdirs) {
            const rd = store.get(`${sd}/repodata.json`);
            if (!rd || !text(rd).includes(`"name":"${name}"`)) missing.push(`channeldata → ${sd}/${name}`);
          }
        }
      }
    }
    return missing;
  }

  test("an upload and a removal together, replayed write by write", async () => {
    const store = new Map<string, Uint8Array>();
    const a1 = entry("a", "1.0");
    const a2 = entry("a", "2.0");
    const first = await updateSubdir("noarch", { repodata: null }, { add: [a1], remove: [] }, { bz2: true, createdAt: CREATED_AT });
    const cd1 = serializeChanneldata(updateChanneldata(null, [{ subdir: "noarch", repodata: first.repodata }]).channeldata, "compact");
    for (const step of publishPlan({ packages: [{ path: "noarch/a-1.0-0.conda", body: Buffer.from("pkg") }], subdirs: [first], channeldata: cd1 })) {
      if (step.op !== "delete") store.set(step.path, step.body as Uint8Array);
      assert.deepEqual(dangling(store), [], `after ${step.path}`);
    }
    const second = await updateSubdir(
      "noarch",
      { repodata: store.get("noarch/repodata.json") as Buffer, shardIndex: store.get("noarch/repodata_shards.msgpack.zst") ?? null },
      { add: [a2], remove: [a1.filename] },
      { bz2: true, createdAt: CREATED_AT },
    );
    const cd2 = serializeChanneldata(updateChanneldata(cd1, [{ subdir: "noarch", repodata: second.repodata }]).channeldata, "compact");
    const plan = publishPlan({
      packages: [{ path: "noarch/a-2.0-0.conda", body: Buffer.from("pkg2") }],
      removedPackages: ["noarch/a-1.0-0.conda"],
      subdirs: [second],
      channeldata: cd2,
    });
    for (const step of plan) {
      if (step.op === "delete") store.delete(step.path);
      else store.set(step.path, step.body as Uint8Array);
      assert.deepEqual(dangling(store), [], `after ${step.op} ${step.path}`);
    }
    assert.deepEqual(
      plan.map((s) => `${s.op} ${s.path}`),
      [
        "put-package noarch/a-2.0-0.conda",
        `put ${second.shards[0]!.path}`,
        "put noarch/repodata_from_packages.json.zst",
        "put noarch/repodata_from_packages.json.bz2",
        "put noarch/repodata_from_packages.json",
        "put noarch/current_repodata.json.zst",
        "put noarch/current_repodata.json.bz2",
        "put noarch/current_repodata.json",
        "put noarch/repodata_shards.msgpack.zst",
        "put noarch/repodata.json.zst",
        "put noarch/repodata.json.bz2",
        "put noarch/repodata.json",
        "put channeldata.json",
        "delete noarch/a-1.0-0.conda",
      ],
    );
    assert.equal(second.unreferencedShards.length, 1, "a-1.0's shard is left for a later sweep");
  });
});
