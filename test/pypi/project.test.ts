// The per-project index document (adding files, order, versions, stored form) and the
// project's state document (PEP 792 status, PEP 592 yanks) applied to it.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  addFile,
  emptyProjectIndex,
  parseProjectIndex,
  projectVersions,
  serializeProjectIndex,
  sortFiles,
  ACTIVE_STATE,
  checkReason,
  isActiveState,
  parseProjectState,
  pruneYanks,
  selectFiles,
  serializeProjectState,
  uploadRefusal,
  withState,
  yankFiles,
  type FileEntry,
  type ProjectIndex,
  type ProjectState,
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

describe("yanks (PEP 592)", () => {
  const p = withFiles("acme_core-1.0.tar.gz", "acme_core-1.0-py3-none-any.whl", "acme_core-1.1.tar.gz");
  const selections: Array<[string, { version?: string; file?: string }, string[] | RegExp]> = [
    ["a release: every file of it", { version: "1.0" }, ["acme_core-1.0-py3-none-any.whl", "acme_core-1.0.tar.gz"]],
    ["a release in another spelling", { version: "1.0.0" }, ["acme_core-1.0-py3-none-any.whl", "acme_core-1.0.tar.gz"]],
    ["one file", { file: "acme_core-1.1.tar.gz" }, ["acme_core-1.1.tar.gz"]],
    ["a file of the release named", { version: "1.1", file: "acme_core-1.1.tar.gz" }, ["acme_core-1.1.tar.gz"]],
    ["a file of another release", { version: "1.0", file: "acme_core-1.1.tar.gz" }, /not a file of Acme\.Core 1\.0/],
    ["a release it does not have", { version: "2.0" }, /no release 2\.0/],
    ["a file it does not have", { file: "acme_core-2.0.tar.gz" }, /no file acme_core-2\.0\.tar\.gz/],
    ["nothing named", {}, /name a version or a file/],
  ];
  for (const [label, sel, expected] of selections) {
    test(`selectFiles: ${label}`, () => {
      if (Array.isArray(expected)) assert.deepEqual(selectFiles(p, sel).sort(), expected);
      else assert.throws(() => selectFiles(p, sel), (e: unknown) => isGateError(e) && expected.test(e.message));
    });
  }

  test("yankFiles sets, replaces and removes reasons; withState shows them on the files", () => {
    let st = yankFiles(ACTIVE_STATE, ["acme_core-1.0.tar.gz", "acme_core-1.1.tar.gz"], "broken");
    st = yankFiles(st, ["acme_core-1.1.tar.gz"], "");
    st = yankFiles(st, ["acme_core-1.0.tar.gz"], "really broken");
    assert.deepEqual(st.yanked, { "acme_core-1.0.tar.gz": "really broken", "acme_core-1.1.tar.gz": "" });
    const shown = withState(p, st);
    assert.deepEqual(Object.fromEntries(shown.files.map((f) => [f.filename, f.yanked])), {
      "acme_core-1.0-py3-none-any.whl": undefined,
      "acme_core-1.0.tar.gz": "really broken",
      "acme_core-1.1.tar.gz": "",
    });
    assert.equal(shown.status, undefined);
    const back = yankFiles(st, ["acme_core-1.0.tar.gz", "acme_core-1.1.tar.gz"], false);
    assert.ok(isActiveState(back));
    assert.ok(withState(p, back).files.every((f) => !("yanked" in f)));
  });

  test("a yank in the index document itself is not shown: the state decides", () => {
    const stale = { ...p, files: p.files.map((f) => ({ ...f, yanked: "old" })) };
    assert.ok(withState(stale, ACTIVE_STATE).files.every((f) => !("yanked" in f)));
  });

  test("pruneYanks drops the yanks of files that are gone", () => {
    const st = yankFiles(ACTIVE_STATE, ["acme_core-1.0.tar.gz", "acme_core-9.tar.gz"], "x");
    assert.deepEqual(pruneYanks(st, new Set(["acme_core-1.0.tar.gz"])).yanked, { "acme_core-1.0.tar.gz": "x" });
  });
});

describe("project status (PEP 792)", () => {
  const p = withFiles("acme_core-1.0.tar.gz");
  const state = (status: ProjectState["status"]): ProjectState => ({ status, yanked: {} });
  const cases: Array<[ProjectState["status"], number, boolean]> = [
    [{ status: "active" }, 1, false],
    [{ status: "deprecated", reason: "use acme-next" }, 1, false],
    [{ status: "archived" }, 1, true],
    [{ status: "quarantined", reason: "malware" }, 0, true],
  ];
  for (const [status, files, refusesUploads] of cases) {
    test(`${status.status}: ${files} file(s) shown, uploads ${refusesUploads ? "refused" : "taken"}`, () => {
      const shown = withState(p, state(status));
      assert.equal(shown.files.length, files);
      assert.deepEqual(shown.status, status.status === "active" ? undefined : status);
      const refusal = uploadRefusal(p, state(status), "acme");
      assert.equal(refusal !== null, refusesUploads);
      if (refusal) {
        assert.equal(refusal.status, 400);
        assert.match(refusal.message, new RegExp(`Acme\\.Core is ${status.status}.*pkgate project-status acme/acme-core active`));
      }
    });
  }

  const reasons: Array<[unknown, string | RegExp]> = [
    [undefined, ""],
    ["  moved to acme-next  ", "moved to acme-next"],
    ["café ☕", "café ☕"],
    ["two\nlines", /one line/],
    ["tab\there", /one line/],
    ["x".repeat(1001), /at most 1000/],
    [42, /text/],
  ];
  for (const [given, expected] of reasons) {
    test(`checkReason(${JSON.stringify(given)?.slice(0, 30)})`, () => {
      if (typeof expected === "string") assert.equal(checkReason(given), expected);
      else assert.throws(() => checkReason(given), (e: unknown) => isGateError(e) && e.status === 400 && expected.test(e.message));
    });
  }

  test("the state document round-trips, and a damaged one names what is wrong", () => {
    const st: ProjectState = { status: { status: "archived", reason: "done" }, yanked: { "acme_core-1.0.tar.gz": "x" } };
    assert.deepEqual(parseProjectState(serializeProjectState(st)), st);
    const bad: Array<[unknown, RegExp]> = [
      [[], /not an object/],
      [{ status: { status: "frozen" }, yanked: {} }, /status/],
      [{ status: { status: "active", reason: 1 }, yanked: {} }, /status\.reason/],
      [{ status: { status: "active" }, yanked: [] }, /yanked/],
      [{ status: { status: "active" }, yanked: { "../x": "r" } }, /yanked\["\.\.\/x"\]/],
    ];
    for (const [doc, why] of bad) assert.throws(() => parseProjectState(JSON.stringify(doc)), why);
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
