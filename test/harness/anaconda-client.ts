// Requests as anaconda-client sends them (binstar_client/__init__.py: every request carries
// x-binstar-api-version, its User-Agent and JSON; `Authorization: token <T>` once logged in), and
// its file POST to a post_url (utils/multipart_uploader.py, requests_toolbelt's encoder).
export const CLIENT = {
  "x-binstar-api-version": "1.16.0",
  "user-agent": "Anaconda-Client/1.16.0 (+https://anaconda.org)",
  "content-type": "application/json",
  accept: "application/json",
} as const;

export interface Answer {
  status: number;
  json: any;
}

/** One API request (`path` under /api) as anaconda-client makes it; `client: false` makes it as
 * pkgate's own clients do (no x-binstar-api-version). */
export async function anacondaAsk(base: string, method: string, path: string, opts: { token?: string; auth?: string; body?: unknown; client?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = opts.client === false ? { "content-type": "application/json" } : { ...CLIENT };
  if (opts.token) headers.authorization = `token ${opts.token}`;
  if (opts.auth) headers.authorization = opts.auth;
  const res = await fetch(`${base}/api${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** requests_toolbelt's MultipartEncoder, as multipart_files_upload builds it: form_data's
 * fields, then the file as `file`. */
export function multipart(fields: Record<string, string>, basename: string, bytes: Buffer): { body: Buffer; type: string } {
  const b = `----pkgate-test-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${basename}"\r\n\r\n`), bytes, Buffer.from(`\r\n--${b}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` };
}
