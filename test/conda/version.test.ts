// conda's version order and specs, checked with conda's own test cases
// (conda/conda tests/models/test_version.py, and tests/models/test_match_spec.py for the spec
// parser), so current_repodata.json and channeldata.json pick "the latest" as conda does.
//
// conda-version-cases.json beside this file holds answers of conda's own Python (version.py run
// with a stub conda.exceptions) for random versions built from 0/1/2/10/01/a/b/rc/dev/post/alpha/
// _/g9d7/pre/z runs joined by . or _, some with an epoch or a local part: 800 comparisons (with
// startswith) and 500 spec matches. A check of 3,000 + 1,500 such cases found no difference.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { compareVersions, InvalidVersion, VersionOrder, versionSpec } from "../../src/conda/version.js";
import { InvalidMatchSpec, matchSpec, parse, versionPlusBuild } from "../../src/conda/match-spec.js";

const inf = Infinity;

describe("VersionOrder (test_version_order)", () => {
  // In sorted order, with the parse conda expects of each.
  const versions: Array<[string, unknown[]]> = [
    ["0.4", [[0], [0], [4]]],
    ["0.4.0", [[0], [0], [4], [0]]],
    ["0.4.1a.vc11", [[0], [0], [4], [1, "a"], [0, "vc", 11]]],
    ["0.4.1.rc", [[0], [0], [4], [1], [0, "rc"]]],
    ["0.4.1.vc11", [[0], [0], [4], [1], [0, "vc", 11]]],
    ["0.4.1", [[0], [0], [4], [1]]],
    ["0.5*", [[0], [0], [5, "*"]]],
    ["0.5a1", [[0], [0], [5, "a", 1]]],
    ["0.5b3", [[0], [0], [5, "b", 3]]],
    ["0.5C1", [[0], [0], [5, "c", 1]]],
    ["0.5z", [[0], [0], [5, "z"]]],
    ["0.5za", [[0], [0], [5, "za"]]],
    ["0.5", [[0], [0], [5]]],
    ["0.5_5", [[0], [0], [5], [5]]],
    ["0.5-5", [[0], [0], [5], [5]]],
    ["0.9.6", [[0], [0], [9], [6]]],
    ["0.960923", [[0], [0], [960923]]],
    ["1.0", [[0], [1], [0]]],
    ["1.0.4a3", [[0], [1], [0], [4, "a", 3]]],
    ["1.0.4b1", [[0], [1], [0], [4, "b", 1]]],
    ["1.0.4", [[0], [1], [0], [4]]],
    ["1.1dev1", [[0], [1], [1, "DEV", 1]]],
    ["1.1_", [[0], [1], [1, "_"]]],
    ["1.1a1", [[0], [1], [1, "a", 1]]],
    ["1.1.dev1", [[0], [1], [1], [0, "DEV", 1]]],
    ["1.1.a1", [[0], [1], [1], [0, "a", 1]]],
    ["1.1", [[0], [1], [1]]],
    ["1.1.post1", [[0], [1], [1], [0, inf, 1]]],
    ["1.1.1dev1", [[0], [1], [1], [1, "DEV", 1]]],
    ["1.1.1rc1", [[0], [1], [1], [1, "rc", 1]]],
    ["1.1.1", [[0], [1], [1], [1]]],
    ["1.1.1post1", [[0], [1], [1], [1, inf, 1]]],
    ["1.1post1", [[0], [1], [1, inf, 1]]],
    ["2g6", [[0], [2, "g", 6]]],
    ["2.0b1pr0", [[0], [2], [0, "b", 1, "pr", 0]]],
    ["2.2be.ta29", [[0], [2], [2, "be"], [0, "ta", 29]]],
    ["2.2be5ta29", [[0], [2], [2, "be", 5, "ta", 29]]],
    ["2.2beta29", [[0], [2], [2, "beta", 29]]],
    ["2.2.0.1", [[0], [2], [2], [0], [1]]],
    ["3.1.1.6", [[0], [3], [1], [1], [6]]],
    ["3.2.p.r0", [[0], [3], [2], [0, "p"], [0, "r", 0]]],
    ["3.2.pr0", [[0], [3], [2], [0, "pr", 0]]],
    ["3.2.pr.1", [[0], [3], [2], [0, "pr"], [1]]],
    ["5.5.kw", [[0], [5], [5], [0, "kw"]]],
    ["11g", [[0], [11, "g"]]],
    ["14.3.1", [[0], [14], [3], [1]]],
    ["14.3.1.post26.g9d75ca2", [[0], [14], [3], [1], [0, inf, 26], [0, "g", 9, "d", 75, "ca", 2]]],
    ["1996.07.12", [[0], [1996], [7], [12]]],
    ["1!0.4.1", [[1], [0], [4], [1]]],
    ["1!3.1.1.6", [[1], [3], [1], [1], [6]]],
    ["2!0.4.1", [[2], [0], [4], [1]]],
  ];

  test("parses each version as conda does", () => {
    for (const [s, expected] of versions) {
      const v = VersionOrder.of(s);
      assert.equal(VersionOrder.of(s), v, "cached");
      assert.equal(v.toString(), s.toLowerCase().replaceAll("-", "_"));
      assert.deepEqual(v.version, expected, s);
    }
  });

  test("sorts the table into the order it is written in", () => {
    const table = versions.map(([s]) => s);
    assert.deepEqual([...table].sort(compareVersions), table, "a stable sort leaves it as it is (conda's check)");
    const fromReversed = [...table].reverse().sort(compareVersions);
    // equal versions (0.4 == 0.4.0, 0.5_5 == 0.5-5) may then come in either order
    fromReversed.forEach((v, i) => assert.equal(compareVersions(v, table[i]!), 0, `${v} at ${i}, expected ${table[i]}`));
  });

  for (const bad of ["", "  ", "3.5&1", "5.5++", "5.5..mw", "!", "a!1.0", "a!b!1.0", "1.2+", "+1.2"]) {
    test(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => VersionOrder.of(bad), InvalidVersion));
  }

  const equal: Array<[string, string, boolean]> = [
    ["0.4.1.rc", "  0.4.1.RC  ", true],
    ["  0.4.rc  ", "0.4.RC", true],
    ["0.4", "0.4.0", true],
    ["0.4", "0.4.1", false],
    ["0.4.a1", "0.4.0a1", true],
    ["0.4.a1", "0.4.1a1", false],
  ];
  for (const [a, b, same] of equal) {
    test(`${a} ${same ? "==" : "!="} ${b}`, () => assert.equal(VersionOrder.of(a).equals(VersionOrder.of(b)), same));
  }

  const startswith: Array<[string, string, boolean]> = [
    ["0.4.1", "0", true],
    ["0.4.1", "0.4", true],
    ["0.4.1p1", "0.4", true],
    ["0.4.1p1", "0.4.1p", true],
    ["0.4.1p1", "0.4.1q1", false],
    ["0.4", "0.4.1", false],
    ["0.4.1+1.3", "0.4.1", true],
    ["0.4.1+1.3", "0.4.1+1", true],
    ["0.4.1", "0.4.1+1.3", false],
    ["0.4.1+1", "0.4.1+1.3", false],
  ];
  for (const [a, b, yes] of startswith) {
    test(`${a} ${yes ? "starts" : "does not start"} with ${b}`, () => assert.equal(VersionOrder.of(a).startswith(VersionOrder.of(b)), yes));
  }

  const sortedLists: Array<[string, string[]]> = [
    [
      "openssl convention (test_openssl_convention)",
      ["1.0.1dev", "1.0.1_", "1.0.1a", "1.0.1b", "1.0.1c", "1.0.1d", "1.0.1r", "1.0.1rc", "1.0.1rc1", "1.0.1rc2", "1.0.1s", "1.0.1", "1.0.1post.a", "1.0.1post.b", "1.0.1post.z", "1.0.1post.za", "1.0.2"],
    ],
    [
      "PEP 440 (test_pep440)",
      [
        "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
        "1.0c1.dev456", "1.0c1", "1.0c3", "1.0rc2", "1.0.dev456", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1",
        "1.2.r32+123456", "1.2.rev33+123456", "1.2+abc", "1.2+abc123def", "1.2+abc123", "1.2+123abc", "1.2+123abc456",
        "1.2+1234.abc", "1.2+123456",
        "1!1.0a1", "1!1.0a2.dev456", "1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456",
        "1!1.0b2.post345", "1!1.0c1.dev456", "1!1.0c1", "1!1.0c3", "1!1.0rc2", "1!1.0.dev456", "1!1.0", "1!1.0.post456.dev34",
        "1!1.0.post456", "1!1.1.dev1", "1!1.2.r32+123456", "1!1.2.rev33+123456", "1!1.2+abc", "1!1.2+abc123def",
        "1!1.2+abc123", "1!1.2+123abc", "1!1.2+123abc456", "1!1.2+1234.abc", "1!1.2+123456",
      ],
    ],
    ["hexrd (test_hexrd)", ["0.3.0.dev", "0.3.3"]],
    [
      "the order in VersionOrder's docstring",
      ["0.4", "0.4.1.rc", "0.4.1", "0.5a1", "0.5b3", "0.5C1", "0.5", "0.9.6", "0.960923", "1.0", "1.1dev1", "1.1_", "1.1a1",
        "1.1.0dev1", "1.1.a1", "1.1.0rc1", "1.1.0", "1.1.0post1", "1.1post1", "1996.07.12", "1!0.4.1", "1!3.1.1.6", "2!0.4.1"],
    ],
  ];
  for (const [name, list] of sortedLists) {
    test(name, () => {
      const shuffled = [...list].reverse();
      assert.deepEqual(shuffled.sort(compareVersions), list);
    });
  }
});

