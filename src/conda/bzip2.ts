// bzip2 through the system's `bzip2` program: pure-JS bzip2 compresses at ~0.3 MB/s, which
// would take minutes for a conda-forge-sized repodata view. Returns null when the program is
// not installed (remembered, so the lookup happens once).
import { spawn } from "node:child_process";

let missing = false;

/** Compress (level 9). */
export function bzip2(input: Buffer): Promise<Buffer | null> {
  return run(["-c", "-9"], input);
}

/** Decompress. */
export function bunzip2(input: Buffer): Promise<Buffer | null> {
  return run(["-d", "-c"], input);
}

function run(args: string[], input: Buffer): Promise<Buffer | null> {
  if (missing) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const child = spawn("bzip2", args, { stdio: ["pipe", "pipe", "ignore"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") {
        missing = true;
        resolve(null);
      } else reject(err);
    });
    child.once("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else if (!missing) reject(new Error(`bzip2 exited with ${code}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
