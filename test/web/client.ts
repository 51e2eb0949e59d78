// The web tests' side of HTTP, without a browser: a browser in miniature (one cookie jar,
// the Accept header a browser sends, forms posted from a page of ours with its form token and
// our origin unless a test says otherwise), a page's text as a reader sees it, a gateway for
// the pages, users signed up and logged in through the API, and a page on another origin.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SolvedPackage } from "@conda-org/rattler";
import { startStack, type Stack } from "../harness/gateway.js";

/** What Chromium sends for a page. */
export const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

export interface PostOptions {
  /** The page whose form token goes along (default "/"). */
  from?: string;
  /** This form token instead ("" for none). */
  token?: string;
  /** The Origin header (default: the client's own). */
  origin?: string;
}

export class WebClient {
  /** The cookie jar (a test may carry a cookie to another replica). */
  readonly cookies = new Map<string, string>();

  /** `client`, when given, is sent as X-Forwarded-For (a gateway trusting the loopback proxy
   * takes it for the client's address). */
  constructor(
    readonly base: string,
    readonly client?: string,
  ) {}

  /** A GET as a browser sends it (extra headers win); `path` may be a whole address. */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(await fetch(this.url(path), { redirect: "manual", headers: { accept: BROWSER_ACCEPT, ...this.headers(), ...headers } }));
  }

  /** A page's status and text. */
  async page(path: string): Promise<{ status: number; html: string }> {
    const res = await this.get(path);
    return { status: res.status, html: await res.text() };
  }

  /** Post a form: by default from "/" (its form token, our origin). */
  async post(path: string, fields: Record<string, string>, opts: PostOptions = {}): Promise<Response> {
    const token = opts.token ?? (await this.formToken(opts.from ?? "/"));
    return this.postRaw(path, { _csrf: token, ...fields }, opts.origin);
  }

  /** Post exactly `fields` (no form token added). */
  async postRaw(path: string, fields: Record<string, string>, origin = new URL(this.base).origin): Promise<Response> {
    return this.keep(
      await fetch(this.url(path), {
        method: "POST",
        redirect: "manual",
        headers: { ...this.headers(), origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
      }),
    );
  }

  /** Follow a redirect answer to its page. */
  async follow(res: Response): Promise<Response> {
    assert.equal(res.status, 303, `a redirect, got ${res.status}`);
    return this.get(new URL(res.headers.get("location")!, this.base).href);
  }

  /** The form token on a page (after the redirect it may answer with). */
  async formToken(path = "/"): Promise<string> {
    let res = await this.get(path);
    const to = res.headers.get("location");
    if (res.status === 303 && to) res = await this.get(new URL(to, this.base).href);
    const m = /name="_csrf" value="([^"]+)"/.exec(await res.text());
    assert.ok(m, `a form token on ${path}`);
    return m[1]!;
  }

  /** The Sign In form posted, whatever it answers. */
  async attemptSignIn(username: string, password: string): Promise<Response> {
    return this.post("/account/signin", { username, password });
  }

  /** Signed in (the form's 303), this client. */
  async signIn(username: string, password: string): Promise<this> {
    const res = await this.attemptSignIn(username, password);
    assert.equal(res.status, 303, `${username} signs in`);
    return this;
  }

  private url(path: string): string {
    return /^https?:/.test(path) ? path : `${this.base}${path}`;
  }

  private headers(): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    return this.client ? { cookie, "x-forwarded-for": this.client } : { cookie };
  }

  private keep(res: Response): Response {
    for (const set of res.headers.getSetCookie()) {
      const [pair, ...attrs] = set.split(";");
      const at = pair!.indexOf("=");
      const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1)];
      if (value === "" || attrs.some((a) => /max-age=0/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

/** A page's text as a reader sees it: tags dropped, entities decoded, white space folded. */
export function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

export interface WebStackOptions {
  /** Users signed up through the API, each with `password` (by default their name and "-password"). */
  users?: string[];
  password?: string;
  /** Added to the gateway's environment. */
  env?: Record<string, string>;
}

/** A gateway for the web tests: fs store, memory cache, sign-up open, `users` signed up. */
export async function startWebStack(opts: WebStackOptions = {}): Promise<Stack> {
  const s = await startStack({ store: "fs", cache: "memory" }, { SIGNUP: "open", ...opts.env });
  try {
    for (const name of opts.users ?? []) await signUpUser(s.url, name, opts.password ?? `${name}-password`);
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

/** A user, signed up through the API at `base`. */
export async function signUpUser(base: string, name: string, password: string, email = `${name}@example.com`): Promise<void> {
  const res = await fetch(`${base}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: name, email, password }) });
  assert.equal(res.status, 201, await res.text());
}

/** The API's login with a user's name and password, answered as it is. */
export function apiLogin(base: string, user: string, password: string): Promise<Response> {
  const basic = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  return fetch(`${base}/api/login`, { method: "POST", headers: { authorization: basic, "content-type": "application/json" }, body: "{}" });
}

/** The token the API's login gives (every scope). */
export async function apiToken(base: string, user: string, password: string): Promise<string> {
  const res = await apiLogin(base, user, password);
  assert.ok(res.ok, `${user} logs in to the API: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** What conda's solver (rattler) picks for `specs` from one channel, for linux-64 and noarch
 * (loaded when first asked for). */
export async function solve(specs: string[], channel: string): Promise<SolvedPackage[]> {
  const { simpleSolve } = await import("@conda-org/rattler");
  return simpleSolve(specs, [channel], ["linux-64", "noarch"], undefined);
}

/** A page on another origin (the same host, another port: same-site, so cookies go along)
 * holding `html`: where a cross-site form comes from. */
export async function foreignPage(html: string): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}
