// One verb table, two modes: the same command lines, run as real processes on the store (no
// login) and on a gateway (logged in as a server admin), print the same and exit the same —
// outputs, refusals and validation messages alike — once names, times, ids and secrets are
// set aside. Where the modes differ on purpose (who is "you"), each says so.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type Stack } from "../harness/gateway.js";
import { runCliProcess, type CliRun } from "../harness/cli-process.js";

const PASSWORDS = { root: "root-password-1", alice: "alice-password-1", carol: "carol-password-1" };

/** Each mode's own organization: `{org}` in a step is replaced by it. */
const ORGS = { local: "parity-local", remote: "parity-remote" } as const;
type Mode = keyof typeof ORGS;

/** A command line, and the exit code both modes must give (so that two identical failures
 * of the wrong kind cannot pass). */
const STEPS: [string[], number][] = [
  [["org", "{org}"], 0],
  [["org", "{org}", "--json"], 0],
  [["group", "--create", "{org}/readers", "--permission", "read", "--packages", "priv-a Priv_B"], 0],
  [["group", "{org}/readers", "--add-member", "carol"], 0],
  [["group", "--update", "{org}/readers", "--permission", "write"], 0],
  [["group", "--list", "{org}"], 0],
  [["group", "{org}/readers", "--json"], 0],
  [["group", "{org}/nope"], 1],
  [["group", "--create", "{org}/bad", "--permission", "owner"], 1],
  [["channel", "--private", "{org}"], 0],
  [["package", "--public", "{org}/Priv_B"], 0],
  [["package", "--private", "{org}/not a name"], 1],
  [["channel", "--show", "{org}"], 0],
  [["channel", "--show", "{org}", "--json"], 0],
  [["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "{org}", "--max-age", "3600"], 0],
  [["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "{org}"], 1],
  [["auth", "--create", "--name", "x", "--scopes", "everything", "--org", "{org}"], 1],
  [["auth", "--list", "--org", "{org}"], 0],
  [["auth", "--remove", "ci", "--org", "{org}"], 0],
  [["auth", "--remove", "ci", "--org", "{org}"], 1],
  [["user", "--show", "alice"], 0],
  [["user", "--show", "alice", "--json"], 0],
  [["org", "nobody"], 1],
  [["group", "--remove", "{org}/readers"], 0],
  [["org", "{org}", "--remove-admin", "alice"], 1],
];

/** What may differ between two runs of one step: the organization's name, times, token ids
 * and secrets. */
function normalize(r: CliRun, org: string): CliRun {
  const clean = (s: string) =>
    s
      .replaceAll(org, "{org}")
      .replace(/pkg-[A-Za-z0-9]{40}/g, "{token}")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "{time}")
      .replace(/\bid [0-9a-f]{12}\b/g, "id {id}");
  return { code: r.code, stdout: clean(r.stdout), stderr: clean(r.stderr) };
}

describe("the same verbs on the store and on a gateway", () => {
  let s: Stack;
  let dir: string;
  const results: Record<Mode, CliRun[]> = { local: [], remote: [] };
  /** A process of the CLI in `mode`: the stack's store without a login, or logged in as
   * `user` on the gateway (with no store configured at all). */
  let cli: (mode: Mode, args: string[], stdin?: string, user?: string) => Promise<CliRun>;

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" });
    dir = await mkdtemp(join(tmpdir(), "pkgate-modes-"));
    cli = (mode, args, stdin, user = "root") =>
      runCliProcess(args, { stdin, env: mode === "local" ? { ...s.env } : { PKGATE_CONFIG: join(dir, `${user}.json`), DATA_DIR: join(dir, "no-store") } });
    // the first server admin as an ops team makes it, then the others through the API
    for (const [user, password] of Object.entries(PASSWORDS)) {
      const made = await s.cli(["user", "--create", user, "--email", `${user}@example.org`, ...(user === "root" ? ["--admin"] : [])], `${password}\n`);
      assert.equal(made.code, 0, made.stderr);
    }
    for (const user of ["root", "carol"] as const) {
      const login = await cli("remote", ["login", "--site", s.url, "--username", user], `${PASSWORDS[user]}\n`, user);
      assert.equal(login.code, 0, login.stderr);
    }
    // each mode's organization with alice as its only admin: on a gateway the creator is its
    // first admin, on the store nobody is
    const setup: Record<Mode, string[][]> = {
      local: [["org", "--create", ORGS.local], ["org", ORGS.local, "--add-admin", "alice"]],
      remote: [["org", "--create", ORGS.remote], ["org", ORGS.remote, "--add-admin", "alice"], ["org", ORGS.remote, "--remove-admin", "root"]],
    };
    await Promise.all(
      (Object.keys(ORGS) as Mode[]).map(async (mode) => {
        for (const args of setup[mode]) {
          const r = await cli(mode, args);
          assert.equal(r.code, 0, `${mode} ${args.join(" ")}: ${r.stderr}`);
        }
        for (const [args] of STEPS) results[mode].push(normalize(await cli(mode, args.map((a) => a.replaceAll("{org}", ORGS[mode]))), ORGS[mode]));
      }),
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await s?.stop();
  });

  STEPS.forEach(([args, code], i) => {
    test(args.join(" "), () => {
      const local = results.local[i]!;
      assert.equal(local.code, code, `${local.stdout}${local.stderr}`);
      assert.deepEqual(results.remote[i], local);
    });
  });

  /** Verbs that read a password: the command line, what standard input gives, and the exit
   * code both modes must give. A short password is refused before the user is looked up. */
  const PASSWORD_STEPS: [string[], string, number, string][] = [
    [["user", "--reset", "nobody"], "x\n", 1, "a short password"],
    [["user", "--reset", "nobody"], "long-enough-password-1\n", 1, "no such user"],
    [["user", "--reset", "alice"], "alice-password-2\n", 0, "reset"],
    [["user", "--create", "carol", "--email", "carol@example.org"], "carol-password-9\n", 1, "a taken name"],
  ];

  PASSWORD_STEPS.forEach(([args, stdin, code, what]) => {
    test(`${args.join(" ")}: ${what}`, async () => {
      const [local, remote] = await Promise.all((Object.keys(ORGS) as Mode[]).map((mode) => cli(mode, args, stdin)));
      assert.equal(local!.code, code, `${local!.stdout}${local!.stderr}`);
      assert.deepEqual(remote, local);
    });
  });

  test("org --create: the creator is the first admin on a gateway, nobody on the store", async () => {
    const [local, remote] = await Promise.all([cli("local", ["org", "--create", "fresh-local"]), cli("remote", ["org", "--create", "fresh-remote"])]);
    assert.equal(local.stdout, "created organization fresh-local (channel fresh-local, public by default); admins: none\n");
    assert.equal(remote.stdout, "created organization fresh-remote (channel fresh-remote, public by default); admins: root\n");
  });

  test("your own tokens and password: on a gateway the logged-in user's; on the store, what to use instead", async () => {
    const [remoteList, localList] = await Promise.all([cli("remote", ["auth", "--list"]), cli("local", ["auth", "--list"])]);
    assert.equal(remoteList.code, 0, remoteList.stderr);
    assert.match(remoteList.stdout, /^login-/);
    assert.equal(localList.code, 2);
    assert.match(localList.stderr, /^pkgate auth: on the store, say whose tokens: --org ORG or --user USER/);

    const changed = await cli("remote", ["user", "--password"], `${PASSWORDS.carol}\ncarol-password-2\n`, "carol");
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stdout, "password of carol changed\n");
    const local = await cli("local", ["user", "--password"], "x\ny\n");
    assert.equal(local.code, 2);
    assert.match(local.stderr, /^pkgate user: .*set a user's password with pkgate user --reset NAME/);
  });

  test("whoami is a gateway's: on the store it says how to log in", async () => {
    const [remote, local] = await Promise.all([cli("remote", ["whoami"]), cli("local", ["whoami"])]);
    assert.match(remote.stdout, /^root \(user, server admin\) <root@example\.org> at http/);
    assert.equal(local.code, 2);
    assert.equal(local.stderr, "pkgate whoami: not logged in: pkgate login --site URL --username NAME\n");
  });
});
