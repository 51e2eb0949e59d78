// Scopes: every scope against every need, and how user input is parsed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SCOPES, NEEDS, DEFAULT_SCOPES, covers, parseScopes, type Need, type Scope } from "../../src/auth/scopes.js";
import { GateError } from "../../src/errors.js";

/** The needs each scope covers; every other need it must not cover. */
const COVERS: Record<Scope, Need[]> = {
  all: ["conda:download", "conda", "pypi:download", "pypi:upload", "api:read", "api:write", "api:modify-group"],
  repos: ["conda:download", "conda", "pypi:download", "pypi:upload"],
  conda: ["conda:download", "conda"],
  "conda:download": ["conda:download"],
  pypi: ["pypi:download", "pypi:upload"],
  "pypi:download": ["pypi:download"],
  "pypi:upload": ["pypi:upload"],
  api: ["api:read", "api:write", "api:modify-group"],
  "api:read": ["api:read"],
  "api:write": ["api:write", "api:read"],
  "api:modify-group": ["api:modify-group"],
};

describe("covers: every scope against every need", () => {
  assert.deepEqual(Object.keys(COVERS).sort(), [...SCOPES].sort());
  for (const scope of SCOPES) {
    for (const need of NEEDS) {
      const expected = COVERS[scope].includes(need);
      test(`${scope} ${expected ? "covers" : "does not cover"} ${need}`, () => assert.equal(covers([scope], need), expected));
    }
  }
});

describe("covers: sets of scopes", () => {
  const table: [string[], Need, boolean][] = [
    [[], "conda:download", false],
    [["bogus"], "conda:download", false],
    [["bogus", "conda"], "conda:download", true],
    [["CONDA"], "conda:download", false], // scopes are exact strings
    [["conda:download", "pypi:upload"], "pypi:upload", true],
    [["conda:download", "pypi:upload"], "pypi:download", false],
    [["api:read", "api:modify-group"], "api:write", false],
  ];
  for (const [granted, need, expected] of table) {
    test(`${JSON.stringify(granted)} → ${need}: ${expected}`, () => assert.equal(covers(granted, need), expected));
  }
});

describe("parseScopes", () => {
  const ok: [string | string[], Scope[]][] = [
    ["all", ["all"]],
    ["repos conda:download", ["repos", "conda:download"]],
    ["conda:download,pypi:download", ["conda:download", "pypi:download"]],
    ["  pypi:upload ,  conda\tapi:read\n", ["conda", "pypi:upload", "api:read"]],
    ["conda conda conda", ["conda"]],
    [["api:write", "conda pypi", "api:write"], ["conda", "pypi", "api:write"]],
    ["api:modify-group all", ["all", "api:modify-group"]], // canonical order
  ];
  for (const [input, expected] of ok) {
    test(`${JSON.stringify(input)} → ${expected.join(" ")}`, () => assert.deepEqual(parseScopes(input), expected));
  }

  const refused: [string | string[], RegExp][] = [
    ["", /no scope given/],
    [" , ", /no scope given/],
    [[], /no scope given/],
    ["conda:upload", /unknown scope "conda:upload"/],
    ["conda Conda", /unknown scope "Conda"/],
    ["repo", /unknown scope "repo"/],
    [["conda", "pypi:delete"], /unknown scope "pypi:delete"/],
    ["x".repeat(500), /unknown scope "x{40}…"/],
  ];
  for (const [input, message] of refused) {
    test(`refuses ${JSON.stringify(input).slice(0, 40)} with 400`, () => {
      assert.throws(
        () => parseScopes(input),
        (err: unknown) => err instanceof GateError && err.status === 400 && err.code === "bad_request" && message.test(err.message),
      );
    });
  }
});

describe("DEFAULT_SCOPES", () => {
  test("download only: conda and PyPI downloads, no upload, no API", () => {
    assert.deepEqual(parseScopes([...DEFAULT_SCOPES]), [...DEFAULT_SCOPES]);
    const expected: Record<Need, boolean> = {
      "conda:download": true,
      conda: false,
      "pypi:download": true,
      "pypi:upload": false,
      "api:read": false,
      "api:write": false,
      "api:modify-group": false,
    };
    for (const need of NEEDS) assert.equal(covers(DEFAULT_SCOPES, need), expected[need], need);
  });
});
