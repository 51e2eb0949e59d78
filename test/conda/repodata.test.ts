import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseCondaFilename } from "../../src/conda/filename.js";
import { filterRepodata, repodataNames, type Visible } from "../../src/conda/repodata.js";
import { generateRepodataSet, randomJson, seededRandom } from "./generate.js";

/** What filterRepodata must answer, computed the slow, obvious way. */
function reference(json: Buffer, visible: Visible, hideRemoved = false): unknown {
  const doc = JSON.parse(json.toString("utf8")) as Record<string, unknown>;
  let hidden = false;
  for (const key of ["packages", "packages.conda"]) {
    const map = doc[key];
    if (typeof map !== "object" || map === null || Array.isArray(map)) continue;
    for (const [file, record] of Object.entries(map as Record<string, unknown>)) {
      const recName = (record as { name?: unknown } | null)?.name;
      const name = typeof recName === "string" ? recName : parseCondaFilename(file)?.name;
      if (name === undefined || !visible(name)) {
        delete (map as Record<string, unknown>)[file];
        hidden = true;
      }
    }
  }
  if (hideRemoved && Array.isArray(doc["removed"])) {
    const kept = (doc["removed"] as unknown[]).filter((f) => {
      if (typeof f !== "string") return true;
      const name = parseCondaFilename(f)?.name;
      return name !== undefined && visible(name);
    });
    if (kept.length !== (doc["removed"] as unknown[]).length) hidden = true;
    doc["removed"] = kept;
  }
  return hidden ? doc : null;
}

const hide =
  (...names: string[]): Visible =>
  (n) =>
    !names.includes(n);

const rec = (name: string, extra: Record<string, unknown> = {}) => ({ build: "0", depends: [], name, version: "1.0", ...extra });

const base = {
  info: { subdir: "linux-64" },
  packages: {
    "foo-1.0-0.tar.bz2": rec("foo"),
    "foo-bar-1.0-0.tar.bz2": rec("foo-bar", { depends: ["foo >=1"] }),
    "zlib-1.3-0.tar.bz2": rec("zlib"),
  },
  "packages.conda": {
    "foo-2.0-0.conda": rec("foo"),
    "foo-bar-2.0-0.conda": rec("foo-bar"),
  },
  removed: ["foo-0.9-0.tar.bz2", "zlib-1.0-0.tar.bz2"],
  repodata_version: 1,
};

const formats: Array<[string, (doc: unknown) => string]> = [
  ["indented (conda-index)", (d) => JSON.stringify(d, null, 2)],
  ["compact", (d) => JSON.stringify(d)],
  ["tabs and CRLF", (d) => JSON.stringify(d, null, "\t").replaceAll("\n", "\r\n")],
];

