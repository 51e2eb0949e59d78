// The pkgate command's help and usage errors, as users meet them: real processes. Every verb's
// help lists its options and examples (both come from the verb table); a mistyped option
// names the right one and lists the verb's options, with exit code 2 and never a TypeError
// or a stack; help never loads the store and cache clients.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliProcess, type CliRun } from "../harness/cli-process.js";
import { VERBS } from "../../src/cli/verbs.js";
import { parseCommandLine } from "../../src/cli/usage.js";

/** Nothing a user reads may look like a crash. */
function assertNoCrash(r: CliRun): void {
  assert.doesNotMatch(r.stderr, /TypeError|ERR_PARSE_ARGS|^\s+at /m, r.stderr);
}

describe("help, generated from the verb table", () => {
  test("every verb's help lists its options and examples, and exits 0", async () => {
    const runs = await Promise.all(VERBS.map((v) => runCliProcess([v.name, "--help"])));
    VERBS.forEach((v, i) => {
      const r = runs[i]!;
      assert.equal(r.code, 0, `${v.name}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, new RegExp(`^pkgate ${v.name}: `));
      for (const option of [...Object.keys(v.options), "help"]) assert.ok(r.stdout.includes(`--${option}`), `${v.name} --help lists --${option}`);
      assert.ok(v.examples.length > 0, `${v.name} has an example`);
      for (const example of v.examples) assert.ok(r.stdout.includes(example), `${v.name} --help shows ${example}`);
    });
  });

  test("publisher --help says a GitHub publisher may carry repository_owner_id and repository_id, and its example of them parses", async () => {
    const r = await runCliProcess(["publisher", "--help"]);
    assert.equal(r.code, 0, r.stderr);
    const claims = r.stdout.split("\n").find((l) => l.trimStart().startsWith("--claims"))!;
    assert.match(claims, /github: repository workflow \[environment ref repository_owner_id repository_id\]/);
    assert.match(claims, /repository_owner_id and repository_id are GitHub's numbers \(gh api repos\/OWNER\/NAME --jq '\.owner\.id, \.id'\); ids not given are recorded from its first exchange/);
    const publisher = VERBS.find((v) => v.name === "publisher")!;
    const example = publisher.examples.find((e) => e.includes("repository_id="));
    assert.ok(example, "an example with the ids");
    // the example as a shell splits it (single quotes only)
    const argv = [...example.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(2);
    const args = parseCommandLine(publisher, argv);
    assert.notEqual(args, "help");
    const request = publisher.parse(args as Exclude<typeof args, "help">) as { publisher: { claims: Record<string, string> } };
    assert.deepEqual(request.publisher.claims, { repository: "acme/lib", workflow: "release.yml", repository_owner_id: "4127003", repository_id: "58912644" });
  });

  test("pkgate help auth and pkgate auth -h say what pkgate auth --help says", async () => {
    const [long, short, topic] = await Promise.all([runCliProcess(["auth", "--help"]), runCliProcess(["auth", "-h"]), runCliProcess(["help", "auth"])]);
    assert.equal(short.stdout, long.stdout);
    assert.equal(topic.stdout, long.stdout);
    assert.match(long.stdout, /--scopes 'SCOPES'/);
  });

  test("pkgate --help, pkgate help and -h list every verb with its summary; pkgate alone prints it on stderr, exit 2", async () => {
    const [help, word, h, bare] = await Promise.all([runCliProcess(["--help"]), runCliProcess(["help"]), runCliProcess(["-h"]), runCliProcess([])]);
    for (const r of [help, word, h]) {
      assert.equal(r.code, 0, r.stderr);
      // every name stands apart from its summary, however long the name (publisher, project-status)
      const lines = r.stdout.split("\n");
      for (const v of VERBS) assert.ok(lines.some((l) => l.startsWith(`  ${v.name}  `) && l.trimEnd().endsWith(` ${v.summary}`)), `${v.name} in the general usage`);
    }
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.equal(bare.stderr, help.stdout);
  });
});

describe("usage errors: exit 2, what to type instead", () => {
  test("pkgate --version, -V and version print the version from package.json, exit 0", async () => {
    const { version } = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    for (const arg of ["--version", "-V", "version"]) {
      const r = await runCliProcess([arg]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `pkgate ${version} (Node ${process.version})\n`);
    }
  });

  test("auth --scope x names --scopes, then the verb's options", async () => {
    const r = await runCliProcess(["auth", "--create", "--name", "ci", "--scope", "conda"]);
    assert.equal(r.code, 2);
    assertNoCrash(r);
    const [first, ...rest] = r.stderr.trimEnd().split("\n");
    assert.equal(first, "pkgate auth: unknown option --scope (did you mean --scopes?)");
    const listed = rest.join("\n");
    for (const option of Object.keys(VERBS.find((v) => v.name === "auth")!.options)) assert.match(listed, new RegExp(`^  --${option}\\b`, "m"));
    assert.equal(r.stdout, "");
  });

  test("an unknown verb names the verbs, with the closest", async () => {
    const r = await runCliProcess(["grup", "--list", "acme"]);
    assert.equal(r.code, 2);
    assertNoCrash(r);
    assert.match(r.stderr, /^pkgate: unknown command "grup" \(did you mean group\?\); the commands: org, group, user, channel, package, auth, publisher, upload, remove, label, project-status, yank, login, logout, whoami, index, doctor/);
    const help = await runCliProcess(["help", "grup"]);
    assert.equal(help.code, 2);
    assert.equal(help.stderr, r.stderr);
  });

  const missing: [string[], string][] = [
    [["auth", "--create", "--org", "acme"], "pkgate auth: --create needs --name NAME and --scopes 'SCOPES'"],
    [["group", "--create", "acme/readers"], "pkgate group: --create needs --permission read|write|admin"],
    [["user", "--create", "bob"], "pkgate user: --create needs --email EMAIL"],
    [["index"], "pkgate index: give --pypi CHANNEL or --conda CHANNEL"],
    [["upload"], "pkgate upload: missing FILE: the package files to upload"],
    [["remove"], "pkgate remove: missing CHANNEL/PACKAGE[/VERSION[/SUBDIR/FILE]]"],
    [["auth", "--name"], "pkgate auth: --name needs a value: --name NAME"],
  ];
  test("missing required options are named, followed by the verb's forms", async () => {
    const runs = await Promise.all(missing.map(([args]) => runCliProcess(args)));
    missing.forEach(([args, message], i) => {
      const r = runs[i]!;
      assert.equal(r.code, 2, args.join(" "));
      assertNoCrash(r);
      const [first, second] = r.stderr.split("\n");
      assert.equal(first, message);
      assert.equal(second, "usage:");
      assert.match(r.stderr, new RegExp(`^  pkgate ${args[0]} `, "m"));
    });
  });

  test("a verb of one mode says where it runs when given the other mode's switch", async () => {
    const [index, whoami] = await Promise.all([runCliProcess(["index", "--pypi", "acme", "--site", "https://pkgs.example.com"]), runCliProcess(["whoami", "--local"])]);
    assert.equal(index.code, 2);
    assert.match(index.stderr, /^pkgate index: acts on the store directly, never through a gateway/);
    assert.equal(whoami.code, 2);
    assert.match(whoami.stderr, /^pkgate whoami: acts on a gateway .*never on the store/);
  });
});

describe("what the command loads", () => {
  // what only the store's side needs: the S3 and Redis clients, the logger, the web framework,
  // and our own store, cache and catalog
  const HEAVY = /\/node_modules\/(minio|ioredis|pino|hono)\/|\/src\/(runtime\.ts|store\/|cache\/|access\/catalog\.ts)/;

  async function modulesOf(args: string[], env: Record<string, string> = {}): Promise<{ run: CliRun; modules: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), "pkgate-modules-"));
    try {
      const log = join(dir, "modules.txt");
      const run = await runCliProcess(args, { env, moduleLog: log });
      return { run, modules: (await readFile(log, "utf8")).split("\n").filter(Boolean) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("help and a gateway's verbs never load the store and cache clients; the store's verbs do", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pkgate-modes-"));
    try {
      // a stored login for a gateway that is not there: the remote path, with nothing to reach
      const login = join(dir, "config.json");
      await writeFile(login, JSON.stringify({ site: "http://127.0.0.1:9", token: "pkg-" + "a".repeat(40) }));
      const [help, verbHelp, remote, local] = await Promise.all([
        modulesOf(["--help"]),
        modulesOf(["auth", "--help"]),
        modulesOf(["whoami"], { PKGATE_CONFIG: login }),
        modulesOf(["org", "nobody"], { DATA_DIR: join(dir, "data") }),
      ]);
      for (const [name, { run, modules }] of Object.entries({ help, verbHelp, remote })) {
        assert.ok(modules.some((m) => m.endsWith("/src/cli/verbs.ts")), `${name}: the module log works`);
        assert.deepEqual(modules.filter((m) => HEAVY.test(m)), [], `${name} loads none of the store's side (${run.stderr})`);
        // the YAML parser is the first environment's to load (30-45 ms of every start)
        assert.deepEqual(modules.filter((m) => m.includes("/node_modules/yaml/")), [], `${name} loads no YAML parser`);
      }
      assert.equal(remote.run.code, 1);
      assert.match(remote.run.stderr, /^pkgate whoami: cannot reach http:\/\/127\.0\.0\.1:9/);
      assert.equal(local.run.code, 1);
      assert.match(local.run.stderr, /no such organization: nobody/);
      assert.ok(local.modules.some((m) => m.endsWith("/src/runtime.ts")), "the check would see the runtime if it were loaded");
      // what only publishing, PyPI states and trusted publishers need is theirs to load
      const PUBLISHING = /\/src\/(api\/(conda|kinds|pypi)\.ts|conda\/publish\.ts|kinds\/files\.ts|pypi\/registry\.ts|oidc\/exchange\.ts)/;
      assert.deepEqual(local.modules.filter((m) => PUBLISHING.test(m)), [], "org loads no publisher");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
