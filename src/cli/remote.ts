// The `pkgate` verbs against a running gateway's /api, for a user on their own machine or
// an ops script: login/logout/whoami, tokens, organizations, groups, privacy. Each verb is
// one or two API calls; the server decides what is allowed. The token is sent only in the
// Authorization header and never printed (except the one `auth --create` returns).
import { hostname } from "node:os";
import { loginConfigPath, normalizeSite, readLoginConfig, removeLoginConfig, writeLoginConfig } from "./login-config.js";

export class UsageError extends Error {}

/** What the server answered when it refused; the message is the server's own. */
export class RemoteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RemoteError";
  }
}

/** The parsed command line (node:util parseArgs values) that both the local and the
 * remote verbs read. */
export interface CliOptions {
  pypi?: string;
  /** Create an account over a store folder that already has content (server admins). */
  adopt?: boolean;
  create?: boolean;
  list?: boolean;
  show?: boolean;
  update?: boolean;
  remove?: string;
  private?: string;
  public?: string;
  name?: string;
  scopes?: string;
  org?: string;
  user?: string;
  email?: string;
  "max-age"?: string;
  json?: boolean;
  site?: string;
  username?: string;
  admin?: boolean;
  password?: boolean;
  reset?: string;
  permission?: string;
  packages?: string;
  "add-member"?: string;
  "remove-member"?: string;
  "add-admin"?: string;
  "remove-admin"?: string;
}

export interface Out {
  json: boolean;
  print(human: string, data: unknown): void;
}

export interface RemoteContext {
  out: Out;
  /** Ask for a secret: hidden on a terminal, one line of standard input otherwise. */
  ask(prompt: string): Promise<string>;
  /** For warnings. */
  stderr: NodeJS.WritableStream;
}

export class ApiClient {
  constructor(
    readonly site: string,
    private readonly token: string | null,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, authorization?: string): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "pkgate-cli" };
    const auth = authorization ?? (this.token ? `Bearer ${this.token}` : undefined);
    if (auth) headers.authorization = auth;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.site}/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: "error" });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RemoteError(0, `cannot reach ${this.site}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new RemoteError(res.status, `${this.site} answered ${res.status} with something that is not the pkgate API (is the site URL right?)`);
      }
    }
    if (!res.ok) {
      const msg = (data as { message?: unknown } | null)?.message;
      const retry = res.headers.get("retry-after");
      throw new RemoteError(res.status, `${typeof msg === "string" ? msg : `HTTP ${res.status}`}${res.status === 429 && retry ? ` (retry after ${retry} s)` : ""}`);
    }
    return data as T;
  }
}

const seg = encodeURIComponent;

/** `ORG/GROUP` → its two parts. */
function orgGroup(spec: string | undefined, usage: string): [string, string] {
  const m = spec ? /^([^/]+)\/([^/]+)$/.exec(spec) : null;
  if (!m) throw new UsageError(`usage: pkgate ${usage}`);
  return [m[1]!, m[2]!];
}

function onlyPositional(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: pkgate ${usage}`);
  return positionals[0]!;
}

/** Group packages from the command line: '*' or names separated by spaces or commas. */
export function parsePackagesOption(s: string): string[] | "*" {
  const t = s.trim();
  if (t === "*") return "*";
  return t.split(/[\s,]+/).filter(Boolean);
}

type Token = { id: string; name: string; account: string; scopes: string[]; expiresAt: string; token?: string; createdBy?: string };
type Group = { name: string; permission: string; packages: string[] | "*"; members: string[] };
type Org = { name: string; admins: string[]; groups: Group[]; defaultPrivacy: string };

const formatToken = (t: Token) => `${t.name}\tid ${t.id}\tscopes ${t.scopes.join(" ")}\texpires ${t.expiresAt}`;
const formatGroup = (g: Group) =>
  `${g.name}\t${g.permission} on ${g.packages === "*" ? "all packages" : g.packages.join(" ") || "no packages"}\tmembers: ${g.members.join(" ") || "none"}`;
