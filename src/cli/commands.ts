// The `pkgate` command line, top to bottom: the verb named first, its options checked against
// the verb's table (verbs.ts), then the verb run where it runs — on a gateway's /api after
// `pkgate login` or with --site (remote.ts), else on the store and cache the environment
// configures (local.ts, loaded only then: it brings the store and cache clients) — and its
// output printed. Help comes from the same table. A usage error exits 2 with what to type
// instead; a refusal or failure exits 1 with one line; never a stack.
import { GateError } from "../errors.js";
import { packageVersion } from "../metrics.js";
import { chooseGateway, loginConfigPath } from "./login-config.js";
import { secretReader, type Input } from "./prompt.js";
import { RemoteError, RemoteOperations } from "./remote.js";
import { closest, commandHelp, formsBlock, parseCommandLine, UsageError, type Args } from "./usage.js";
import { generalHelp, PROGRAM, VERBS, type Output, type Verb, type VerbIo } from "./verbs.js";
import type { LocalOperations } from "./local.js";

export interface Io {
  stdin: Input;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(generalHelp() + "\n");
    return 2;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    io.stdout.write(`${PROGRAM} ${packageVersion()} (Node ${process.version})\n`);
    return 0;
  }
  if (first === "help" || first === "--help" || first === "-h") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic === undefined) {
      io.stdout.write(generalHelp() + "\n");
      return 0;
    }
    const verb = VERBS.find((v) => v.name === topic);
    if (!verb) return fail(io, PROGRAM, unknownVerb(topic));
    io.stdout.write(commandHelp(PROGRAM, verb) + "\n");
    return 0;
  }
  const verb = VERBS.find((v) => v.name === first);
  if (!verb) return fail(io, PROGRAM, unknownVerb(first));

  let local: LocalOperations | null = null;
  try {
    const parsed = parse(verb, rest);
    if (parsed === "help") {
      io.stdout.write(commandHelp(PROGRAM, verb) + "\n");
      return 0;
    }
    const { args, request } = parsed;
    const vio: VerbIo = { json: args.values.json === true, ask: secretReader(io.stdin, io.stderr), stdout: io.stdout };
    let output: Output;
    switch (verb.where) {
      case "store":
        output = await verb.run((local = await openLocal()), request, vio);
        break;
      case "gateway":
        output = await verb.run(await gateway(args), request, vio);
        break;
      case "both": {
        const remote = args.values.local ? null : await gateway(args);
        output = await verb.run(remote?.site ? remote : (local = await openLocal()), request, vio);
        break;
      }
    }
    if ("exitCode" in output) return output.exitCode;
    io.stdout.write(`${vio.json ? JSON.stringify(output.json) : output.text}\n`);
    return 0;
  } catch (err) {
    return fail(io, `${PROGRAM} ${verb.name}`, err);
  } finally {
    await local?.close();
  }
}

/** The verb's request, or "help"; a usage error that says nothing more is followed by the
 * verb's forms. */
function parse(verb: Verb, argv: readonly string[]): { args: Args; request: unknown } | "help" {
  try {
    const args = parseCommandLine(verb, argv);
    if (args === "help") return args;
    if (args.values.local && args.values.site !== undefined) throw new UsageError("give --site URL or --local, not both");
    return { args, request: verb.parse(args) };
  } catch (err) {
    if (err instanceof UsageError && !err.more) throw new UsageError(err.message, `${formsBlock(PROGRAM, verb)}\n(${PROGRAM} ${verb.name} --help: its options and examples)`);
    throw err;
  }
}

function unknownVerb(name: string): UsageError {
  const near = closest(name, VERBS.map((v) => v.name));
  return new UsageError(`unknown command "${name}"${near ? ` (did you mean ${near}?)` : ""}; the commands: ${VERBS.map((v) => v.name).join(", ")} (${PROGRAM} --help)`);
}

/** The store of the environment. Imported here, not above: it loads the store and cache
 * clients (minio alone takes longer than the whole command should), which help and the
 * remote mode never need. */
async function openLocal(): Promise<LocalOperations> {
  return (await import("./local.js")).openLocal();
}

/** The gateway of this invocation: --site, else the stored login; its site is null when
 * there is neither (a verb that runs in both modes then acts on the store). */
async function gateway(args: Args): Promise<RemoteOperations> {
  const path = loginConfigPath();
  const site = args.values.site;
  const chosen = await chooseGateway(typeof site === "string" ? site : undefined, path);
  return new RemoteOperations(chosen?.site ?? null, chosen?.token ?? null, path, chosen?.username ?? null);
}

/** The message for the user and the exit code: 2 for a usage error, 1 otherwise. What is
 * not an answer (a bug) is named by its type, still on one line. */
function fail(io: Io, who: string, err: unknown): number {
  if (err instanceof UsageError) {
    io.stderr.write(`${who}: ${err.message}\n${err.more ? `${err.more}\n` : ""}`);
    return 2;
  }
  const answer = err instanceof GateError || err instanceof RemoteError;
  io.stderr.write(`${who}: ${answer ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  return 1;
}
