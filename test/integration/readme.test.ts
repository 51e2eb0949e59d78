// README.md's shell blocks, run the way a reader runs them (issue #10), so README stays true.
//
// The convention: every fenced block tagged sh (or bash, shell, console) runs here, in README
// order, as written, with bash (-e -o pipefail: a failing line fails its block), unless the line
// right above its fence is `<!-- not run: REASON -->`. So a new block is run by default: it
// passes, or it fails until it is fixed or marked with a reason. A marker without a reason, or
// not followed by a shell block, fails, as does an untagged block that starts with a command.
//
// Where they run: a scratch copy of the clone (the files git has, as they are in the working
// tree, with the repository's node_modules linked in), a home of their own, and gateways on free
// loopback ports; nothing is written into the repository. What differs from a reader's machine
// is listed below and nowhere else: PLACES (where a section's blocks run), SUBSTITUTIONS (text
// rewritten in a block before it runs; each must be used), COMMANDS (stand-ins on PATH) and
// environment(). EXPECTED says what some blocks must print besides exiting 0.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { appendFile, chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildCondaChannel } from "../fixtures/conda-channel.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";
import { freePort } from "../harness/services.js";
import { RUN_DIR } from "../harness/gateway.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const README = join(ROOT, "README.md");
const TOKEN_SHAPE = /pkg-[A-Za-z0-9]{40}/g;
const PASSWORD = "readme-password-7";

// ---- README's blocks -------------------------------------------------------------------------

interface Block {
  /** README line of the opening fence (1-based). */
  line: number;
  lang: string;
  text: string;
  /** The headings it stands under, outermost first (without the #s). */
  sections: string[];
  /** The reason of a `<!-- not run: … -->` right above the fence; null when it runs. */
  notRun: string | null;
}

const SHELL = new Set(["sh", "bash", "shell", "console"]);
const MARKER = /^<!--\s*not run:(.*?)-->\s*$/;
const COMMAND_START = /^\s*(\$ )?(npm|npx|node|pkgate|conda|mamba|pixi|pip|uv|poetry|twine|curl|docker|kubectl|systemctl)\b/;

/** Every fenced block of README, and the problems of the convention it breaks. */
function readBlocks(markdown: string): { blocks: Block[]; problems: string[] } {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  const problems: string[] = [];
  const sections: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(lines[i]!);
    if (heading) {
      sections.splice(heading[1]!.length - 1, Infinity, heading[2]!.trim());
      continue;
    }
    const marker = MARKER.exec(lines[i]!);
    const fence = /^```(\S*)\s*$/.exec(lines[i + 1] ?? "");
    if (marker && (!fence || !SHELL.has(fence[1]!))) problems.push(`README.md:${i + 1}: a "not run" marker must stand right above a shell block's fence`);
    if (marker && !marker[1]!.trim()) problems.push(`README.md:${i + 1}: "not run" needs a reason the reader can check`);
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) {
      problems.push(`README.md:${i + 1}: a fence that is never closed`);
      break;
    }
    const text = lines.slice(i + 1, end).join("\n");
    const lang = open[1]!;
    const above = MARKER.exec(lines[i - 1] ?? "");
    if (SHELL.has(lang)) blocks.push({ line: i + 1, lang, text, sections: sections.filter(Boolean), notRun: above ? above[1]!.trim() : null });
    else if (!lang && COMMAND_START.test(lines[i + 1] ?? "")) problems.push(`README.md:${i + 1}: a block of commands without a language: tag it sh, so it runs or says why not`);
    i = end;
  }
  return { blocks, problems };
}

const { blocks: BLOCKS, problems: PROBLEMS } = readBlocks(readFileSync(README, "utf8"));
const RUN = BLOCKS.filter((b) => b.notRun === null);

// ---- what differs from a reader's machine ----------------------------------------------------

/** A gateway, a store and a folder for the blocks of one part of README. */
interface Place {
  name: string;
  /** Where the blocks run: the pkgate clone, or the reader's own Python project. */
  cwd: "clone" | "project";
  /** "clone": ./data of the clone, the store "A first channel" fills; "new": an empty one. */
  store: "clone" | "new";
  /** "readme": the one "A first channel" starts (npm start); "test": one the test starts on
   * the new store; "none". */
  gateway: "readme" | "test" | "none";
  why: string;
}

