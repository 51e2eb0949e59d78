// The `pkgate` command: anaconda-client's verbs. With `--site URL` or a stored login
// (`pkgate login`), they call a gateway's /api (remote.ts); with neither (or `--local`),
// they act directly on the store and cache that the environment configures (the same
// variables as the gateway) — how an ops team bootstraps the first admin. Errors exit
// non-zero with one clear line; `auth --create` prints the token alone on the last line.
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { indexPypi } from "./index-pypi.js";
import { createRuntime, type Runtime } from "../runtime.js";
import { GateError } from "../errors.js";
import { parseScopes } from "../auth/scopes.js";
import { hashPassword, validatePassword } from "../auth/password.js";
import { OPERATOR, type Account, type Group, type TokenRecord } from "../access/model.js";
import { authorize, enforce, type Action } from "../access/authorize.js";
import { isAccountName, tokenExpiry } from "../access/names.js";
import * as validate from "../api/validate.js";
import { ApiClient, RemoteError, UsageError, login, logout, parsePackagesOption, privacyArg, runRemote, type CliOptions, type Out } from "./remote.js";
import { loginConfigPath, normalizeSite, readLoginConfig } from "./login-config.js";

const USAGE = `usage: pkgate <command> [options]

Remote (a gateway's API, as a user):
  login --site URL --username NAME           log in (password read from the terminal or standard
                                             input); site and token are saved in
                                             ~/.config/pkgate/config.json (or $PKGATE_CONFIG), mode 0600
  logout                                     revoke the stored token and forget it
  whoami                                     the account and token of the stored login
  With a stored login or --site URL, the commands below call the API; --local forces the store.

Commands:
  org --create NAME [--adopt]                create an organization (its channel is NAME); when
                                             the store already holds content under NAME/ that no
                                             account owns, refused unless --adopt (give it to NAME)
  org NAME [--add-admin USER | --remove-admin USER]
                                             show an organization, or change its admins
  group --create ORG/GROUP --permission read|write|admin [--packages 'a b' | '*']
  group --update ORG/GROUP [--permission P] [--packages ...]
  group ORG/GROUP [--add-member USER | --remove-member USER]
  group --remove ORG/GROUP | group --list ORG
  user --create NAME --email EMAIL [--admin] [--adopt]
                                             create a user (password read from standard input);
                                             --admin makes a server admin; --adopt as for org
  user --reset NAME                          set a user's password (read from standard input)
  user --password                            change your own password (remote: current, then new)
  channel --private NAME | --public NAME     set a channel's default privacy
  channel --show NAME                        a channel's default and per-package privacy
  package --private CHANNEL/NAME | --public CHANNEL/NAME
                                             set one package's privacy (conda and PyPI alike)
  auth --create --name NAME --scopes 'SCOPES' [--org ORG | --user USER] [--max-age SECONDS]
                                             issue a token; the token is the last line of output
                                             (remote: your own account unless --org/--user)
  auth --list [--org ORG | --user USER]      list live tokens (never the secrets)
  index --pypi CHANNEL                       (re)build the PyPI index of files put in the store by
                                             other means (idempotent; always acts on the store)
  auth --remove NAME [--org ORG | --user USER]
                                             revoke a token
options: --json   machine-readable output
Locally, the store and cache are those of the environment (DATA_DIR, S3_*, REDIS_URL), as for the gateway.`;

