// A browser in miniature for the package pages' tests over HTTP: one cookie jar, the Accept
// header a browser sends, forms posted from the page they are on (its form token, our own
// origin) unless a test says otherwise.
import assert from "node:assert/strict";

/** What Chromium sends for a page. */
export const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

export class WebClient {
  private readonly jar = new Map<string, string>();

  constructor(readonly base: string) {}

  /** A GET as a browser sends it (extra headers win). */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(await fetch(`${this.base}${path}`, { redirect: "manual", headers: { accept: BROWSER_ACCEPT, cookie: this.cookie(), ...headers } }));
  }

  /** A page's status and text. */
  async page(path: string): Promise<{ status: number; html: string }> {
    const res = await this.get(path);
    return { status: res.status, html: await res.text() };
  }

  /** Post a form: by default from `from` (its form token, our origin). */
  async post(path: string, fields: Record<string, string>, opts: { from?: string; token?: string; origin?: string } = {}): Promise<Response> {
    const token = opts.token ?? (await this.formToken(opts.from ?? "/"));
    return this.keep(
      await fetch(`${this.base}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: this.cookie(), "content-type": "application/x-www-form-urlencoded", origin: opts.origin ?? new URL(this.base).origin },
        body: new URLSearchParams({ _csrf: token, ...fields }),
      }),
    );
  }

  /** The form token on a page. */
  async formToken(path: string): Promise<string> {
    const { html } = await this.page(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    assert.ok(m, `a form on ${path}`);
    return m[1]!;
  }

  async signIn(username: string, password: string): Promise<this> {
    const res = await this.post("/account/signin", { username, password });
    assert.equal(res.status, 303, `${username} signs in`);
    return this;
  }

  private cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private keep(res: Response): Response {
    for (const set of res.headers.getSetCookie()) {
      const [pair, ...attrs] = set.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at);
      if (attrs.some((a) => /max-age=0/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, pair!.slice(at + 1));
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