const formatOrg = (o: Org) =>
  [`organization ${o.name} (packages ${o.defaultPrivacy} by default)`, `admins: ${o.admins.join(" ")}`, ...(o.groups.length ? o.groups.map((g) => `group ${formatGroup(g)}`) : ["no groups"])].join("\n");

/** Log in: the password from the terminal (hidden) or standard input; the token lands in
 * the config file, mode 0600. A previous login's token on the same site is revoked. */
export async function login(opts: CliOptions, ctx: RemoteContext, env?: Record<string, string | undefined>): Promise<number> {
  const path = loginConfigPath(env);
  const previous = await readLoginConfig(path).catch(() => null);
  const site = normalizeSite(opts.site ?? previous?.site ?? "");
  if (!site) throw new UsageError("login needs --site URL (http or https, no credentials in it)");
  const username = opts.username ?? opts.user;
  if (!username) throw new UsageError("login needs --username NAME");
  const password = await ctx.ask(`password for ${username} at ${site}: `);
  if (!password) throw new UsageError("no password given (on standard input, or typed at the prompt)");
  const client = new ApiClient(site, null);
  const basic = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
  const created = await client.call<Token & { token: string }>("POST", "/login", { hostname: hostname() }, basic);
  await writeLoginConfig(path, { site, token: created.token, username: created.account });
  if (previous && previous.site === site && previous.token !== created.token) {
    // best effort: the old login token should not outlive the new login
    await new ApiClient(site, previous.token).call("POST", "/logout").catch(() => undefined);
  }
  const { token: _secret, ...shown } = created;
  ctx.out.print(`logged in to ${site} as ${created.account} (token "${created.name}", expires ${created.expiresAt}); saved in ${path}`, { site, ...shown, config: path });
  return 0;
}

export async function logout(opts: CliOptions, ctx: RemoteContext, env?: Record<string, string | undefined>): Promise<number> {
  const path = loginConfigPath(env);
  const stored = await readLoginConfig(path);
  if (!stored) throw new UsageError("not logged in (no login stored); nothing to do");
  if (opts.site && normalizeSite(opts.site) !== stored.site) throw new UsageError(`the stored login is for ${stored.site}, not ${opts.site}`);
  let revoked = true;
  try {
    await new ApiClient(stored.site, stored.token).call("POST", "/logout");
  } catch (err) {
    // a token the server already refuses is as good as revoked; anything else is reported
    if (!(err instanceof RemoteError && err.status === 401)) throw err;
    revoked = false;
  }
  await removeLoginConfig(path);
  ctx.out.print(`logged out of ${stored.site}${revoked ? "" : " (the token was no longer valid)"}`, { site: stored.site, revoked });
  return 0;
}

/**
 * Every other verb against the API. `client` carries the site and the stored token (or
 * none, for sign-up).
 */
