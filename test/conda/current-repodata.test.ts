// current_repodata.json picks what conda-index's build_current_repodata picks: the latest version
// of each name (all its builds, conda's fuzzy `name=version`), what those depend on and the subset
// lacks, a featureless fallback for featured packages, `.conda` over its `.tar.bz2` twin.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildCurrentRepodata, type RepodataDoc, type RepodataRecord } from "../../src/conda/current-repodata.js";

interface Rec {
  fn: string;
  depends?: string[];
  build_number?: number;
  timestamp?: number;
  extra?: Record<string, string | number>;
}

function repodata(recs: Rec[]): RepodataDoc {
  const doc: RepodataDoc = { info: { subdir: "linux-64" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 1 };
  for (const r of recs) {
    const conda = r.fn.endsWith(".conda");
    const stem = r.fn.slice(0, conda ? -6 : -8);
    const [build, version, ...name] = stem.split("-").reverse();
    const record = {
      name: name.reverse().join("-"),
      version: version!,
      build: build!,
      build_number: r.build_number ?? 0,
      depends: r.depends ?? [],
      md5: `md5-of-${r.fn}`,
      sha256: "0".repeat(64),
      size: 1,
      subdir: "linux-64",
      timestamp: r.timestamp ?? 1_700_000_000_000,
      ...r.extra,
    } as RepodataRecord;
    (conda ? doc["packages.conda"] : doc.packages)[r.fn] = record;
  }
  return doc;
}

const kept = (doc: RepodataDoc) => [...Object.keys(doc.packages), ...Object.keys(doc["packages.conda"])].sort();

describe("buildCurrentRepodata", () => {
  // conda-index tests/test_index.py test_current_index_reduces_space, on its
  // tests/index_data/time_cut/repodata.json (names, versions, builds, timestamps and depends).
  const timeCut: Rec[] = [
    { fn: "one-gets-filtered-1.2.11-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864621 },
    { fn: "one-gets-filtered-1.2.10-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864100 },
    { fn: "one-gets-filtered-1.3.10-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864100 },
    { fn: "two-because-satisfiability-1.2.11-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864621 },
    { fn: "two-because-satisfiability-1.2.10-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864100 },
    { fn: "depends-on-older-1.2.10-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1542814864100, depends: ["two-because-satisfiability <1.2.11"] },
    { fn: "ancient-package-1.2.10-h7b6447c_3.tar.bz2", build_number: 3, timestamp: 1451623400000, depends: ["two-because-satisfiability <1.2.11"] },
    { fn: "one-gets-filtered-1.2.11-h7b6447c_3.conda", build_number: 3, timestamp: 1542814864621 },
    { fn: "one-gets-filtered-1.2.10-h7b6447c_3.conda", build_number: 3, timestamp: 1542814864100 },
    { fn: "one-gets-filtered-1.3.10-h7b6447c_3.conda", build_number: 3, timestamp: 1542814864100 },
  ];

  test("conda-index's time_cut case: newest, plus the older version a dependency needs; .conda over .tar.bz2", () => {
    assert.deepEqual(kept(buildCurrentRepodata(repodata(timeCut))), [
      "ancient-package-1.2.10-h7b6447c_3.tar.bz2",
      "depends-on-older-1.2.10-h7b6447c_3.tar.bz2",
      "one-gets-filtered-1.3.10-h7b6447c_3.conda",
      "two-because-satisfiability-1.2.10-h7b6447c_3.tar.bz2",
      "two-because-satisfiability-1.2.11-h7b6447c_3.tar.bz2",
    ]);
  });

  test("conda-index's time_cut case with pins keeps two version series", () => {
    const out = buildCurrentRepodata(repodata(timeCut), { "one-gets-filtered": ["1.2", "1.3"] });
    assert.deepEqual(Object.keys(out["packages.conda"]).sort(), ["one-gets-filtered-1.2.11-h7b6447c_3.conda", "one-gets-filtered-1.3.10-h7b6447c_3.conda"]);
  });

  const cases: Array<[string, Rec[], string[]]> = [
    [
      "only the newest version, every build of it",
      [{ fn: "a-1.0-0.conda" }, { fn: "a-1.10-0.conda" }, { fn: "a-1.9-0.conda" }, { fn: "a-1.10-1.conda", build_number: 1 }],
      ["a-1.10-0.conda", "a-1.10-1.conda"],
    ],
    [
      "conda's fuzzy name=version: latest 1.0 also keeps 1.0.dev1 and 1.0.0 builds",
      [{ fn: "a-1.0-0.conda" }, { fn: "a-1.0.dev1-0.conda" }, { fn: "a-1.0.0-0.conda" }, { fn: "a-0.9-0.conda" }],
      ["a-1.0-0.conda", "a-1.0.0-0.conda", "a-1.0.dev1-0.conda"],
    ],
    [
      "a higher build number does not beat a higher version",
      [{ fn: "a-2.0-0.conda" }, { fn: "a-1.0-5.conda", build_number: 5 }],
      ["a-2.0-0.conda"],
    ],
    [
      "dev and rc sort below the release, which keeps them (=2.0 is 2.0*, as in conda)",
      [{ fn: "a-2.0rc1-0.conda" }, { fn: "a-2.0.dev3-0.conda" }, { fn: "a-1.9-0.conda" }, { fn: "a-2.0-0.conda" }],
      ["a-2.0-0.conda", "a-2.0.dev3-0.conda", "a-2.0rc1-0.conda"],
    ],
    [
      "an rc newer than every release is the latest",
      [{ fn: "a-2.1rc1-0.conda" }, { fn: "a-2.0-0.conda" }],
      ["a-2.1rc1-0.conda"],
    ],
    [
      "a dependency the newest versions do not satisfy brings the best match's version (all its builds)",
      [
        { fn: "app-2.0-0.conda", depends: ["lib <2"] },
        { fn: "lib-1.0-0.conda" },
        { fn: "lib-1.5-0.conda" },
        { fn: "lib-1.5-1.conda", build_number: 1 },
        { fn: "lib-2.0-0.conda" },
      ],
      ["app-2.0-0.conda", "lib-1.5-0.conda", "lib-1.5-1.conda", "lib-2.0-0.conda"],
    ],
    [
      "a dependency the newest versions satisfy adds nothing",
      [{ fn: "app-2.0-0.conda", depends: ["lib >=1.5"] }, { fn: "lib-1.0-0.conda" }, { fn: "lib-2.0-0.conda" }],
      ["app-2.0-0.conda", "lib-2.0-0.conda"],
    ],
    [
      "one pass only: what the added dependency needs is not added",
      [
        { fn: "app-2.0-0.conda", depends: ["lib 1.*"] },
        { fn: "lib-1.0-0.conda", depends: ["base <2"] },
        { fn: "lib-2.0-0.conda" },
        { fn: "base-1.0-0.conda" },
        { fn: "base-2.0-0.conda" },
      ],
      ["app-2.0-0.conda", "base-2.0-0.conda", "lib-1.0-0.conda", "lib-2.0-0.conda"],
    ],
    [
      "only dependencies of the newest versions count",
      [{ fn: "app-1.0-0.conda", depends: ["lib <2"] }, { fn: "app-2.0-0.conda" }, { fn: "lib-1.0-0.conda" }, { fn: "lib-2.0-0.conda" }],
      ["app-2.0-0.conda", "lib-2.0-0.conda"],
    ],
    [
      "a build-string dependency brings every build of that version (conda-index matches name=version)",
      [
        { fn: "app-1.0-0.conda", depends: ["lib 1.0 h1*"] },
        { fn: "lib-1.0-h1_0.conda" },
        { fn: "lib-1.0-h2_0.conda" },
        { fn: "lib-2.0-h1_0.conda" },
      ],
      ["app-1.0-0.conda", "lib-1.0-h1_0.conda", "lib-1.0-h2_0.conda", "lib-2.0-h1_0.conda"],
    ],
    [
      "a dependency nothing satisfies, or that cannot be parsed, is ignored",
      [{ fn: "app-1.0-0.conda", depends: ["missing", "lib >=9", ">=1 bad spec"] }, { fn: "lib-1.0-0.conda" }],
      ["app-1.0-0.conda", "lib-1.0-0.conda"],
    ],
    [
      "a featured newest version keeps the newest featureless one too",
      [
        { fn: "blas-2.0-mkl.conda", extra: { track_features: "mkl" } },
        { fn: "blas-1.5-0.conda" },
        { fn: "blas-1.0-0.conda" },
      ],
      ["blas-1.5-0.conda", "blas-2.0-mkl.conda"],
    ],
    [
      "a .tar.bz2 with a .conda twin is left out; one without is kept",
      [{ fn: "a-1.0-0.conda" }, { fn: "a-1.0-0.tar.bz2" }, { fn: "b-1.0-0.tar.bz2" }],
      ["a-1.0-0.conda", "b-1.0-0.tar.bz2"],
    ],
    [
      "a record_version above 1 is not for this conda",
      [{ fn: "a-2.0-0.conda", extra: { record_version: 2 } }, { fn: "a-1.0-0.conda" }],
      ["a-1.0-0.conda"],
    ],
  ];
  for (const [why, recs, expected] of cases) {
    test(why, () => assert.deepEqual(kept(buildCurrentRepodata(repodata(recs))), expected));
  }

  test("each .conda record gains legacy_bz2_md5 (its twin's md5, else null); the rest is copied", () => {
    const doc = repodata([{ fn: "a-1.0-0.conda" }, { fn: "a-1.0-0.tar.bz2" }, { fn: "b-1.0-0.conda" }]);
    const out = buildCurrentRepodata(doc);
    assert.equal(out["packages.conda"]["a-1.0-0.conda"]!["legacy_bz2_md5"], "md5-of-a-1.0-0.tar.bz2");
    assert.equal(out["packages.conda"]["b-1.0-0.conda"]!["legacy_bz2_md5"], null);
    assert.equal(doc["packages.conda"]["a-1.0-0.conda"]!["legacy_bz2_md5"], undefined, "the input is not changed");
    assert.deepEqual({ ...out, packages: null, "packages.conda": null }, { ...doc, packages: null, "packages.conda": null });
  });
});
