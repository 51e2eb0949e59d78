// Runs last (file order): every token that any stack of this test run created is looked for
// in every log line any gateway of the run wrote. None may appear.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { RUN_DIR } from "./harness/gateway.js";

test("no token created during this test run appears in any gateway log", async (t) => {
  let logs = "";
  let tokens: string[] = [];
  try {
    logs = await readFile(join(RUN_DIR, "logs.txt"), "utf8");
    tokens = (await readFile(join(RUN_DIR, "tokens.txt"), "utf8")).split("\n").filter(Boolean);
  } catch {
    t.diagnostic("no integration test ran in this run: nothing to scan");
    return;
  }
  assert.ok(logs.length > 0);
  const leaked = tokens.filter((tok) => logs.includes(tok));
  assert.deepEqual(leaked.map((tok) => tok.slice(0, 8) + "…"), [], "tokens found in logs");
  t.diagnostic(`scanned ${logs.split("\n").length} log lines for ${new Set(tokens).size} tokens`);
});
