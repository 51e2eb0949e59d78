// Running the Python clients of this machine (pip, twine, poetry) from a test: to completion,
// never throwing on a non-zero exit, stdin closed, with an environment that allows no prompt, keyring,
// cache or network beyond the gateway.
import { execFile } from "node:child_process";

export interface Ran {
  code: number;
  /** Standard output, then standard error, as text. */
  out: string;
  /** Standard output's bytes. */
  stdout: Buffer;
}

export const PYTHON_CLIENT_ENV = {
  PIP_NO_INPUT: "1",
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_NO_CACHE_DIR: "1",
  PIP_CONFIG_FILE: "/dev/null",
  TWINE_NON_INTERACTIVE: "1",
  PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring",
  NO_COLOR: "1",
};

export function runClient(cmd: string, args: string[], env: Record<string, string>, cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...env }, cwd, timeout: 90_000, maxBuffer: 16 * 1024 * 1024, encoding: "buffer" }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, out: `${stdout.toString()}\n${stderr.toString()}`, stdout });
    });
    // stdin closed, as in CI: a client that prompts reads end of input instead of waiting
    child.stdin?.end();
  });
}