type Io = { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const OPTIONS = {
  create: { type: "boolean" },
  adopt: { type: "boolean" },
  list: { type: "boolean" },
  show: { type: "boolean" },
  update: { type: "boolean" },
  remove: { type: "string" },
  private: { type: "string" },
  public: { type: "string" },
  name: { type: "string" },
  scopes: { type: "string" },
  org: { type: "string" },
  user: { type: "string" },
  email: { type: "string" },
  "max-age": { type: "string" },
  json: { type: "boolean" },
  site: { type: "string" },
  local: { type: "boolean" },
  username: { type: "string" },
  admin: { type: "boolean" },
  password: { type: "boolean" },
  reset: { type: "string" },
  permission: { type: "string" },
  packages: { type: "string" },
  "add-member": { type: "string" },
  "remove-member": { type: "string" },
  "add-admin": { type: "string" },
  "remove-admin": { type: "string" },
  pypi: { type: "string" },
} as const;

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    io.stdout.write(USAGE + "\n");
    return command ? 0 : 2;
  }
  let rt: Runtime | null = null;
  try {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
    const out: Out = {
      json: !!values.json,
      print(human, data) {
        io.stdout.write((this.json ? JSON.stringify(data) : human) + "\n");
      },
    };
    const ask = secretReader(io);
    const ctx = { out, ask, stderr: io.stderr };

    // remote: login/logout/whoami always; the rest with --site or a stored login
    if (command === "login") return await login(values, ctx);
    if (command === "logout") return await logout(values, ctx);
    // indexing reads every file: it runs where the store is, never through the API
    const client = values.local || command === "index" ? null : await remoteClient(values);
    if (command === "whoami" && !client) throw new UsageError("not logged in: pkgate login --site URL --username NAME");
    if (client) return await runRemote(command, values, positionals, client, ctx);

    rt = await createRuntime(loadConfig());
    return await runLocal(command, values, positionals, rt, out, ask);
  } catch (err) {
    const msg = err instanceof GateError || err instanceof UsageError || err instanceof RemoteError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    io.stderr.write(`pkgate: ${msg}\n`);
    return err instanceof UsageError || (err instanceof Error && err.name === "TypeError" && /ERR_PARSE_ARGS/.test(String((err as { code?: string }).code))) ? 2 : 1;
  } finally {
    await rt?.close();
  }
}

/** The API client for this invocation: `--site URL` (with the stored token when the stored
 * login is for that site), else the stored login, else null (act on the store). */
async function remoteClient(values: CliOptions): Promise<ApiClient | null> {
  const stored = await readLoginConfig(loginConfigPath());
  if (values.site !== undefined) {
    const site = normalizeSite(values.site);
    if (!site) throw new UsageError("--site needs an http or https URL without credentials");
    return new ApiClient(site, stored?.site === site ? stored.token : null);
  }
  return stored ? new ApiClient(stored.site, stored.token) : null;
}

/** The account a local verb acts on, decided by authorize() as the operator (whoever can
 * reach the store owns it): a missing account gets the API's answer. */
async function target(rt: Runtime, action: Action, name: string, kind: "org" | "user" | "channel"): Promise<Account> {
  const acc = isAccountName(name) ? await rt.catalog.getAccount(name) : null;
  const fits = acc !== null && (kind === "channel" || acc.kind === kind);
  enforce(authorize(OPERATOR, action, { account: fits ? acc : null, name, kind: kind === "org" ? "organization" : kind }));
  return acc!;
}

