// Reading core metadata out of wheels and sdists, including archives built to hurt.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants as zlib, gzipSync } from "node:zlib";
import {
  DEFAULT_ARCHIVE_LIMITS,
  TarScanner,
  parseCoreMetadata,
  readDistMetadata,
  readSdistMetadata,
  readWheelMetadata,
} from "../../src/pypi/metadata.js";
import { isGateError } from "../../src/errors.js";
import { buildSdist, buildWheel, coreMetadataText } from "./fixtures.js";
import { writeTar, writeTarGz, writeZip } from "./wheel-fixture.js";

const METADATA = "Metadata-Version: 2.1\nName: acme\nVersion: 1.0\n";
const MiB = 1024 * 1024;

/** Asserts a 400 whose message contains `fragment`. */
async function rejects400(p: Promise<unknown>, fragment: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, new RegExp(fragment));
    return true;
  });
}

describe("parseCoreMetadata", () => {
  const cases: Array<[string, string, Partial<ReturnType<typeof parseCoreMetadata>> | RegExp]> = [
    ["minimal", METADATA, { metadataVersion: "2.1", name: "acme", version: "1.0", requiresDist: [] }],
    [
      "all fields used by the index",
      "Metadata-Version: 2.3\nName: Acme.Core\nVersion: 1.2.0\nSummary: A thing\nRequires-Python: >=3.8, <4\n" +
        "Requires-Dist: acme-util>=0.1\nRequires-Dist: rich; extra == \"cli\"\n\n# Title\n\nBody text.\n",
      {
        metadataVersion: "2.3",
        name: "Acme.Core",
        version: "1.2.0",
        summary: "A thing",
        requiresPython: ">=3.8, <4",
        requiresDist: ["acme-util>=0.1", 'rich; extra == "cli"'],
        description: "# Title\n\nBody text.\n",
      },
    ],
    [
      "CRLF lines, BOM, continuation lines and case-insensitive names",
      "\ufeffmetadata-version: 1.2\r\nNAME: acme\r\nVersion: 1.0\r\nSummary: a summary\r\n  that folds\r\n",
      { metadataVersion: "1.2", name: "acme", version: "1.0", summary: "a summary that folds", requiresDist: [] },
    ],
    [
      "Description header (metadata 1.x) keeps its lines",
      "Metadata-Version: 1.1\nName: acme\nVersion: 1.0\nDescription: first\n        |second\n",
      { description: "first\n        |second" },
    ],
    ["missing Name", "Metadata-Version: 2.1\nVersion: 1.0\n", /no Name/],
    ["missing Version", "Metadata-Version: 2.1\nName: acme\n", /no Version/],
    ["missing Metadata-Version", "Name: acme\nVersion: 1.0\n", /no Metadata-Version/],
    ["invalid name", "Metadata-Version: 2.1\nName: ../etc\nVersion: 1.0\n", /invalid project/],
    ["a body is not headers", "Metadata-Version: 2.1\n\nName: acme\nVersion: 1.0\n", /no Name/],
  ];
  for (const [label, text, expected] of cases) {
    test(label, () => {
      if (expected instanceof RegExp) {
        assert.throws(() => parseCoreMetadata(Buffer.from(text)), (err: unknown) => {
          assert.ok(isGateError(err) && err.status === 400);
          assert.match(err.message, expected);
          return true;
        });
      } else {
        const parsed = parseCoreMetadata(Buffer.from(text));
        for (const [k, v] of Object.entries(expected)) assert.deepEqual(parsed[k as keyof typeof parsed], v, k);
      }
    });
  }
});

