// The fixture distributions are real: pip installs the wheels (with a dependency between
// them) from a plain directory, offline, and the sdist carries what pip's tools read.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseCoreMetadata, readSdistMetadata, readWheelMetadata } from "../../src/pypi/metadata.js";
import { parseDistFilename } from "../../src/pypi/names.js";
import { buildSdist, buildWheel, sdistFilename, wheelFilename } from "./fixtures.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pkgate-fixtures-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("file names parse back to the spec", () => {
  assert.deepEqual(parseDistFilename(wheelFilename("Acme.Core", "1.2.0")), {
    name: "acme-core",
    version: "1.2.0",
    kind: "wheel",
    pythonTag: "py3",
    abiTag: "none",
    platformTag: "any",
  });
  assert.deepEqual(parseDistFilename(sdistFilename("Acme.Core", "1.2.0")), { name: "acme-core", version: "1.2.0", kind: "sdist", extension: ".tar.gz" });
});

test("pip installs a fixture wheel and its fixture dependency from a directory", async () => {
  const links = join(dir, "links");
  const target = join(dir, "target");
  rmSync(links, { recursive: true, force: true });
  mkdirSync(links);
  writeFileSync(join(links, wheelFilename("Acme.Core", "1.2.0")), buildWheel({ name: "Acme.Core", version: "1.2.0", requiresDist: ["acme-util>=0.1"] }));
  writeFileSync(join(links, wheelFilename("acme-util", "0.1")), buildWheel({ name: "acme-util", version: "0.1" }));
  writeFileSync(join(links, sdistFilename("Acme.Core", "1.2.0")), buildSdist({ name: "Acme.Core", version: "1.2.0" }));

  await run("python3", ["-m", "pip", "install", "--quiet", "--no-index", "--only-binary", ":all:", "--find-links", links, "--target", target, "acme-core"], {
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" },
    timeout: 120_000,
  });
  assert.deepEqual(readdirSync(target).sort(), ["acme_core", "acme_core-1.2.0.dist-info", "acme_util", "acme_util-0.1.dist-info"]);
  const { stdout } = await run("python3", ["-c", "import acme_core, acme_util; print(acme_core.__version__, acme_util.__version__)"], {
    env: { ...process.env, PYTHONPATH: target },
  });
  assert.equal(stdout.trim(), "1.2.0 0.1");
});

test("the metadata readers agree with the spec for both kinds", async () => {
  const spec = { name: "Acme.Core", version: "1.2.0", requiresPython: ">=3.9", requiresDist: ["six"] };
  for (const raw of [await readWheelMetadata(buildWheel(spec)), await readSdistMetadata(buildSdist(spec))]) {
    const m = parseCoreMetadata(raw);
    assert.deepEqual([m.name, m.version, m.requiresPython, m.requiresDist], ["Acme.Core", "1.2.0", ">=3.9", ["six"]]);
  }
});
