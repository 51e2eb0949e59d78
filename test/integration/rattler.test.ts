// The conda solver inside pixi (@conda-org/rattler's simpleSolve) against a running gateway:
// it resolves a private package through /t/<token>/<channel> with a conda:download token,
// not without one, and not after the token is revoked; the package bytes it would fetch
// match the sha256 in repodata. Then two gateway processes on one Redis: a token revoked
// with the CLI is refused by both within a second.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { simpleSolve } from "@conda-org/rattler";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];

describe("rattler through the gateway; revocation across two replicas on one Redis", () => {
  let s: Stack;
  let token: string;

  before(async () => {
    s = await startStack({ store: "s3", cache: "redis" });
    await s.seedConda({
      channel: "acme",
      subdirs: ["linux-64"],
      packages: [
        { name: "pub-lib", version: "1.0", subdir: "linux-64" },
        { name: "priv-app", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0", "priv-util"] },
        { name: "priv-util", version: "0.3", format: ".tar.bz2" },
      ],
    });
    await s.cli(["org", "--create", "acme", "--adopt"]);
    await s.cli(["package", "--private", "acme/priv-app"]);
    await s.cli(["package", "--private", "acme/priv-util"]);
    token = lastLine((await s.cli(["auth", "--create", "--name", "pixi", "--scopes", "conda:download", "--org", "acme"])).stdout);
  });
  after(async () => {
    const all = s.logs.join("\n");
    assert.ok(!all.includes(token), "the token appeared in the logs");
    await s.stop();
  });

  test("resolves the private package and its private dependency with the token; the bytes match", async () => {
    const solved = await simpleSolve(["priv-app"], [`${s.url}/t/${token}/acme`], PLATFORMS, undefined);
    const names = solved.map((r) => r.packageName).sort();
    assert.deepEqual(names, ["priv-app", "priv-util", "pub-lib"]);
    for (const rec of solved) {
      assert.ok(rec.url.includes(`/t/${token}/acme/`), "the token stays in package URLs");
      const res = await fetch(rec.url);
      assert.equal(res.status, 200, rec.url.replace(token, "<token>"));
      const sha = createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex");
      assert.equal(sha, rec.sha256);
    }
  });

  test("without a token the private package does not exist for the solver", async () => {
    await assert.rejects(simpleSolve(["priv-app"], [`${s.url}/acme`], PLATFORMS, undefined), /priv-app|cannot be (installed|solved)|no candidates|not find/i);
    const pub = await simpleSolve(["pub-lib"], [`${s.url}/acme`], PLATFORMS, undefined);
    assert.equal(pub.length, 1);
  });

  test("a token revoked with the CLI is refused by both replicas within 1 s, and by the solver", async () => {
    const a = await s.spawnReplica();
    const b = await s.spawnReplica();
    const victim = lastLine((await s.cli(["auth", "--create", "--name", "doomed", "--scopes", "conda:download", "--org", "acme"])).stdout);
    const probe = (url: string) => fetch(`${url}/t/${victim}/acme/linux-64/repodata.json`).then((r) => r.status);
    // warm both replicas' in-process caches so the revocation must reach them
    assert.deepEqual([await probe(a.url), await probe(b.url)], [200, 200]);
    assert.deepEqual([await probe(a.url), await probe(b.url)], [200, 200]);

    // the real command line, as an operator runs it, in its own process
    await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", "auth", "--remove", "doomed", "--org", "acme"], {
      cwd: ROOT,
      env: { ...process.env, ...s.env },
    });
    const revokedAt = Date.now();
    const seen = { a: 0, b: 0 };
    while (Date.now() - revokedAt < 1000 && (!seen.a || !seen.b)) {
      if (!seen.a && (await probe(a.url)) === 403) seen.a = Date.now() - revokedAt;
      if (!seen.b && (await probe(b.url)) === 403) seen.b = Date.now() - revokedAt;
    }
    assert.ok(seen.a > 0 && seen.b > 0, `both replicas refuse within 1 s (a: ${seen.a} ms, b: ${seen.b} ms)`);
    await assert.rejects(simpleSolve(["priv-app"], [`${a.url}/t/${victim}/acme`], PLATFORMS, undefined));
    for (const r of [a, b]) assert.ok(!r.output().includes(victim), "the token appeared in a replica's output");
    await a.stop();
    await b.stop();
  });
});
