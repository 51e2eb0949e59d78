// The command line's grammar, in process: what each line parses to, and the usage error each
// wrong line gets (the words a user reads). The processes users run are in help.test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closest, parseCommandLine, UsageError, type Args } from "../../src/cli/usage.js";
import { VERBS, type Verb } from "../../src/cli/verbs.js";

const verb = (name: string): Verb => VERBS.find((v) => v.name === name)!;

/** The request a command line parses to, or the usage error's message. */
function parse(line: string[]): unknown {
  const [name, ...argv] = line;
  const v = verb(name!);
  try {
    const args = parseCommandLine(v, argv);
    return args === "help" ? "help" : v.parse(args as Args);
  } catch (err) {
    if (err instanceof UsageError) return `usage: ${err.message}`;
    throw err;
  }
}

describe("closest: the option or command a typo meant", () => {
  const cases: [string, string[], string | null][] = [
    ["scope", ["create", "scopes", "name"], "scopes"],
    ["perm", ["permission", "packages"], "permission"],
    ["grup", ["org", "group", "user"], "group"],
    ["usr", ["org", "group", "user"], "user"],
    ["craete", ["create", "list"], "create"],
    ["frobnicate", ["org", "group", "user"], null],
    ["x", ["org", "group"], null],
  ];
  for (const [word, candidates, expected] of cases) test(`${word} → ${expected}`, () => assert.equal(closest(word, candidates), expected));
});

describe("each verb: the request a line parses to", () => {
  const cases: [string[], unknown][] = [
    [["org", "--create", "acme"], { action: "create", name: "acme", adopt: false }],
    [["org", "acme", "--add-admin", "bob"], { action: "add-admin", name: "acme", user: "bob" }],
    [["org", "acme"], { action: "show", name: "acme" }],
    [["group", "--create", "acme/readers", "--permission", "read"], { action: "create", org: "acme", group: "readers", permission: "read", packages: "*" }],
    [["group", "--update", "acme/readers", "--packages", "a, B_c d"], { action: "update", org: "acme", group: "readers", permission: undefined, packages: ["a", "B_c", "d"] }],
    [["group", "--remove", "acme/readers"], { action: "remove", org: "acme", group: "readers" }],
    [["user", "--show", "alice"], { action: "show", name: "alice" }],
    [["user", "--password"], { action: "password" }],
    [["channel", "--private", "acme"], { action: "set", name: "acme", privacy: "private" }],
    [["package", "--public", "acme/Some_Lib"], { channel: "acme", name: "Some_Lib", privacy: "public" }],
    [["auth", "--create", "--name", "ci", "--scopes", "conda", "--org", "acme", "--max-age", "60"], { owner: { kind: "org", name: "acme" }, action: "create", name: "ci", scopes: "conda", maxAgeSeconds: 60 }],
    [["auth", "--list"], { owner: { kind: "self" }, action: "list" }],
    [["auth", "--remove", "ci", "--user", "alice"], { owner: { kind: "user", name: "alice" }, action: "remove", name: "ci" }],
    [["auth", "--scope", "x", "--help"], "help"],
    [["auth", "-h"], "help"],
    [["index", "--pypi", "acme"], { kind: "pypi", channel: "acme" }],
    [["index", "--conda", "acme"], { kind: "conda", channel: "acme" }],
    [["upload", "dist/a-1.0-0.conda", "b-2.0-1.tar.bz2"], { channel: null, label: "main", existing: "refuse", files: [{ path: "dist/a-1.0-0.conda", filename: "a-1.0-0.conda" }, { path: "b-2.0-1.tar.bz2", filename: "b-2.0-1.tar.bz2" }] }],
    [["upload", "a-1.0-0.conda", "--channel", "acme", "--label", "dev", "--force"], { channel: "acme", label: "dev", existing: "replace", files: [{ path: "a-1.0-0.conda", filename: "a-1.0-0.conda" }] }],
    [["upload", "a-1.0-0.conda", "--skip"], { channel: null, label: "main", existing: "skip", files: [{ path: "a-1.0-0.conda", filename: "a-1.0-0.conda" }] }],
    [["remove", "acme/noarch/a-1.0-0.conda"], { channel: "acme", sel: { name: "a", file: "noarch/a-1.0-0.conda" }, label: null }],
    [["remove", "acme/linux-64/a-1.0-0.tar.bz2", "--label", "dev"], { channel: "acme", sel: { name: "a", file: "linux-64/a-1.0-0.tar.bz2" }, label: "dev" }],
    [["remove", "acme/pkg"], { channel: "acme", sel: { name: "pkg" }, label: null }],
    [["remove", "acme/pkg/1.2"], { channel: "acme", sel: { name: "pkg", version: "1.2" }, label: null }],
    [["remove", "acme/pkg/1.2/linux-64/pkg-1.2-0.conda", "--label", "main"], { channel: "acme", sel: { name: "pkg", version: "1.2", file: "linux-64/pkg-1.2-0.conda" }, label: "main" }],
    [["label", "--list", "acme"], { action: "list", channel: "acme" }],
    [["label", "--copy", "dev", "--to", "main", "acme/pkg/1.2"], { action: "copy", channel: "acme", from: "dev", to: "main", sel: { name: "pkg", version: "1.2" } }],
    [["label", "--move", "dev", "--to", "main", "acme/pkg"], { action: "move", channel: "acme", from: "dev", to: "main", sel: { name: "pkg" } }],
    [["label", "--remove", "dev", "acme/noarch/pkg-1.2-0.conda"], { action: "remove", channel: "acme", label: "dev", sel: { name: "pkg", file: "noarch/pkg-1.2-0.conda" } }],
    [["login", "--site", "https://pkgs.example.com", "--username", "alice"], { username: "alice" }],
  ];
  for (const [line, expected] of cases) test(line.join(" "), () => assert.deepEqual(parse(line), expected));
});

