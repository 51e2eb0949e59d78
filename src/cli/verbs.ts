// The pkgate command's verbs, anaconda-client's: one table, the only place a verb is defined.
// Each has its options (with their help), its forms and examples, its parse (options → a
// typed request, or a usage error), its run against an interface of operations.ts, and its
// output (text for people, or what --json prints). Most run in both modes — on a gateway's
// /api (remote.ts) or on the store (local.ts) — through the same `Operations`, so they parse
// and print the same either way; `where` marks the few that run in one mode only. The general
// usage and each verb's help are generated from this table (usage.ts).
import type { YankSelector } from "./operations.js";
import type { ChannelView, CondaRemoval, CondaUploadResult, CopyResult, Group, OnExisting, Operations, OrgView, PackageSelector, Privacy, RebuildResult, Session, StoreOperations, TokenOwner, TokenView, UserView } from "./operations.js";
import { isCondaSubdir, parseCondaFilename } from "../conda/filename.js";
import { kindOfFile } from "../kinds/kinds.js";
import type { KindPutResult } from "../kinds/files.js";
import { UsageError, listInWords, missingOptions, optionForm, type Args, type CommandSpec, type OptionSpec, type OptionTable } from "./usage.js";

import type { NewPublisher, PublisherView } from "./operations.js";

export const PROGRAM = "pkgate";

/** Where a verb runs: both modes (a gateway after `pkgate login` or with --site, else the
 * store), a gateway only, or the store only. */
export type Where = "both" | "gateway" | "store";

export interface VerbIo {
  /** --json was given. */
  json: boolean;
  /** Ask for a secret: hidden on a terminal, the next line of standard input otherwise. */
  ask(prompt: string): Promise<string>;
  /** For a verb that writes its own report. */
  stdout: { write(s: string): void };
}

/** What a verb prints (`text`, or `json` with --json), or the exit code of a verb that wrote
 * its own report. */
export type Output = { text: string; json: unknown } | { exitCode: number };

interface VerbOf<W extends Where, Target, Req> extends CommandSpec {
  where: W;
  parse(args: Args): Req;
  // a method, so a verb with its own request type fits the table's `unknown` (bivariance)
  run(target: Target, req: Req, io: VerbIo): Promise<Output>;
}

export type Verb = VerbOf<"both", Operations, unknown> | VerbOf<"gateway", Session, unknown> | VerbOf<"store", StoreOperations, unknown>;

// ---- options every verb of a kind takes ------------------------------------------------

const JSON_OPTION: OptionSpec = { type: "boolean", help: "machine-readable output (JSON)" };
const SITE: OptionSpec = { type: "string", value: "URL", help: "act on this gateway (with the stored token when the stored login is for it)" };
const LOCAL: OptionSpec = { type: "boolean", help: "act on the store and cache of the environment, even when logged in" };

/** A verb of the table, with the options of its kind: --json for all, --site and --local
 * where both modes are possible, --site on a gateway; the other mode's switch is refused
 * with a sentence saying where the verb runs. */
function verb<W extends Where, Target, Req>(v: VerbOf<W, Target, Req>): VerbOf<W, Target, Req> {
  const modeOptions: OptionTable = v.where === "both" ? { site: SITE, local: LOCAL } : v.where === "gateway" ? { site: SITE } : {};
  const refuses: Record<string, string> =
    v.where === "store"
      ? {
          site: "acts on the store directly, never through a gateway: run it where the store is configured (DATA_DIR or S3_*), without --site",
          local: "always acts on the store: --local is not needed",
        }
      : v.where === "gateway"
        ? { local: "acts on a gateway (your login, or --site URL), never on the store: drop --local" }
        : {};
  return { ...v, options: { ...v.options, ...modeOptions, json: JSON_OPTION }, refuses };
}

// ---- parsing helpers ---------------------------------------------------------------------

/** The one action among `actions` (option names) the line asks for, or null for none. */
function pick<A extends string>(options: OptionTable, args: Args, actions: readonly A[]): A | null {
  const given = actions.filter((a) => args.values[a] !== undefined);
  if (given.length > 1) throw new UsageError(`give only one of ${listInWords(given.map((a) => optionForm(a, options[a]!)), "or")}`);
  return given[0] ?? null;
}

/** Options that mean something with one of the `allowed` actions only: refused otherwise. */
function onlyWith(args: Args, names: readonly string[], action: string | null, allowed: readonly string[]): void {
  const stray = names.filter((n) => args.values[n] !== undefined);
  if (stray.length > 0 && !allowed.includes(action ?? "")) {
    throw new UsageError(`${listInWords(stray.map((n) => `--${n}`))} ${stray.length > 1 ? "go" : "goes"} with ${listInWords(allowed.map((a) => `--${a}`), "or")}`);
  }
}

/** The `names` options are required (by the action `what`, when only it needs them). */
function need(options: OptionTable, args: Args, names: readonly string[], what?: string): void {
  const missing = missingOptions(options, args, names);
  if (missing.length > 0) throw new UsageError(`${what ? `${what} needs` : "needs"} ${listInWords(missing)}`);
}

/** The one positional argument, named `what` in messages. */
function positional(args: Args, what: string): string {
  if (args.positionals.length === 1) return args.positionals[0]!;
  throw new UsageError(args.positionals.length === 0 ? `missing ${what}` : `one ${what} expected, not ${args.positionals.length}: ${args.positionals.join(" ")}`);
}

function noPositionals(args: Args): void {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
}

/** The parse of a verb that takes no arguments but its options. */
function nothing(args: Args): null {
  noPositionals(args);
  return null;
}

/** `A/B` → its two parts (ORG/GROUP, CHANNEL/NAME). */
function pair(spec: string, what: string): [string, string] {
  const m = /^([^/]+)\/([^/]+)$/.exec(spec);
  if (!m) throw new UsageError(`expected ${what}, not "${spec}"`);
  return [m[1]!, m[2]!];
}

/** Group packages as typed: '*' or names separated by spaces or commas. */
function packagesOption(s: string): string[] | "*" {
  const t = s.trim();
  return t === "*" ? "*" : t.split(/[\s,]+/).filter(Boolean);
}

