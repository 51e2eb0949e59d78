// The CLI on the store names the store it made when DATA_DIR is unset and ./data of the
// current directory did not exist: run from another directory than the gateway's, a verb
// otherwise acted on a new, empty store of its own without a word ("no such organization").
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliProcess } from "../harness/cli-process.js";

/** pkgate in `cwd`, with no store variable of the test's own environment ("" is unset). */
function pkgate(args: string[], cwd: string, env: Record<string, string> = {}) {
  return runCliProcess(args, { cwd, env: { DATA_DIR: "", S3_ENDPOINT: "", REDIS_URL: "", ...env } });
}

test("a store verb that makes ./data because DATA_DIR is unset says so, once; with DATA_DIR set it says nothing", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pkgate-store-dir-"));
  try {
    const first = await pkgate(["org", "acme"], dir);
    assert.equal(first.code, 1);
    assert.ok(existsSync(join(dir, "data")), "the store was made");
    const lines = first.stderr.trim().split("\n");
    assert.equal(lines.length, 2, first.stderr);
    assert.equal(
      lines[0],
      `pkgate: note: DATA_DIR is unset and ${join(dir, "data")} did not exist: acting on a new, empty store made there. ` +
        "A gateway's store is its DATA_DIR (./data of the directory it started in): run pkgate there, or set DATA_DIR (or S3_ENDPOINT) as for the gateway",
    );
    assert.match(lines[1]!, /^pkgate org: no such organization: acme/);

    // the store is there now: no note
    const created = await pkgate(["org", "--create", "acme"], dir);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, "");

    // an operator who names the store is not told about it, even when it is new
    const named = await pkgate(["org", "--create", "acme"], dir, { DATA_DIR: join(dir, "elsewhere") });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stderr, "");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
