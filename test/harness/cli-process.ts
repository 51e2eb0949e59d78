// The pkgate command as users run it: a process of its own (node, tsx, src/cli/main.ts), with
// the environment and standard input given, and its exit code and both outputs. It never sees
// the developer's own login: PKGATE_CONFIG points nowhere unless the caller says otherwise.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";

const ROOT = new URL("../..", import.meta.url).pathname;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcessOptions {
  env?: Record<string, string>;
  stdin?: string;
  /** A file to record every module the process loads in (module-log.mjs). */
  moduleLog?: string;
  /** Where it runs; the clone's root unless said. */
  cwd?: string;
}

// resolved here, so that a process running elsewhere than the clone finds it too
const TSX = import.meta.resolve("tsx");

export function runCliProcess(args: readonly string[], opts: CliProcessOptions = {}): Promise<CliRun> {
  const hooks = opts.moduleLog ? ["--import", join(ROOT, "test/harness/module-log.mjs")] : [];
  const child = spawn(process.execPath, ["--import", TSX, ...hooks, join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: {
      ...process.env,
      PKGATE_CONFIG: join(tmpdir(), "pkgate-no-login", "config.json"),
      ...opts.env,
      ...(opts.moduleLog ? { PKGATE_MODULE_LOG: opts.moduleLog } : {}),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(opts.stdin ?? "");
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