describe("filterRepodata on hand-written cases", () => {
  const cases: Array<{ why: string; doc: unknown; visible: Visible; expected: unknown; hideRemoved?: boolean }> = [
    { why: "nothing hidden → null", doc: base, visible: () => true, expected: null },
    { why: "a name with no records hidden → null", doc: base, visible: hide("numpy"), expected: null },
    {
      why: "one name removed from both maps, its prefix-sharing sibling kept",
      doc: base,
      visible: hide("foo"),
      expected: {
        ...base,
        packages: { "foo-bar-1.0-0.tar.bz2": base.packages["foo-bar-1.0-0.tar.bz2"], "zlib-1.3-0.tar.bz2": base.packages["zlib-1.3-0.tar.bz2"] },
        "packages.conda": { "foo-bar-2.0-0.conda": base["packages.conda"]["foo-bar-2.0-0.conda"] },
      },
    },
    {
      why: "the longer name hidden, the prefix kept",
      doc: base,
      visible: hide("foo-bar"),
      expected: {
        ...base,
        packages: { "foo-1.0-0.tar.bz2": base.packages["foo-1.0-0.tar.bz2"], "zlib-1.3-0.tar.bz2": base.packages["zlib-1.3-0.tar.bz2"] },
        "packages.conda": { "foo-2.0-0.conda": base["packages.conda"]["foo-2.0-0.conda"] },
      },
    },
    { why: "last entry of a map hidden", doc: base, visible: hide("zlib"), expected: { ...base, packages: { "foo-1.0-0.tar.bz2": base.packages["foo-1.0-0.tar.bz2"], "foo-bar-1.0-0.tar.bz2": base.packages["foo-bar-1.0-0.tar.bz2"] } } },
    { why: "all hidden → empty maps, other keys kept", doc: base, visible: () => false, expected: { ...base, packages: {}, "packages.conda": {} } },
    {
      why: "removed list filtered on request",
      doc: base,
      visible: hide("zlib"),
      hideRemoved: true,
      expected: { ...base, packages: { "foo-1.0-0.tar.bz2": base.packages["foo-1.0-0.tar.bz2"], "foo-bar-1.0-0.tar.bz2": base.packages["foo-bar-1.0-0.tar.bz2"] }, removed: ["foo-0.9-0.tar.bz2"] },
    },
    {
      why: "the record's name decides, not the file name",
      doc: { packages: { "foo-1.0-0.tar.bz2": rec("secret") }, "packages.conda": {} },
      visible: hide("secret"),
      expected: { packages: {}, "packages.conda": {} },
    },
    {
      why: "a record without a name falls back to its file name; unparsable and nameless is removed",
      doc: { packages: { "foo-1.0-0.tar.bz2": { build: "0" }, "bar-1.0-0.tar.bz2": { name: 7 }, junk: {} } },
      visible: hide("bar"),
      expected: { packages: { "foo-1.0-0.tar.bz2": { build: "0" } } },
    },
    {
      why: "escapes, braces and quotes inside strings, unicode",
      doc: {
        packages: {
          "foo-1.0-0.tar.bz2": rec("foo", { summary: 'a "}{" ] [ \\ \\" string', license: "café ✓ 许可 😀", name: "foo" }),
          "bar-1.0-0.tar.bz2": rec("bar", { summary: "\\", depends: ["x", ["y", { "z}": "]"}]] }),
          "baz-1.0-0.tar.bz2": rec("baz", { summary: "\u0000\u001f\u2028" }),
        },
      },
      visible: hide("foo", "baz"),
      expected: { packages: { "bar-1.0-0.tar.bz2": rec("bar", { summary: "\\", depends: ["x", ["y", { "z}": "]" }]] }) } },
    },
    {
      why: "`name` nested deeper or as a value does not count",
      doc: {
        packages: {
          "foo-1.0-0.tar.bz2": { info: { name: "bar" }, license: "name", name: "foo", z: [{ name: "bar" }] },
          "bar-1.0-0.tar.bz2": { about: { name: "foo" }, name: "bar", run_exports: { name: "foo" }, z: ["name", "foo"] },
        },
      },
      visible: hide("foo"),
      expected: { packages: { "bar-1.0-0.tar.bz2": { about: { name: "foo" }, name: "bar", run_exports: { name: "foo" }, z: ["name", "foo"] } } },
    },
    {
      why: "`packages` inside info is not filtered",
      doc: { info: { packages: { "foo-1.0-0.tar.bz2": rec("foo") } }, packages: { "foo-1.0-0.tar.bz2": rec("foo") } },
      visible: hide("foo"),
      expected: { info: { packages: { "foo-1.0-0.tar.bz2": rec("foo") } }, packages: {} },
    },
    { why: "empty maps", doc: { packages: {}, "packages.conda": {} }, visible: () => false, expected: null },
    { why: "no maps at all", doc: { info: {}, repodata_version: 2 }, visible: () => false, expected: null },
  ];
  for (const c of cases) {
    for (const [format, write] of formats) {
      test(`${c.why} (${format})`, () => {
        const input = Buffer.from(write(c.doc));
        const out = filterRepodata(input, c.visible, { hideRemoved: c.hideRemoved ?? false });
        if (c.expected === null) return assert.equal(out, null);
        assert.ok(out, "expected a filtered document");
        assert.deepEqual(JSON.parse(out.toString("utf8")), c.expected);
        assert.deepEqual(JSON.parse(out.toString("utf8")), reference(input, c.visible, c.hideRemoved));
        // The output keeps the input's formatting: re-writing it the same way gives the same bytes.
        assert.equal(out.toString("utf8"), write(c.expected));
      });
    }
  }

  test("escaped key and name spellings are read as JSON reads them", () => {
    const input = Buffer.from(
      '{"pack\\u0061ges":{"a-1-0.conda":{"n\\u0061me":"f\\u006fo"},"b-1-0.conda":{"name":"b\\u0061r"}},"packages.conda":{}}',
    );
    const out = filterRepodata(input, hide("foo"));
    assert.deepEqual(JSON.parse(out!.toString()), { packages: { "b-1-0.conda": { name: "bar" } }, "packages.conda": {} });
  });

  test("the last `name` of a record wins, as in JSON.parse", () => {
    const input = Buffer.from('{"packages":{"a-1-0.conda":{"name":"bar","name":"foo"}}}');
    assert.deepEqual(JSON.parse(filterRepodata(input, hide("foo"))!.toString()), { packages: {} });
    assert.equal(filterRepodata(input, hide("bar")), null);
  });

  test("a byte order mark is kept", () => {
    const input = Buffer.from('\ufeff{"packages":{"a-1-0.conda":{"name":"a"},"b-1-0.conda":{"name":"b"}}}');
    assert.equal(filterRepodata(input, hide("a"))!.toString(), '\ufeff{"packages":{"b-1-0.conda":{"name":"b"}}}');
  });

  test("the predicate is asked once per name", () => {
    const asked: string[] = [];
    filterRepodata(Buffer.from(JSON.stringify(base)), (n) => (asked.push(n), n !== "foo"));
    assert.deepEqual(asked.sort(), ["foo", "foo-bar", "zlib"]);
  });

  const broken: Array<[string, string]> = [
    ["not an object", "[1,2]"],
    ["truncated record", '{"packages":{"a-1-0.conda":{"name":"a"'],
    ["truncated string", '{"packages":{"a-1-0.conda":{"name":"a'],
    ["missing colon", '{"packages" {}}'],
    ["trailing garbage", '{"packages":{}} x'],
    ["empty", ""],
  ];
  for (const [why, text] of broken) {
    test(`throws on ${why}`, () => assert.throws(() => filterRepodata(Buffer.from(text), () => false), SyntaxError));
  }
});

