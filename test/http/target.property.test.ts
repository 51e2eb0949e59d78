// The path grammar as properties over thousands of generated paths (target.test.ts holds the
// table of named cases): whatever arrives, parseTarget answers a Target, a redirect or a
// GateError, never another exception; what it accepts names a valid channel and nothing
// hidden; the tricks that make a segment mean something else are always refused; and a path
// built from valid parts, however it is percent-encoded, parses back to those parts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseTarget, type Target, type Redirect } from "../../src/http/target.js";
import { GateError } from "../../src/errors.js";
import { isAccountName, isLabelName, RESERVED_ACCOUNT_NAMES } from "../../src/access/names.js";
import { normalizeProjectName } from "../../src/pypi/names.js";

const RUNS = 3000;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get"];

const INDEX_FILES = [
  "repodata.json",
  "repodata.json.zst",
  "repodata.json.bz2",
  "current_repodata.json",
  "current_repodata.json.zst",
  "repodata_from_packages.json",
  "repodata_from_packages.json.zst",
  "repodata_shards.msgpack.zst",
] as const;

// ---- valid parts ---------------------------------------------------------------------------

const token = fc.stringMatching(/^[A-Za-z0-9-]{1,128}$/);
const channel = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}(\.[a-z0-9_-]{1,12}){0,3}$/).filter(isAccountName);
const label = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,12}(\.[A-Za-z0-9_-]{1,12}){0,2}$/).filter((l) => isLabelName(l) && l !== "main");
const subdir = fc.oneof(fc.constant("noarch"), fc.stringMatching(/^[a-z0-9]{1,8}-[a-z0-9_]{1,8}$/));
const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
const condaFile = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,20}$/),
    fc.stringMatching(/^[A-Za-z0-9_.+!]{1,10}$/),
    fc.stringMatching(/^[A-Za-z0-9_.+]{1,12}$/),
    fc.constantFrom(".conda", ".tar.bz2"),
  )
  .map(([name, version, build, ext]) => ({ name, file: `${name}-${version}-${build}${ext}` }));
/** A normalized PyPI project name (PEP 503). */
const project = fc.stringMatching(/^[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}$/);
/** A valid project name (PEP 508) that is not normalized: upper case, '_', '.', runs of them. */
const unnormalized = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?$/).filter((p) => normalizeProjectName(p) !== p);
/** A distribution file name as the path carries it: anything safe, never hidden. */
const distFile = fc.stringMatching(/^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,40}$/).filter((f) => !f.endsWith(".metadata"));

interface Built {
  method: string;
  segments: string[];
  want: Record<string, unknown>;
}

/** Every kind of path the grammar knows, as segments and the Target it must parse to. */
const built: fc.Arbitrary<Built> = fc
  .record({
    tok: fc.option(token, { nil: undefined }),
    channel,
    label: fc.option(fc.oneof(label, fc.constant("main")), { nil: undefined }),
    subdir,
    index: fc.constantFrom(...INDEX_FILES),
    sha,
    conda: condaFile,
    project,
    dist: distFile,
    metadata: fc.boolean(),
    shardsFolder: fc.boolean(),
    slash: fc.boolean(),
    kind: fc.constantFrom("conda-index", "conda-jlap", "conda-shard", "conda-artifact", "channeldata", "pypi-root", "pypi-project", "pypi-file", "pypi-upload"),
  })
  .map((p) => {
    const head = p.tok === undefined ? [] : ["t", p.tok];
    const base = { pathToken: p.tok, channel: p.channel };
    const labelled = p.label === undefined ? [] : ["label", p.label];
    const labelWant = p.label === "main" ? undefined : p.label;
    const at = (rest: string[], want: Record<string, unknown>, method = "GET"): Built => ({ method, segments: [...head, p.channel, ...rest], want: { ...base, ...want } });
    switch (p.kind) {
      case "conda-index":
        return at([...labelled, p.subdir, p.index], { kind: "conda-index", label: labelWant, subdir: p.subdir, file: p.index });
      case "conda-jlap":
        return at([...labelled, p.subdir, "repodata.jlap"], { kind: "conda-jlap", label: labelWant, subdir: p.subdir });
      case "conda-shard": {
        const file = p.shardsFolder ? `shards/${p.sha}.msgpack.zst` : `${p.sha}.msgpack.zst`;
        return at([...labelled, p.subdir, ...file.split("/")], { kind: "conda-shard", label: labelWant, subdir: p.subdir, file, sha256: p.sha });
      }
      case "conda-artifact":
        return at([...labelled, p.subdir, p.conda.file], { kind: "conda-artifact", label: labelWant, subdir: p.subdir, file: p.conda.file, package: p.conda.name });
      case "channeldata":
        return at([...labelled, "channeldata.json"], { kind: "channeldata", label: labelWant });
      case "pypi-root":
        return at(["simple", ""], { kind: "pypi-root" });
      case "pypi-project":
        return at(["simple", p.project, ""], { kind: "pypi-project", project: p.project, normalized: p.project });
      case "pypi-file":
        return at(["simple", p.project, p.metadata ? `${p.dist}.metadata` : p.dist], { kind: "pypi-file", project: p.project, normalized: p.project, file: p.dist, metadata: p.metadata });
      case "pypi-upload":
        return at(p.slash ? [""] : [], { kind: "pypi-upload" }, "POST");
    }
  });