function str(args: Args, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** `--private X` or `--public X`: the privacy and X. */
function privacyOption(options: OptionTable, args: Args): [Privacy, string] | null {
  const which = pick(options, args, ["private", "public"] as const);
  return which === null ? null : [which, str(args, which)!];
}

// ---- output --------------------------------------------------------------------------------

const formatGroup = (g: Group) =>
  `${g.name}\t${g.permission} on ${g.packages === "*" ? "all packages" : g.packages.join(" ") || "no packages"}\tmembers: ${g.members.join(" ") || "none"}`;

const formatOrg = (o: OrgView) =>
  [`organization ${o.name} (packages ${o.defaultPrivacy} by default)`, `admins: ${o.admins.join(" ") || "none"}`, ...(o.groups.length ? o.groups.map((g) => `group ${formatGroup(g)}`) : ["no groups"])].join("\n");

const formatToken = (t: TokenView) => `${t.name}\tid ${t.id}\tscopes ${t.scopes.join(" ")}\texpires ${t.expiresAt}`;

const formatUser = (u: UserView) => `${u.name}${u.email ? ` <${u.email}>` : ""}${u.serverAdmin ? " (server admin)" : ""}`;

const formatChannel = (c: ChannelView) => [`channel ${c.name}: ${c.defaultPrivacy} by default`, ...Object.entries(c.packages).map(([p, v]) => `${p}\t${v}`)].join("\n");

const whose = (owner: TokenOwner) => (owner.kind === "self" ? "" : ` for ${owner.name}`);

// ---- the verbs -------------------------------------------------------------------------------

const ORG_OPTIONS: OptionTable = {
  create: { type: "boolean", help: "create the organization NAME (its channel has the same name)" },
  adopt: { type: "boolean", help: "with --create: take over what the store already holds under NAME/ (server admins)" },
  "add-admin": { type: "string", value: "USER", help: "make USER an admin of the organization" },
  "remove-admin": { type: "string", value: "USER", help: "remove an admin (the last one cannot leave)" },
};

type OrgRequest = { action: "create"; name: string; adopt: boolean } | { action: "show"; name: string } | { action: "add-admin" | "remove-admin"; name: string; user: string };

const org = verb<"both", Operations, OrgRequest>({
  name: "org",
  summary: "create and show organizations, and change their admins",
  where: "both",
  forms: ["org --create NAME [--adopt]", "org NAME [--add-admin USER | --remove-admin USER]"],
  notes: "On a gateway you are the new organization's first admin; on the store it starts with none (add one with --add-admin).",
  options: ORG_OPTIONS,
  examples: ["pkgate org --create acme", "pkgate org acme --add-admin alice", "pkgate org acme --json"],
  parse(args) {
    const action = pick(ORG_OPTIONS, args, ["create", "add-admin", "remove-admin"] as const);
    onlyWith(args, ["adopt"], action, ["create"]);
    const name = positional(args, "NAME");
    if (action === "create") return { action, name, adopt: args.values.adopt === true };
    if (action === null) return { action: "show", name };
    return { action, name, user: str(args, action)! };
  },
  async run(ops, r) {
    switch (r.action) {
      case "create": {
        const o = await ops.createOrg(r.name, r.adopt);
        return { text: `created organization ${o.name} (channel ${o.name}, ${o.defaultPrivacy} by default); admins: ${o.admins.join(" ") || "none"}`, json: o };
      }
      case "show":
        return orgOutput(await ops.showOrg(r.name));
      case "add-admin":
        return orgOutput(await ops.addOrgAdmin(r.name, r.user));
      case "remove-admin":
        return orgOutput(await ops.removeOrgAdmin(r.name, r.user));
    }
  },
});

const orgOutput = (o: OrgView): Output => ({ text: formatOrg(o), json: o });

const GROUP_OPTIONS: OptionTable = {
  create: { type: "boolean", help: "create the group ORG/GROUP (needs --permission)" },
  update: { type: "boolean", help: "change the group's --permission and/or --packages" },
  list: { type: "boolean", help: "list the groups of the organization ORG" },
  remove: { type: "string", value: "ORG/GROUP", help: "delete a group; its members lose what it gave them" },
  permission: { type: "string", value: "read|write|admin", help: "what the group's members may do on its packages" },
  packages: { type: "string", value: "'a b'|'*'", help: "the packages it covers: names (spaces or commas), or '*' for all (the default)" },
  "add-member": { type: "string", value: "USER", help: "add USER to the group" },
  "remove-member": { type: "string", value: "USER", help: "remove USER from the group" },
};

type GroupRequest =
  | { action: "list"; org: string }
  | { action: "remove"; org: string; group: string }
  | { action: "show"; org: string; group: string }
  | { action: "create"; org: string; group: string; permission: string; packages: string[] | "*" }
  | { action: "update"; org: string; group: string; permission?: string; packages?: string[] | "*" }
  | { action: "add-member" | "remove-member"; org: string; group: string; user: string };

const group = verb<"both", Operations, GroupRequest>({
  name: "group",
  summary: "the groups of an organization: their permission, packages and members",
  where: "both",
  forms: [
    "group --create ORG/GROUP --permission read|write|admin [--packages 'a b' | '*']",
    "group --update ORG/GROUP [--permission P] [--packages 'a b' | '*']",
    "group ORG/GROUP [--add-member USER | --remove-member USER]",
    "group --remove ORG/GROUP",
    "group --list ORG",
  ],
  options: GROUP_OPTIONS,
  examples: ["pkgate group --create acme/readers --permission read --packages 'secret-lib other-lib'", "pkgate group acme/readers --add-member carol", "pkgate group --list acme"],
  parse(args) {
    const action = pick(GROUP_OPTIONS, args, ["create", "update", "list", "remove", "add-member", "remove-member"] as const);
    onlyWith(args, ["permission", "packages"], action, ["create", "update"]);
    if (action === "list") return { action, org: positional(args, "ORG") };
    if (action === "remove") {
      noPositionals(args);
      const [org, group] = pair(str(args, "remove")!, "ORG/GROUP");
      return { action, org, group };
    }
    const [org, group] = pair(positional(args, "ORG/GROUP"), "ORG/GROUP");
    const packages = str(args, "packages");
    const permission = str(args, "permission");
    switch (action) {
      case "create":
        need(GROUP_OPTIONS, args, ["permission"], "--create");
        return { action, org, group, permission: permission!, packages: packagesOption(packages ?? "*") };
      case "update":
        if (permission === undefined && packages === undefined) throw new UsageError("--update needs --permission and/or --packages");
        return { action, org, group, permission, packages: packages === undefined ? undefined : packagesOption(packages) };
      case "add-member":
      case "remove-member":
        return { action, org, group, user: str(args, action)! };
      case null:
        return { action: "show", org, group };
    }
  },
  async run(ops, r) {
    switch (r.action) {
      case "list": {
        const groups = await ops.listGroups(r.org);
        return { text: groups.length ? groups.map(formatGroup).join("\n") : `no groups in ${r.org}`, json: groups };
      }
      case "remove":
        await ops.deleteGroup(r.org, r.group);
        return { text: `deleted group ${r.org}/${r.group}`, json: { org: r.org, group: r.group, deleted: true } };
      case "show":
        return groupOutput(r.org, await ops.showGroup(r.org, r.group));
      case "create":
        return groupOutput(r.org, await ops.createGroup(r.org, { name: r.group, permission: r.permission, packages: r.packages }));
      case "update":
        return groupOutput(r.org, await ops.updateGroup(r.org, r.group, { permission: r.permission, packages: r.packages }));
      case "add-member":
        return groupOutput(r.org, await ops.addGroupMember(r.org, r.group, r.user));
      case "remove-member":
        return groupOutput(r.org, await ops.removeGroupMember(r.org, r.group, r.user));
    }
  },
});

const groupOutput = (org: string, g: Group): Output => ({ text: `${org}/${formatGroup(g)}`, json: g });

const USER_OPTIONS: OptionTable = {
  create: { type: "boolean", help: "create the user NAME (its channel has the same name); needs --email" },
  email: { type: "string", value: "EMAIL", help: "with --create: the user's email address" },
  admin: { type: "boolean", help: "with --create: a server admin (every right on every account)" },
  adopt: { type: "boolean", help: "with --create: take over what the store already holds under NAME/ (server admins)" },
  show: { type: "boolean", help: "show the user NAME" },
  reset: { type: "string", value: "NAME", help: "set the user NAME's password (server admins, or on the store)" },
  password: { type: "boolean", help: "change your own password (on a gateway: the current one, then the new one)" },
};

type UserRequest =
  | { action: "create"; name: string; email: string; serverAdmin: boolean; adopt: boolean }
  | { action: "show"; name: string }
  | { action: "reset"; name: string }
  | { action: "password" };

const user = verb<"both", Operations, UserRequest>({
  name: "user",
  summary: "create and show users, and set their passwords",
  where: "both",
  forms: ["user --create NAME --email EMAIL [--admin] [--adopt]", "user --show NAME", "user --reset NAME", "user --password"],
  notes:
    "Passwords are read from the terminal (hidden), or one per line from standard input. On the store you act as its operator, not as a user: there is no password of your own to change there; set anyone's with --reset NAME.",
  options: USER_OPTIONS,
  examples: ["printf '%s\\n' \"$PASSWORD\" | pkgate user --create admin --email ops@example.org --admin", "pkgate user --show alice", "pkgate user --password"],
  parse(args) {
    const action = pick(USER_OPTIONS, args, ["create", "show", "reset", "password"] as const);
    onlyWith(args, ["email", "admin", "adopt"], action, ["create"]);
    switch (action) {
      case "create":
        need(USER_OPTIONS, args, ["email"], "--create");
        return { action, name: positional(args, "NAME"), email: str(args, "email")!, serverAdmin: args.values.admin === true, adopt: args.values.adopt === true };
      case "show":
        return { action, name: positional(args, "NAME") };
      case "reset":
        noPositionals(args);
        return { action, name: str(args, "reset")! };
      case "password":
        noPositionals(args);
        return { action };
      case null:
        throw new UsageError("give --create NAME, --show NAME, --reset NAME or --password");
    }
  },
  async run(ops, r, io) {
    switch (r.action) {
      case "create": {
        const password = await io.ask(`password for the new user ${r.name}: `);
        const u = await ops.createUser({ name: r.name, email: r.email, password, serverAdmin: r.serverAdmin, adopt: r.adopt });
        return { text: `created user ${formatUser(u)}`, json: u };
      }
      case "show": {
        const u = await ops.showUser(r.name);
        return { text: formatUser(u), json: u };
      }
      case "reset": {
        await ops.setPassword(r.name, await io.ask(`new password for ${r.name}: `));
        return { text: `password of ${r.name} reset`, json: { user: r.name, changed: true } };
      }
      case "password": {
        const me = await ops.ownAccount();
        const current = await io.ask("current password: ");
        await ops.setPassword(me, await io.ask("new password: "), current);
        return { text: `password of ${me} changed`, json: { user: me, changed: true } };
      }
    }
  },
});

const CHANNEL_OPTIONS: OptionTable = {
  show: { type: "boolean", help: "the channel NAME's default privacy and each package's own" },
  private: { type: "string", value: "NAME", help: "make the channel's packages private by default" },
  public: { type: "string", value: "NAME", help: "make the channel's packages public by default" },
};

type ChannelRequest = { action: "show"; name: string } | { action: "set"; name: string; privacy: Privacy };

const channel = verb<"both", Operations, ChannelRequest>({
  name: "channel",
  summary: "a channel's default privacy (packages without their own setting follow it)",
  where: "both",
  forms: ["channel --show NAME", "channel --private NAME | --public NAME"],
  options: CHANNEL_OPTIONS,
  examples: ["pkgate channel --private acme", "pkgate channel --show acme"],
  parse(args) {
    const privacy = privacyOption(CHANNEL_OPTIONS, args);
    if (privacy && args.values.show) throw new UsageError("give only one of --show, --private NAME or --public NAME");
    if (privacy) {
      noPositionals(args);
      return { action: "set", privacy: privacy[0], name: privacy[1] };
    }
    if (!args.values.show) throw new UsageError("give --show NAME, --private NAME or --public NAME");
    return { action: "show", name: positional(args, "NAME") };
  },
  async run(ops, r) {
    if (r.action === "show") {
      const c = await ops.showChannel(r.name);
      return { text: formatChannel(c), json: c };
    }
    const c = await ops.setChannelPrivacy(r.name, r.privacy);
    return { text: `channel ${c.name} is now ${c.defaultPrivacy} by default`, json: { channel: c.name, defaultPrivacy: c.defaultPrivacy } };
  },
});

const PACKAGE_OPTIONS: OptionTable = {
  private: { type: "string", value: "CHANNEL/NAME", help: "make the package private (conda and PyPI names alike)" },
  public: { type: "string", value: "CHANNEL/NAME", help: "make the package public" },
};

const pkg = verb<"both", Operations, { channel: string; name: string; privacy: Privacy }>({
  name: "package",
  summary: "one package's privacy, whatever its channel's default",
  where: "both",
  forms: ["package --private CHANNEL/NAME | --public CHANNEL/NAME"],
  options: PACKAGE_OPTIONS,
  examples: ["pkgate package --private acme/secret-lib", "pkgate package --public acme/Some_Lib   # names are normalized: some-lib"],
  parse(args) {
    noPositionals(args);
    const privacy = privacyOption(PACKAGE_OPTIONS, args);
    if (!privacy) throw new UsageError("give --private CHANNEL/NAME or --public CHANNEL/NAME");
    const [channel, name] = pair(privacy[1], "CHANNEL/NAME");
    return { channel, name, privacy: privacy[0] };
  },
  async run(ops, r) {
    const p = await ops.setPackagePrivacy(r.channel, r.name, r.privacy);
    return { text: `package ${p.channel}/${p.package} is now ${p.privacy}`, json: p };
  },
});

// ---- PyPI projects: status (PEP 792) and yanks (PEP 592) --------------------------------------

const STATUSES = ["active", "archived", "quarantined", "deprecated"] as const;
const REASON: OptionSpec = { type: "string", value: "TEXT", help: "why, in one line: installers show it" };

const projectStatus = verb<"both", Operations, { channel: string; project: string; status: string; reason?: string }>({
  name: "project-status",
  summary: "set a PyPI project's status (PEP 792): active, deprecated, archived or quarantined",
  where: "both",
  forms: ["project-status CHANNEL/PROJECT active|deprecated|archived|quarantined [--reason TEXT]"],
  notes:
    "pip and uv read it from the Simple API (project-status, api-version 1.4). deprecated: served as before, marked. archived: served, new uploads refused. quarantined: the project page lists no file and its files answer 404, uploads refused. active undoes them all. Needs write on the package (as an upload: a token with pypi:upload).",
  options: { reason: REASON },
  examples: ["pkgate project-status acme/old-lib archived --reason 'use acme-lib 2'", "pkgate project-status acme/evil-lib quarantined", "pkgate project-status acme/old-lib active"],
  parse(args) {
    if (args.positionals.length !== 2) throw new UsageError("expected CHANNEL/PROJECT and a status");
    const [channel, project] = pair(args.positionals[0]!, "CHANNEL/PROJECT");
    const status = args.positionals[1]!;
    if (!(STATUSES as readonly string[]).includes(status)) throw new UsageError(`the status is one of ${listInWords([...STATUSES], "or")}, not "${status}"`);
    return { channel, project, status, reason: str(args, "reason") };
  },
  async run(ops, r) {
    const x = await ops.setPypiStatus(r.channel, r.project, r.status, r.reason);
    return { text: `project ${x.channel}/${x.project} is now ${x.status}${x.reason ? ` (${x.reason})` : ""}`, json: x };
  },
});

/** `CHANNEL/PROJECT/VERSION` (a release) or `CHANNEL/PROJECT/FILE` (one wheel or sdist). */
function parseYankSpec(spec: string): { channel: string; project: string; sel: YankSelector } {
  const m = /^([^/]+)\/([^/]+)\/([^/]+)$/.exec(spec);
  if (!m) throw new UsageError(`expected CHANNEL/PROJECT/VERSION or CHANNEL/PROJECT/FILE (e.g. acme/acme-lib/1.2, acme/acme-lib/acme_lib-1.2-py3-none-any.whl), not "${spec}"`);
  const last = m[3]!;
  const sel = /\.(whl|tar\.gz|zip)$/i.test(last) ? { file: last } : { version: last };
  return { channel: m[1]!, project: m[2]!, sel };
}

const yank = verb<"both", Operations, { channel: string; project: string; sel: YankSelector; reason: string | false }>({
  name: "yank",
  summary: "yank a PyPI release or file (PEP 592), with a reason; --undo un-yanks it",
  where: "both",
  forms: ["yank CHANNEL/PROJECT/VERSION [--reason TEXT]", "yank CHANNEL/PROJECT/FILE [--reason TEXT]", "yank --undo CHANNEL/PROJECT/VERSION|FILE"],
  notes:
    "A yanked file stays downloadable: pip and uv skip it unless a requirement pins it with ==. A release yanks every file it has now. Yanking again replaces the reason. Needs write on the package (as an upload).",
  options: { reason: REASON, undo: { type: "boolean", help: "un-yank" } },
  examples: ["pkgate yank acme/acme-lib/1.2 --reason 'breaks on Windows'", "pkgate yank acme/acme-lib/acme_lib-1.2-cp312-cp312-win_amd64.whl", "pkgate yank --undo acme/acme-lib/1.2"],
  parse(args) {
    const { channel, project, sel } = parseYankSpec(positional(args, "CHANNEL/PROJECT/VERSION or CHANNEL/PROJECT/FILE"));
    const undo = args.values["undo"] === true;
    if (undo && str(args, "reason") !== undefined) throw new UsageError("--undo takes no --reason");
    return { channel, project, sel, reason: undo ? false : (str(args, "reason") ?? "") };
  },
  async run(ops, r) {
    const x = await ops.yankPypi(r.channel, r.project, r.sel, r.reason);
    const what = x.yanked ? `yanked${x.reason ? ` (${x.reason})` : ""}` : "un-yanked";
    return { text: x.files.map((f) => `${what} ${x.channel}/${x.project}/${f}`).join("\n"), json: x };
  },
});

const AUTH_OPTIONS: OptionTable = {
  create: { type: "boolean", help: "issue a token (needs --name and --scopes); it is printed alone on the last line" },
  list: { type: "boolean", help: "list live tokens (never their secrets)" },
  remove: { type: "string", value: "NAME", help: "revoke the token NAME" },
  name: { type: "string", value: "NAME", help: "with --create: the token's name, unique per account" },
  scopes: { type: "string", value: "'SCOPES'", help: "with --create: e.g. 'conda:download pypi:download' (all repos conda pypi api …)" },
  org: { type: "string", value: "ORG", help: "the tokens of the organization ORG" },
  user: { type: "string", value: "USER", help: "the tokens of the user USER" },
  "max-age": { type: "string", value: "SECONDS", help: "with --create: its lifetime (one year by default, at most TOKEN_MAX_AGE)" },
};

type AuthRequest = { owner: TokenOwner } & ({ action: "create"; name: string; scopes: string; maxAgeSeconds?: number } | { action: "list" } | { action: "remove"; name: string });

const auth = verb<"both", Operations, AuthRequest>({
  name: "auth",
  summary: "create, list and revoke tokens",
  where: "both",
  forms: ["auth --create --name NAME --scopes 'SCOPES' [--org ORG | --user USER] [--max-age SECONDS]", "auth --list [--org ORG | --user USER]", "auth --remove NAME [--org ORG | --user USER]"],
  notes: "On a gateway, without --org or --user: your own tokens. On the store, name the account with --org or --user.",
  options: AUTH_OPTIONS,
  examples: [
    "pkgate auth --create --name ci --scopes 'conda:download pypi:download' --org acme",
    "TOKEN=$(pkgate auth --create --name laptop --scopes conda:download --org acme | tail -1)",
    "pkgate auth --list --org acme",
    "pkgate auth --remove ci --org acme",
  ],
  parse(args) {
    noPositionals(args);
    const action = pick(AUTH_OPTIONS, args, ["create", "list", "remove"] as const);
    onlyWith(args, ["name", "scopes", "max-age"], action, ["create"]);
    if (args.values.org !== undefined && args.values.user !== undefined) throw new UsageError("give --org ORG or --user USER, not both");
    const org = str(args, "org");
    const user = str(args, "user");
    const owner: TokenOwner = org !== undefined ? { kind: "org", name: org } : user !== undefined ? { kind: "user", name: user } : { kind: "self" };
    switch (action) {
      case "create": {
        need(AUTH_OPTIONS, args, ["name", "scopes"], "--create");
        const maxAge = str(args, "max-age");
        if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw new UsageError("--max-age is a whole number of seconds");
        return { owner, action, name: str(args, "name")!, scopes: str(args, "scopes")!, ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}) };
      }
      case "list":
        return { owner, action };
      case "remove":
        return { owner, action, name: str(args, "remove")! };
      case null:
        throw new UsageError("give --create, --list or --remove NAME");
    }
  },
  async run(ops, r) {
    switch (r.action) {
      case "create": {
        const t = await ops.createToken(r.owner, { name: r.name, scopes: r.scopes, maxAgeSeconds: r.maxAgeSeconds });
        // the token alone on the last line: scripts take it with `tail -1`
        return { text: `created token "${t.name}" for ${t.account} (scopes: ${t.scopes.join(" ")}; expires ${t.expiresAt})\n${t.token}`, json: t };
      }
      case "list": {
        const tokens = await ops.listTokens(r.owner);
        return { text: tokens.length ? tokens.map(formatToken).join("\n") : `no tokens${whose(r.owner)}`, json: tokens };
      }
      case "remove": {
        const t = await ops.revokeToken(r.owner, r.name);
        return { text: `revoked token "${t.name}" of ${t.account}`, json: t };
      }
    }
  },
});

