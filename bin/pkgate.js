#!/usr/bin/env node
// The `pkgate` command: runs the compiled CLI (`npm run build` first when working from a clone).
import("../dist/src/cli/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    console.error("pkgate: not built yet, run `npm run build` in the pkgate directory");
    process.exit(2);
  }
  throw err;
});