describe("filterRepodata equals the parse-based reference on randomized repodata", () => {
  for (const format of ["indent", "compact", "random"] as const) {
    for (let seed = 1; seed <= 12; seed++) {
      test(`${format}, seed ${seed}`, () => {
        const rand = seededRandom(seed * 7919);
        const records = 1 + Math.floor(rand() * 300);
        const privateEvery = [0, 1, 2, 3, 7][seed % 5]!;
        const g = generateRepodataSet({ records, privateEvery, format, seed, buildsPerName: 1 + Math.floor(rand() * 6) });
        const visible: Visible = (n) => !g.privateNames.has(n);
        const hideRemoved = seed % 2 === 0;
        const out = filterRepodata(g.json, visible, { hideRemoved });
        const expected = reference(g.json, visible, hideRemoved);
        if (expected === null) assert.equal(out, null);
        else assert.deepEqual(JSON.parse(out!.toString("utf8")), expected);
        if (format === "indent" && out) assert.equal(out.toString("utf8"), JSON.stringify(expected, null, 2));
        if (format === "compact" && out) assert.equal(out.toString("utf8"), JSON.stringify(expected));
      });
    }
  }

  test("random structures with random whitespace and escapes", () => {
    const rand = seededRandom(42);
    for (let i = 0; i < 300; i++) {
      const names = ["a", "a-b", "b", "c"];
      const map = () =>
        Object.fromEntries(
          Array.from({ length: Math.floor(rand() * 6) }, (_, j) => {
            const name = names[Math.floor(rand() * names.length)]!;
            const record = rand() < 0.1 ? null : { x: [1, { name: "z" }, "}]"], name, y: rand() < 0.5 ? "\\\"" : 2.5e-3 };
            return [`${name}-${j}-0.conda`, record];
          }),
        );
      const doc = { a: [map()], packages: map(), "packages.conda": map(), z: { packages: map() } };
      const input = Buffer.from(randomJson(doc, rand));
      const hidden = names.filter(() => rand() < 0.4);
      const visible: Visible = (n) => !hidden.includes(n);
      const out = filterRepodata(input, visible);
      const expected = reference(input, visible);
      if (expected === null) assert.equal(out, null, input.toString());
      else assert.deepEqual(JSON.parse(out!.toString()), expected, input.toString());
    }
  });
});

describe("repodataNames", () => {
  test("names from both maps, not from removed or info", () => {
    const names = repodataNames(Buffer.from(JSON.stringify({ ...base, info: { name: "info" } }, null, 2)));
    assert.deepEqual([...names].sort(), ["foo", "foo-bar", "zlib"]);
  });
  test("generated repodata: every name with records", () => {
    const g = generateRepodataSet({ records: 200, privateEvery: 0, buildsPerName: 4 });
    assert.deepEqual([...repodataNames(g.json)].sort(), [...g.names].sort());
  });
});