const UPLOAD_OPTIONS: OptionTable = {
  channel: { type: "string", value: "CHANNEL", help: "the channel to publish into (on a gateway: your own account's by default; on the store: required)" },
  label: { type: "string", value: "LABEL", help: "the label (main by default, the channel's root; others under label/LABEL/)" },
  force: { type: "boolean", help: "replace a file of the same name" },
  skip: { type: "boolean", help: "leave a file of the same name as it is, and go on" },
};

interface UploadRequest {
  channel: string | null;
  label: string;
  existing: OnExisting;
  files: { path: string; filename: string }[];
}

/** `path/to/x-1.0-0.conda` → `x-1.0-0.conda` (either separator). */
const basename = (path: string) => path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);

/** Where a published file is: `acme/noarch/x-1.0-0.conda`. */
const publishedPath = (channel: string, path: string) => `${channel}/${path}`;

const upload = verb<"both", Operations, UploadRequest>({
  name: "upload",
  summary: "publish conda packages (.conda, .tar.bz2) into a channel, its indexes updated at once; or environments (.yml, .yaml) and notebooks (.ipynb)",
  where: "both",
  forms: ["upload FILE... [--channel CHANNEL] [--label LABEL] [--force | --skip]"],
  notes:
    "Everything in the index comes from the package itself (its info/index.json); the file name must match it. A file name the label already holds is refused unless --force or --skip. The files go one by one; the first refusal stops the command (exit 1) with the server's reason. On a gateway the file is streamed, never read into memory; it needs a token with the conda scope and write on the package. An environment (.yml, .yaml) or a notebook (.ipynb) is stored as it is, named by its name: or its file, versioned by the time; labels do not apply to it.",
  options: UPLOAD_OPTIONS,
  examples: ["pkgate upload dist/secret-lib-1.2-py_0.conda --channel acme", "pkgate upload build/*/*.conda --channel acme --label dev --skip", "pkgate upload pkg-1.0-0.tar.bz2 --channel acme --force --json", "pkgate upload environment.yml analysis.ipynb --channel acme"],
  parse(args) {
    if (args.positionals.length === 0) throw new UsageError("missing FILE: the package files to upload");
    const existing = pick(UPLOAD_OPTIONS, args, ["force", "skip"] as const);
    return {
      channel: str(args, "channel") ?? null,
      label: str(args, "label") ?? "main",
      existing: existing === "force" ? "replace" : existing === "skip" ? "skip" : "refuse",
      files: args.positionals.map((path) => {
        const filename = basename(path);
        // said before anything is sent: the server would name a query parameter
        if (!kindOfFile(filename) && !filename.endsWith(".conda") && !filename.endsWith(".tar.bz2")) {
          throw new UsageError(`${path}: pkgate upload takes conda packages (.conda, .tar.bz2), environments (.yml, .yaml) and notebooks (.ipynb)`);
        }
        return { path, filename };
      }),
    };
  },
  async run(ops, r, io) {
    const done: (CondaUploadResult | KindPutResult)[] = [];
    for (const f of r.files) {
      let result: CondaUploadResult | KindPutResult;
      try {
        // an environment or a notebook by its extension (src/kinds): stored whole, no label
        result = kindOfFile(f.filename) ? await ops.uploadKind(r.channel, { ...f, label: r.label, existing: r.existing }) : await ops.uploadConda(r.channel, { ...f, label: r.label, existing: r.existing });
      } catch (err) {
        // what was published stays reported; the refusal names its file
        if (io.json && done.length > 0) io.stdout.write(`${JSON.stringify(done)}\n`);
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`${f.path}: no such file`);
        if (err instanceof Error && !(err instanceof UsageError)) err.message = `${f.path}: ${err.message}`;
        throw err;
      }
      done.push(result);
      if (!io.json) {
        // labels do not apply to environments and notebooks: say so when one was asked for
        const label = "label" in result ? ` (label ${result.label})` : r.label !== "main" ? ` (no label: labels do not apply to ${kindOfFile(f.filename)!.folder})` : "";
        for (const p of result.published) io.stdout.write(`uploaded ${publishedPath(result.channel, p)}${label}\n`);
        for (const p of result.skipped) io.stdout.write(`skipped ${publishedPath(result.channel, p)} (already there)\n`);
      }
    }
    if (io.json) io.stdout.write(`${JSON.stringify(done)}\n`);
    return { exitCode: 0 };
  },
});

