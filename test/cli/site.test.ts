// Where a gateway is: a --site without its scheme names the URLs it may have meant, and a
// gateway that does not answer says what to check (the CLI said "ECONNREFUSED" and stopped).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliProcess } from "../harness/cli-process.js";

test("--site host:port without a scheme: exit 2 naming the https and http URLs; with credentials the value is not echoed", async () => {
  const bare = await runCliProcess(["whoami", "--site", "localhost:8080"]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stderr.split("\n")[0], "pkgate whoami: --site needs an http or https URL without credentials: https://localhost:8080, or http://localhost:8080 for a gateway without TLS");
  const secret = await runCliProcess(["whoami", "--site", "alice:hunter2@pkgs.example.com"]);
  assert.equal(secret.code, 2);
  assert.equal(secret.stderr.split("\n")[0], "pkgate whoami: --site needs an http or https URL without credentials");
  assert.ok(!secret.stderr.includes("hunter2"));
});

test("a stored login's gateway that does not answer: the cause, then what to check", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pkgate-site-"));
  try {
    const login = join(dir, "config.json");
    // port 9 (discard): nothing listens there
    await writeFile(login, JSON.stringify({ site: "http://127.0.0.1:9", token: "pkg-" + "a".repeat(40) }));
    const run = await runCliProcess(["whoami"], { env: { PKGATE_CONFIG: login } });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim(),
      "pkgate whoami: cannot reach http://127.0.0.1:9: ECONNREFUSED; is the gateway running, and is this its address? (--site URL, or pkgate login again; the verbs that act on the store take --local)",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
