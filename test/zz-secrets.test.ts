// Runs last (file order, `npm test` runs files one at a time): every log line any gateway of
// this test run wrote is scanned for tokens: those the run created, and anything shaped like
// a pkgate token, as written or percent-/JSON-decoded. None may appear.
//
// It scans what the integration tests of the same `node --test` run recorded (see
// test/harness/gateway.ts), so on its own it has nothing to scan, and it says so by failing:
// a scan of nothing must not pass as a clean scan.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { RUN_DIR } from "./harness/gateway.js";

const TOKEN_SHAPE = /pkg-[A-Za-z0-9]{40}/g;

const NOTHING_RECORDED =
  `test/zz-secrets.test.ts scans the gateway logs and tokens that the integration tests of the same ` +
  `\`node --test\` run record in ${RUN_DIR}, and this run recorded none. Run it after them, in one run: ` +
  "`npm test`, or `node --import tsx --test --test-concurrency=1 test/integration/*.test.ts test/zz-secrets.test.ts`.";

/** The log as written, and as it reads once percent-encoding (twice over) and JSON's \u
 * escapes are undone: a token spelled `pkg-%41…` in a path is still that token. */
function readings(logs: string): string[] {
  const percent = (s: string) => s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const unicode = (s: string) => s.replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return [logs, percent(logs), percent(percent(logs)), unicode(logs), percent(unicode(logs))];
}

describe("no token in any gateway log of this run", () => {
  let logs: string | null = null;
  let tokens: string[] = [];
  /** Tests that passed: the recorded files are removed only when all three did. */
  let passed = 0;

  before(async () => {
    try {
      logs = await readFile(join(RUN_DIR, "logs.txt"), "utf8");
      tokens = [...new Set((await readFile(join(RUN_DIR, "tokens.txt"), "utf8")).split("\n").filter(Boolean))];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  });

  after(async () => {
    // a later run whose runner gets the same pid must not read these as its own
    if (passed === 3) await rm(RUN_DIR, { recursive: true, force: true });
  });

  test("the run recorded logs and tokens to scan", (t) => {
    assert.ok(logs !== null, NOTHING_RECORDED);
    const lines = logs.split("\n").filter(Boolean);
    assert.ok(lines.length > 0, `${NOTHING_RECORDED} (logs.txt is empty)`);
    assert.ok(tokens.length > 0, `the integration tests logged ${lines.length} lines but recorded no token they created: the scan below would prove nothing`);
    // the requests that carried a token in their path were logged, with the token replaced
    assert.ok(/\/t\/<[^>]*>/.test(logs), "no logged request carried a path token (/t/<…>): the scan below would prove nothing");
    t.diagnostic(`${lines.length} log lines, ${tokens.length} tokens created by the run`);
    passed++;
  });

  test("no token the run created appears in any log line", () => {
    assert.ok(logs !== null && tokens.length > 0, NOTHING_RECORDED);
    const texts = readings(logs);
    const leaked = tokens.filter((tok) => texts.some((text) => text.includes(tok)));
    assert.deepEqual(leaked.map((tok) => `${tok.slice(0, 8)}…`), [], `tokens found in the logs in ${RUN_DIR}`);
    passed++;
  });

  test("nothing shaped like a pkgate token appears in any log line", () => {
    assert.ok(logs !== null, NOTHING_RECORDED);
    const found = new Set(readings(logs).flatMap((text) => text.match(TOKEN_SHAPE) ?? []));
    assert.deepEqual([...found].map((tok) => `${tok.slice(0, 8)}…`), [], `token-shaped strings found in the logs in ${RUN_DIR}`);
    passed++;
  });
});
