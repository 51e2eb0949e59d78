import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { filterChanneldata } from "../../src/conda/channeldata.js";

const entry = (name: string) => ({ description: `the ${name} "package" {}`, subdirs: ["linux-64", "noarch"], version: "1.0", home: "https://example.org/é" });
const doc = {
  channeldata_version: 1,
  packages: { foo: entry("foo"), "foo-bar": entry("foo-bar"), zlib: entry("zlib") },
  subdirs: ["linux-64", "noarch"],
};

describe("filterChanneldata", () => {
  const cases: Array<[string, string[], string[] | null]> = [
    ["nothing hidden → null", [], null],
    ["unknown name → null", ["numpy"], null],
    ["one hidden, its prefix sibling kept", ["foo"], ["foo-bar", "zlib"]],
    ["the longer name hidden", ["foo-bar"], ["foo", "zlib"]],
    ["all hidden", ["foo", "foo-bar", "zlib"], []],
  ];
  for (const [why, hidden, expected] of cases) {
    for (const indent of [0, 2]) {
      test(`${why} (indent ${indent})`, () => {
        const out = filterChanneldata(Buffer.from(JSON.stringify(doc, null, indent)), (n) => !hidden.includes(n));
        if (expected === null) return assert.equal(out, null);
        const want = { ...doc, packages: Object.fromEntries(expected.map((n) => [n, entry(n)])) };
        assert.equal(out!.toString(), JSON.stringify(want, null, indent));
      });
    }
  }
  test("an escaped package name is read as JSON reads it", () => {
    const out = filterChanneldata(Buffer.from('{"packages":{"f\\u006fo":{},"bar":{}}}'), (n) => n !== "foo");
    assert.equal(out!.toString(), '{"packages":{"bar":{}}}');
  });
});