// ---- writing a path ------------------------------------------------------------------------

/** Percent-encodes some characters of a segment (upper- or lower-case hex), as a client or a
 * proxy may: the path still means the same. */
const encoder = fc.array(fc.nat(9), { minLength: 1, maxLength: 64 }).map((dice) => {
  const encode = (segment: string) => {
    let i = 0;
    return [...segment]
      .map((c) => {
        const d = dice[i++ % dice.length]!;
        if (d > 1) return c;
        const hex = [...Buffer.from(c)].map((b) => b.toString(16).padStart(2, "0")).map((h) => (d === 0 ? h.toUpperCase() : h));
        return hex.map((h) => `%${h}`).join("");
      })
      .join("");
  };
  // a counterexample shows which characters were encoded (0: upper-case hex, 1: lower-case)
  return Object.assign(encode, { [fc.toStringMethod]: () => `encode(${dice.join("")})` });
});
const pathOf = (segments: string[], encode: (s: string) => string = (s) => s) => `/${segments.map(encode).join("/")}`;

/** Fields without undefined values, for comparison. */
const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function parse(method: string, path: string): Target | Redirect | GateError {
  try {
    return parseTarget(method, path);
  } catch (err) {
    if (err instanceof GateError) return err;
    throw new Error(`parseTarget(${JSON.stringify(method)}, ${JSON.stringify(path.slice(0, 200))}) threw ${String(err)}`);
  }
}

// ---- hostile paths -------------------------------------------------------------------------

const PIECES = [
  "t", "acme", "a..b", "label", "main", "dev", "simple", "linux-64", "noarch", "Linux-64", "repodata.json", "repodata.jlap", "channeldata.json",
  "shards", "a".repeat(64) + ".msgpack.zst", "numpy-1.0-0.conda", "x-1-0.tar.bz2", ".", "..", "", "%2e", "%2E%2e", "%2f", "%5C", "%00", "%", "%zz",
  "%e0%a4%a", "%c0%ae", "%ed%a0%80", ".cache", ".pkgate", "Foo_Bar", "foo-bar", "x.whl.metadata", ".metadata", "\\", "\u0000", "é", "%C3%A9", "😀",
  "pkg-abc", "api", "..%2f", "%74", "T", "a".repeat(256), ...RESERVED_ACCOUNT_NAMES,
];
const hostilePath = fc.oneof(
  { arbitrary: fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 8 })), { maxLength: 9 }).map((s) => `/${s.join("/")}`), weight: 6 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 300 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 100 }).map((s) => `/${s}`), weight: 2 },
  { arbitrary: fc.integer({ min: 2000, max: 2100 }).map((n) => `/${"a/".repeat(n / 2)}`), weight: 1 },
);

/** Every string a Target holds that names something in the store. */
function names(t: Target): string[] {
  const out: string[] = [t.channel];
  if ("label" in t && t.label !== undefined) out.push(t.label);
  if ("subdir" in t) out.push(t.subdir);
  if ("file" in t) out.push(...t.file.split("/"));
  if ("project" in t) out.push(t.project, t.normalized);
  if ("package" in t) out.push(t.package);
  return out;
}

