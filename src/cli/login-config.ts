// Where `pkgate login` keeps the site and token: a JSON file readable only by the user
// ($PKGATE_CONFIG, else $XDG_CONFIG_HOME/pkgate/config.json, else
// ~/.config/pkgate/config.json). It holds a secret, so it is written mode 0600 through a
// temporary file and a rename (never half-written, never briefly world-readable). With
// `--site`, it also decides which gateway an invocation talks to (chooseGateway).
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { GateError } from "../errors.js";
import { UsageError } from "./usage.js";

export interface LoginConfig {
  /** The gateway's base URL, e.g. https://pkgs.example.com (no trailing slash). */
  site: string;
  token: string;
  /** The account the token acts as, for messages. */
  username?: string;
}

/** The config file's path. The CLI's own file, not gateway configuration, so it is read
 * here rather than in config.ts. */
export function loginConfigPath(env: Record<string, string | undefined> = process.env): string {
  if (env.PKGATE_CONFIG) return env.PKGATE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "pkgate", "config.json");
}

/** A site URL as given by the user → its canonical form, or null when it is not http(s). */
export function normalizeSite(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  if (u.username || u.password || u.search || u.hash) return null;
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

export async function readLoginConfig(path: string): Promise<LoginConfig | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GateError("bad_config", `${path} is not valid JSON; remove it and log in again`);
  }
  const p = parsed as Partial<LoginConfig>;
  if (typeof p.site !== "string" || typeof p.token !== "string") throw new GateError("bad_config", `${path} has no site and token; remove it and log in again`);
  return { site: p.site, token: p.token, ...(typeof p.username === "string" ? { username: p.username } : {}) };
}

export async function writeLoginConfig(path: string, config: LoginConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  await chmod(tmp, 0o600); // the umask cannot widen it, but an existing tmp file could be wider
  await rename(tmp, path);
}

export async function removeLoginConfig(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The gateway an invocation talks to: `--site` (with the stored token when the stored login
 * is for that site, else none), else the stored login; null when neither. */
export async function chooseGateway(siteOption: string | undefined, path: string): Promise<{ site: string; token: string | null; username?: string } | null> {
  const stored = await readLoginConfig(path);
  const login = stored && { site: stored.site, token: stored.token, ...(stored.username !== undefined ? { username: stored.username } : {}) };
  if (siteOption === undefined) return login;
  const site = normalizeSite(siteOption);
  if (!site) {
    // "localhost:8080" parses as a URL of scheme "localhost:"; a bare host is echoed (it holds no
    // credentials), anything else is not
    const bare = /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s@]*)?$/.test(siteOption);
    throw new UsageError(
      `--site needs an http or https URL without credentials${bare ? `: https://${siteOption}, or http://${siteOption} for a gateway without TLS` : ""}`,
    );
  }
  return stored?.site === site ? { ...login!, site } : { site, token: null };
}