describe("readWheelMetadata", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pkgate-wheel-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("returns METADATA byte for byte, from a buffer and from a path", async () => {
    const spec = { name: "Acme.Core", version: "1.2.0", requiresPython: ">=3.8", requiresDist: ["acme-util>=0.1"] };
    const wheel = buildWheel(spec);
    const expected = Buffer.from(coreMetadataText(spec));
    assert.deepEqual(await readWheelMetadata(wheel), expected);
    const path = join(dir, "acme_core-1.2.0-py3-none-any.whl");
    writeFileSync(path, wheel);
    assert.deepEqual(await readWheelMetadata(path), expected);
    assert.deepEqual(await readDistMetadata("acme_core-1.2.0-py3-none-any.whl", path), expected);
  });

  const refused: Array<[string, () => Buffer, string]> = [
    ["not a zip", () => Buffer.from("this is not a zip file at all, not even close........"), "not a valid zip"],
    ["empty zip without .dist-info", () => writeZip([{ name: "acme/__init__.py", data: "" }]), "no \\.dist-info"],
    [
      "two .dist-info directories",
      () => buildWheel({ name: "acme", version: "1.0", extraFiles: [{ name: "other-2.0.dist-info/METADATA", data: METADATA }] }),
      "exactly one",
    ],
    [
      ".dist-info without METADATA",
      () => writeZip([{ name: "acme-1.0.dist-info/WHEEL", data: "Wheel-Version: 1.0\n" }]),
      "no acme-1.0.dist-info/METADATA",
    ],
    [
      "METADATA over 1 MiB (a 2 MiB deflate bomb of ~2 KiB)",
      () => writeZip([{ name: "acme-1.0.dist-info/METADATA", data: Buffer.alloc(2 * MiB, 0x20) }]),
      "larger than 1048576",
    ],
    [
      "METADATA whose declared size lies (inflates past what it claims)",
      () => writeZip([{ name: "acme-1.0.dist-info/METADATA", data: Buffer.alloc(2 * MiB, 0x20), declaredSize: 100 }]),
      "not a valid zip|larger than",
    ],
    [
      "path traversal in a member name",
      () => writeZip([{ name: "../acme-1.0.dist-info/METADATA", data: METADATA }]),
      "not a valid zip",
    ],
  ];
  for (const [label, build, fragment] of refused) {
    test(`refuses: ${label}`, () => rejects400(readWheelMetadata(build()), fragment));
  }

  test("refuses an archive with more members than allowed", async () => {
    const wheel = buildWheel({ name: "acme", version: "1.0" });
    await rejects400(readWheelMetadata(wheel, { ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 3 }), "more than the 3 allowed");
  });

  test("reading a wheel is bounded in time too", async () => {
    const wheel = buildWheel({ name: "acme", version: "1.0" });
    await rejects400(readWheelMetadata(wheel, { ...DEFAULT_ARCHIVE_LIMITS, maxMillis: 0, millisPerMiB: 0 }), "the wheel takes longer than 0.0 s to decompress");
  });
});

/** A tar header declaring a member of `size` bytes (more than writeTar could hold in memory). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.from(writeTar([{ name, data: "" }]).subarray(0, 512));
  h.write(size.toString(8).padStart(11, "0") + "\0", 124, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return h;
}

/** A gzip bomb as an sdist: one member of `GiB` GiB of zeros, in gzip members of 16 MiB that
 * each shrink to ~16 KiB (so ~1 MB per GiB), then the PKG-INFO nobody should wait for. */
function gzipBomb(GiB: number): Buffer {
  const zeros = gzipSync(Buffer.alloc(16 * MiB), { level: zlib.Z_BEST_COMPRESSION });
  const size = GiB * 1024 * MiB;
  return Buffer.concat([
    gzipSync(tarHeader("acme-1.0/blob", size)),
    ...Array.from({ length: size / (16 * MiB) }, () => zeros),
    gzipSync(writeTar([{ name: "acme-1.0/PKG-INFO", data: METADATA }])),
  ]);
}

describe("decompression is bounded by time as well as by size", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pkgate-bomb-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the defaults allow about 2 s, plus 50 ms per stored MiB", () => {
    assert.equal(DEFAULT_ARCHIVE_LIMITS.maxMillis, 2000);
    assert.equal(DEFAULT_ARCHIVE_LIMITS.millisPerMiB, 50);
  });

  test("a gzip bomb (8 MB inflating to 8 GiB) is refused with a 400 that says why, whatever the size limit", async () => {
    const bomb = gzipBomb(8);
    assert.ok(bomb.length < 9 * MiB, `${bomb.length} bytes`);
    const path = join(dir, "acme-1.0.tar.gz");
    writeFileSync(path, bomb);
    const limits = { ...DEFAULT_ARCHIVE_LIMITS, maxUnpackedBytes: Number.MAX_SAFE_INTEGER };
    // 2 s + 50 ms for each of its 8 MiB: 2.4 s
    await rejects400(readDistMetadata("acme-1.0.tar.gz", path, limits), "the sdist takes longer than 2\\.4 s to decompress; refused as a likely compression bomb");
  });

  test("the allowance is the archive's to use, not a per-chunk one", async () => {
    await rejects400(readSdistMetadata(gzipBomb(1), { ...DEFAULT_ARCHIVE_LIMITS, maxUnpackedBytes: Number.MAX_SAFE_INTEGER, maxMillis: 100, millisPerMiB: 0 }), "longer than 0\\.1 s");
  });

  test("a zip sdist is bounded too", async () => {
    const sdist = writeZip([{ name: "acme-1.0/PKG-INFO", data: METADATA }]);
    await rejects400(readSdistMetadata(sdist, { ...DEFAULT_ARCHIVE_LIMITS, maxMillis: 0, millisPerMiB: 0 }), "the sdist takes longer than 0\\.0 s");
  });
});

