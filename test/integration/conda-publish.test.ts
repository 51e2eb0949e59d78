// Publishing conda packages over HTTP (POST/DELETE /api/channels/{channel}/conda) against a
// running gateway, on each store and cache: cph-built packages uploaded with a conda-scoped
// token install with rattler through a download token; repeats, refusals and scopes answer as
// specified; 20 concurrent uploads through two gateways lose nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { lastLine, MATRIX, startStack, type Stack } from "../harness/gateway.js";
import { buildCondaChannel, type BuiltChannel, type BuiltPackage } from "../fixtures/conda-channel.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
let dir: string;
let built: BuiltChannel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pkgate-conda-publish-"));
  built = await buildCondaChannel(join(dir, "fixture"), {
    channel: "acme",
    packages: [
      { name: "up-app", version: "1.0", subdir: "noarch", format: ".conda", depends: ["up-lib >=2"] },
      { name: "up-lib", version: "2.0", subdir: "linux-64", format: ".tar.bz2" },
      ...Array.from({ length: 20 }, (_, i) => ({ name: `burst-${i}`, version: "1.0", subdir: "noarch", format: ".conda" as const })),
    ],
  });
});
after(() => rm(dir, { recursive: true, force: true }));

const named = (f: string): BuiltPackage => built.packages.find((p) => p.filename === f)!;

async function upload(url: string, token: string, p: { filename: string; path?: string; bytes?: Buffer }, query = ""): Promise<Response> {
  return fetch(`${url}/api/channels/acme/conda?filename=${encodeURIComponent(p.filename)}${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body: new Uint8Array(p.bytes ?? readFileSync(p.path!)),
  });
}

for (const kind of MATRIX) {
  describe(`conda publishing (${kind.store} + ${kind.cache})`, () => {
    let s: Stack;
    let up: string;
    let dl: string;
    before(async () => {
      s = await startStack(kind);
      await s.cli(["org", "--create", "acme", "--adopt"]);
      await s.cli(["package", "--private", "acme/up-app"]);
      up = lastLine((await s.cli(["auth", "--create", "--name", "ci-upload", "--scopes", "conda", "--org", "acme"])).stdout);
      dl = lastLine((await s.cli(["auth", "--create", "--name", "ci-download", "--scopes", "conda:download", "--org", "acme"])).stdout);
    });
    after(() => s.stop());

    test("uploaded packages install with rattler through a token", async () => {
      for (const f of ["up-lib-2.0-0.tar.bz2", "up-app-1.0-0.conda"]) {
        const res = await upload(s.url, up, named(f));
        const body = (await res.json()) as { published: string[] };
        assert.equal(res.status, 201, JSON.stringify(body));
        assert.equal(body.published.length, 1);
      }
      const solved = await simpleSolve(["up-app"], [`${s.url}/t/${dl}/acme`], PLATFORMS, undefined);
      assert.deepEqual(solved.map((r) => r.packageName).sort(), ["up-app", "up-lib"]);
      for (const rec of solved) assert.equal((await fetch(rec.url)).status, 200);
      // private stays private
      const anon = await fetch(`${s.url}/acme/noarch/up-app-1.0-0.conda`);
      assert.equal(anon.status, 404);
    });

    test("the same file again: 409; skip=1 leaves it; force=1 replaces it", async () => {
      const p = named("up-app-1.0-0.conda");
      const again = await upload(s.url, up, p);
      assert.equal(again.status, 409);
      assert.match(((await again.json()) as { message: string }).message, /--force/);
      const skip = await upload(s.url, up, p, "&skip=1");
      assert.equal(skip.status, 201);
      assert.deepEqual(((await skip.json()) as { skipped: string[] }).skipped, ["noarch/up-app-1.0-0.conda"]);
      const force = await upload(s.url, up, p, "&force=1");
      assert.equal(force.status, 201);
      assert.deepEqual(((await force.json()) as { published: string[] }).published, ["noarch/up-app-1.0-0.conda"]);
    });

    test("a bad archive: 400 with the reason, nothing in the store", async () => {
      const res = await upload(s.url, up, { filename: "junk-1.0-0.conda", bytes: Buffer.alloc(4096, 7) });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { message: string }).message, /zip|conda|format/i);
      for await (const o of s.rt.store.list("acme/")) assert.ok(!o.key.includes("junk"), o.key);
    });

    test("a token without the conda scope: 403 naming it; no token: 401", async () => {
      const res = await upload(s.url, dl, named("burst-0-1.0-0.conda"));
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { message: string }).message, /conda scope/);
      const anon = await fetch(`${s.url}/api/channels/acme/conda?filename=burst-0-1.0-0.conda`, { method: "POST", body: Buffer.from("x") });
      assert.equal(anon.status, 401);
    });

    test("20 concurrent uploads through two gateways: every index holds all 20", async () => {
      const replica = await s.spawnReplica();
      try {
        const burst = built.packages.filter((p) => p.name.startsWith("burst-"));
        const t0 = performance.now();
        const statuses = await Promise.all(burst.map(async (p, i) => (await upload(i % 2 ? replica.url : s.url, up, p)).status));
        const ms = performance.now() - t0;
        assert.deepEqual(statuses, burst.map(() => 201));
        console.log(`# 20 concurrent uploads through two gateways (${kind.store} + ${kind.cache}): ${ms.toFixed(0)} ms`);
        const repodata = JSON.parse((await s.rt.store.get("acme/noarch/repodata.json"))!.body.toString("utf8"));
        const current = JSON.parse((await s.rt.store.get("acme/noarch/current_repodata.json"))!.body.toString("utf8"));
        const channeldata = JSON.parse((await s.rt.store.get("acme/channeldata.json"))!.body.toString("utf8"));
        for (const p of burst) {
          assert.ok(repodata["packages.conda"][p.filename], p.filename);
          assert.ok(current["packages.conda"][p.filename], p.filename);
          assert.ok(channeldata.packages[p.name], p.name);
        }
        const solved = await simpleSolve(burst.map((p) => p.name), [`${replica.url}/t/${dl}/acme`], PLATFORMS, undefined);
        assert.equal(solved.length, 20);
      } finally {
        await replica.stop();
      }
    });

    test("DELETE takes a file out of the indexes and the store", async () => {
      const res = await fetch(`${s.url}/api/channels/acme/conda?file=noarch/burst-0-1.0-0.conda`, { method: "DELETE", headers: { authorization: `Bearer ${up}` } });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(await s.rt.store.stat("acme/noarch/burst-0-1.0-0.conda"), null);
      const repodata = JSON.parse((await s.rt.store.get("acme/noarch/repodata.json"))!.body.toString("utf8"));
      assert.equal(repodata["packages.conda"]["burst-0-1.0-0.conda"], undefined);
      const gone = await fetch(`${s.url}/api/channels/acme/conda?file=noarch/burst-0-1.0-0.conda`, { method: "DELETE", headers: { authorization: `Bearer ${up}` } });
      assert.equal(gone.status, 404);
    });
  });
}