describe("each wrong line: the usage error it gets", () => {
  const cases: [string[], string][] = [
    [["auth", "--scope", "x"], "unknown option --scope (did you mean --scopes?)"],
    [["group", "--perm", "read"], "unknown option --perm (did you mean --permission?)"],
    [["org", "-x"], "unknown option -x"],
    [["auth", "--create", "--org", "acme"], "--create needs --name NAME and --scopes 'SCOPES'"],
    [["auth", "--create", "--name", "ci", "--org", "acme"], "--create needs --scopes 'SCOPES'"],
    [["auth", "--list", "--org", "acme", "--user", "alice"], "give --org ORG or --user USER, not both"],
    [["auth", "--list", "--create"], "give only one of --create or --list"],
    [["auth", "--list", "--name", "x"], "--name goes with --create"],
    [["auth", "--create", "--name", "ci", "--scopes", "conda", "--max-age", "1h"], "--max-age is a whole number of seconds"],
    [["auth"], "give --create, --list or --remove NAME"],
    [["auth", "--name"], "--name needs a value: --name NAME"],
    [["auth", "--name", "--scopes", "x"], "--name needs a value: --name NAME"],
    [["auth", "--list=yes"], "--list takes no value"],
    [["group", "--create", "acme/readers"], "--create needs --permission read|write|admin"],
    [["group", "acme"], 'expected ORG/GROUP, not "acme"'],
    [["group", "--list", "acme", "--permission", "read"], "--permission goes with --create or --update"],
    [["group", "--update", "acme/readers"], "--update needs --permission and/or --packages"],
    [["org"], "missing NAME"],
    [["org", "a", "b"], "one NAME expected, not 2: a b"],
    [["org", "acme", "--adopt"], "--adopt goes with --create"],
    [["user", "--create", "bob"], "--create needs --email EMAIL"],
    [["user"], "give --create NAME, --show NAME, --reset NAME or --password"],
    [["channel", "--show", "acme", "--private", "acme"], "give only one of --show, --private NAME or --public NAME"],
    [["package", "--private", "acme"], 'expected CHANNEL/NAME, not "acme"'],
    [["index"], "give --pypi CHANNEL or --conda CHANNEL"],
    [["index", "--pypi", "acme", "--conda", "acme"], "give only one of --pypi CHANNEL or --conda CHANNEL"],
    [["upload"], "missing FILE: the package files to upload"],
    [["upload", "a-1.0-0.conda", "--force", "--skip"], "give only one of --force or --skip"],
    [["upload", "a-1.0-0.conda", "docs/readme.txt"], "docs/readme.txt: pkgate upload takes conda packages (.conda, .tar.bz2), environments (.yml, .yaml) and notebooks (.ipynb)"],
    [["remove", "acme/a-1.0-0.conda"], 'a file is named with its subdir: CHANNEL/SUBDIR/FILE (e.g. acme/noarch/a-1.0-0.conda), not "acme/a-1.0-0.conda"'],
    [["remove", "a", "b"], "one CHANNEL/PACKAGE[/VERSION[/SUBDIR/FILE]] expected, not 2: a b"],
    [["remove", "acme"], 'expected CHANNEL/PACKAGE[/VERSION[/SUBDIR/FILE]] or CHANNEL/SUBDIR/FILE (e.g. acme/pkg, acme/pkg/1.2, acme/noarch/pkg-1.2-0.conda), not "acme"'],
    [["remove", "acme/pkg/1.2/noarch/other-1.2-0.conda"], "noarch/other-1.2-0.conda is not a file of pkg 1.2"],
    [["label"], "give --list CHANNEL, --copy FROM --to TO, --move FROM --to TO or --remove LABEL"],
    [["label", "--copy", "dev", "acme/pkg"], "--copy needs --to LABEL"],
    [["label", "--list", "acme", "--to", "main"], "--to goes with --copy or --move"],
    [["label", "--copy", "dev", "--move", "dev", "--to", "main", "acme/pkg"], "give only one of --copy LABEL or --move LABEL"],
    [["index", "--pypi", "acme", "--site", "https://x"], "acts on the store directly, never through a gateway: run it where the store is configured (DATA_DIR or S3_*), without --site"],
    [["whoami", "--local"], "acts on a gateway (your login, or --site URL), never on the store: drop --local"],
    [["whoami", "extra"], "unexpected argument extra"],
    [["login", "--site", "https://x"], "needs --username NAME"],
  ];
  for (const [line, message] of cases) test(line.join(" "), () => assert.equal(parse(line), `usage: ${message}`));
});
