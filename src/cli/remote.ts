// The verbs' operations against a running gateway's /api, for a user on their own machine or
// an ops script: each is one or two API calls, and the server decides what is allowed (its
// refusal is the message shown). Also the gateway's logins (login, logout, whoami). The token
// is sent only in the Authorization header and never printed (except the one a token's
// creation returns).
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { hostname } from "node:os";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { readLoginConfig, removeLoginConfig, writeLoginConfig } from "./login-config.js";
import { UsageError } from "./usage.js";
import { errnoOf } from "../errno.js";
import type { NewPublisher, PublisherView } from "./operations.js";
import type { ProjectStatusView, YankSelector, YankView } from "./operations.js";
import type { KindPutResult } from "../kinds/files.js";
import { kindOfFile } from "../kinds/kinds.js";
import type { ChannelView, CondaFile, CondaRemoval, CondaUploadResult, CopyResult, LabelSummary, PackageSelector, CreatedToken, RemoveResult, Group, GroupChange, NewGroup, NewToken, NewUser, Operations, OrgView, PackagePrivacy, Privacy, Session, TokenOwner, TokenView, UserView, Whoami } from "./operations.js";

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

export class ApiClient {
  constructor(
    readonly site: string,
    private readonly token: string | null,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, authorization?: string): Promise<T> {
    return this.send<T>(method, path, body === undefined ? undefined : { type: "application/json", bytes: JSON.stringify(body) }, authorization);
  }

  /** `body`'s bytes streamed as the request body (an upload: never read into memory). */
  upload<T = unknown>(method: string, path: string, body: Readable, length: number): Promise<T> {
    return this.send<T>(method, path, { type: "application/octet-stream", stream: body, length });
  }

  private async send<T>(method: string, path: string, body: RequestBody | undefined, authorization?: string): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "pkgate-cli" };
    const auth = authorization ?? (this.token ? `Bearer ${this.token}` : undefined);
    if (auth) headers.authorization = auth;
    if (body !== undefined) headers["content-type"] = body.type;
    if (body && "stream" in body) headers["content-length"] = String(body.length);
    let res: Answer;
    try {
      res = await exchange(method, new URL(`${this.site}/api${path}`), headers, body);
    } catch (err) {
      throw new RemoteError(0, `cannot reach ${this.site}: ${unreachable(err)}`);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new RemoteError(res.status, `${this.site} redirects to ${res.headers.location ?? "elsewhere"}: give the gateway's own address as --site`);
    }
    let data: unknown = null;
    if (res.text) {
      try {
        data = JSON.parse(res.text);
      } catch {
        throw new RemoteError(res.status, `${this.site} answered ${res.status} with something that is not the pkgate API (is the site URL right?)`);
      }
    }
    if (res.status >= 400) {
      const msg = (data as { message?: unknown } | null)?.message;
      const retry = res.headers["retry-after"];
      const text = typeof msg === "string" ? msg : `HTTP ${res.status}`;
      throw new RemoteError(res.status, `${text}${res.status === 429 && retry && !/retry/i.test(text) ? ` (retry after ${retry} s)` : ""}`);
    }
    return data as T;
  }
}