describe("VersionSpec", () => {
  // [version, spec, matches] — test_ver_eval, test_not_eq_star, test_compound_versions,
  // test_compatible_release_versions, test_local_identifier
  const table: Array<[string, string, boolean]> = [
    ["1.7.0", "==1.7", true],
    ["1.7.0", "<=1.7", true],
    ["1.7.0", "<1.7", false],
    ["1.7.0", ">=1.7", true],
    ["1.7.0", ">1.7", false],
    ["1.6.7", ">=1.7", false],
    ["2013a", ">2013b", false],
    ["2013k", ">2013b", true],
    ["3.0.0", ">2013b", false],
    ["1.0.0", ">1.0.0a", true],
    ["1.0.0", ">1.0.0*", true],
    ["1.0", "1.0*", true],
    ["1.0.0", "1.0*", true],
    ["1.0", "1.0.0*", true],
    ["1.0.1", "1.0.0*", false],
    ["2013a", "2013a*", true],
    ["2013a", "2013b*", false],
    ["2013ab", "2013a*", true],
    ["1.3.4", "1.2.4*", false],
    ["1.2.3+4.5.6", "1.2.3*", true],
    ["1.2.3+4.5.6", "1.2.3+4*", true],
    ["1.2.3+4.5.6", "1.2.3+5*", false],
    ["1.2.3+4.5.6", "1.2.4+5*", false],
    ["3.3.1", "=3.3", true],
    ["3.3", "=3.3", true],
    ["3.4", "=3.3", false],
    ["3.3.1", "3.3.*", true],
    ["3.3", "3.3.*", true],
    ["3.4", "3.3.*", false],
    ["3.3.1", "=3.3.*", true],
    ["3.3", "=3.3.*", true],
    ["3.4", "=3.3.*", false],
    ["3.3.1", "!=3.3.*", false],
    ["3.4", "!=3.3.*", true],
    ["3.4.1", "!=3.3.*", true],
    ["3.3.1", "!=3.3", true],
    ["3.3.0.0", "!=3.3", false],
    ["3.3.0.0", "!=3.3.*", false],
    ["2.6.8", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false],
    ["2.7.2", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true],
    ["3.3", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false],
    ["3.3.4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false],
    ["3.4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true],
    ["3.4a", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true],
    ["1.11.0", "~=1.10", true],
    ["1.11.0", "~=1.10.0", false],
    ["3.4.0", "~=3.3.2", false],
    ["3.3.1", "~=3.3.2", false],
    ["3.3.2.0", "~=3.3.2", true],
    ["3.3.3", "~=3.3.2", true],
    ["2.2.0", "~=3.3.2|==2.2", true],
    ["3.3.3", "~=3.3.2|==2.2", true],
    ["2.2.1", "~=3.3.2|==2.2", false],
    ["1.7.0", "1.7.0", true],
    ["1.7.0.post123", "1.7.0.post123", true],
    ["1.7.0.post123.gabcdef9", "1.7.0.post123.gabcdef9", true],
    ["1.7.0.post123+gabcdef9", "1.7.0.post123+gabcdef9", true],
  ];
  for (const [version, spec, yes] of table) {
    test(`${version} ${yes ? "matches" : "does not match"} ${spec}`, () => assert.equal(versionSpec(spec).match(version), yes));
  }

  // test_match: each spec against 1.7.1
  const against171: Array<[string, boolean]> = [
    ["1.7.*", true], ["1.7.1", true], ["1.7.0", false], ["1.7", false], ["1.5.*", false], [">=1.5", true], ["!=1.5", true],
    ["!=1.7.1", false], ["==1.7.1", true], ["==1.7", false], ["==1.7.2", false], ["==1.7.1.0", true], ["1.7.*|1.8.*", true],
    [">1.7,<1.8", true], [">1.7.1,<1.8", false], ["^1.7.1$", true], ["^1\\.7\\.1$", true], ["^1\\.7\\.[0-9]+$", true],
    ["^1\\.8.*$", false], ["^1\\.[5-8]\\.1$", true], ["^[^1].*$", false], ["^[0-9+]+\\.[0-9+]+\\.[0-9]+$", true], ["^$", false],
    ["^.*$", true], ["1.7.*|^0.*$", true], ["1.6.*|^0.*$", false], ["1.6.*|^0.*$|1.7.1", true], ["^0.*$|1.7.1", true],
    ["1.6.*|^.*\\.7\\.1$|0.7.1", true], ["*", true], ["1.*.1", true], ["1.5.*|>1.7,<1.8", true], ["1.5.*|>1.7,<1.7.1", false],
  ];
  for (const [spec, yes] of against171) {
    test(`1.7.1 ${yes ? "matches" : "does not match"} ${spec}`, () => assert.equal(versionSpec(spec).match("1.7.1"), yes));
  }

  test("parenthesised expressions (test_version_spec_2)", () => {
    assert.equal(versionSpec("( (1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1").spec, "1.5|1.6|1.7,1.8,1.9|2.0|2.1");
  });

  const invalid = [
    "(1.5", "1.5)", "1.5||1.6", "^1.5", "><2.4.5", "!!2.4.5", "!", "~", "^", "1.2+", "+1.2", "+1.2+", "++", "c +, 0/|0 *",
    "a[version=)|(", "a=)(=b", "==", "=", ">=", "<=", "~=3.3.2.*", "===3.3.2",
  ];
  for (const spec of invalid) {
    test(`rejects ${spec} (test_invalid_version_specs, test_ver_eval_errors)`, () => {
      assert.throws(() => versionSpec(spec).match("3.0.0"), InvalidVersion);
    });
  }
});

describe("MatchSpec", () => {
  test("_parse_version_plus_build docstring", () => {
    const table: Array<[string, [string, string | undefined]]> = [
      ["=1.2.3 0", ["=1.2.3", "0"]],
      ["1.2.3=0", ["1.2.3", "0"]],
      [">=1.0 , < 2.0 py34_0", [">=1.0,<2.0", "py34_0"]],
      [">=1.0 , < 2.0 =py34_0", [">=1.0,<2.0", "py34_0"]],
      ["=1.2.3 ", ["=1.2.3", undefined]],
      [">1.8,<2|==1.7", [">1.8,<2|==1.7", undefined]],
      ["* openblas_0", ["*", "openblas_0"]],
      ["* *", ["*", "*"]],
    ];
    for (const [input, expected] of table) assert.deepEqual(versionPlusBuild(input), expected, input);
  });

  test("spec strings parse into conda's components (test_match_spec.py)", () => {
    const table: Array<[string, Record<string, string>]> = [
      ["numpy", { name: "numpy" }],
      ["numpy 1.7", { name: "numpy", version: "1.7" }],
      ["numpy 1.7*", { name: "numpy", version: "1.7*" }],
      ["numpy=1.7", { name: "numpy", version: "1.7*" }],
      ["numpy==1.7", { name: "numpy", version: "1.7" }],
      ["numpy=1.7=py3_1", { name: "numpy", version: "1.7", build: "py3_1" }],
      ["numpy 1.7 py3_1", { name: "numpy", version: "1.7", build: "py3_1" }],
      ["numpy >=1.7,<2 py3*", { name: "numpy", version: ">=1.7,<2", build: "py3*" }],
      ["numpy[version='1.7|1.8']", { name: "numpy", version: "1.7|1.8" }],
      ["numpy[build_number=3]", { name: "numpy", build_number: "3" }],
      ["conda-forge::numpy", { name: "numpy", channel: "conda-forge" }],
      ["python >=3.8 # comment", { name: "python", version: ">=3.8" }],
    ];
    for (const [spec, expected] of table) assert.deepEqual(parse(spec), expected, spec);
  });

  const rec = (version: string, build = "py3_0", extra: Record<string, unknown> = {}) => ({ name: "foo", version, build, build_number: 0, ...extra });
  const matching: Array<[string, ReturnType<typeof rec>, boolean]> = [
    ["foo", rec("1.0"), true],
    ["bar", rec("1.0"), false],
    ["FOO", rec("1.0"), true],
    ["foo 1.0", rec("1.0"), true],
    ["foo 1.0", rec("1.0.1"), false],
    ["foo =1.0", rec("1.0.1"), true],
    ["foo=1.0", rec("1.0.dev1"), true],
    ["foo >=1,<2", rec("1.5"), true],
    ["foo >=1,<2", rec("2.0"), false],
    ["foo 1.* py3*", rec("1.2"), true],
    ["foo 1.* py2*", rec("1.2"), false],
    ["foo=1.0=py3_0", rec("1.0"), true],
    ["foo[build_number='>=1']", rec("1.0", "py3_0", { build_number: 2 }), true],
    ["foo[build_number=1]", rec("1.0"), false],
    ["conda-forge::foo", rec("1.0"), false],
    ["f*", rec("1.0"), true],
  ];
  for (const [spec, record, yes] of matching) {
    test(`${spec} ${yes ? "matches" : "does not match"} foo ${record.version} ${record.build}`, () => assert.equal(matchSpec(spec).match(record), yes));
  }

  for (const bad of ["", ">=1.0", "foo[version=]", "foo[bogus=1]"]) {
    test(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => matchSpec(bad), InvalidMatchSpec));
  }
});

describe("against conda's own answers (conda-version-cases.json)", () => {
  const cases = JSON.parse(readFileSync(new URL("./conda-version-cases.json", import.meta.url), "utf8")) as {
    compare: Array<[string, string, number, boolean]>;
    specs: Array<[string, string, boolean]>;
  };
  test(`${cases.compare.length} comparisons and startswith`, () => {
    for (const [a, b, order, startswith] of cases.compare) {
      assert.equal(compareVersions(a, b), order, `${a} vs ${b}`);
      assert.equal(VersionOrder.of(a).startswith(VersionOrder.of(b)), startswith, `${a} startswith ${b}`);
    }
  });
  test(`${cases.specs.length} spec matches`, () => {
    for (const [spec, version, yes] of cases.specs) assert.equal(versionSpec(spec).match(version), yes, `${version} ~ ${spec}`);
  });
});
