// Asking for secrets (passwords) on the command line. On a terminal: a hidden prompt on
// standard error. Otherwise standard input is read once and each question takes its next
// line, so scripts pipe `printf '%s\n' "$PW"` (or two lines for a password change).
import { UsageError } from "./usage.js";

export type Input = NodeJS.ReadableStream & { isTTY?: boolean };

/** The questions of one invocation, answered from `stdin`. */
export function secretReader(stdin: Input, stderr: NodeJS.WritableStream): (prompt: string) => Promise<string> {
  let lines: Promise<string[]> | null = null;
  return async (prompt) => {
    const tty = stdin as Input & { setRawMode?: (on: boolean) => void };
    if (tty.isTTY && typeof tty.setRawMode === "function") return readHidden(tty as NodeJS.ReadStream, stderr, prompt);
    lines ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8").split(/\r?\n/);
    })();
    return (await lines).shift() ?? "";
  };
}

function readHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new UsageError("interrupted"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