/** Why the gateway did not answer, then what to check. */
function unreachable(err: unknown): string {
  const errno = errnoOf(err);
  const why = errno?.words ?? (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  // a certificate from a company's own authority is trusted through Node's variable
  if (errno?.kind === "untrusted") return `${why}; if the gateway's certificate comes from your own authority, give that authority's certificate file in NODE_EXTRA_CA_CERTS`;
  return `${why}; is the gateway running, and is this its address? (--site URL, or pkgate login again; the verbs that act on the store take --local)`;
}

type RequestBody = { type: string; bytes: string } | { type: string; stream: Readable; length: number };

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Seconds without an answer before a call gives up. */
const CALL_TIMEOUT = 60;

/** One request and its whole answer. node:http rather than fetch: fetch loads undici and
 * keeps the process alive about 0.1 s after its last answer, more than the rest of a
 * command takes (measured: whoami 0.27 s with fetch, 0.14 s without). */
function exchange(method: string, url: URL, headers: Record<string, string>, body: RequestBody | undefined): Promise<Answer> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // a server that refuses an upload answers before reading it all, then closes: the answer
    // counts, the write that fails after it does not
    let answered = false;
    const req = send(url, { method, headers }, (res) => {
      answered = true;
      // an answer before the whole body went out is a refusal: stop sending it
      if (body && "stream" in body && !req.writableFinished) {
        body.stream.unpipe(req);
        body.stream.destroy();
      }
      const chunks: Buffer[] = [];
      let received = 0;
      const answer = () => ({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      res.on("end", () => {
        resolve(answer());
        // a body left unsent: the connection can carry nothing more, let the gateway go
        if (body && "stream" in body && !req.writableFinished) req.destroy();
      });
      // the server closing the connection under a refused upload may cut it before Node
      // ends the response: an answer received whole still counts
      const whole = () => res.headers["content-length"] !== undefined && received >= Number(res.headers["content-length"]);
      res.on("error", (err) => (whole() ? resolve(answer()) : reject(err)));
      res.on("close", () => (whole() ? resolve(answer()) : reject(new Error("the connection closed before the answer was whole"))));
    });
    req.setTimeout(CALL_TIMEOUT * 1000, () => req.destroy(new Error(`no answer in ${CALL_TIMEOUT} s`)));
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    if (body && "stream" in body) {
      body.stream.on("error", (err) => req.destroy(err));
      body.stream.pipe(req);
    } else req.end(body?.bytes);
  });
}

const seg = encodeURIComponent;

/** The API path of an owner's tokens: /tokens (your own), /orgs/O/tokens, /users/U/tokens. */
function tokensPath(owner: TokenOwner): string {
  return owner.kind === "self" ? "/tokens" : `/${owner.kind}s/${seg(owner.name)}/tokens`;
}

/** A gateway: `site` and `token` from --site or the stored login (either may be missing: a
 * sign-up needs no token, a login no stored one). */
export class RemoteOperations implements Operations, Session {
  constructor(
    readonly site: string | null,
    private readonly token: string | null,
    /** Where the login is stored (login-config.ts). */
    private readonly configPath: string,
    /** The account the stored login is for, when it says. */
    private readonly account: string | null = null,
  ) {}

  /** The channel of an upload that names none: the login's account. A token that may not
   * read /user (conda scope only) cannot say whose it is: then --channel is needed. */
  private async ownChannel(): Promise<string> {
    if (this.account) return this.account;
    try {
      return await this.ownAccount();
    } catch (err) {
      if (err instanceof RemoteError && (err.status === 401 || err.status === 403)) throw new UsageError(`name the channel: --channel CHANNEL (the login cannot say whose it is: ${err.message})`);
      throw err;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.site) throw new UsageError("no gateway: log in first (pkgate login --site URL --username NAME) or give --site URL");
    return new ApiClient(this.site, this.token).call<T>(method, path, body);
  }

  createOrg(name: string, adopt: boolean): Promise<OrgView> {
    return this.call("POST", "/orgs", { name, ...(adopt ? { adopt } : {}) });
  }
  showOrg(name: string): Promise<OrgView> {
    return this.call("GET", `/orgs/${seg(name)}`);
  }
  addOrgAdmin(org: string, user: string): Promise<OrgView> {
    return this.call("PUT", `/orgs/${seg(org)}/admins/${seg(user)}`);
  }
  removeOrgAdmin(org: string, user: string): Promise<OrgView> {
    return this.call("DELETE", `/orgs/${seg(org)}/admins/${seg(user)}`);
  }

