import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { isCondaSubdir, parseCondaFilename } from "../../src/conda/filename.js";

describe("parseCondaFilename", () => {
  const cases: Array<[string, ReturnType<typeof parseCondaFilename>]> = [
    ["numpy-1.26.4-py312h8753938_0.conda", { name: "numpy", version: "1.26.4", build: "py312h8753938_0", ext: ".conda" }],
    ["python-3.12.1-hab00c5b_1_cpython.tar.bz2", { name: "python", version: "3.12.1", build: "hab00c5b_1_cpython", ext: ".tar.bz2" }],
    ["ca-certificates-2024.2.2-hbcca054_0.conda", { name: "ca-certificates", version: "2024.2.2", build: "hbcca054_0", ext: ".conda" }],
    ["_libgcc_mutex-0.1-conda_forge.tar.bz2", { name: "_libgcc_mutex", version: "0.1", build: "conda_forge", ext: ".tar.bz2" }],
    ["r-base-4.3.2-hb8ee39d_2.conda", { name: "r-base", version: "4.3.2", build: "hb8ee39d_2", ext: ".conda" }],
    ["ruamel.yaml-0.18.5-py311h459d7ec_0.conda", { name: "ruamel.yaml", version: "0.18.5", build: "py311h459d7ec_0", ext: ".conda" }],
    ["foo-1!2.0+local-0.conda", { name: "foo", version: "1!2.0+local", build: "0", ext: ".conda" }],
    ["foo-bar-baz-1.0-0.conda", { name: "foo-bar-baz", version: "1.0", build: "0", ext: ".conda" }],
    // rejected
    ["numpy-1.26.4-py312_0.whl", null],
    ["numpy-1.26.4-py312_0.tar.gz", null],
    ["numpy-1.26.4.conda", null],
    ["numpy.conda", null],
    ["-1.0-0.conda", null],
    ["foo--0.conda", null],
    ["foo-1.0-.conda", null],
    ["Foo-1.0-0.conda", null],
    ["foo bar-1.0-0.conda", null],
    ["../foo-1.0-0.conda", null],
    ["foo/bar-1.0-0.conda", null],
    ["foo-1.0-0.conda.sig", null],
    ["foo-1 0-0.conda", null],
    [".conda", null],
    ["", null],
  ];
  for (const [file, expected] of cases) {
    test(JSON.stringify(file), () => assert.deepEqual(parseCondaFilename(file), expected));
  }
});

describe("isCondaSubdir", () => {
  const cases: Array<[string, boolean]> = [
    ["noarch", true],
    ["linux-64", true],
    ["linux-aarch64", true],
    ["linux-ppc64le", true],
    ["osx-arm64", true],
    ["win-64", true],
    ["emscripten-wasm32", true],
    ["wasi-wasm32", true],
    ["zos-z", true],
    ["linux_64", false],
    ["Linux-64", false],
    ["linux-", false],
    ["-64", false],
    ["linux-64-extra", false],
    ["repodata.json", false],
    ["..", false],
    ["", false],
  ];
  for (const [s, expected] of cases) {
    test(JSON.stringify(s), () => assert.equal(isCondaSubdir(s), expected));
  }
});