/** By the section a block stands in; the first whose section is one of the block's wins. */
const PLACES: (Place & { section: string | null })[] = [
  { section: "Using it", name: "project", cwd: "project", store: "clone", gateway: "readme", why: "a user of the packages works in their own Python project (a pyproject.toml, and a dist/ as `poetry build` leaves it), not in pkgate's clone" },
  { section: "The command line as a client", name: "new gateway", cwd: "clone", store: "new", gateway: "test", why: "an operator bootstrapping a new gateway: an empty store, and a gateway on it that the test starts in the clone (`node dist/src/main.js`, what `npm start` runs once built)" },
  { section: "The command line", name: "new store", cwd: "clone", store: "new", gateway: "none", why: "an operator starting a new store" },
  { section: null, name: "clone", cwd: "clone", store: "clone", gateway: "readme", why: "a reader in a fresh clone" },
];

interface World {
  /** The port of the gateway `pkgs.example.com` stands for. */
  port: number;
  /** The token `<TOKEN>` stands for. */
  token: () => Promise<string>;
  fixture: string;
}

/** Text rewritten in a block before it runs, each with why. Every one must be used. */
const SUBSTITUTIONS: { from: RegExp; to: (w: World, match: string, ...groups: string[]) => string | Promise<string>; why: string }[] = [
  {
    from: /^npm ci && /gm,
    to: () => "",
    why: "`npm ci` → nothing: the copy links the repository's node_modules, which .ci/run's npm ci installed (a fresh one takes a minute and the network)",
  },
  {
    from: /https:\/\/([^\s/@'"]+@)?pkgs\.example\.com/g,
    to: (w, _m, userinfo) => `http://${userinfo ?? ""}127.0.0.1:${w.port}`,
    why: "`https://pkgs.example.com` → `http://127.0.0.1:PORT`: the gateway of the block's place, on this machine, without TLS (credentials in the URL kept)",
  },
  {
    from: /localhost:8080/g,
    to: (w) => `127.0.0.1:${w.port}`,
    why: "`localhost:8080` → `127.0.0.1:PORT`: 8080 may be taken here, so the gateway gets a free one (PORT in its environment)",
  },
  {
    from: /<TOKEN>/g,
    to: (w) => w.token(),
    why: "`<TOKEN>` → a real token: once the first channel exists, the test runs `pkgate auth --create --name readme --scopes 'conda pypi' --org acme` and `pkgate channel --private acme`, so nothing below works without it",
  },
  {
    from: /\/path\/to\/conda-index\/output\/acme/g,
    to: (w) => w.fixture,
    why: "`/path/to/conda-index/output/acme` → a channel tree as conda-index writes it, packages built with cph (secret-lib 1.0; mypkg 0.1 under label dev), with a PyPI project beside it (pypi/mypkg/, as an existing bucket holds one)",
  },
  {
    from: /^(pkgate (?:user --create|login)\b.*)$/gm,
    to: (_w, _m, line) => `printf '%s\\n' '${PASSWORD}' | ${line}`,
    why: "a command that asks for a password on the terminal gets it on standard input, as a script gives it",
  },
];

/** Stand-ins on PATH. */
const COMMANDS: { name: string; script: (clone: string) => string; why: string }[] = [
  {
    name: "conda",
    script: () => `exec node --import '${import.meta.resolve("tsx")}' '${join(ROOT, "test/harness/readme-conda.ts")}' "$@"`,
    why: "conda is not on this machine: test/harness/readme-conda.ts records `conda config --add channels` in ~/.condarc and answers `conda install` by solving the same specs against the same channels with rattler's simpleSolve (the solver inside pixi), fetching every package of the solution and checking its sha256",
  },
  {
    name: "pkgate",
    script: (clone) => `exec node '${join(clone, "bin/pkgate.js")}' "$@"`,
    why: "the clone's bin/pkgate.js, where `npm link` puts it (README: `npx pkgate` or `node bin/pkgate.js` in a clone)",
  },
];

/** The environment of every block: these, PATH (the stand-ins first) and the locale; nothing
 * else of this process's (no DATA_DIR, REDIS_URL, … leaking in). */
function environment(home: string, bin: string, site: string): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(LANG|LC_\w+|TZ|USER|LOGNAME|SHELL|PYENV_ROOT)$/.test(k))) as Record<string, string>;
  return {
    ...kept,
    PATH: `${bin}:${process.env.PATH}`,
    HOME: home, // pip, poetry, twine, conda and pkgate keep their settings there
    HOST: "127.0.0.1", // gateways listen on loopback only
    PIP_TARGET: site, // pip installs into a folder, not into this machine's Python
    PIP_NO_CACHE_DIR: "1",
    PIP_CONFIG_FILE: "/dev/null",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    PIP_NO_INPUT: "1",
    PIP_ROOT_USER_ACTION: "ignore",
    PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", // no desktop keyring: poetry keeps credentials in its auth.toml
    TWINE_NON_INTERACTIVE: "1",
    npm_config_offline: "true", // npm and npx use only what the clone has: npx never downloads a package named pkgate
    npm_config_update_notifier: "false",
    NO_COLOR: "1",
  };
}

