// The local CLI and orphan store folders: `org --create` / `user --create` refuse a name whose
// folder in the store already has content and no account, and take it with --adopt.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, type Stack } from "../harness/gateway.js";

describe("pkgate CLI: --adopt for store folders without an account", () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" });
    // channels copied into the store before their accounts existed
    await s.rt.store.put("acme/noarch/repodata.json", Buffer.from('{"packages":{}}'));
    await s.rt.store.put("zoe/simple/index.html", Buffer.from("<html></html>"));
  });
  after(() => s.stop());

  test("the usage names --adopt for both verbs", async () => {
    const help = await s.cli(["--help"]);
    assert.match(help.stdout, /org --create NAME \[--adopt\]/);
    assert.match(help.stdout, /user --create NAME --email EMAIL \[--admin\] \[--adopt\]/);
  });

  test("org --create is refused with one clear line, then --adopt creates it", async () => {
    const refused = await s.cli(["org", "--create", "acme"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^pkgate org: .*content under acme\/.*--adopt/);
    await assert.rejects(s.rt.catalog.requireAccount("acme"), /no such account/);
    const adopted = await s.cli(["org", "--create", "acme", "--adopt"]);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.equal((await s.rt.catalog.requireAccount("acme")).kind, "org");
  });

  test("user --create likewise", async () => {
    const refused = await s.cli(["user", "--create", "zoe", "--email", "zoe@example.org"], "zoe-password-1\n");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /content under zoe\//);
    const adopted = await s.cli(["user", "--create", "zoe", "--email", "zoe@example.org", "--adopt"], "zoe-password-1\n");
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.equal((await s.rt.catalog.requireAccount("zoe")).kind, "user");
  });

  test("a name without content needs no --adopt", async () => {
    assert.equal((await s.cli(["org", "--create", "fresh"])).code, 0);
  });
});
