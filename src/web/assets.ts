// The pages' static files: each served under a name carrying a hash of its content
// (`/static/style.3f2a9c1d.css`), so a browser keeps it for a year without asking again and
// a new version is a new name. No build step: the bytes are the modules' strings.
import { createHash } from "node:crypto";
import { STYLE } from "./assets/style.js";
import { SCRIPT } from "./assets/script.js";

export interface Asset {
  /** The name pages link to: `style.<hash>.css`. */
  name: string;
  body: Buffer;
  contentType: string;
  etag: string;
}

function asset(base: string, ext: string, text: string, contentType: string): Asset {
  const body = Buffer.from(text.trim() + "\n");
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { name: `${base}.${hash}.${ext}`, body, contentType, etag: `"${hash}"` };
}

export const ASSETS = {
  style: asset("style", "css", STYLE, "text/css; charset=utf-8"),
  script: asset("app", "js", SCRIPT, "text/javascript; charset=utf-8"),
} as const;

const BY_NAME: ReadonlyMap<string, Asset> = new Map(Object.values(ASSETS).map((a) => [a.name, a]));

/** The asset of a `/static/` file name, or undefined (an old hash is gone for good). */
export function assetNamed(name: string): Asset | undefined {
  return BY_NAME.get(name);
}

/** A year, and never revalidated: the name changes with the content. */
export const ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable";