/** The verbs acting directly on the store and cache, as the operator (see target()). */
async function runLocal(command: string, values: CliOptions, positionals: string[], rt: Runtime, out: Out, ask: (prompt: string) => Promise<string>): Promise<number> {
  const { catalog } = rt;
  switch (command) {
    case "org": {
      if (values.create) {
        const name = one(positionals, "org --create NAME");
        const acc = await catalog.createAccount({ name, kind: "org", adopt: values.adopt === true });
        out.print(`created organization ${acc.name} (channel ${acc.name}, public by default)`, acc);
        return 0;
      }
      const name = one(positionals, "org NAME [--add-admin USER | --remove-admin USER]");
      await target(rt, values["add-admin"] || values["remove-admin"] ? "org:modify-group" : "org:read", name, "org");
      let acc: Account;
      if (values["add-admin"]) acc = await catalog.addOrgAdmin(name, values["add-admin"]);
      else if (values["remove-admin"]) acc = await catalog.removeOrgAdmin(name, values["remove-admin"]);
      else acc = await catalog.requireAccount(name, "org");
      out.print(formatOrg(acc), acc);
      return 0;
    }
    case "user": {
      if (values.reset) {
        await target(rt, "user:write", values.reset, "user");
        const password = await ask(`new password for ${values.reset}: `);
        validatePassword(password);
        await catalog.setPasswordHash(values.reset, await hashPassword(password));
        out.print(`password of ${values.reset} reset`, { user: values.reset, changed: true });
        return 0;
      }
      const name = one(values.create ? positionals : [], "user --create NAME --email EMAIL [--admin] [--adopt]");
      if (!values.email || !/^[^@\s]+@[^@\s]+$/.test(values.email)) throw new UsageError("user --create needs --email with a valid address");
      const password = await ask(`password for the new user ${name}: `);
      validatePassword(password);
      const acc = await catalog.createAccount({ name, kind: "user", email: values.email, passwordHash: await hashPassword(password), serverAdmin: !!values.admin, adopt: values.adopt === true });
      const { passwordHash: _h, ...shown } = acc;
      out.print(`created user ${acc.name} <${acc.email}>${acc.serverAdmin ? " (server admin)" : ""}`, shown);
      return 0;
    }
    case "group": {
      const usage = "group --create ORG/GROUP --permission read|write|admin [--packages 'a b'|'*']";
      if (values.list) {
        const acc = await target(rt, "org:read", one(positionals, "group --list ORG"), "org");
        const groups = acc.groups ?? [];
        out.print(groups.length ? groups.map(formatGroup).join("\n") : `no groups in ${acc.name}`, groups);
        return 0;
      }
      if (values.remove) {
        const [org, group] = orgGroup(values.remove, "group --remove ORG/GROUP");
        await target(rt, "org:modify-group", org, "org");
        await catalog.deleteGroup(org, group);
        out.print(`deleted group ${org}/${group}`, { org, group, deleted: true });
        return 0;
      }
      const [org, group] = orgGroup(positionals[0], usage);
      const changes = values.create || values.update || values["add-member"] || values["remove-member"];
      await target(rt, changes ? "org:modify-group" : "org:read", org, "org");
      let acc: Account;
      if (values.create) {
        const input = validate.groupCreate({ name: group, permission: values.permission, packages: parsePackagesOption(values.packages ?? "*") });
        acc = await catalog.createGroup(org, input);
      } else if (values.update) {
        acc = await catalog.updateGroup(org, group, validate.groupPatch({ permission: values.permission, packages: values.packages === undefined ? undefined : parsePackagesOption(values.packages) }));
      } else if (values["add-member"]) {
        acc = await catalog.addGroupMember(org, group, values["add-member"]);
      } else if (values["remove-member"]) {
        acc = await catalog.removeGroupMember(org, group, values["remove-member"]);
      } else {
        acc = await catalog.requireAccount(org, "org");
      }
      const g = (acc.groups ?? []).find((x) => x.name === group);
      if (!g) throw new GateError("not_found", `no group "${group}" in ${org}`);
      out.print(`${org}/${formatGroup(g)}`, g);
      return 0;
    }
    case "channel": {
      if (values.show) {
        const acc = await target(rt, "channel:read", one(positionals, "channel --show NAME"), "channel");
        const own = Object.entries(acc.packages).map(([p, v]) => `${p}\t${v}`);
        out.print([`channel ${acc.name}: ${acc.defaultPrivacy} by default`, ...own].join("\n"), { name: acc.name, kind: acc.kind, defaultPrivacy: acc.defaultPrivacy, packages: acc.packages });
        return 0;
      }
      const [privacy, name] = privacyArg(values);
      await target(rt, "channel:write", name, "channel");
      const acc = await catalog.setChannelPrivacy(name, privacy);
      out.print(`channel ${name} is now ${privacy} by default`, { channel: name, defaultPrivacy: acc.defaultPrivacy });
      return 0;
    }
    case "package": {
      const [privacy, spec] = privacyArg(values);
      const m = /^([^/]+)\/([^/]+)$/.exec(spec);
      if (!m) throw new UsageError("package needs CHANNEL/NAME");
      const pkg = validate.packageName(m[2]!);
      await target(rt, "package:write", m[1]!, "channel");
      await catalog.setPackagePrivacy(m[1]!, pkg, privacy);
      out.print(`package ${m[1]}/${pkg} is now ${privacy}`, { channel: m[1], package: pkg, privacy });
      return 0;
    }
    case "auth": {
      const account = values.org ?? values.user;
      if (!account || (values.org && values.user)) throw new UsageError("auth needs exactly one of --org ORG or --user USER");
      await target(rt, values.create || values.remove ? "tokens:write" : "tokens:read", account, values.org ? "org" : "user");
      if (values.create) {
        if (!values.name) throw new UsageError("auth --create needs --name NAME");
        if (!values.scopes) throw new UsageError("auth --create needs --scopes 'SCOPES' (e.g. 'conda:download pypi:download')");
        const maxAge = values["max-age"];
        if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw new UsageError("--max-age is a whole number of seconds");
        const { token, record } = await catalog.createToken({
          account,
          name: values.name,
          scopes: parseScopes(values.scopes),
          expiresAt: tokenExpiry(maxAge === undefined ? undefined : Number(maxAge), { serverMax: rt.config.tokenMaxAge }),
        });
        if (out.json) out.print("", { ...record, token });
        else out.print(`created token "${record.name}" for ${account} (scopes: ${record.scopes.join(" ")}; expires ${record.expiresAt})\n${token}`, null);
        return 0;
      }
      if (values.list) {
        const tokens = await catalog.listTokens(account);
        out.print(tokens.length ? tokens.map(formatToken).join("\n") : `no tokens for ${account}`, tokens);
        return 0;
      }
      if (values.remove) {
        const rec = await catalog.revokeToken(account, values.remove);
        out.print(`revoked token "${rec.name}" of ${account}`, rec);
        return 0;
      }
      throw new UsageError("auth needs --create, --list or --remove NAME");
    }
    case "index": {
      if (!values.pypi) throw new UsageError("index needs --pypi CHANNEL");
      await catalog.requireAccount(values.pypi);
      const r = await indexPypi(rt, values.pypi);
      out.print(`indexed ${r.projects} PyPI projects of ${values.pypi}: ${r.files} files (${r.added} added, ${r.removed} removed)`, r);
      return 0;
    }
    case "whoami":
      throw new UsageError("not logged in: pkgate login --site URL --username NAME");
    default:
      throw new UsageError(`unknown command "${command}"; see pkgate --help`);
  }
}