/** What some blocks must print, besides exiting 0; `block` is text of the block as README has it. */
const EXPECTED: { block: string; output: RegExp[]; why: string }[] = [
  { block: "conda install -c http://localhost:8080/t/$TOKEN/acme secret-lib", output: [/^secret-lib 1\.0 0$/m], why: "the private package, solved and fetched with the token the block made" },
  { block: "conda install -c https://pkgs.example.com/t/<TOKEN>/acme/label/dev mypkg   # a label", output: [/^mypkg 0\.1 0$/m], why: "the package that is only under label dev" },
  {
    block: "pip install --index-url https://__token__:<TOKEN>@pkgs.example.com/acme/simple/ mypkg",
    output: [/Looking in indexes: http:\/\/__token__:\*{4}@/, /Looking in indexes: http:\/\/[^\s]*\/t\/pkg-[A-Za-z0-9]{40}\/acme\/simple\//, /Successfully installed mypkg-1\.0[\s\S]*Successfully installed mypkg-1\.0/],
    why: "both forms install; pip redacts the Basic password and prints a path token in full, as README says",
  },
  { block: "poetry add --source acme mypkg", output: [/Installing mypkg \(1\.0\)/], why: "poetry resolves and installs from the credentialed source" },
  { block: "twine upload --repository-url https://pkgs.example.com/acme/ -u __token__ -p <TOKEN> dist/*", output: [/Uploading app-0\.1\.0-py3-none-any\.whl/], why: "the project's wheel is uploaded" },
  { block: "pkgate auth --create --name ci --scopes 'conda:download pypi:download' --org acme", output: [/^pkg-[A-Za-z0-9]{40}$/m], why: "`auth --create` prints the token alone on a line" },
  { block: "pkgate auth --create --name ci --scopes 'conda:download' --org acme", output: [/^pkg-[A-Za-z0-9]{40}$/m], why: "`auth --create` prints the token alone on a line" },
];

// ---- running -----------------------------------------------------------------------------------

const run = promisify(execFile);

interface Ran {
  code: number | null;
  signal: string | null;
  output: string;
  /** README line of the command that stopped the block (else of the last one bash traced). */
  lastLine: number | null;
}

function placeOf(block: Block): Place {
  return PLACES.find((p) => p.section === null || block.sections.includes(p.section))!;
}

async function substitute(block: Block, world: World, used: Set<number>): Promise<string> {
  let text = block.text;
  for (const [i, s] of SUBSTITUTIONS.entries()) {
    const matches = [...text.matchAll(s.from)];
    if (!matches.length) continue;
    used.add(i);
    let out = "";
    let at = 0;
    for (const m of matches) {
      out += text.slice(at, m.index) + (await s.to(world, m[0], ...(m.slice(1) as string[])));
      at = m.index! + m[0].length;
    }
    text = out + text.slice(at);
  }
  return text;
}

const describeBlock = (b: Block) => `README.md:${b.line} (${b.sections.at(-1) ?? "top"})`;

describe("README.md's shell blocks", () => {
  test("each runs here, or says above it why not", () => {
    assert.deepEqual(PROBLEMS, []);
    assert.ok(RUN.length >= 5, `only ${RUN.length} blocks run`);
    for (const e of EXPECTED) assert.ok(RUN.some((b) => b.text.includes(e.block)), `EXPECTED names a line no running block has: ${e.block}`);
    for (const p of PLACES) if (p.section) assert.ok(RUN.some((b) => b.sections.includes(p.section!)), `PLACES names a section no running block stands in: ${p.section}`);
    for (const c of COMMANDS) assert.ok(RUN.some((b) => new RegExp(`(^|[\\s|;&(])${c.name} `, "m").test(b.text)), `COMMANDS stands in for ${c.name}, which no running block calls`);
  });

  describe("run in order, as written", () => {
    let scratch: string;
    let clone: string;
    let project: string;
    let fixture: string;
    let env: Record<string, string>;
    const ports = new Map<string, number>();
    /** Process groups of the blocks and gateways, ended at the end. */
    const groups: number[] = [];
    const endAll = (signal: NodeJS.Signals) => {
      for (const pgid of groups) {
        try {
          process.kill(-pgid, signal);
        } catch {
          // already gone
        }
      }
    };
    const killOnExit = () => endAll("SIGKILL");
    /** Where the blocks and the test's gateway wrote their output (gateways go on writing). */
    const outputFiles: string[] = [];
    const gatewayLogLines = () => outputFiles.flatMap((f) => readFileSync(f, "utf8").split("\n").filter((l) => l.startsWith('{"level"')));
    const used = new Set<number>();
    const tokens: string[] = [];
    let token: Promise<string> | null = null;
    let testGateway: Promise<void> | null = null;
    let failed: string | null = null;
    const repoBefore = new Map<string, boolean>();

    before(async () => {
      process.once("exit", killOnExit);
      for (const p of ["data", "dist"]) repoBefore.set(p, existsSync(join(ROOT, p)));
      scratch = await mkdtemp(join(tmpdir(), "pkgate-readme-"));
      clone = join(scratch, "pkgate");
      project = join(scratch, "project");
      const home = join(scratch, "home");
      const bin = join(scratch, "bin");
      await Promise.all([mkdir(home), mkdir(bin), mkdir(join(project, "dist"), { recursive: true }), mkdir(join(scratch, "stores"))]);

      // the clone: what git has, as the working tree has it
      const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, maxBuffer: 16 << 20 });
      for (const file of stdout.split("\0").filter(Boolean)) {
        if (existsSync(join(ROOT, file))) await cp(join(ROOT, file), join(clone, file), { recursive: true });
      }
      await symlink(join(ROOT, "node_modules"), join(clone, "node_modules"));

      for (const c of COMMANDS) {
        await writeFile(join(bin, c.name), `#!/bin/sh\n# ${c.why}\n${c.script(clone)}\n`);
        await chmod(join(bin, c.name), 0o755);
      }

      const built = await buildCondaChannel(join(scratch, "conda-index-output"), {
        channel: "acme",
        packages: [
          { name: "secret-lib", version: "1.0" },
          { name: "mypkg", version: "0.1", labels: ["dev"] },
        ],
      });
      fixture = built.root;
      await mkdir(join(fixture, "pypi/mypkg"), { recursive: true });
      await writeFile(join(fixture, "pypi/mypkg", wheelFilename("mypkg", "1.0")), buildWheel({ name: "mypkg", version: "1.0" }));

      await writeFile(
        join(project, "pyproject.toml"),
        ["[tool.poetry]", 'name = "app"', 'version = "0.1.0"', 'description = ""', 'authors = ["A User <user@example.com>"]', "", "[tool.poetry.dependencies]", 'python = "^3.8"', ""].join("\n"),
      );
      await writeFile(join(project, "dist", wheelFilename("app", "0.1.0")), buildWheel({ name: "app", version: "0.1.0" }));

      env = environment(home, bin, join(scratch, "site"));
      ports.set("readme", await freePort());
      ports.set("test", await freePort());
    });

    after(async () => {
      endAll("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      endAll("SIGKILL");
      process.off("exit", killOnExit);
      // for test/zz-secrets.test.ts, which scans every gateway log of the run
      await mkdir(RUN_DIR, { recursive: true });
      await appendFile(join(RUN_DIR, "logs.txt"), gatewayLogLines().join("\n") + "\n");
      await appendFile(join(RUN_DIR, "tokens.txt"), tokens.join("\n") + "\n");
      await rm(scratch, { recursive: true, force: true });
    });

    /** Where a block of `place` runs, with its store and gateway. */
    function worldOf(place: Place): { cwd: string; env: Record<string, string>; world: World } {
      const port = ports.get(place.gateway === "test" ? "test" : "readme")!;
      const store = place.store === "new" ? join(scratch, "stores", place.name.replace(/\W+/g, "-")) : null;
      return {
        cwd: place.cwd === "clone" ? clone : project,
        env: { ...env, PORT: String(port), ...(store ? { DATA_DIR: store } : {}) },
        world: {
          port,
          fixture,
          token: () => (token ??= createToken()),
        },
      };
    }

    /** `pkgate …` in the clone, on the clone's store. */
    async function cli(...args: string[]): Promise<string> {
      const { stdout } = await run(process.execPath, [join(clone, "bin/pkgate.js"), ...args], { cwd: clone, env: { ...env, PORT: String(ports.get("readme")) } });
      return stdout;
    }

    async function createToken(): Promise<string> {
      const t = (await cli("auth", "--create", "--name", "readme", "--scopes", "conda pypi", "--org", "acme")).trim().split("\n").at(-1)!;
      assert.match(t, /^pkg-[A-Za-z0-9]{40}$/, "the token the test creates");
      await cli("channel", "--private", "acme");
      tokens.push(t);
      return t;
    }

    /** A gateway on the new store of `place`, as `npm start` in the clone runs it. */
    async function startTestGateway(place: Place): Promise<void> {
      const { env: e } = worldOf(place);
      const log = join(scratch, "test-gateway.out");
      outputFiles.push(log);
      const fd = openSync(log, "w");
      const child = spawn(process.execPath, ["dist/src/main.js"], { cwd: clone, env: e, stdio: ["ignore", fd, fd], detached: true });
      closeSync(fd);
      groups.push(child.pid!);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`http://127.0.0.1:${e.PORT}/healthz`).then((r) => r.ok, () => false);
        if (ok) return;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the gateway for "${place.name}" did not start:\n${readFileSync(log, "utf8")}`);
    }

    async function runBlock(block: Block, text: string, cwd: string, blockEnv: Record<string, string>): Promise<Ran> {
      // bash traces each command with the README line it stands on, and names the line of the
      // command that stops the block (PS4 is set in the script: bash running as root does not
      // take it from the environment; one line, so the block's lines keep their numbers)
      const at = `$((LINENO + ${block.line - 1}))`;
      const script = `PS4='+ README.md:${at} (\${SECONDS} s): '; trap 'echo "<<stopped at README.md:${at}>>"' ERR; set -x\n${text}\n`;
      const file = join(scratch, `block-${block.line}.out`);
      outputFiles.push(file);
      const fd = openSync(file, "w");
      const child = spawn("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], { cwd, env: blockEnv, stdio: ["ignore", fd, fd], detached: true });
      closeSync(fd);
      groups.push(child.pid!);
      const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 120_000);
      // "exit", not "close": a gateway the block starts in the background keeps the output open
      const [code, signal] = (await new Promise((resolve) => child.once("exit", (c, s) => resolve([c, s])))) as [number | null, string | null];
      clearTimeout(timer);
      const output = await readFile(file, "utf8");
      const stopped = /<<stopped at README\.md:(\d+)>>/.exec(output) ?? [...output.matchAll(/^\++ README\.md:(\d+) /gm)].at(-1);
      return { code, signal, output, lastLine: stopped ? Number(stopped[1]) : null };
    }

    for (const block of RUN) {
      test(describeBlock(block), async (t: TestContext) => {
        if (failed) return t.skip(`${failed} failed first`);
        const place = placeOf(block);
        const { cwd, env: blockEnv, world } = worldOf(place);
        try {
          if (place.store === "new") await mkdir(blockEnv.DATA_DIR!, { recursive: true });
          if (place.gateway === "test") await (testGateway ??= startTestGateway(place));
          const text = await substitute(block, world, used);
          const left = /<[A-Z_]+>|pkgs\.example\.com|\/path\/to\//.exec(text);
          assert.equal(left, null, `README.md:${block.line}: "${left?.[0]}" is left after the substitutions: add one to SUBSTITUTIONS, or mark the block not run`);
          const ran = await runBlock(block, text, cwd, blockEnv);
          for (const m of ran.output.match(TOKEN_SHAPE) ?? []) if (!tokens.includes(m)) tokens.push(m);
          const readmeLines = readFileSync(README, "utf8").split("\n");
          const where = ran.lastLine ? `README.md:${ran.lastLine}: ${readmeLines[ran.lastLine - 1]!.trim()}` : "before its first command";
          const shown = [`--- the block as run (${place.name}: ${cwd === clone ? "in the clone" : "in the project"}) ---`, text, "--- its output ---", ran.output.trimEnd()].join("\n");
          assert.equal(ran.code, 0, `${describeBlock(block)} failed (exit ${ran.code ?? ran.signal}) at ${where}\n${shown}`);
          for (const e of EXPECTED.filter((x) => block.text.includes(x.block))) {
            for (const re of e.output) assert.match(ran.output, re, `${describeBlock(block)}: ${e.why}\n${shown}`);
          }
        } catch (err) {
          failed = describeBlock(block);
          throw err;
        }
      });
    }

    test("every substitution was used, no gateway logged a token, and the repository was not written to", () => {
      if (failed) return;
      const unused = SUBSTITUTIONS.filter((_s, i) => !used.has(i)).map((s) => s.why);
      assert.deepEqual(unused, [], "substitutions no block needs any more: remove them");
      const logs = gatewayLogLines();
      assert.ok(logs.length > 0, "the gateway's log lines were found in the blocks' output");
      for (const l of logs) assert.doesNotMatch(l, TOKEN_SHAPE, "a gateway logged a token");
      for (const [p, was] of repoBefore) assert.equal(existsSync(join(ROOT, p)), was, `the test created ${p}/ in the repository`);
    });
  });
});
