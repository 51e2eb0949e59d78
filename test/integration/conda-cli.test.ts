// `pkgate upload`, `pkgate remove` and `pkgate index --conda` as users run them: real processes,
// on a gateway (a stored login holding a token with the conda scope) and on the store
// (--local). Packages uploaded by the command install with rattler through a download token,
// repeats answer as --skip and --force say, a junk file stops the command with the server's
// reason, a removed file is no longer found, and a rebuild of the indexes is byte-for-byte
// idempotent.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { MATRIX, type Stack } from "../harness/gateway.js";
import type { CliRun } from "../harness/cli-process.js";
import { startPublishing, type Publishing } from "../harness/publishing.js";
import { buildCondaChannel, type BuiltChannel, type BuiltPackage } from "../fixtures/conda-channel.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
/** Every document `index --conda` writes for a label's subdir (the .bz2 twins only where stored). */
const DOCUMENTS = ["repodata.json", "repodata.json.zst", "current_repodata.json", "repodata_from_packages.json", "repodata_shards.msgpack.zst"];

let dir: string;
let built: BuiltChannel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-conda-cli-"));
  built = await buildCondaChannel(join(dir, "fixture"), {
    channel: "acme",
    packages: [
      { name: "cli-app", version: "1.0", subdir: "noarch", format: ".conda", depends: ["cli-lib >=2"] },
      { name: "cli-lib", version: "2.0", subdir: "linux-64", format: ".tar.bz2" },
      { name: "cli-local", version: "1.0", subdir: "noarch", format: ".conda" },
      { name: "cli-extra", version: "1.0", subdir: "noarch", format: ".conda" },
    ],
  });
});
after(() => rm(dir, { recursive: true, force: true }));

const file = (f: string): BuiltPackage => built.packages.find((p) => p.filename === f)!;

