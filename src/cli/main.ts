// Entry point of the `pkgate` bin (bin/pkgate.js imports the compiled form of this file).
import { run } from "./commands.js";

process.exitCode = await run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