describe("readSdistMetadata", () => {
  const pkgInfo = coreMetadataText({ name: "acme", version: "1.0" });

  test("returns PKG-INFO of a built sdist", async () => {
    const sdist = buildSdist({ name: "acme", version: "1.0", requiresDist: ["six"] });
    const raw = await readSdistMetadata(sdist);
    assert.deepEqual(parseCoreMetadata(raw).requiresDist, ["six"]);
    assert.equal(parseCoreMetadata(await readDistMetadata("acme-1.0.tar.gz", sdist)).name, "acme");
  });

  const found: Array<[string, () => Buffer]> = [
    ["after other members, ignoring a nested PKG-INFO", () =>
      writeTarGz([
        { name: "acme-1.0", data: "", type: "dir" },
        { name: "acme-1.0/src/acme.egg-info/PKG-INFO", data: "Name: wrong\n" },
        { name: "acme-1.0/setup.py", data: "x".repeat(5000) },
        { name: "acme-1.0/PKG-INFO", data: pkgInfo },
      ])],
    ["with a leading ./", () => writeTarGz([{ name: "./acme-1.0/PKG-INFO", data: pkgInfo }])],
    ["named through a pax header", () => writeTarGz([{ name: `${"d".repeat(120)}/PKG-INFO`, data: pkgInfo, pax: true }])],
    ["named through a GNU long name", () => writeTarGz([{ name: `${"d".repeat(120)}/PKG-INFO`, data: pkgInfo, gnuLongName: true }])],
    ["in a .zip sdist", () => writeZip([{ name: "acme-1.0/setup.py", data: "" }, { name: "acme-1.0/PKG-INFO", data: pkgInfo }])],
    ["in a multi-member gzip", () =>
      Buffer.concat([
        gzipSync(writeTar([{ name: "acme-1.0/a.py", data: "a" }]).subarray(0, 1024)),
        gzipSync(writeTar([{ name: "acme-1.0/PKG-INFO", data: pkgInfo }])),
      ])],
  ];
  for (const [label, build] of found) {
    test(`finds PKG-INFO ${label}`, async () => assert.equal((await readSdistMetadata(build())).toString(), pkgInfo));
  }

  const refused: Array<[string, () => Buffer, string, Partial<typeof DEFAULT_ARCHIVE_LIMITS>?]> = [
    ["neither gzip nor zip", () => Buffer.from("BZh91AY&SY not supported"), "neither a .tar.gz nor a .zip"],
    ["gzip of garbage", () => gzipSync(Buffer.alloc(2048, 0x41)), "not a valid tar"],
    ["truncated gzip", () => writeTarGz([{ name: "acme-1.0/PKG-INFO", data: pkgInfo }]).subarray(0, 30), "not a valid gzip"],
    ["no top-level PKG-INFO", () => writeTarGz([{ name: "acme-1.0/src/acme.egg-info/PKG-INFO", data: pkgInfo }]), "no <name>-<version>/PKG-INFO"],
    ["PKG-INFO over 1 MiB", () => writeTarGz([{ name: "acme-1.0/PKG-INFO", data: Buffer.alloc(MiB + 1, 0x20) }]), "larger than 1048576"],
    [
      "a gzip bomb before PKG-INFO",
      () => writeTarGz([{ name: "acme-1.0/blob", data: Buffer.alloc(8 * MiB) }, { name: "acme-1.0/PKG-INFO", data: pkgInfo }]),
      "larger than 4194304 bytes once decompressed",
      { maxUnpackedBytes: 4 * MiB },
    ],
    [
      "too many members",
      () => writeTarGz(Array.from({ length: 20 }, (_, i) => ({ name: `acme-1.0/f${i}`, data: "" }))),
      "more than 10 members",
      { maxEntries: 10 },
    ],
    ["two PKG-INFO in a zip", () => writeZip([{ name: "a-1.0/PKG-INFO", data: pkgInfo }, { name: "b-1.0/PKG-INFO", data: pkgInfo }]), "more than one"],
  ];
  for (const [label, build, fragment, limits] of refused) {
    test(`refuses: ${label}`, () => rejects400(readSdistMetadata(build(), { ...DEFAULT_ARCHIVE_LIMITS, ...limits }), fragment));
  }

  test("TarScanner finds the member whatever the chunk boundaries", () => {
    const tar = writeTar([
      { name: "acme-1.0/a", data: "x".repeat(700) },
      { name: `${"p".repeat(110)}/PKG-INFO`, data: pkgInfo, pax: true },
    ]);
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      const scanner = new TarScanner((p) => p.endsWith("/PKG-INFO"), DEFAULT_ARCHIVE_LIMITS);
      let found: Buffer | undefined;
      for (let off = 0; off < tar.length && !found; off += size) found = scanner.feed(tar.subarray(off, off + size));
      assert.equal(found?.toString(), pkgInfo, `chunk size ${size}`);
    }
  });
});