/** What `remove` and `label` take, as typed: `CHANNEL/PACKAGE` (every version),
 * `CHANNEL/PACKAGE/VERSION`, `CHANNEL/PACKAGE/VERSION/SUBDIR/FILE`, or a file as its URL path
 * says, `CHANNEL/SUBDIR/FILE` (a conda version has no `-`, so a package file name is never a
 * version). */
export const PACKAGE_SPEC = "CHANNEL/PACKAGE[/VERSION[/SUBDIR/FILE]]";

export function parsePackageSpec(spec: string): { channel: string; sel: PackageSelector } {
  const parts = spec.split("/");
  const wrong = () => new UsageError(`expected ${PACKAGE_SPEC} or CHANNEL/SUBDIR/FILE (e.g. acme/pkg, acme/pkg/1.2, acme/noarch/pkg-1.2-0.conda), not "${spec}"`);
  if (parts.some((p) => p === "")) throw wrong();
  const [channel, a, b, c, d] = parts as [string, string, string?, string?, string?];
  if (parts.length === 2) {
    if (parseCondaFilename(a)) throw new UsageError(`a file is named with its subdir: CHANNEL/SUBDIR/FILE (e.g. ${channel}/noarch/${a}), not "${spec}"`);
    return { channel, sel: { name: a } };
  }
  if (parts.length === 3) {
    const f = parseCondaFilename(b!);
    if (f && isCondaSubdir(a)) return { channel, sel: { name: f.name, file: `${a}/${b}` } };
    if (f) throw wrong();
    return { channel, sel: { name: a, version: b! } };
  }
  if (parts.length === 5) {
    const f = parseCondaFilename(d!);
    if (!f || !isCondaSubdir(c!)) throw wrong();
    if (f.name !== a || f.version !== b) throw new UsageError(`${c}/${d} is not a file of ${a} ${b}`);
    return { channel, sel: { name: a, version: b!, file: `${c}/${d}` } };
  }
  throw wrong();
}