export async function runRemote(command: string, opts: CliOptions, positionals: string[], client: ApiClient, ctx: RemoteContext): Promise<number> {
  const { out } = ctx;
  switch (command) {
    case "whoami": {
      const me = await client.call<{ name: string; kind: string; email?: string | null; serverAdmin?: boolean; token: { name: string; scopes: string[]; expiresAt: string } }>("GET", "/user");
      const who = `${me.name} (${me.kind}${me.serverAdmin ? ", server admin" : ""})${me.email ? ` <${me.email}>` : ""}`;
      out.print(`${who} at ${client.site}\ntoken "${me.token.name}": scopes ${me.token.scopes.join(" ")}, expires ${me.token.expiresAt}`, { site: client.site, ...me });
      return 0;
    }
    case "user": {
      if (opts.create) {
        const name = onlyPositional(positionals, "user --create NAME --email EMAIL [--admin]");
        if (!opts.email) throw new UsageError("user --create needs --email EMAIL");
        const password = await ctx.ask(`password for the new user ${name}: `);
        const user = await client.call<{ name: string; email: string }>("POST", "/users", { username: name, email: opts.email, password, ...(opts.admin ? { serverAdmin: true } : {}), ...(opts.adopt ? { adopt: true } : {}) });
        out.print(`created user ${user.name} <${user.email}>${opts.admin ? " (server admin)" : ""}`, user);
        return 0;
      }
      if (opts.password) {
        const me = await client.call<{ name: string }>("GET", "/user");
        const currentPassword = await ctx.ask("current password: ");
        const password = await ctx.ask("new password: ");
        await client.call("PUT", `/users/${seg(me.name)}/password`, { password, currentPassword });
        out.print(`password of ${me.name} changed`, { user: me.name, changed: true });
        return 0;
      }
      if (opts.reset) {
        const password = await ctx.ask(`new password for ${opts.reset}: `);
        await client.call("PUT", `/users/${seg(opts.reset)}/password`, { password });
        out.print(`password of ${opts.reset} reset`, { user: opts.reset, changed: true });
        return 0;
      }
      if (opts.show) {
        const name = onlyPositional(positionals, "user --show NAME");
        const user = await client.call<{ name: string; email?: string | null; serverAdmin?: boolean }>("GET", `/users/${seg(name)}`);
        out.print(`${user.name}${user.email ? ` <${user.email}>` : ""}${user.serverAdmin ? " (server admin)" : ""}`, user);
        return 0;
      }
      throw new UsageError("user needs --create NAME, --password, --reset NAME or --show NAME");
    }
    case "org": {
      if (opts.create) {
        const name = onlyPositional(positionals, "org --create NAME");
        const org = await client.call<Org>("POST", "/orgs", { name, ...(opts.adopt ? { adopt: true } : {}) });
        out.print(`created organization ${org.name} (channel ${org.name}); admins: ${org.admins.join(" ")}`, org);
        return 0;
      }
      const name = onlyPositional(positionals, "org NAME [--add-admin USER | --remove-admin USER]");
      let org: Org;
      if (opts["add-admin"]) org = await client.call<Org>("PUT", `/orgs/${seg(name)}/admins/${seg(opts["add-admin"])}`);
      else if (opts["remove-admin"]) org = await client.call<Org>("DELETE", `/orgs/${seg(name)}/admins/${seg(opts["remove-admin"])}`);
      else org = await client.call<Org>("GET", `/orgs/${seg(name)}`);
      out.print(formatOrg(org), org);
      return 0;
    }
    case "group": {
      const usage = "group --create ORG/GROUP --permission read|write|admin [--packages 'a b'|'*']";
      if (opts.list) {
        const org = onlyPositional(positionals, "group --list ORG");
        const groups = await client.call<Group[]>("GET", `/orgs/${seg(org)}/groups`);
        out.print(groups.length ? groups.map(formatGroup).join("\n") : `no groups in ${org}`, groups);
        return 0;
      }
      if (opts.remove) {
        const [org, group] = orgGroup(opts.remove, "group --remove ORG/GROUP");
        await client.call("DELETE", `/orgs/${seg(org)}/groups/${seg(group)}`);
        out.print(`deleted group ${org}/${group}`, { org, group, deleted: true });
        return 0;
      }
      const [org, group] = orgGroup(positionals[0], usage);
      const base = `/orgs/${seg(org)}/groups/${seg(group)}`;
      let g: Group;
      if (opts.create) {
        if (!opts.permission) throw new UsageError(`usage: pkgate ${usage}`);
        g = await client.call<Group>("POST", `/orgs/${seg(org)}/groups`, { name: group, permission: opts.permission, packages: parsePackagesOption(opts.packages ?? "*") });
      } else if (opts.update) {
        g = await client.call<Group>("PATCH", base, { ...(opts.permission ? { permission: opts.permission } : {}), ...(opts.packages !== undefined ? { packages: parsePackagesOption(opts.packages) } : {}) });
      } else if (opts["add-member"]) {
        g = await client.call<Group>("PUT", `${base}/members/${seg(opts["add-member"])}`);
      } else if (opts["remove-member"]) {
        g = await client.call<Group>("DELETE", `${base}/members/${seg(opts["remove-member"])}`);
      } else {
        g = await client.call<Group>("GET", base);
      }
      out.print(`${org}/${formatGroup(g)}`, g);
      return 0;
    }
    case "channel": {
      if (opts.show) {
        const name = onlyPositional(positionals, "channel --show NAME");
        const ch = await client.call<{ name: string; defaultPrivacy: string; packages: Record<string, string> }>("GET", `/channels/${seg(name)}`);
        const own = Object.entries(ch.packages).map(([p, v]) => `${p}\t${v}`);
        out.print([`channel ${ch.name}: ${ch.defaultPrivacy} by default`, ...own].join("\n"), ch);
        return 0;
      }
      const [privacy, name] = privacyArg(opts);
      const ch = await client.call<{ defaultPrivacy: string }>("PATCH", `/channels/${seg(name)}`, { defaultPrivacy: privacy });
      out.print(`channel ${name} is now ${ch.defaultPrivacy} by default`, { channel: name, defaultPrivacy: ch.defaultPrivacy });
      return 0;
    }
    case "package": {
      const [privacy, spec] = privacyArg(opts);
      const [channel, pkg] = orgGroup(spec, "package --private CHANNEL/NAME | --public CHANNEL/NAME");
      const got = await client.call<{ package: string; privacy: string }>("PUT", `/channels/${seg(channel)}/packages/${seg(pkg)}`, { privacy });
      out.print(`package ${channel}/${got.package} is now ${got.privacy}`, { channel, package: got.package, privacy: got.privacy });
      return 0;
    }
    case "auth": {
      if (opts.org && opts.user) throw new UsageError("auth takes at most one of --org ORG or --user USER");
      const base = opts.org ? `/orgs/${seg(opts.org)}` : opts.user ? `/users/${seg(opts.user)}` : "";
      if (opts.create) {
        if (!opts.name) throw new UsageError("auth --create needs --name NAME");
        if (!opts.scopes) throw new UsageError("auth --create needs --scopes 'SCOPES' (e.g. 'conda:download pypi:download')");
        const maxAge = opts["max-age"];
        if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw new UsageError("--max-age is a whole number of seconds");
        const t = await client.call<Token & { token: string }>("POST", `${base}/tokens`, { name: opts.name, scopes: opts.scopes, ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}) });
        if (out.json) out.print("", t);
        else out.print(`created token "${t.name}" for ${t.account} (scopes: ${t.scopes.join(" ")}; expires ${t.expiresAt})\n${t.token}`, t);
        return 0;
      }
      if (opts.list) {
        const tokens = await client.call<Token[]>("GET", `${base}/tokens`);
        out.print(tokens.length ? tokens.map(formatToken).join("\n") : "no tokens", tokens);
        return 0;
      }
      if (opts.remove) {
        const t = await client.call<Token>("DELETE", `${base}/tokens/${seg(opts.remove)}`);
        out.print(`revoked token "${t.name}" of ${t.account}`, t);
        return 0;
      }
      throw new UsageError("auth needs --create, --list or --remove NAME");
    }
    default:
      throw new UsageError(`unknown command "${command}"; see pkgate --help`);
  }
}

export function privacyArg(values: { private?: string; public?: string }): ["private" | "public", string] {
  if (values.private && values.public) throw new UsageError("give either --private or --public");
  if (values.private) return ["private", values.private];
  if (values.public) return ["public", values.public];
  throw new UsageError("give --private NAME or --public NAME");
}