  listGroups(org: string): Promise<Group[]> {
    return this.call("GET", `/orgs/${seg(org)}/groups`);
  }
  showGroup(org: string, group: string): Promise<Group> {
    return this.call("GET", `/orgs/${seg(org)}/groups/${seg(group)}`);
  }
  createGroup(org: string, group: NewGroup): Promise<Group> {
    return this.call("POST", `/orgs/${seg(org)}/groups`, group);
  }
  updateGroup(org: string, group: string, change: GroupChange): Promise<Group> {
    return this.call("PATCH", `/orgs/${seg(org)}/groups/${seg(group)}`, change);
  }
  async deleteGroup(org: string, group: string): Promise<void> {
    await this.call("DELETE", `/orgs/${seg(org)}/groups/${seg(group)}`);
  }
  addGroupMember(org: string, group: string, user: string): Promise<Group> {
    return this.call("PUT", `/orgs/${seg(org)}/groups/${seg(group)}/members/${seg(user)}`);
  }
  removeGroupMember(org: string, group: string, user: string): Promise<Group> {
    return this.call("DELETE", `/orgs/${seg(org)}/groups/${seg(group)}/members/${seg(user)}`);
  }

  createUser(u: NewUser): Promise<UserView> {
    return this.call("POST", "/users", { username: u.name, email: u.email, password: u.password, ...(u.serverAdmin ? { serverAdmin: true } : {}), ...(u.adopt ? { adopt: true } : {}) });
  }
  showUser(name: string): Promise<UserView> {
    return this.call("GET", `/users/${seg(name)}`);
  }
  async ownAccount(): Promise<string> {
    return (await this.call<{ name: string }>("GET", "/user")).name;
  }
  async setPassword(user: string, password: string, currentPassword?: string): Promise<void> {
    await this.call("PUT", `/users/${seg(user)}/password`, { password, ...(currentPassword !== undefined ? { currentPassword } : {}) });
  }

  showChannel(name: string): Promise<ChannelView> {
    return this.call("GET", `/channels/${seg(name)}`);
  }
  setChannelPrivacy(name: string, privacy: Privacy): Promise<ChannelView> {
    return this.call("PATCH", `/channels/${seg(name)}`, { defaultPrivacy: privacy });
  }
  async setPackagePrivacy(channel: string, pkg: string, privacy: Privacy): Promise<PackagePrivacy> {
    const p = await this.call<PackagePrivacy>("PUT", `/channels/${seg(channel)}/packages/${seg(pkg)}`, { privacy });
    return { channel: p.channel, package: p.package, privacy: p.privacy };
  }

  createToken(owner: TokenOwner, t: NewToken): Promise<CreatedToken> {
    return this.call("POST", tokensPath(owner), { name: t.name, scopes: t.scopes, ...(t.maxAgeSeconds !== undefined ? { maxAgeSeconds: t.maxAgeSeconds } : {}) });
  }
  listTokens(owner: TokenOwner): Promise<TokenView[]> {
    return this.call("GET", tokensPath(owner));
  }
  revokeToken(owner: TokenOwner, name: string): Promise<TokenView> {
    return this.call("DELETE", `${tokensPath(owner)}/${seg(name)}`);
  }

  listPublishers(channel: string): Promise<PublisherView[]> {
    return this.call("GET", `/channels/${seg(channel)}/publishers`);
  }
  addPublisher(channel: string, p: NewPublisher): Promise<PublisherView> {
    return this.call("POST", `/channels/${seg(channel)}/publishers`, p);
  }
  removePublisher(channel: string, name: string): Promise<PublisherView> {
    return this.call("DELETE", `/channels/${seg(channel)}/publishers/${seg(name)}`);
  }

  async uploadConda(channel: string | null, file: CondaFile): Promise<CondaUploadResult> {
    const into = channel ?? (await this.ownChannel());
    const size = (await stat(file.path)).size;
    const query = new URLSearchParams({ filename: file.filename, label: file.label });
    if (file.existing === "replace") query.set("force", "1");
    if (file.existing === "skip") query.set("skip", "1");
    if (!this.site) throw new UsageError("no gateway: log in first (pkgate login --site URL --username NAME) or give --site URL");
    return new ApiClient(this.site, this.token).upload("POST", `/channels/${seg(into)}/conda?${query}`, createReadStream(file.path), size);
  }
  async uploadKind(channel: string | null, file: CondaFile): Promise<KindPutResult> {
    const kind = kindOfFile(file.filename);
    if (!kind) throw new UsageError(`${file.filename} is not an environment (.yml, .yaml) or a notebook (.ipynb)`);
    const into = channel ?? (await this.ownChannel());
    const size = (await stat(file.path)).size;
    const query = new URLSearchParams({ filename: file.filename });
    if (file.existing === "replace") query.set("force", "1");
    if (file.existing === "skip") query.set("skip", "1");
    if (!this.site) throw new UsageError("no gateway: log in first (pkgate login --site URL --username NAME) or give --site URL");
    return new ApiClient(this.site, this.token).upload("POST", `/channels/${seg(into)}/${kind.folder}?${query}`, createReadStream(file.path), size);
  }
  removeConda(channel: string, file: string, label: string): Promise<RemoveResult> {
    return this.call("DELETE", `/channels/${seg(channel)}/conda?${new URLSearchParams({ file, label })}`);
  }