const REMOVE_OPTIONS: OptionTable = {
  label: { type: "string", value: "LABEL", help: "take it out of this label only (default: out of every label that holds it)" },
};

function removalText(x: CondaRemoval): string {
  return [...x.labels.flatMap((l) => l.removed.map((p) => `removed ${publishedPath(x.channel, p)} (label ${l.label})`)), ...(x.removed ?? []).map((p) => `removed ${p}`)].join("\n");
}

const remove = verb<"both", Operations, { channel: string; sel: PackageSelector; label: string | null }>({
  name: "remove",
  summary: "take a conda package, one version or one file out of a channel (out of every index first, then the files), with its environments and notebooks",
  where: "both",
  forms: [`remove ${PACKAGE_SPEC} [--label LABEL]`, "remove CHANNEL/SUBDIR/FILE [--label LABEL]"],
  notes:
    "Without --label it leaves every label that holds it (main, the channel's root, and each label/NAME/), as anaconda.org's remove does: a removed version is gone for every installer. With --label only that label changes (the same as pkgate label --remove LABEL). Each label is one change under its lock, every subdir it touches re-indexed. Nothing found anywhere: exit 1. Needs write on the package (a token with the conda scope).",
  options: REMOVE_OPTIONS,
  examples: [
    "pkgate remove acme/secret-lib/1.2",
    "pkgate remove acme/secret-lib",
    "pkgate remove acme/secret-lib/1.2/linux-64/secret-lib-1.2-0.conda --label dev",
    "pkgate remove acme/noarch/secret-lib-1.2-py_0.conda",
  ],
  parse(args) {
    const { channel, sel } = parsePackageSpec(positional(args, PACKAGE_SPEC));
    return { channel, sel, label: str(args, "label") ?? null };
  },
  async run(ops, r) {
    const x = await ops.removeCondaPackages(r.channel, r.sel, r.label);
    return { text: removalText(x), json: x };
  },
});

