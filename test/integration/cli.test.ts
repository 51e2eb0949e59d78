// The pkgate command acting directly on the store (the way an ops team bootstraps): every
// verb as a user types it, its output, and one clear line with a non-zero exit when the store
// refuses (usage errors: test/cli/).
import { catalogKeys } from "../../src/access/catalog.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startStack, lastLine, type Stack } from "../harness/gateway.js";

describe("pkgate CLI on the local store", () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" });
  });
  after(() => s.stop());

  test("org, user, channel and package verbs", async () => {
    const org = await s.cli(["org", "--create", "acme"]);
    assert.equal(org.code, 0, org.stderr);
    assert.match(org.stdout, /acme/);
    const user = await s.cli(["user", "--create", "alice", "--email", "alice@example.com"], "correct horse\n");
    assert.equal(user.code, 0, user.stderr);
    assert.ok(!user.stdout.includes("correct horse"));
    const stored = await s.rt.store.get(catalogKeys.account("alice"));
    assert.ok(stored && !stored.body.toString().includes("correct horse"), "only a hash of the password is stored");
    assert.equal((await s.cli(["channel", "--private", "acme"])).code, 0);
    assert.equal((await s.rt.catalog.requireAccount("acme")).defaultPrivacy, "private");
    assert.equal((await s.cli(["package", "--public", "acme/Some_Lib"])).code, 0);
    assert.equal((await s.rt.catalog.requireAccount("acme")).packages["some-lib"], "public");
  });

  test("auth --create prints the token alone on the last line; --json for scripts; --list never shows it", async () => {
    const made = await s.cli(["auth", "--create", "--name", "ci", "--scopes", "conda:download pypi:download", "--org", "acme", "--max-age", "3600"]);
    assert.equal(made.code, 0, made.stderr);
    const token = lastLine(made.stdout);
    assert.match(token, /^pkg-[A-Za-z0-9]{40}$/);
    const json = await s.cli(["auth", "--create", "--name", "ci2", "--scopes", "conda", "--org", "acme", "--json"]);
    const doc = JSON.parse(json.stdout);
    assert.match(doc.token, /^pkg-/);
    assert.deepEqual(doc.scopes, ["conda"]);
    const list = await s.cli(["auth", "--list", "--org", "acme", "--json"]);
    const listed = JSON.parse(list.stdout) as { name: string }[];
    assert.deepEqual(listed.map((t) => t.name).sort(), ["ci", "ci2"]);
    assert.ok(!list.stdout.includes(token) && !list.stdout.includes(doc.token));
    const expiry = Date.parse((listed.find((t) => t.name === "ci") as unknown as { expiresAt: string }).expiresAt) - Date.now();
    assert.ok(expiry > 3500_000 && expiry <= 3600_000, "--max-age sets the expiry");
    const ci2 = listed.find((t) => t.name === "ci2") as unknown as { expiresAt: string };
    const year = Date.parse(ci2.expiresAt) - Date.now();
    assert.ok(Math.abs(year - 365 * 24 * 3600_000) < 60_000, "one year by default");
  });

  const errors: [string, string[], string?, RegExp?][] = [
    ["unknown command", ["frobnicate"], undefined, /unknown command/],
    ["org name taken", ["org", "--create", "acme"], undefined, /taken/],
    ["bad org name", ["org", "--create", "Bad Name!"], undefined, /invalid name: 1-64 lower-case/],
    ["reserved name", ["org", "--create", "api"], undefined, /invalid name: .*not one of .*api/],
    ["short password", ["user", "--create", "bob", "--email", "bob@example.com"], "short\n", /at least 7/],
    ["unknown scope", ["auth", "--create", "--name", "x", "--scopes", "everything", "--org", "acme"], undefined, /everything/],
    ["token name in use", ["auth", "--create", "--name", "ci", "--scopes", "conda", "--org", "acme"], undefined, /already exists/],
    ["no such org", ["auth", "--list", "--org", "nobody"], undefined, /no such/],
    ["revoke unknown", ["auth", "--remove", "nope", "--org", "acme"], undefined, /no token named/],
  ];
  for (const [name, args, stdin, msg] of errors) {
    test(`error: ${name} → non-zero exit, one line`, async () => {
      const r = await s.cli(args, stdin);
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^pkgate( [a-z]+)?: /);
      if (msg) assert.match(r.stderr, msg);
    });
  }

  test("auth --remove revokes, and the name can be reused", async () => {
    assert.equal((await s.cli(["auth", "--remove", "ci2", "--org", "acme"])).code, 0);
    const again = await s.cli(["auth", "--create", "--name", "ci2", "--scopes", "conda", "--org", "acme"]);
    assert.equal(again.code, 0, again.stderr);
  });

  test("invalid configuration stops the command with the variable named", async () => {
    const saved = process.env.PORT;
    const r = await (async () => {
      const env = { ...s.env, PORT: "not-a-port" };
      const { run } = await import("../../src/cli/commands.js");
      const { Writable, Readable } = await import("node:stream");
      let err = "";
      Object.assign(process.env, env);
      try {
        const code = await run(["auth", "--list", "--org", "acme"], {
          stdin: Readable.from([]) as NodeJS.ReadableStream,
          stdout: new Writable({ write(_c, _e, cb) { cb(); } }),
          stderr: new Writable({ write(c, _e, cb) { err += String(c); cb(); } }),
        });
        return { code, err };
      } finally {
        if (saved === undefined) delete process.env.PORT;
        else process.env.PORT = saved;
      }
    })();
    assert.notEqual(r.code, 0);
    assert.match(r.err, /PORT/);
  });
});
