// The per-project index document: adding files, order, versions, yanking, stored form.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  addFile,
  emptyProjectIndex,
  parseProjectIndex,
  projectVersions,
  serializeProjectIndex,
  setYanked,
  sortFiles,
  type FileEntry,
  type ProjectIndex,
} from "../../src/pypi/project.js";
import { isGateError } from "../../src/errors.js";

const SHA = "a".repeat(64);
const entry = (filename: string, extra: Partial<FileEntry> = {}): FileEntry => ({
  filename,
  size: 100,
  sha256: SHA,
  uploadTime: "2024-05-01T10:00:00.000Z",
  ...extra,
});

function withFiles(...names: string[]): ProjectIndex {
  return names.reduce((p, n) => addFile(p, entry(n)), emptyProjectIndex("Acme.Core"));
}

describe("addFile", () => {
  test("adds to a new index without touching the old one", () => {
    const empty = emptyProjectIndex("Acme.Core");
    const next = addFile(empty, entry("acme_core-1.0-py3-none-any.whl"));
    assert.deepEqual(empty.files, []);
    assert.deepEqual(next, { name: "Acme.Core", normalized: "acme-core", files: [entry("acme_core-1.0-py3-none-any.whl")] });
  });

  const refused: Array<[string, string[], FileEntry, number, RegExp]> = [
    ["the same file again", ["acme_core-1.0.tar.gz"], entry("acme_core-1.0.tar.gz"), 409, /already exists/],
    ["an equivalent name (case, separators)", ["acme_core-1.0.tar.gz"], entry("Acme.Core-1.0.tar.gz"), 409, /acme_core-1\.0\.tar\.gz already exists/],
    ["an equivalent version (1.0 == 1.0.0)", ["acme_core-1.0-py3-none-any.whl"], entry("acme_core-1.0.0-py3-none-any.whl"), 409, /already exists/],
    ["a file of another project", [], entry("other-1.0.tar.gz"), 400, /belongs to project other/],
    ["a name that is no distribution", [], entry("acme_core-1.0.exe"), 400, /not a wheel or sdist/],
    ["a bad sha256", [], entry("acme_core-1.0.tar.gz", { sha256: "ABC" }), 400, /sha256/],
    ["a negative size", [], entry("acme_core-1.0.tar.gz", { size: -1 }), 400, /size/],
  ];
  for (const [label, existing, added, status, message] of refused) {
    test(`refuses ${label} (${status})`, () => {
      assert.throws(() => addFile(withFiles(...existing), added), (err: unknown) => {
        assert.ok(isGateError(err));
        assert.equal(err.status, status);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test("accepts other tags, build numbers and sdist formats of the same version", () => {
    const p = withFiles(
      "acme_core-1.0-py3-none-any.whl",
      "acme_core-1.0-1-py3-none-any.whl",
      "acme_core-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
      "acme_core-1.0.tar.gz",
      "acme_core-1.0.zip",
    );
    assert.equal(p.files.length, 5);
  });
});

test("sortFiles orders by version (PEP 440), then by file name", () => {
  const sorted = sortFiles(
    ["acme_core-1.10.tar.gz", "acme_core-1.2-py3-none-any.whl", "acme_core-1.2.tar.gz", "acme_core-1.2rc1.tar.gz", "acme_core-1.9.tar.gz"].map((n) =>
      entry(n),
    ),
  ).map((f) => f.filename);
  assert.deepEqual(sorted, [
    "acme_core-1.2rc1.tar.gz",
    "acme_core-1.2-py3-none-any.whl",
    "acme_core-1.2.tar.gz",
    "acme_core-1.9.tar.gz",
    "acme_core-1.10.tar.gz",
  ]);
});

test("projectVersions: canonical, unique, in release order (PEP 700)", () => {
  const p = withFiles(
    "acme_core-1.10.tar.gz",
    "acme_core-1.2-py3-none-any.whl",
    "acme_core-1.2.0.tar.gz",
    "acme_core-1.0RC1.tar.gz",
  );
  assert.deepEqual(projectVersions(p), ["1.0rc1", "1.2", "1.10"]);
});

describe("setYanked (PEP 592)", () => {
  const cases: Array<[false | string, FileEntry["yanked"]]> = [
    ["broken build", "broken build"],
    ["", ""],
    [false, undefined],
  ];
  for (const [yanked, expected] of cases) {
    test(`yanked=${JSON.stringify(yanked)}`, () => {
      const p = setYanked(setYanked(withFiles("acme_core-1.0.tar.gz"), "acme_core-1.0.tar.gz", "first"), "acme_core-1.0.tar.gz", yanked);
      assert.equal(p.files[0]!.yanked, expected);
      assert.equal("yanked" in p.files[0]!, expected !== undefined);
    });
  }
  test("an unknown file is 404", () => {
    assert.throws(() => setYanked(withFiles(), "acme_core-9.tar.gz", "x"), (e: unknown) => isGateError(e) && e.status === 404);
  });
});

describe("stored form", () => {
  test("round-trips every field", () => {
    const p = addFile(
      withFiles("acme_core-1.0.tar.gz"),
      entry("acme_core-1.1-py3-none-any.whl", {
        blake2b_256: "b".repeat(64),
        requiresPython: ">=3.8",
        yanked: "reason",
        coreMetadata: { sha256: "c".repeat(64) },
      }),
    );
    assert.deepEqual(parseProjectIndex(serializeProjectIndex(p)), p);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ["not JSON object", [], /not an object/],
    ["bad name", { name: "../x", normalized: "x", files: [] }, /bad name/],
    ["normalized mismatch", { name: "Acme", normalized: "other", files: [] }, /normalized/],
    ["files not a list", { name: "acme", normalized: "acme", files: {} }, /files is not a list/],
    ["unsafe filename", { name: "acme", normalized: "acme", files: [{ ...entry("../acme-1.0.tar.gz") }] }, /files\[0\]\.filename/],
    ["bad hash", { name: "acme", normalized: "acme", files: [{ ...entry("acme-1.0.tar.gz"), sha256: "zz" }] }, /files\[0\]\.sha256/],
    ["bad time", { name: "acme", normalized: "acme", files: [{ ...entry("acme-1.0.tar.gz"), uploadTime: "yesterday" }] }, /uploadTime/],
    ["bad metadata hash", { name: "acme", normalized: "acme", files: [{ ...entry("acme-1.0.tar.gz"), coreMetadata: { sha256: 1 } }] }, /coreMetadata/],
  ];
  for (const [label, doc, message] of invalid) {
    test(`rejects ${label}`, () => assert.throws(() => parseProjectIndex(JSON.stringify(doc)), message));
  }
});