// each on the embedded store and cache, and on S3 and Redis (every process sharing them)
for (const kind of MATRIX) {
  describe(`pkgate upload, remove and index --conda (${kind.store}+${kind.cache})`, () => {
    let p: Publishing;
    let s: Stack;
    let dl: string;
    /** A pkgate process logged in to the gateway with the conda-scoped token, with no store. */
    let remote: (args: string[], config?: string) => Promise<CliRun>;
    let bare: string;
    /** A pkgate process on the gateway's store, as its operator. */
    let local: (args: string[]) => Promise<CliRun>;

    before(async () => {
      p = await startPublishing(mkdtempSync(join(dir, `cli-${kind.store}-`)), { kind });
      ({ s, download: dl, remote, local } = p);
      bare = p.logins.bare;
    });
    after(() => p.stop());

    const solve = (names: string[]) => simpleSolve(names, [`${s.url}/t/${dl}/acme`], PLATFORMS, undefined);

    test("two packages uploaded (the channel defaults to the login's account) install with rattler", async () => {
      const r = await remote(["upload", file("cli-lib-2.0-0.tar.bz2").path, file("cli-app-1.0-0.conda").path]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "uploaded acme/linux-64/cli-lib-2.0-0.tar.bz2 (label main)\nuploaded acme/noarch/cli-app-1.0-0.conda (label main)\n");
      const solved = await solve(["cli-app"]);
      assert.deepEqual(solved.map((x) => x.packageName).sort(), ["cli-app", "cli-lib"]);
      for (const rec of solved) assert.equal((await fetch(rec.url)).status, 200);
      // a token with the conda scope alone cannot read whose it is: the channel must be named
      const unnamed = await remote(["upload", file("cli-extra-1.0-0.conda").path], bare);
      assert.equal(unnamed.code, 2);
      assert.match(unnamed.stderr, /^pkgate upload: name the channel: --channel CHANNEL \(.*api:read/);
    });

    test("the same file again: exit 1 saying --force; --skip leaves it; --force replaces it; --json", async () => {
      const p = file("cli-app-1.0-0.conda").path;
      const again = await remote(["upload", p, "--channel", "acme"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^pkgate upload: .*cli-app-1\.0-0\.conda: acme\/noarch\/cli-app-1\.0-0\.conda already exists; upload with --force .*\n$/);
      const skip = await remote(["upload", p, "--channel", "acme", "--skip"]);
      assert.equal(skip.code, 0, skip.stderr);
      assert.equal(skip.stdout, "skipped acme/noarch/cli-app-1.0-0.conda (already there)\n");
      const force = await remote(["upload", p, "--channel", "acme", "--force", "--json"]);
      assert.equal(force.code, 0, force.stderr);
      const [answer] = JSON.parse(force.stdout) as { channel: string; label: string; published: string[]; record: { name: string } }[];
      assert.deepEqual([answer!.channel, answer!.label, answer!.published, answer!.record.name], ["acme", "main", ["noarch/cli-app-1.0-0.conda"], "cli-app"]);
      const both = await remote(["upload", p, "--force", "--skip"]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /^pkgate upload: give only one of --force or --skip/);
    });

    test("a junk file: exit 1 with the server's reason; the files after it are not uploaded", async () => {
      const junk = join(dir, "junk-1.0-0.conda");
      writeFileSync(junk, Buffer.alloc(64 * 1024, 7));
      const r = await remote(["upload", junk, file("cli-extra-1.0-0.conda").path, "--channel", "acme"], bare);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^pkgate upload: .*junk-1\.0-0\.conda: .*(zip|conda|format)/i);
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
      for await (const o of s.rt.store.list("acme/")) assert.ok(!/junk|cli-extra/.test(o.key), o.key);
      const missing = await remote(["upload", join(dir, "nothing-1.0-0.conda")]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /nothing-1\.0-0\.conda: no such file/);
    });

    test("remove: the file leaves the indexes and rattler no longer finds it; a second time: exit 1", async () => {
      const r = await remote(["remove", "acme/noarch/cli-app-1.0-0.conda"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "removed acme/noarch/cli-app-1.0-0.conda (label main)\n");
      assert.equal(await s.rt.store.stat("acme/noarch/cli-app-1.0-0.conda"), null);
      // the gateway re-checks its hot index objects once a second
      await new Promise((ok) => setTimeout(ok, 1100));
      await assert.rejects(solve(["cli-app"]), /cli-app|cannot be (installed|solved)|no candidates|not find/i);
      assert.deepEqual((await solve(["cli-lib"])).map((x) => x.packageName), ["cli-lib"]);
      const again = await remote(["remove", "acme/noarch/cli-app-1.0-0.conda"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^pkgate remove: acme\/noarch\/cli-app-1\.0-0\.conda was not found\n$/);
      const bad = await remote(["remove", "acme/cli-app-1.0-0.conda"]);
      assert.equal(bad.code, 2);
    });

    test("on the store: upload --local needs --channel, then publishes; index --conda rewrites the same bytes", async () => {
      const p = file("cli-local-1.0-0.conda").path;
      const noChannel = await local(["upload", p, "--local"]);
      assert.equal(noChannel.code, 2);
      assert.match(noChannel.stderr, /^pkgate upload: on the store, name the channel: --channel CHANNEL/);
      const up = await local(["upload", p, "--local", "--channel", "acme", "--label", "dev"]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout, "uploaded acme/noarch/cli-local-1.0-0.conda (label dev)\n");
      assert.ok(await s.rt.store.stat("acme/label/dev/noarch/cli-local-1.0-0.conda"));

      const keys = ["channeldata.json", "label/dev/channeldata.json", ...["noarch", "linux-64", "label/dev/noarch"].flatMap((d) => DOCUMENTS.map((x) => `${d}/${x}`))];
      const snapshot = async () => Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await s.rt.store.get(`acme/${k}`))?.body.toString("base64") ?? null])));
      const published = await snapshot();
      assert.ok(published["noarch/repodata.json"] && published["linux-64/repodata.json"] && published["label/dev/noarch/repodata.json"]);

      const first = await local(["index", "--conda", "acme"]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^rebuilt the conda indexes of acme/);
      assert.match(first.stdout, /^dev\tnoarch\t1 package$/m);
      assert.match(first.stdout, /^main\tlinux-64\t1 package$/m);
      assert.match(first.stdout, /^main\tnoarch\t0 packages$/m);
      const rebuilt = await snapshot();
      for (const k of keys) assert.equal(rebuilt[k], published[k], `${k}: the rebuild writes what publishing wrote`);

      const second = await local(["index", "--conda", "acme", "--json"]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(JSON.parse(second.stdout).labels.map((l: { label: string }) => l.label), ["dev", "main"]);
      assert.deepEqual(await snapshot(), rebuilt, "a second rebuild writes the same bytes");
    });
  });
}

describe("MAX_CONDA_UPLOAD", () => {
  test("a gateway with a small limit refuses a larger package by its size, naming the variable", async () => {
    const p = file("cli-app-1.0-0.conda");
    const limit = 1024;
    assert.ok(p.size > limit, `the fixture is larger than ${limit} bytes`);
    const limited = await startPublishing(mkdtempSync(join(dir, "limit-")), { env: { MAX_CONDA_UPLOAD: String(limit) } });
    try {
      const refused = await limited.remote(["upload", p.path, "--channel", "acme"]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`larger than the ${limit} bytes this gateway accepts \\(MAX_CONDA_UPLOAD\\)`));
      // a package far larger than the limit: the answer comes while the client is still
      // sending, and reaches it every time (it printed EPIPE one time in three before the
      // gateway lingered on such connections: http/linger.ts)
      const big = join(mkdtempSync(join(dir, "big-")), "big-1.0-0.conda");
      const fd = openSync(big, "w");
      ftruncateSync(fd, 300 * 1024 * 1024);
      closeSync(fd);
      for (let i = 0; i < 6; i++) {
        const r = await limited.remote(["upload", big, "--channel", "acme"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`big-1\\.0-0\\.conda is larger than the ${limit} bytes this gateway accepts \\(MAX_CONDA_UPLOAD\\)`), `try ${i}: ${r.stderr}`);
      }
    } finally {
      await limited.stop();
    }
  });
});
