// Catalog writes from several processes on the embedded default (fs store, in-process cache,
// no Redis): writer processes (this file, run with PKGATE_CATALOG_WRITER set), runs of the
// real `pkgate` CLI and this process all change package privacy in one organization at the
// same time. Each one's change is a read-modify-write of the same document; afterwards every
// change reported as done is in it.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { tempDir, type TempDir } from "../harness/services.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = process.env.PKGATE_CATALOG_WRITER;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (WRITER) {
  // writer mode: change packages `<WRITER>-<n>` one after the other from "go" until "stop",
  // printing each name once the change is done
  const rt = await createRuntime(loadConfig({ DATA_DIR: process.env.DATA_DIR }));
  let stop = false;
  let go: () => void;
  const started = new Promise<void>((r) => (go = r));
  process.stdin.on("data", (d: Buffer) => {
    if (d.toString().includes("go")) go();
    if (d.toString().includes("stop")) stop = true;
  });
  process.stdout.write("ready\n");
  await started;
  for (let n = 0; !stop; n++) {
    const name = `${WRITER}-${n}`;
    try {
      await rt.catalog.setPackagePrivacy("acme", name, "private");
      process.stdout.write(`done ${name}\n`);
    } catch (err) {
      process.stdout.write(`failed ${name}: ${(err as Error).message}\n`);
    }
    await sleep(5 + Math.random() * 25);
  }
  await rt.close();
  process.exit(0);
} else {
  suite();
}

interface Writer {
  child: ChildProcess;
  out(): string;
  send(word: string): void;
  exited: Promise<unknown>;
}

function startWriter(id: string, dataDir: string): Promise<Writer> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    cwd: ROOT,
    env: { ...process.env, PKGATE_CATALOG_WRITER: id, DATA_DIR: dataDir, REDIS_URL: "", S3_ENDPOINT: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once("exit", r));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer ${id} did not start:\n${out}`)), 30_000);
    child.stdout!.on("data", () => {
      if (out.includes("ready\n")) {
        clearTimeout(timer);
        resolve({ child, out: () => out, send: (w) => child.stdin!.write(`${w}\n`), exited });
      }
    });
    child.once("exit", (code) => reject(new Error(`writer ${id} exited (${code}):\n${out}`)));
  });
}

/** One run of the real command line, in a process of its own. */
function cli(args: string[], dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, REDIS_URL: "", S3_ENDPOINT: "", PKGATE_CONFIG: join(dataDir, "no-login.json") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

function suite(): void {
  describe("catalog writes from several processes without Redis (fs store)", () => {
    let dir: TempDir;
    let dataDir: string;
    let rt: Runtime;
    before(async () => {
      dir = await tempDir("pkgate-procs-");
      dataDir = join(dir.path, "data");
      rt = await createRuntime(loadConfig({ DATA_DIR: dataDir }));
      await rt.catalog.createAccount({ name: "acme", kind: "org" });
    });
    after(async () => {
      await rt.close();
      await dir.remove();
    });

    test("every privacy change reported as done is kept: writer processes, CLI runs and this process at once", { timeout: 120_000 }, async () => {
      const writers = await Promise.all(["w1", "w2", "w3"].map((id) => startWriter(id, dataDir)));
      for (const w of writers) w.send("go");
      // the CLI runs while the writers write: 8 processes, each one change
      const cliRuns = Promise.all(Array.from({ length: 8 }, (_, i) => cli(["package", "--private", `acme/cli-${i}`, "--local"], dataDir)));
      // and this process, its own writes in parallel
      const mine: string[] = [];
      const local = (async () => {
        for (let i = 0; i < 12; i++) {
          await rt.catalog.setPackagePrivacy("acme", `parent-${i}`, "private");
          mine.push(`parent-${i}`);
          await sleep(10);
        }
      })();
      const runs = await cliRuns;
      await local;
      for (const w of writers) w.send("stop");
      await Promise.all(writers.map((w) => w.exited));

      for (const [i, r] of runs.entries()) {
        assert.equal(r.code, 0, `cli-${i}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`acme/cli-${i} is now private`));
      }
      const reported = writers.flatMap((w) => [...w.out().matchAll(/^done (\S+)$/gm)].map((m) => m[1]!));
      const failed = writers.flatMap((w) => [...w.out().matchAll(/^failed .*$/gm)].map((m) => m[0]));
      assert.deepEqual(failed, [], "no writer was refused");
      const expected = [...reported, ...mine, ...runs.map((_, i) => `cli-${i}`)];
      assert.ok(expected.length >= 30, `${expected.length} changes`);

      const acme = await rt.catalog.requireAccount("acme", "org");
      const lost = expected.filter((name) => acme.packages[name] !== "private");
      assert.deepEqual(lost, [], `of ${expected.length} changes reported as done, these were lost`);
      assert.equal(Object.keys(acme.packages).length, expected.length, "nothing else was written");
      assert.equal(acme.revision, 1 + expected.length, "one revision per change: no read-modify-write saw a stale document");
    });
  });
}
