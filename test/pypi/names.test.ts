// Project names, distribution file names and PEP 440 versions.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "../../src/pypi/names.js";
import { canonicalizeVersion, compareVersions, normalizeVersion, sameVersion } from "../../src/pypi/version.js";

describe("normalizeProjectName (PEP 503)", () => {
  const cases: Array<[string, string]> = [
    ["requests", "requests"],
    ["Django", "django"],
    ["Foo.Bar", "foo-bar"],
    ["foo_bar", "foo-bar"],
    ["foo__-._bar", "foo-bar"],
    ["zope.interface", "zope-interface"],
    ["A-B_C.D", "a-b-c-d"],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(normalizeProjectName(input), expected));
  }
});

describe("isValidProjectName (PEP 508)", () => {
  const cases: Array<[string, boolean]> = [
    ["requests", true],
    ["a", true],
    ["Foo.Bar_baz-9", true],
    ["1password", true],
    ["", false],
    ["-leading", false],
    ["trailing.", false],
    ["has space", false],
    ["slash/name", false],
    ["naïve", false],
    ["a".repeat(200), true],
    ["a".repeat(201), false],
    ["..", false],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input.slice(0, 20))} → ${expected}`, () => assert.equal(isValidProjectName(input), expected));
  }
});

describe("parseDistFilename", () => {
  const cases: Array<[string, ReturnType<typeof parseDistFilename>]> = [
    [
      "requests-2.31.0-py3-none-any.whl",
      { name: "requests", version: "2.31.0", kind: "wheel", pythonTag: "py3", abiTag: "none", platformTag: "any" },
    ],
    [
      "Foo_Bar-1.0rc1-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
      {
        name: "foo-bar",
        version: "1.0rc1",
        kind: "wheel",
        buildTag: "1",
        pythonTag: "cp311",
        abiTag: "cp311",
        platformTag: "manylinux_2_17_x86_64.manylinux2014_x86_64",
      },
    ],
    [
      "pkg-1.0+local.7-py2.py3-none-any.whl",
      { name: "pkg", version: "1.0+local.7", kind: "wheel", pythonTag: "py2.py3", abiTag: "none", platformTag: "any" },
    ],
    ["acme_core-1.2.0.tar.gz", { name: "acme-core", version: "1.2.0", kind: "sdist", extension: ".tar.gz" }],
    ["python-dateutil-2.8.2.tar.gz", { name: "python-dateutil", version: "2.8.2", kind: "sdist", extension: ".tar.gz" }],
    ["Old.Pkg-0.9.zip", { name: "old-pkg", version: "0.9", kind: "sdist", extension: ".zip" }],
    ["pkg-1!2.0.post3.dev4.tar.gz", { name: "pkg", version: "1!2.0.post3.dev4", kind: "sdist", extension: ".tar.gz" }],
    // Refused: not a distribution, unsafe as a store key, or invalid parts.
    ["requests-2.31.0-py3-none.whl", null],
    ["requests-2.31.0-x-y-py3-none-any.whl", null],
    ["requests-2.31.0-b1-py3-none-any.whl", null], // build tag must start with a digit
    ["requests-notaversion-py3-none-any.whl", null],
    ["requests-2.31.0.tar.bz2", null],
    ["requests-2.31.0.egg", null],
    ["requests.tar.gz", null],
    ["-1.0.tar.gz", null],
    [".hidden-1.0.tar.gz", null],
    ["../evil-1.0.tar.gz", null],
    ["dir/evil-1.0.tar.gz", null],
    ["dir\\evil-1.0.tar.gz", null],
    ["evil-1.0\0.tar.gz", null],
    ["evil 1-1.0.tar.gz", null],
    ["", null],
    [`${"a".repeat(250)}-1.0.tar.gz`, null],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input.slice(0, 60)), () => assert.deepEqual(parseDistFilename(input), expected));
  }
});

describe("normalizeVersion (PEP 440)", () => {
  const cases: Array<[string, string | null]> = [
    ["1.0", "1.0"],
    ["v1.0", "1.0"],
    ["1.0RC1", "1.0rc1"],
    ["1.0-alpha.2", "1.0a2"],
    ["1.0.preview-3", "1.0rc3"],
    ["1.0-1", "1.0.post1"],
    ["1.0.rev", "1.0.post0"],
    ["1.0-dev", "1.0.dev0"],
    ["0!01.002", "1.2"],
    ["2!1.0", "2!1.0"],
    ["1.0+Ubuntu-1", "1.0+ubuntu.1"],
    [" 1.0 ", "1.0"],
    ["1.0.x", null],
    ["latest", null],
    ["", null],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeVersion(input), expected));
  }
});

describe("compareVersions", () => {
  // Each is strictly less than the next (packaging's order).
  const ascending = [
    "not-a-version",
    "0.9",
    "1.0.dev0",
    "1.0a1.dev1",
    "1.0a1",
    "1.0b2",
    "1.0rc1",
    "1.0",
    "1.0+abc",
    "1.0+abc.5",
    "1.0+5",
    "1.0.post1.dev0",
    "1.0.post1",
    "1.0.1",
    "1.10",
    "1!0.1",
  ];
  for (let i = 0; i + 1 < ascending.length; i++) {
    const [a, b] = [ascending[i]!, ascending[i + 1]!];
    test(`${a} < ${b}`, () => {
      assert.equal(compareVersions(a, b), -1);
      assert.equal(compareVersions(b, a), 1);
    });
  }
  const equal: Array<[string, string]> = [
    ["1.0", "1.0.0"],
    ["1.0RC1", "1.0rc1"],
    ["1.0-1", "1.0.post1"],
    ["01.2", "1.2"],
  ];
  for (const [a, b] of equal) {
    test(`${a} == ${b}`, () => {
      assert.equal(compareVersions(a, b), 0);
      assert.equal(sameVersion(a, b), true);
    });
  }
  test("sameVersion is false for invalid versions, even when equal as text", () => {
    assert.equal(sameVersion("x", "x"), false);
    assert.equal(sameVersion("1.0", "1.1"), false);
  });
});

describe("canonicalizeVersion (one key per release)", () => {
  const cases: Array<[string, string | null]> = [
    ["1.0.0", "1"],
    ["1.0", "1"],
    ["1.10.0", "1.10"],
    ["0.0", "0"],
    ["2!1.0.0rc1", "2!1rc1"],
    ["1.0.0.post1+Local", "1.post1+local"],
    ["1.0.1", "1.0.1"],
    ["nope", null],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(canonicalizeVersion(input), expected));
  }
});
