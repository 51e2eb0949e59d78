// Environments and notebooks, the pure part (src/kinds/kinds.ts): which kind a file is, what a
// document must be, the names and versions given by default, and where a file lies in the store.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkKindFile, defaultKindName, defaultKindVersion, kindKey, kindOfFile, kindOfType, KINDS, parseKindKey, readKindDocument } from "../../src/kinds/kinds.js";

const { env, ipynb } = KINDS;

describe("kinds", () => {
  test("the kind a file name says", () => {
    const cases: [string, string | null][] = [
      ["environment.yml", "env"],
      ["env.YAML", "env"],
      ["analysis.ipynb", "ipynb"],
      ["pkg-1.0-0.conda", null],
      ["pkg-1.0-0.tar.bz2", null],
      ["notes.json", null],
      ["yml", null],
    ];
    for (const [name, kind] of cases) assert.equal(kindOfFile(name)?.name ?? null, kind, name);
    assert.equal(kindOfType("env"), env);
    assert.equal(kindOfType("ipynb"), ipynb);
    assert.equal(kindOfType("conda"), null);
  });

  test("what an environment must be", () => {
    const ok: [string, string | undefined][] = [
      ["name: x\ndependencies: [python]\n", "x"],
      ["channels: [conda-forge]\n", undefined],
      ["dependencies:\n  - python\n  - pip:\n    - requests\n", undefined],
    ];
    for (const [text, name] of ok) assert.equal(readKindDocument(env, Buffer.from(text), "e.yml").name, name, text);
    const bad: [string | Buffer, RegExp][] = [
      ["name: [\n", /YAML does not parse/],
      ["just text\n", /not a YAML mapping/],
      ["- a\n", /not a YAML mapping/],
      ["name: 3\n", /name: must be a string/],
      ["channels: conda-forge\n", /channels: must be a list/],
      ["prefix: /opt\n", /none of name, channels and dependencies/],
      ["a: &a [1]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n", /YAML does not parse/],
      [Buffer.from([0x6e, 0x3a, 0x20, 0xff, 0xfe]), /not UTF-8 text/],
      [Buffer.alloc(env.maxBytes + 1, "#"), /larger than the 1048576 bytes/],
    ];
    for (const [text, why] of bad) assert.throws(() => readKindDocument(env, Buffer.from(text), "e.yml"), why, String(text).slice(0, 40));
  });

  test("what a notebook must be", () => {
    assert.equal(readKindDocument(ipynb, Buffer.from(JSON.stringify({ nbformat: 4, cells: [], metadata: { summary: "S" } })), "n.ipynb").summary, "S");
    assert.equal(readKindDocument(ipynb, Buffer.from(JSON.stringify({ nbformat: 3, worksheets: [] })), "n.ipynb").summary, "Jupyter Notebook");
    const bad: [string, RegExp][] = [
      ["{", /JSON does not parse/],
      ["[]", /not a JSON object/],
      [JSON.stringify({ cells: [] }), /nbformat: must be an integer/],
      [JSON.stringify({ nbformat: "4", cells: [] }), /nbformat: must be an integer/],
      [JSON.stringify({ nbformat: 4, cells: {} }), /cells: must be a list/],
      [JSON.stringify({ nbformat: 3, cells: [] }), /worksheets: must be a list/],
    ];
    for (const [text, why] of bad) assert.throws(() => readKindDocument(ipynb, Buffer.from(text), "n.ipynb"), why, text);
  });

  test("names and versions by default, as anaconda-client makes them", () => {
    assert.equal(defaultKindName(env, { name: "data-env", summary: "" }, "environment.yml"), "data-env");
    assert.equal(defaultKindName(env, { summary: "" }, "environment.yml"), "environment");
    assert.equal(defaultKindName(ipynb, { summary: "" }, "Quarterly Report (v2).ipynb"), "quarterly-report-v2");
    assert.equal(defaultKindVersion(new Date("2026-11-30T09:05:07Z")), "2026.11.30.090507");
  });

  test("names.ts's rules, and the store key both ways", () => {
    const f = checkKindFile({ kind: env, channel: "acme", name: "data-env", version: "2026.11.30.090507", basename: "environment.yml" });
    assert.equal(kindKey(f), "acme/environments/data-env/2026.11.30.090507/environment.yml");
    assert.deepEqual(parseKindKey("acme", env, kindKey(f)), f);
    for (const key of ["acme/environments/data-env/1/x.ipynb", "acme/environments/Data/1/e.yml", "acme/environments/d/1/../e.yml", "acme/environments/d/e.yml", "acme/notebooks/d/1/e.yml"]) {
      assert.equal(parseKindKey("acme", env, key), null, key);
    }
    const bad: [Partial<Parameters<typeof checkKindFile>[0]>, RegExp][] = [
      [{ name: "MyEnv" }, /invalid environment name/],
      [{ version: "1 0" }, /invalid environment version/],
      [{ basename: "../e.yml" }, /invalid environment file name/],
      [{ basename: "e.ipynb" }, /is not an environment file/],
    ];
    for (const [change, why] of bad) assert.throws(() => checkKindFile({ ...f, ...change }), why, JSON.stringify(change));
  });
});