  removeCondaPackages(channel: string, sel: PackageSelector, label: string | null): Promise<CondaRemoval> {
    const query = new URLSearchParams();
    if (sel.version !== undefined) query.set("version", sel.version);
    if (sel.file !== undefined) query.set("file", sel.file);
    if (label !== null) query.set("label", label);
    return this.call("DELETE", `/channels/${seg(channel)}/conda/packages/${seg(sel.name)}${query.size ? `?${query}` : ""}`);
  }
  listCondaLabels(channel: string): Promise<{ channel: string; labels: LabelSummary[] }> {
    return this.call("GET", `/channels/${seg(channel)}/conda/labels`);
  }
  setPypiStatus(channel: string, project: string, status: string, reason: string | undefined): Promise<ProjectStatusView> {
    return this.call("PUT", `/channels/${seg(channel)}/pypi/${seg(project)}/status`, { status, ...(reason !== undefined ? { reason } : {}) });
  }
  yankPypi(channel: string, project: string, sel: YankSelector, reason: string | false): Promise<YankView> {
    return this.call("POST", `/channels/${seg(channel)}/pypi/${seg(project)}/${reason === false ? "unyank" : "yank"}`, { ...sel, ...(reason !== false ? { reason } : {}) });
  }
  copyCondaLabel(channel: string, from: string, to: string, sel: PackageSelector, move: boolean): Promise<CopyResult> {
    return this.call("POST", `/channels/${seg(channel)}/conda/labels/${seg(from)}/${move ? "move" : "copy"}`, { to, package: sel.name, ...(sel.version !== undefined ? { version: sel.version } : {}), ...(sel.file !== undefined ? { file: sel.file } : {}) });
  }

  // ---- the gateway's logins ---------------------------------------------------------------

  async login(username: string, password: string): Promise<{ site: string; config: string; token: TokenView }> {
    if (!this.site) throw new UsageError("login needs --site URL");
    const previous = await readLoginConfig(this.configPath).catch(() => null);
    const basic = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
    const created = await new ApiClient(this.site, null).call<CreatedToken>("POST", "/login", { hostname: hostname() }, basic);
    await writeLoginConfig(this.configPath, { site: this.site, token: created.token, username: created.account });
    if (previous && previous.site === this.site && previous.token !== created.token) {
      // best effort: the old login token should not outlive the new login
      await new ApiClient(this.site, previous.token).call("POST", "/logout").catch(() => undefined);
    }
    const { token: _secret, ...shown } = created;
    return { site: this.site, config: this.configPath, token: shown };
  }

  async logout(): Promise<{ site: string; revoked: boolean }> {
    const stored = await readLoginConfig(this.configPath);
    if (!stored) throw new UsageError("not logged in (no login stored); nothing to do");
    if (this.site !== stored.site) throw new UsageError(`the stored login is for ${stored.site}, not ${this.site}`);
    let revoked = true;
    try {
      await new ApiClient(stored.site, stored.token).call("POST", "/logout");
    } catch (err) {
      // a token the server already refuses is as good as revoked; anything else is reported
      if (!(err instanceof RemoteError && err.status === 401)) throw err;
      revoked = false;
    }
    await removeLoginConfig(this.configPath);
    return { site: stored.site, revoked };
  }

  async whoami(): Promise<Whoami> {
    if (!this.token) throw new UsageError(`not logged in${this.site ? ` to ${this.site}` : ""}: pkgate login --site URL --username NAME`);
    return this.call("GET", "/user");
  }
}