const LABEL_OPTIONS: OptionTable = {
  list: { type: "string", value: "CHANNEL", help: "the channel's labels and how many package files each holds" },
  copy: { type: "string", value: "LABEL", help: "copy from LABEL into the --to label (the files, then the target's indexes)" },
  move: { type: "string", value: "LABEL", help: "as --copy, then take the files out of LABEL" },
  to: { type: "string", value: "LABEL", help: "with --copy or --move: the label to put them in (main: the channel's root)" },
  remove: { type: "string", value: "LABEL", help: "take them out of LABEL only" },
};

type LabelRequest =
  | { action: "list"; channel: string }
  | { action: "copy" | "move"; channel: string; from: string; to: string; sel: PackageSelector }
  | { action: "remove"; channel: string; label: string; sel: PackageSelector };

function copyText(x: CopyResult, move: boolean): string {
  const where = (label: string, p: string) => `${publishedPath(x.channel, p)} (label ${label})`;
  return [
    ...x.copied.map((p) => `${move ? "moved" : "copied"} ${where(x.from, p)} to label ${x.to}`),
    ...x.skipped.map((p) => `${move ? "moved" : "kept"} ${where(x.from, p)}: label ${x.to} already has it`),
  ].join("\n");
}

const label = verb<"both", Operations, LabelRequest>({
  name: "label",
  summary: "list a channel's conda labels; copy, move or remove packages between them",
  where: "both",
  forms: ["label --list CHANNEL", `label --copy FROM --to TO ${PACKAGE_SPEC}`, `label --move FROM --to TO ${PACKAGE_SPEC}`, `label --remove LABEL ${PACKAGE_SPEC}`],
  notes:
    "main is the channel's root (https://host/acme/); any other label is https://host/acme/label/NAME/, and a file can carry several labels. A copy writes the package files into the target label, then its indexes; a file the target already has (same sha256) is left as it is, one with other bytes is refused. --move copies, then takes the files out of FROM. A package's labels change with write on it (a token with the conda scope); --list needs write on some package of the channel.",
  options: LABEL_OPTIONS,
  examples: ["pkgate label --list acme", "pkgate label --copy dev --to main acme/secret-lib/1.2", "pkgate label --move dev --to main acme/secret-lib/1.2", "pkgate label --remove dev acme/secret-lib/1.2"],
  parse(args) {
    const action = pick(LABEL_OPTIONS, args, ["list", "copy", "move", "remove"] as const);
    onlyWith(args, ["to"], action, ["copy", "move"]);
    if (action === null) throw new UsageError("give --list CHANNEL, --copy FROM --to TO, --move FROM --to TO or --remove LABEL");
    if (action === "list") {
      noPositionals(args);
      return { action, channel: str(args, "list")! };
    }
    const { channel, sel } = parsePackageSpec(positional(args, PACKAGE_SPEC));
    if (action === "remove") return { action, channel, label: str(args, "remove")!, sel };
    need(LABEL_OPTIONS, args, ["to"], `--${action}`);
    return { action, channel, from: str(args, action)!, to: str(args, "to")!, sel };
  },
  async run(ops, r) {
    switch (r.action) {
      case "list": {
        const x = await ops.listCondaLabels(r.channel);
        const rows = x.labels.map((l) => `${l.label}\t${plural(l.files, "file")}\t${l.subdirs.map((s) => `${s.subdir}: ${s.files}`).join(", ")}`);
        return { text: rows.length ? rows.join("\n") : `${x.channel} has no conda labels yet`, json: x };
      }
      case "copy":
      case "move": {
        const x = await ops.copyCondaLabel(r.channel, r.from, r.to, r.sel, r.action === "move");
        return { text: copyText(x, r.action === "move"), json: x };
      }
      case "remove": {
        const x = await ops.removeCondaPackages(r.channel, r.sel, r.label);
        return { text: removalText(x), json: x };
      }
    }
  },
});