function orgGroup(spec: string | undefined, usage: string): [string, string] {
  const m = spec ? /^([^/]+)\/([^/]+)$/.exec(spec) : null;
  if (!m) throw new UsageError(`usage: pkgate ${usage}`);
  return [m[1]!, m[2]!];
}

function formatGroup(g: Group): string {
  return `${g.name}\t${g.permission} on ${g.packages === "*" ? "all packages" : g.packages.join(" ") || "no packages"}\tmembers: ${g.members.join(" ") || "none"}`;
}

function formatOrg(o: Account): string {
  const groups = o.groups ?? [];
  return [`organization ${o.name} (packages ${o.defaultPrivacy} by default)`, `admins: ${(o.admins ?? []).join(" ") || "none"}`, ...(groups.length ? groups.map((g) => `group ${formatGroup(g)}`) : ["no groups"])].join("\n");
}

function one(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: pkgate ${usage}`);
  return positionals[0]!;
}

function formatToken(t: TokenRecord): string {
  return `${t.name}\tid ${t.id}\tscopes ${t.scopes.join(" ")}\texpires ${t.expiresAt}`;
}

/**
 * Secrets (passwords) for one invocation. On a terminal: a hidden prompt on stderr. Otherwise
 * standard input is read once and each call takes the next line, so scripts pipe
 * `printf '%s\n' "$PW"` (or two lines for a password change).
 */
function secretReader(io: Io): (prompt: string) => Promise<string> {
  let lines: Promise<string[]> | null = null;
  return async (prompt) => {
    const stdin = io.stdin as Io["stdin"] & { setRawMode?: (on: boolean) => void };
    if (stdin.isTTY && typeof stdin.setRawMode === "function") return readHidden(stdin as NodeJS.ReadStream, io.stderr, prompt);
    lines ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString("utf8").split(/\r?\n/);
    })();
    return (await lines).shift() ?? "";
  };
}

function readHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new UsageError("interrupted"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
