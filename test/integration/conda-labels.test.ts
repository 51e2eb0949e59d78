// Labels and removals as users run them: real `pkgate` processes against a gateway (a stored
// login with the conda scope) and on its store (--local). A build uploaded to dev and copied
// to main installs with rattler from the channel's root; a move leaves dev's index; removing
// a version takes it out of every label's index and the store; `label --list` counts each
// label's files; a download-only token is refused with 403 naming the conda scope.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { MATRIX, type Stack } from "../harness/gateway.js";
import type { CliRun } from "../harness/cli-process.js";
import { buildLabelBuilds, settle, startPublishing, type Publishing } from "../harness/publishing.js";
import type { BuiltChannel, BuiltPackage } from "../fixtures/conda-channel.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];

let dir: string;
let built: BuiltChannel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-conda-labels-"));
  built = await buildLabelBuilds(dir, "lbl-lib", "lbl-app");
});
after(() => rm(dir, { recursive: true, force: true }));

const file = (subdir: string, f: string): BuiltPackage => built.packages.find((p) => p.filename === f && p.path.includes(`/${subdir}/`))!;

// each on the embedded store and cache, and on S3 and Redis (every process sharing them)
for (const kind of MATRIX) {
  describe(`pkgate label and remove of versions (${kind.store}+${kind.cache})`, () => {
    let p: Publishing;
    let s: Stack;
    let dl: string;
    let remote: (args: string[], config?: string) => Promise<CliRun>;
    let local: (args: string[]) => Promise<CliRun>;
    let download: string;

    before(async () => {
      p = await startPublishing(mkdtempSync(join(dir, `labels-${kind.store}-`)), { kind });
      ({ s, download: dl, remote, local } = p);
      download = p.logins.download;
    });
    after(() => p.stop());

    const solve = (names: string[], label = "") => simpleSolve(names, [`${s.url}/t/${dl}/acme${label}`], PLATFORMS, undefined);
    const indexed = (root: string, subdir: string) => p.indexed(root, subdir);

    test("uploaded to dev, copied to main: rattler finds it at the channel's root", async () => {
      const up = await remote(["upload", "--label", "dev", file("noarch", "lbl-lib-1.0-0.conda").path, file("linux-64", "lbl-lib-1.0-0.tar.bz2").path, file("noarch", "lbl-lib-2.0-0.conda").path, file("noarch", "lbl-app-1.0-0.conda").path]);
      assert.equal(up.code, 0, up.stderr);
      await assert.rejects(solve(["lbl-lib"]), "nothing at the root yet");
      const copy = await remote(["label", "--copy", "dev", "--to", "main", "acme/lbl-lib/1.0"]);
      assert.equal(copy.code, 0, copy.stderr);
      assert.equal(copy.stdout, "copied acme/linux-64/lbl-lib-1.0-0.tar.bz2 (label dev) to label main\ncopied acme/noarch/lbl-lib-1.0-0.conda (label dev) to label main\n");
      assert.deepEqual(await indexed("", "noarch"), ["lbl-lib-1.0-0.conda"]);
      assert.deepEqual(await indexed("", "linux-64"), ["lbl-lib-1.0-0.tar.bz2"]);
      assert.deepEqual(await indexed("label/dev/", "noarch"), ["lbl-app-1.0-0.conda", "lbl-lib-1.0-0.conda", "lbl-lib-2.0-0.conda"], "a copy leaves the source as it was");
      await settle();
      const solved = await solve(["lbl-lib"]);
      assert.deepEqual(solved.map((x) => [x.packageName, x.version]), [["lbl-lib", "1.0"]]);
      for (const rec of solved) assert.equal((await fetch(rec.url)).status, 200);
      // the same copy again: the files are there with the same bytes, nothing changes
      const again = await remote(["label", "--copy", "dev", "--to", "main", "acme/lbl-lib/1.0", "--json"]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(JSON.parse(again.stdout).skipped, ["linux-64/lbl-lib-1.0-0.tar.bz2", "noarch/lbl-lib-1.0-0.conda"]);
    });

    test("moved to main: gone from dev's index and store, found at the root", async () => {
      const move = await remote(["label", "--move", "dev", "--to", "main", "acme/lbl-app"]);
      assert.equal(move.code, 0, move.stderr);
      assert.equal(move.stdout, "moved acme/noarch/lbl-app-1.0-0.conda (label dev) to label main\n");
      assert.deepEqual(await indexed("label/dev/", "noarch"), ["lbl-lib-1.0-0.conda", "lbl-lib-2.0-0.conda"]);
      assert.equal(await s.rt.store.stat("acme/label/dev/noarch/lbl-app-1.0-0.conda"), null);
      assert.deepEqual(await indexed("", "noarch"), ["lbl-app-1.0-0.conda", "lbl-lib-1.0-0.conda"]);
      await settle();
      assert.deepEqual((await solve(["lbl-app"])).map((x) => x.packageName).sort(), ["lbl-app", "lbl-lib"]);
      await assert.rejects(solve(["lbl-app"], "/label/dev"));
      const nothing = await remote(["label", "--move", "dev", "--to", "main", "acme/lbl-app"]);
      assert.equal(nothing.code, 1);
      assert.match(nothing.stderr, /^pkgate label: acme\/lbl-app was not found in label dev\n$/);
    });

    test("label --list: each label and how many files it holds (both modes)", async () => {
      const list = await remote(["label", "--list", "acme"]);
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout, "dev\t3 files\tlinux-64: 1, noarch: 2\nmain\t3 files\tlinux-64: 1, noarch: 2\n");
      const json = await local(["label", "--list", "acme", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(
        (JSON.parse(json.stdout) as { labels: { label: string; files: number }[] }).labels.map((l) => [l.label, l.files]),
        [["dev", 3], ["main", 3]],
      );
    });

    test("a download-only token: 403 naming the conda scope, nothing changed", async () => {
      for (const args of [["label", "--copy", "dev", "--to", "main", "acme/lbl-lib/2.0"], ["label", "--list", "acme"], ["remove", "acme/lbl-lib/1.0"]]) {
        const r = await remote(args, download);
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /conda scope/, args.join(" "));
      }
      const res = await fetch(`${s.url}/api/channels/acme/conda/labels/dev/copy`, {
        method: "POST",
        headers: { authorization: `Bearer ${dl}`, "content-type": "application/json" },
        body: JSON.stringify({ to: "main", package: "lbl-lib", version: "2.0" }),
      });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { message: string }).message, /conda scope/);
      assert.deepEqual(await indexed("", "noarch"), ["lbl-app-1.0-0.conda", "lbl-lib-1.0-0.conda"]);
    });

    test("label --remove takes a version out of one label only", async () => {
      const r = await local(["label", "--remove", "dev", "acme/lbl-lib/2.0"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "removed acme/noarch/lbl-lib-2.0-0.conda (label dev)\n");
      assert.deepEqual(await indexed("label/dev/", "noarch"), ["lbl-lib-1.0-0.conda"]);
    });

    test("remove a version: out of every label's index and the store; rattler no longer finds it", async () => {
      const r = await remote(["remove", "acme/lbl-lib/1.0"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          "removed acme/linux-64/lbl-lib-1.0-0.tar.bz2 (label dev)",
          "removed acme/noarch/lbl-lib-1.0-0.conda (label dev)",
          "removed acme/linux-64/lbl-lib-1.0-0.tar.bz2 (label main)",
          "removed acme/noarch/lbl-lib-1.0-0.conda (label main)",
          "",
        ].join("\n"),
      );
      for (const root of ["", "label/dev/"]) {
        for (const subdir of ["noarch", "linux-64"]) assert.ok(!(await indexed(root, subdir)).some((f) => f.startsWith("lbl-lib-1.0")), `${root}${subdir}`);
        assert.equal(await s.rt.store.stat(`acme/${root}noarch/lbl-lib-1.0-0.conda`), null);
      }
      const channeldata = JSON.parse((await s.rt.store.get("acme/channeldata.json"))!.body.toString("utf8")) as { packages: Record<string, unknown> };
      assert.ok(!("lbl-lib" in channeldata.packages), "no build of lbl-lib is left at the root");
      // dev held nothing else: an emptied label is no label (its indexes gone, not listed)
      const left: string[] = [];
      for await (const o of s.rt.store.list("acme/label/dev/")) left.push(o.key);
      assert.deepEqual(left, [], "nothing is left under label/dev/");
      assert.equal((await remote(["label", "--list", "acme"])).stdout, "main\t1 file\tlinux-64: 0, noarch: 1\n");
      await settle();
      await assert.rejects(solve(["lbl-lib"]));
      const again = await remote(["remove", "acme/lbl-lib/1.0"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^pkgate remove: acme\/lbl-lib\/1\.0 was not found\n$/);
    });
  });
}
