// The path grammar as a table: every input and what it must parse to, or the status it
// must be refused with before anything touches the store.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseTarget } from "../../src/http/target.js";
import { GateError } from "../../src/errors.js";

const TOK = "pkg-abcDEF0123456789abcdefghijABCDEFGHIJ01";

const accepted: [string, string, Record<string, unknown>][] = [
  ["GET", "/acme/linux-64/repodata.json", { kind: "conda-index", channel: "acme", subdir: "linux-64", file: "repodata.json" }],
  ["GET", `/t/${TOK}/acme/noarch/repodata.json.zst`, { kind: "conda-index", pathToken: TOK, channel: "acme", subdir: "noarch", file: "repodata.json.zst" }],
  ["GET", "/acme/linux-64/repodata_shards.msgpack.zst", { kind: "conda-index", file: "repodata_shards.msgpack.zst" }],
  ["GET", "/acme/linux-64/current_repodata.json", { kind: "conda-index", file: "current_repodata.json" }],
  ["GET", "/acme/linux-64/repodata.json.bz2", { kind: "conda-index", file: "repodata.json.bz2" }],
  ["GET", "/acme/osx-arm64/repodata.jlap", { kind: "conda-jlap", subdir: "osx-arm64" }],
  ["GET", `/acme/linux-64/${"a".repeat(64)}.msgpack.zst`, { kind: "conda-shard", sha256: "a".repeat(64), file: `${"a".repeat(64)}.msgpack.zst` }],
  ["GET", `/acme/linux-64/shards/${"b".repeat(64)}.msgpack.zst`, { kind: "conda-shard", sha256: "b".repeat(64), file: `shards/${"b".repeat(64)}.msgpack.zst` }],
  ["GET", "/acme/linux-64/numpy-1.26.4-py312h1_0.conda", { kind: "conda-artifact", package: "numpy", file: "numpy-1.26.4-py312h1_0.conda" }],
  ["GET", "/acme/noarch/my-pkg-2.0-pyhd8ed1ab_0.tar.bz2", { kind: "conda-artifact", package: "my-pkg", subdir: "noarch" }],
  ["GET", "/acme/label/dev/linux-64/repodata.json", { kind: "conda-index", label: "dev", subdir: "linux-64" }],
  ["GET", "/acme/label/main/linux-64/repodata.json", { kind: "conda-index", label: undefined }],
  ["GET", "/a.b-c_d/label/Dev.2_x/noarch/repodata.json", { kind: "conda-index", channel: "a.b-c_d", label: "Dev.2_x" }],
  ["GET", `/${"a".repeat(64)}/linux-64/repodata.json`, { kind: "conda-index", channel: "a".repeat(64) }],
  ["GET", "/acme/linux-64/_openmp_mutex-4.5-2_gnu.tar.bz2", { kind: "conda-artifact", package: "_openmp_mutex" }],
  ["GET", "/acme/channeldata.json", { kind: "channeldata", channel: "acme" }],
  ["GET", "/acme/label/dev/channeldata.json", { kind: "channeldata", label: "dev" }],
  ["GET", "/acme/simple/", { kind: "pypi-root", channel: "acme" }],
  ["GET", `/t/${TOK}/acme/simple/requests/`, { kind: "pypi-project", project: "requests", normalized: "requests", pathToken: TOK }],
  ["GET", "/acme/simple/foo-bar/foo_bar-1.0-py3-none-any.whl", { kind: "pypi-file", file: "foo_bar-1.0-py3-none-any.whl", metadata: false }],
  ["GET", "/acme/simple/foo-bar/foo_bar-1.0-py3-none-any.whl.metadata", { kind: "pypi-file", file: "foo_bar-1.0-py3-none-any.whl", metadata: true }],
  ["POST", "/acme/", { kind: "pypi-upload", channel: "acme" }],
  ["POST", "/acme", { kind: "pypi-upload", channel: "acme" }],
  ["POST", `/t/${TOK}/acme/`, { kind: "pypi-upload", pathToken: TOK }],
  // under /conda/ (where conda sends an anaconda-client site's channels, token after the
  // prefix: Channel.url() in conda/models/channel.py) a channel parses as at the root
  ["GET", `/conda/t/${TOK}/acme/linux-64/repodata.json`, { kind: "conda-index", pathToken: TOK, channel: "acme", subdir: "linux-64", file: "repodata.json" }],
  ["GET", `/conda/t/${TOK}/acme/noarch/repodata_shards.msgpack.zst`, { kind: "conda-index", pathToken: TOK, channel: "acme", file: "repodata_shards.msgpack.zst" }],
  ["GET", `/conda/t/${TOK}/acme/label/dev/noarch/my-pkg-2.0-pyhd8ed1ab_0.tar.bz2`, { kind: "conda-artifact", pathToken: TOK, label: "dev", package: "my-pkg" }],
  ["GET", `/t/${TOK}/conda/acme/linux-64/repodata.json`, { kind: "conda-index", pathToken: TOK, channel: "acme", subdir: "linux-64" }],
  ["GET", "/conda/acme/noarch/repodata.json", { kind: "conda-index", pathToken: undefined, channel: "acme", subdir: "noarch" }],
  ["GET", "/conda/acme/channeldata.json", { kind: "channeldata", channel: "acme" }],
  ["GET", `/conda/t/${TOK}/acme/simple/requests/`, { kind: "pypi-project", pathToken: TOK, normalized: "requests" }],
  ["GET", "/conda/acme/simple/Foo_Bar", { kind: "redirect", location: "foo-bar/" }],
  // redirects are relative so the token and Basic credentials carry over
  ["GET", "/acme/simple", { kind: "redirect", location: "simple/" }],
  ["GET", "/acme/simple/Foo_Bar", { kind: "redirect", location: "foo-bar/" }],
  ["GET", "/acme/simple/Foo_Bar/", { kind: "redirect", location: "../foo-bar/" }],
  ["GET", "/acme/simple/foo-bar", { kind: "redirect", location: "foo-bar/" }],
];