describe("parseTarget, as properties", () => {
  test("whatever the path, the answer is a Target, a redirect or a GateError; a Target names a valid channel and nothing hidden", () => {
    let targets = 0;
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), fc.oneof(hostilePath, fc.tuple(built, encoder).map(([b, enc]) => pathOf(b.segments, enc))), (method, path) => {
        const got = parse(method, path);
        if (got instanceof GateError) {
          assert.ok([400, 404, 405].includes(got.status), `${path}: ${got.status}`);
          return;
        }
        if (got.kind === "redirect") {
          // relative, one level at most, never to another host or an absolute path
          assert.match(got.location, /^(\.\.\/)?[A-Za-z0-9%._-]*\/$/, `${path} → ${got.location}`);
          return;
        }
        targets++;
        assert.ok(isAccountName(got.channel), `${path}: channel ${JSON.stringify(got.channel)}`);
        for (const name of names(got)) {
          assert.ok(!name.startsWith("."), `${path}: ${JSON.stringify(name)} starts with '.'`);
          assert.ok(name !== "" && !/[\\/\u0000-\u001f\u007f]/.test(name), `${path}: ${JSON.stringify(name)}`);
        }
        if (got.pathToken !== undefined) assert.match(got.pathToken, /^[A-Za-z0-9-]{1,128}$/);
      }),
      { numRuns: RUNS * 2 },
    );
    assert.ok(targets > RUNS / 4, `only ${targets} paths parsed: the generator misses the grammar`);
  });

  test("a path built from valid parts parses back to them, however it is percent-encoded", () => {
    fc.assert(
      fc.property(built, encoder, fc.boolean(), (b, encode, encoded) => {
        const path = pathOf(b.segments, encoded ? encode : undefined);
        const got = parse(b.method, path);
        assert.ok(!(got instanceof GateError), `${path}: ${got instanceof GateError ? got.message : ""}`);
        assert.deepEqual(defined(got), defined(b.want), path);
      }),
      { numRuns: RUNS },
    );
  });

  test("a project name that is not normalized redirects to its normalized name", () => {
    fc.assert(
      fc.property(channel, unnormalized, fc.boolean(), (ch, p, slash) => {
        const got = parse("GET", `/${ch}/simple/${encodeURIComponent(p)}${slash ? "/" : ""}`);
        const n = normalizeProjectName(p);
        assert.deepEqual(got, { kind: "redirect", location: slash ? `../${n}/` : `${n}/` }, p);
        // its files are not served under the unnormalized name
        assert.ok(parse("GET", `/${ch}/simple/${p}/${p}-1.0.tar.gz`) instanceof GateError);
      }),
      { numRuns: RUNS },
    );
  });

  const DOT_SEGMENTS = [".", "..", "%2e", "%2E", "%2e%2e", ".%2E", "%2E.", "%2e%2E"];
  const INSIDE = ["%2f", "%2F", "%5c", "%5C", "%00", "\\", "%0a", "%0D", "%09", "%1f", "%7F", "%5c%5c"];
  test("dot-segments, encoded slashes and backslashes, NUL and control characters are always refused (400)", () => {
    fc.assert(
      fc.property(
        built,
        encoder,
        fc.nat(),
        fc.nat(),
        fc.oneof(fc.constantFrom(...DOT_SEGMENTS).map((s) => ({ replace: s })), fc.constantFrom(...INSIDE).map((s) => ({ insert: s }))),
        (b, encode, which, where, trick) => {
          const segments = b.segments.map(encode);
          const i = which % segments.length;
          if ("replace" in trick) segments[i] = trick.replace;
          else segments[i] = segments[i]!.slice(0, where % (segments[i]!.length + 1)) + trick.insert + segments[i]!.slice(where % (segments[i]!.length + 1));
          const path = `/${segments.join("/")}`;
          const got = parse(b.method, path);
          assert.ok(got instanceof GateError && got.status === 400, `${path} was not refused with 400: ${JSON.stringify(got instanceof GateError ? got.status : got)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("a hidden segment (a name starting with '.') anywhere is never served", () => {
    fc.assert(
      fc.property(built, fc.nat(), fc.stringMatching(/^\.[A-Za-z0-9_.-]{1,12}$/).filter((s) => s !== ".." ), (b, which, hidden) => {
        const segments = [...b.segments];
        segments[which % segments.length] = hidden;
        const got = parse(b.method, pathOf(segments));
        assert.ok(got instanceof GateError, `${pathOf(segments)} parsed to ${JSON.stringify(got)}`);
      }),
      { numRuns: RUNS },
    );
  });
});