const INDEX_OPTIONS: OptionTable = {
  pypi: { type: "string", value: "CHANNEL", help: "index every PyPI project of CHANNEL" },
  conda: { type: "string", value: "CHANNEL", help: "rebuild every conda index of every label of CHANNEL from its package files" },
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function formatRebuild(x: RebuildResult): string {
  const rows = x.labels.flatMap((l) => l.subdirs.map((s) => `${l.label}\t${s.subdir}\t${plural(s.packages, "package")}`));
  return [`rebuilt the conda indexes of ${x.channel} (repodata.json and its .zst, current_repodata.json, repodata_from_packages.json, shards, channeldata.json):`, ...(rows.length ? rows : ["no conda packages"])].join("\n");
}

const index = verb<"store", StoreOperations, { kind: "pypi" | "conda"; channel: string }>({
  name: "index",
  summary: "(re)build the PyPI or conda indexes of files put in the store by other means",
  where: "store",
  forms: ["index --pypi CHANNEL", "index --conda CHANNEL"],
  notes:
    "Idempotent: a second run finds nothing to add or remove (--pypi), or writes the same bytes (--conda). The gateway reconciles PyPI on each page request anyway; --pypi hashes ahead of time, so the first pip user does not wait. --conda reads every package of the channel and rewrites every index of every label, for buckets filled by other means and for repairs. Both read every file, so they run where the store is (a stored login does not change that).",
  options: INDEX_OPTIONS,
  examples: ["pkgate index --pypi acme", "pkgate index --conda acme"],
  parse(args) {
    noPositionals(args);
    const kind = pick(INDEX_OPTIONS, args, ["pypi", "conda"] as const);
    if (kind === null) throw new UsageError("give --pypi CHANNEL or --conda CHANNEL");
    return { kind, channel: str(args, kind)! };
  },
  async run(store, r) {
    if (r.kind === "conda") {
      const x = await store.indexConda(r.channel);
      return { text: formatRebuild(x), json: x };
    }
    const x = await store.indexPypi(r.channel);
    return { text: `indexed ${x.projects} PyPI projects of ${r.channel}: ${x.files} files (${x.added} added, ${x.removed} removed)`, json: x };
  },
});

const doctor = verb<"store", StoreOperations, null>({
  name: "doctor",
  summary: "check the configuration, the store and Redis, and what in the store is not served, with what to do",
  where: "store",
  forms: ["doctor"],
  notes: "Exits 0 when all is well, 1 when something needs fixing.",
  options: {},
  examples: ["pkgate doctor", "pkgate doctor --json"],
  parse: nothing,
  async run(store, _r, io) {
    return { exitCode: await store.doctor(io.stdout, io.json) };
  },
});

const LOGIN_OPTIONS: OptionTable = {
  username: { type: "string", value: "NAME", help: "your user name on the gateway" },
};

const login = verb<"gateway", Session, { username: string }>({
  name: "login",
  summary: "log in to a gateway; the other commands then act on it",
  where: "gateway",
  forms: ["login --site URL --username NAME"],
  notes:
    "The password is read from the terminal (hidden) or standard input. The site and a new token are saved in ~/.config/pkgate/config.json (or $PKGATE_CONFIG), readable only by you; without --site, the stored login's site.",
  options: LOGIN_OPTIONS,
  examples: ["pkgate login --site https://pkgs.example.com --username alice"],
  parse(args) {
    noPositionals(args);
    need(LOGIN_OPTIONS, args, ["username"]);
    return { username: str(args, "username")! };
  },
  async run(session, r, io) {
    if (!session.site) throw new UsageError("login needs --site URL");
    const password = await io.ask(`password for ${r.username} at ${session.site}: `);
    if (!password) throw new UsageError("no password given (on standard input, or typed at the prompt)");
    const { site, config, token } = await session.login(r.username, password);
    return { text: `logged in to ${site} as ${token.account} (token "${token.name}", expires ${token.expiresAt}); saved in ${config}`, json: { site, ...token, config } };
  },
});

const logout = verb<"gateway", Session, null>({
  name: "logout",
  summary: "revoke the stored login's token and forget it",
  where: "gateway",
  forms: ["logout"],
  options: {},
  examples: ["pkgate logout"],
  parse: nothing,
  async run(session) {
    const r = await session.logout();
    return { text: `logged out of ${r.site}${r.revoked ? "" : " (the token was no longer valid)"}`, json: r };
  },
});

const whoami = verb<"gateway", Session, null>({
  name: "whoami",
  summary: "the account and token of the stored login",
  where: "gateway",
  forms: ["whoami"],
  options: {},
  examples: ["pkgate whoami", "pkgate whoami --json"],
  parse: nothing,
  async run(session) {
    const me = await session.whoami();
    const who = `${me.name} (${me.kind}${me.serverAdmin ? ", server admin" : ""})${me.email ? ` <${me.email}>` : ""}`;
    return { text: `${who} at ${session.site}\ntoken "${me.token.name}": scopes ${me.token.scopes.join(" ")}, expires ${me.token.expiresAt}`, json: { site: session.site, ...me } };
  },
});

// ---- trusted publishers (CI publishing without stored secrets) ---------------------------------

const PUBLISHER_OPTIONS: OptionTable = {
  issuer: { type: "string", value: "URL", help: "with add: the OIDC issuer (GitHub Actions' by default; one of the server's OIDC_ISSUERS)" },
  kind: { type: "string", value: "KIND", help: "with add: github, gitlab or oidc (implied by GitHub's and gitlab.com's issuers)" },
  claims: { type: "string", value: "'K=V ...'", help: "with add: the claims to match; github: repository workflow [environment ref repository_owner_id repository_id], gitlab: project_path ci_config_path [environment ref], oidc: sub and any other. A GitHub publisher's repository_owner_id and repository_id are GitHub's numbers (gh api repos/OWNER/NAME --jq '.owner.id, .id'); ids not given are recorded from its first exchange, and later tokens must carry the same" },
  scopes: { type: "string", value: "'SCOPES'", help: "with add: what its tokens may do: pypi:upload and/or conda" },
  packages: { type: "string", value: "'NAMES'", help: "with add: the packages its tokens may upload, or '*'" },
};

type PublisherRequest = { action: "list"; channel: string } | { action: "remove"; channel: string; name: string } | { action: "add"; channel: string; publisher: NewPublisher };

/** `'repository=acme/lib workflow=release.yml'` → its claims. */
function claimsOption(s: string): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const part of s.trim().split(/\s+/).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 1) throw new UsageError(`--claims takes NAME=VALUE pairs separated by spaces, not "${part}"`);
    claims[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return claims;
}