const refused: [string, string, number][] = [
  ["GET", "/acme/../etc/passwd", 400],
  ["GET", "/acme/linux-64/%2e%2e/x.conda", 400],
  ["GET", "/acme/linux-64%2f..%2fsecret/repodata.json", 400],
  ["GET", "/acme/linux-64/repodata.json%00", 400],
  ["GET", "/acme/linux-64/a%5cb.conda", 400],
  ["GET", "/acme//linux-64/repodata.json", 400],
  ["GET", "/acme/linux-64/%E0%A4%A", 400],
  ["GET", `/acme/linux-64/${"x".repeat(300)}.conda`, 400],
  ["GET", `/${"a/".repeat(1100)}`, 400],
  ["GET", "/t/bad_token!/acme/linux-64/repodata.json", 400],
  ["GET", "/t/tok.en/acme/linux-64/repodata.json", 400],
  ["GET", "/t/", 404],
  ["GET", "/acme/linux-64/.cache/cache.db", 404],
  ["GET", "/.pkgate/tokens/x.json", 404],
  ["GET", "/acme/.pkgate", 404],
  ["GET", "/acme/linux-64/index.html", 404],
  ["GET", "/acme/rss.xml", 404],
  ["GET", "/acme/linux-64/", 404],
  ["GET", "/acme/", 404],
  ["GET", "/", 404],
  ["GET", "/ACME/linux-64/repodata.json", 404],
  ["GET", "/api/linux-64/repodata.json", 404],
  ["GET", "/acme/Linux-64/repodata.json", 404],
  ["GET", "/acme/linux-64/notapackage.zip", 404],
  ["GET", "/acme/linux-64/shards/notasha.msgpack.zst", 404],
  ["GET", "/acme/simple/foo/bar/baz", 404],
  ["GET", "/acme/simple/Foo/Foo-1.0.tar.gz", 404],
  ["GET", "/acme/simple/-bad-/", 404],
  // channels are account names (access/names.ts): reserved names and dot tricks are no channel
  ["GET", "/a..b/linux-64/repodata.json", 404],
  ["GET", "/acme./linux-64/repodata.json", 404],
  ["GET", "/simple/simple/", 404],
  ["GET", "/label/linux-64/repodata.json", 404],
  ["GET", `/${"a".repeat(65)}/linux-64/repodata.json`, 404],
  ["GET", "/acme/label/a..b/linux-64/repodata.json", 404],
  ["GET", "/acme/label/dev./linux-64/repodata.json", 404],
  ["GET", `/acme/label/${"d".repeat(65)}/linux-64/repodata.json`, 404],
  ["GET", "/acme/simple/_private/", 404],
  ["POST", "/acme/linux-64/x.conda", 405],
  // twine pointed at PyPI's /legacy/ or at the index: where uploads go, not a bare 404
  ["POST", "/acme/legacy/", 405],
  ["POST", "/acme/simple/", 405],
  // /conda/ is a prefix, never a channel (a reserved account name), and takes one token
  ["GET", "/conda/linux-64/repodata.json", 404],
  ["GET", "/conda/conda/acme/linux-64/repodata.json", 404],
  ["GET", `/t/${TOK}/conda/t/${TOK}/acme/linux-64/repodata.json`, 404],
  ["GET", `/conda/t/${TOK}/t/${TOK}/acme/linux-64/repodata.json`, 404],
  ["GET", "/conda/t/", 404],
  ["GET", "/conda/t/bad_token!/acme/linux-64/repodata.json", 400],
  ["GET", "/conda/", 404],
  ["GET", "/conda", 404],
];

