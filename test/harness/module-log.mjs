// Records every module a process resolves, for tests that check what a code path loads:
// `node --import tsx --import ./test/harness/module-log.mjs …` with PKGATE_MODULE_LOG=<file>
// appends each resolved URL to that file, one a line. Plain JavaScript: it is a loader hook,
// run in node's hooks thread before anything is compiled.
import { appendFileSync } from "node:fs";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

// the same file is the --import entry (main thread) and the hooks module (hooks thread)
if (isMainThread && process.env.PKGATE_MODULE_LOG) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.PKGATE_MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