const formatPublisher = (p: PublisherView) =>
  `${p.name}\t${p.kind} ${p.issuer}\t${Object.entries(p.claims).map(([k, v]) => `${k}=${v}`).join(" ")}\tscopes ${p.scopes.join(" ")}\tpackages ${p.packages === "*" ? "*" : p.packages.join(" ")}`;

const publisher = verb<"both", Operations, PublisherRequest>({
  name: "publisher",
  summary: "trusted publishers: CI jobs that publish with their OIDC ID token, no stored secret",
  where: "both",
  forms: [
    "publisher add CHANNEL/NAME --claims 'K=V ...' --scopes 'pypi:upload conda' --packages 'NAMES' [--issuer URL] [--kind KIND]",
    "publisher list CHANNEL",
    "publisher remove CHANNEL/NAME",
  ],
  notes:
    "A job whose ID token matches exchanges it (uv publish does by itself; POST /api/oidc/mint-token otherwise) for a token named oidc:NAME:<run>, living OIDC_TOKEN_TTL, holding the scopes on the packages. Removing the publisher revokes its tokens. Needs admin of the channel (a token with api:write).",
  options: PUBLISHER_OPTIONS,
  examples: [
    "pkgate publisher add acme/release --claims 'repository=acme/lib workflow=release.yml environment=pypi' --scopes pypi:upload --packages acme-lib",
    "pkgate publisher add acme/pinned --claims 'repository=acme/lib workflow=release.yml repository_owner_id=4127003 repository_id=58912644' --scopes pypi:upload --packages acme-lib",
    "pkgate publisher add acme/gitlab --issuer https://gitlab.com --claims 'project_path=acme/lib ci_config_path=.gitlab-ci.yml' --scopes conda --packages '*'",
    "pkgate publisher list acme",
    "pkgate publisher remove acme/release",
  ],
  parse(args) {
    const [action, spec, ...rest] = args.positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
    if (action !== "add" && action !== "list" && action !== "remove") throw new UsageError("give add CHANNEL/NAME, list CHANNEL or remove CHANNEL/NAME");
    if (spec === undefined) throw new UsageError(action === "list" ? "missing CHANNEL" : "missing CHANNEL/NAME");
    onlyWith(args, Object.keys(PUBLISHER_OPTIONS), action, ["add"]);
    if (action === "list") return { action, channel: spec };
    const [channel, name] = pair(spec, "CHANNEL/NAME");
    if (action === "remove") return { action, channel, name };
    need(PUBLISHER_OPTIONS, args, ["claims", "scopes", "packages"], "add");
    return {
      action,
      channel,
      publisher: {
        name,
        issuer: str(args, "issuer") ?? "https://token.actions.githubusercontent.com",
        ...(str(args, "kind") !== undefined ? { kind: str(args, "kind") } : {}),
        claims: claimsOption(str(args, "claims")!),
        scopes: str(args, "scopes")!.split(/[\s,]+/).filter(Boolean),
        packages: packagesOption(str(args, "packages")!),
      },
    };
  },
  async run(ops, r) {
    switch (r.action) {
      case "list": {
        const list = await ops.listPublishers(r.channel);
        return { text: list.length ? list.map(formatPublisher).join("\n") : `no trusted publishers for ${r.channel}`, json: list };
      }
      case "add": {
        const p = await ops.addPublisher(r.channel, r.publisher);
        return { text: `added trusted publisher ${r.channel}/${p.name}\n${formatPublisher(p)}`, json: p };
      }
      case "remove": {
        const p = await ops.removePublisher(r.channel, r.name);
        return { text: `removed trusted publisher ${r.channel}/${p.name}; its tokens are refused from now on`, json: p };
      }
    }
  },
});

/** Every verb, in the order the general usage lists them. */
export const VERBS: readonly Verb[] = [org, group, user, channel, pkg, auth, publisher, upload, remove, label, projectStatus, yank, login, logout, whoami, index, doctor];

const SECTIONS: Record<Where, string> = {
  both: "On a gateway (after pkgate login, or with --site URL), else on the store (or with --local):",
  gateway: "On a gateway only:",
  store: "On the store only:",
};

/** `pkgate --help`: every verb with its summary and forms. */
export function generalHelp(): string {
  const lines = [`usage: ${PROGRAM} <command> [options]     (${PROGRAM} help <command>, or ${PROGRAM} <command> --help: its options and examples)`];
  const width = Math.max(...VERBS.map((v) => v.name.length)) + 2;
  for (const where of Object.keys(SECTIONS) as Where[]) {
    lines.push("", SECTIONS[where]);
    for (const v of VERBS.filter((x) => x.where === where)) lines.push(`  ${v.name.padEnd(width)}${v.summary}`, ...v.forms.map((f) => `${" ".repeat(width + 4)}${PROGRAM} ${f}`));
  }
  lines.push(
    "",
    "Every command takes --json for machine-readable output. On the store, the environment configures the",
    "store and cache as for the gateway (DATA_DIR or S3_*, REDIS_URL); a stored login is used when no",
    `--site is given (${PROGRAM} login --site URL --username NAME). ${PROGRAM} --version prints the version.`,
  );
  return lines.join("\n");
}
