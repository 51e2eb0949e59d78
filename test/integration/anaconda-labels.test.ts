// `anaconda remove`, `anaconda label`, `anaconda move` and `anaconda copy` against pkgate (issue
// #12), with the requests anaconda-client sends (github.com/anaconda/anaconda-client, snapshot
// c1cafbc: binstar_client/__init__.py remove_release/remove_package, mixins/channels.py,
// mixins/package.py, commands/channel.py, move.py, copy.py) and the statuses it accepts. The
// /channels routes share their paths with pkgate's own: the client's x-binstar-api-version
// header chooses. And `GET /user` names the account for any live token (label without -o,
// upload without -u), where pkgate's own whoami keeps needing api:read.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { buildLabelBuilds, settle, startPublishing, type Publishing } from "../harness/publishing.js";
import { anacondaAsk } from "../harness/anaconda-client.js";
import type { BuiltChannel } from "../fixtures/conda-channel.js";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
/** What the client sends for `{package, version, basename}` (nulls for what the spec lacks). */
const sel = (pkg: string | null, version: string | null = null, basename: string | null = null) => ({ package: pkg, version, basename });

let dir: string;
let built: BuiltChannel;

describe("anaconda remove, label, move and copy against pkgate", () => {
  let p: Publishing;

  const ask = (method: string, path: string, opts: { token?: string; body?: unknown; client?: boolean } = {}) => anacondaAsk(p.s.url, method, path, { ...opts, token: opts.token ?? p.upload });
  const indexed = (root: string, subdir: string) => p.indexed(root, subdir);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pkgate-anaconda-labels-"));
    built = await buildLabelBuilds(dir, "al-lib", "al-app");
    p = await startPublishing(dir);
    const up = await p.remote(["upload", "--label", "dev", ...built.packages.map((x) => x.path)]);
    assert.equal(up.code, 0, up.stderr);
  });
  after(async () => {
    await p?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("GET /user names the account for a conda-only token (anaconda-client); pkgate's own whoami still needs api:read", async () => {
    const who = await ask("GET", "/user");
    assert.equal(who.status, 200, JSON.stringify(who.json));
    assert.equal(who.json.login, "acme");
    assert.equal(who.json.user_type, "org");
    assert.ok(who.json.created_at);
    assert.equal(who.json.token, undefined, "nothing but the account's name");
    const own = await ask("GET", "/user", { client: false });
    assert.equal(own.status, 403);
    assert.equal(own.json.error, "insufficient_scope");
    // a revoked token is not live: 401, which whoami prints as "Anonymous User"
    const revoked = await p.s.cli(["auth", "--create", "--name", "short", "--scopes", "conda:download", "--org", "acme"]);
    const t = revoked.stdout.trim().split("\n").at(-1)!;
    assert.equal((await p.s.cli(["auth", "--remove", "short", "--org", "acme"])).code, 0);
    assert.equal((await ask("GET", "/user", { token: t })).status, 401);
  });

  test("label --list and --show; pkgate's own GET /channels/{channel} answers its privacy document", async () => {
    const list = await ask("GET", "/channels/acme");
    assert.equal(list.status, 200, JSON.stringify(list.json));
    assert.deepEqual(list.json, { dev: { is_locked: false, num_files: 4 } });
    const show = await ask("GET", "/channels/acme/dev");
    assert.equal(show.status, 200);
    assert.equal(show.json.is_locked, false);
    assert.deepEqual(
      show.json.files.map((f: { full_name: string }) => f.full_name),
      ["acme/al-lib/1.0/linux-64/al-lib-1.0-0.tar.bz2", "acme/al-app/1.0/noarch/al-app-1.0-0.conda", "acme/al-lib/1.0/noarch/al-lib-1.0-0.conda", "acme/al-lib/2.0/noarch/al-lib-2.0-0.conda"],
    );
    const none = await ask("GET", "/channels/acme/nope");
    assert.equal(none.status, 404);
    assert.match(none.json.error, /acme has no label nope/);
    // pkgate's route: the channel's privacy, which a conda-only token may not read (api:read)
    const own = await ask("GET", "/channels/acme", { client: false });
    assert.equal(own.status, 403);
    assert.equal(own.json.error, "insufficient_scope");
    const admin = await p.s.cli(["auth", "--create", "--name", "api", "--scopes", "api", "--org", "acme"]);
    const privacy = await ask("GET", "/channels/acme", { client: false, token: admin.stdout.trim().split("\n").at(-1)! });
    assert.equal(privacy.status, 200, JSON.stringify(privacy.json));
    assert.equal(privacy.json.name, "acme");
    assert.ok("defaultPrivacy" in privacy.json);
  });

  test("label --copy dev main: 201, every file of dev at the channel's root, where rattler finds it", async () => {
    const r = await ask("POST", "/channels/acme/dev/copy/main");
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.deepEqual(await indexed("", "noarch"), ["al-app-1.0-0.conda", "al-lib-1.0-0.conda", "al-lib-2.0-0.conda"]);
    assert.deepEqual(await indexed("", "linux-64"), ["al-lib-1.0-0.tar.bz2"]);
    await settle();
    const solved = await simpleSolve(["al-app"], [`${p.s.url}/t/${p.download}/acme`], PLATFORMS, undefined);
    assert.deepEqual(solved.map((x) => `${x.packageName}-${x.version}`).sort(), ["al-app-1.0", "al-lib-2.0"]);
  });

  test("move --from-label dev --to-label prod acme/al-app: add_channel then remove_channel, each 201", async () => {
    const add = await ask("POST", "/channels/acme/prod", { body: sel("al-app") });
    assert.equal(add.status, 201, JSON.stringify(add.json));
    const del = await ask("DELETE", "/channels/acme/dev", { body: sel("al-app") });
    assert.equal(del.status, 201, JSON.stringify(del.json));
    assert.deepEqual(await indexed("label/prod/", "noarch"), ["al-app-1.0-0.conda"]);
    assert.deepEqual(await indexed("label/dev/", "noarch"), ["al-lib-1.0-0.conda", "al-lib-2.0-0.conda"]);
    assert.equal(await p.s.rt.store.get("acme/label/dev/noarch/al-app-1.0-0.conda"), null, "the file left dev's store too");
    // one file by its basename, as `anaconda move ... acme/al-lib/1.0/linux-64/al-lib-1.0-0.tar.bz2` sends it
    assert.equal((await ask("POST", "/channels/acme/prod", { body: sel("al-lib", "1.0", "linux-64/al-lib-1.0-0.tar.bz2") })).status, 201);
    assert.deepEqual(await indexed("label/prod/", "linux-64"), ["al-lib-1.0-0.tar.bz2"]);
    // nothing of the kind anywhere else: 404 in words
    const missing = await ask("POST", "/channels/acme/prod", { body: sel("no-such") });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /no-such is in no other label of acme/);
    // a version without its package: 400
    assert.equal((await ask("POST", "/channels/acme/prod", { body: sel(null, "1.0") })).status, 400);
  });

  test("copy acme/al-lib/2.0 --from-label dev --to-label qa (no --to-owner: the token's own account): POST, then PUT (--replace) and PATCH (--update)", async () => {
    const body = { to_owner: null, from_channel: "dev", to_channel: "qa" };
    const r = await ask("POST", "/copy/package/acme/al-lib/2.0/", { body });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.map((f: { basename: string }) => f.basename), ["noarch/al-lib-2.0-0.conda"]);
    assert.deepEqual(await indexed("label/qa/", "noarch"), ["al-lib-2.0-0.conda"]);
    // the same again: the same bytes are there, nothing copied
    assert.deepEqual((await ask("POST", "/copy/package/acme/al-lib/2.0/", { body })).json, []);
    // one file, with its basename in the path
    const one = await ask("PATCH", "/copy/package/acme/al-lib/1.0/noarch/al-lib-1.0-0.conda", { body });
    assert.equal(one.status, 200, JSON.stringify(one.json));
    assert.deepEqual(one.json.map((f: { basename: string }) => f.basename), ["noarch/al-lib-1.0-0.conda"]);
    assert.equal((await ask("PUT", "/copy/package/acme/al-lib/1.0/", { body })).status, 200);
  });

  test("copy --to-owner: into another account's label, with read on the source and write on the target", async () => {
    // kim administers acme and beta; acme's own token may not write into beta
    for (const args of [["user", "--create", "kim", "--email", "kim@example.org"], ["org", "--create", "beta"], ["org", "beta", "--add-admin", "kim"]]) {
      const r = await p.s.cli(args, "a long password\na long password\n");
      assert.equal(r.code, 0, r.stderr);
    }
    const kim = (await p.s.cli(["auth", "--create", "--name", "kim-conda", "--scopes", "conda", "--user", "kim"])).stdout.trim().split("\n").at(-1)!;
    const body = { to_owner: "beta", from_channel: "dev", to_channel: "main" };
    const denied = await ask("POST", "/copy/package/acme/al-lib/2.0/", { body });
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    // kim may read acme's public package and write beta's
    const r = await ask("POST", "/copy/package/acme/al-lib/2.0/", { body, token: kim });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.map((f: { full_name: string }) => f.full_name), ["beta/al-lib/2.0/noarch/al-lib-2.0-0.conda"]);
    const beta = (await p.s.rt.store.get("beta/noarch/repodata.json"))?.body.toString("utf8") ?? "";
    assert.deepEqual(Object.keys(JSON.parse(beta)["packages.conda"]), ["al-lib-2.0-0.conda"]);
    assert.ok(await p.s.rt.store.stat("beta/noarch/al-lib-2.0-0.conda"));
    // a source it may not see: what a missing one gets
    assert.equal((await ask("POST", "/copy/package/nobody/al-lib/2.0/", { body, token: kim })).status, 404);
  });

  test("remove: a release, then a package, each 201; again 404 in words; a download token 403", async () => {
    const denied = await ask("DELETE", "/package/acme/al-lib", { token: p.download });
    assert.equal(denied.status, 403);
    assert.match(denied.json.error, /conda/);
    const rel = await ask("DELETE", "/release/acme/al-lib/1.0");
    assert.equal(rel.status, 201, JSON.stringify(rel.json));
    for (const [root, subdir] of [["", "noarch"], ["", "linux-64"], ["label/dev/", "noarch"], ["label/prod/", "linux-64"], ["label/qa/", "noarch"]] as const) {
      assert.ok(!(await indexed(root, subdir)).some((f) => f.startsWith("al-lib-1.0-")), `${root}${subdir}`);
    }
    assert.deepEqual(await indexed("", "noarch"), ["al-app-1.0-0.conda", "al-lib-2.0-0.conda"], "the other version stays");
    const pkg = await ask("DELETE", "/package/acme/al-lib");
    assert.equal(pkg.status, 201, JSON.stringify(pkg.json));
    assert.deepEqual(await indexed("", "noarch"), ["al-app-1.0-0.conda"]);
    const again = await ask("DELETE", "/package/acme/al-lib");
    assert.equal(again.status, 404);
    assert.match(again.json.error, /acme\/al-lib was not found/);
  });

  test("label --remove: a whole label goes (201); main cannot be emptied so; --lock is refused in words", async () => {
    const r = await ask("DELETE", "/channels/acme/prod", { body: sel(null) });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.deepEqual(await indexed("label/prod/", "noarch"), []);
    assert.equal(await p.s.rt.store.get("acme/label/prod/noarch/al-app-1.0-0.conda"), null);
    const main = await ask("DELETE", "/channels/acme/main", { body: sel(null) });
    assert.equal(main.status, 400);
    assert.match(main.json.error, /main is the channel's root/);
    const lock = await ask("POST", "/channels/acme/dev/lock");
    assert.equal(lock.status, 405);
    assert.match(lock.json.error, /pkgate does not lock labels/);
    // a download token cannot empty a label; an empty one is not there
    assert.equal((await ask("DELETE", "/channels/acme/main", { body: sel("al-app"), token: p.download })).status, 403);
    assert.equal((await ask("DELETE", "/channels/acme/dev", { body: sel(null) })).status, 404);
    // without anaconda-client's header, DELETE /channels/acme/conda is pkgate's own removal route
    const own = await ask("DELETE", "/channels/acme/conda?file=noarch/al-app-1.0-0.conda", { client: false, token: p.upload });
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.deepEqual(own.json.removed, ["noarch/al-app-1.0-0.conda"]);
  });
});