describe("parseTarget", () => {
  for (const [method, path, want] of accepted) {
    test(`${method} ${path.slice(0, 80)}`, () => {
      const got = parseTarget(method, path) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `field ${k}`);
    });
  }
  for (const [method, path, status] of refused) {
    test(`${method} ${path.slice(0, 80)} → ${status}`, () => {
      assert.throws(
        () => parseTarget(method, path),
        (err: unknown) => err instanceof GateError && err.status === status,
      );
    });
  }
  // Refusals of paths that carry a token (malformed, or well-formed before a bad channel,
  // label, subdir or file): each is refused, and no message repeats the token.
  const withToken: [string, string, number][] = [
    ["secret_value", "/t/secret_value/acme/x", 400],
    ["secret.value", "/t/secret.value/acme/linux-64/repodata.json", 400],
    [TOK, `/t/${TOK}/ACME/linux-64/repodata.json`, 404],
    [TOK, `/t/${TOK}/a..b/linux-64/repodata.json`, 404],
    [TOK, `/t/${TOK}/acme/label/${TOK}x./linux-64/repodata.json`, 404],
    [TOK, `/t/${TOK}/acme/${TOK}/repodata.json`, 404],
    [TOK, `/t/${TOK}/acme/linux-64/${TOK}.zip`, 404],
    [TOK, `/t/${TOK}/acme/linux-64/%2e%2e/${TOK}`, 400],
    [TOK, `/t/${TOK}/acme/simple/-${TOK}-/`, 404],
    [TOK, `/t/${TOK}`, 404],
    ["secret_value", "/conda/t/secret_value/acme/x", 400],
    [TOK, `/conda/t/${TOK}/ACME/linux-64/repodata.json`, 404],
    [TOK, `/conda/t/${TOK}`, 404],
  ];
  for (const [secret, path, status] of withToken) {
    test(`${path.replace(secret, "<token>").slice(0, 80)} → ${status}, without the token in the message`, () => {
      assert.throws(
        () => parseTarget("GET", path),
        (err: unknown) => err instanceof GateError && err.status === status && !err.message.includes(secret) && !err.message.includes(secret.slice(4, 20)),
      );
    });
  }
});

import { redactPath } from "../../src/log.js";

describe("redactPath", () => {
  const cases: [string, string | undefined, string][] = [
    ["/t/pkg-secret/acme/linux-64/repodata.json", "abc", "/t/<id:abc>/acme/linux-64/repodata.json"],
    ["/conda/t/pkg-secret/acme/x", "abc", "/conda/t/<id:abc>/acme/x"],
    ["/t/pkg-secret", undefined, "/t/<token>"],
    ["/x/t/pkg-secret/t/other/y", "abc", "/x/t/<id:abc>/t/<id:abc>/y"],
    ["/acme/linux-64/repodata.json", undefined, "/acme/linux-64/repodata.json"],
  ];
  for (const [path, id, want] of cases) test(path, () => assert.equal(redactPath(path, id), want));
});
