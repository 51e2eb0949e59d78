// `conda` for README's blocks (test/integration/readme.test.ts puts this on PATH under that
// name): conda is not on the test machine, and rattler's solver — the one inside pixi — is.
//   conda config --add channels URL      records URL in ~/.condarc, as conda does
//   conda install [-c URL]... [-y] SPEC  solves SPEC against the -c channels, then the recorded
//                                        ones (conda's order), with rattler's simpleSolve; fetches
//                                        every package of the solution, as conda would, and checks
//                                        it against repodata's sha256; prints `name version build`
// Any other use is refused, so a README line that needs more of conda fails here rather than
// passing untried. What it prints masks /t/<token>/ as conda (24.7 and later) does.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { simpleSolve } from "@conda-org/rattler";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

const PLATFORMS: ("linux-64" | "noarch")[] = ["linux-64", "noarch"];
const USAGE = "the conda stand-in of README's test knows `conda config --add channels URL` and `conda install [-c URL]... [-y] SPEC...`";

const masked = (s: string) => s.replace(/\/t\/[A-Za-z0-9-]+\//g, "/t/<TOKEN>/");

async function recordedChannels(condarc: string): Promise<string[]> {
  try {
    const doc = parseYaml(await readFile(condarc, "utf8")) as { channels?: string[] } | null;
    return doc?.channels ?? [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

async function config(argv: string[], condarc: string): Promise<void> {
  const [flag, key, url, ...rest] = argv;
  if (flag !== "--add" || key !== "channels" || !url || rest.length) throw new Error(USAGE);
  // `--add` puts the channel first; conda warns and moves it when it is already there
  const channels = [url, ...(await recordedChannels(condarc)).filter((c) => c !== url)];
  await writeFile(condarc, stringifyYaml({ channels }));
}

async function install(argv: string[], condarc: string): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { channel: { type: "string", short: "c", multiple: true }, yes: { type: "boolean", short: "y" }, "override-channels": { type: "boolean" } },
  });
  if (!positionals.length) throw new Error(USAGE);
  const channels = [...(values.channel ?? []), ...(values["override-channels"] ? [] : await recordedChannels(condarc))];
  if (!channels.length) throw new Error("no channel: give -c URL or `conda config --add channels URL` first");
  const solved = await simpleSolve(positionals, channels, PLATFORMS, undefined);
  for (const rec of solved) {
    const res = await fetch(rec.url);
    if (res.status !== 200) throw new Error(`HTTP ${res.status} for ${rec.url}`);
    const sha256 = createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex");
    if (rec.sha256 && sha256 !== rec.sha256) throw new Error(`sha256 mismatch for ${rec.url}`);
    process.stdout.write(`${rec.packageName} ${rec.version} ${rec.build}\n`);
  }
}

const [command, ...rest] = process.argv.slice(2);
const condarc = join(homedir(), ".condarc");
try {
  if (command === "config") await config(rest, condarc);
  else if (command === "install") await install(rest, condarc);
  else throw new Error(USAGE);
} catch (err) {
  process.stderr.write(`conda (stand-in): ${masked(err instanceof Error ? err.message : String(err))}\n`);
  process.exitCode = 1;
}
