// The one place that reads the environment. Everything else receives a Config.
// Invalid configuration stops start-up with a message naming the variable.
import path from "node:path";
import { isIP } from "node:net";
import { GateError } from "./errors.js";
import { DEFAULT_TOKEN_LIFETIME, LIFETIME_CEILING } from "./access/names.js";
import type { DownloadConfig } from "./http/download.js";

export interface S3Config {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface Config {
  port: number;
  host: string;
  /** Local-directory store, used when no S3 endpoint is configured. */
  dataDir: string;
  s3: S3Config | null;
  /** null → in-process cache. */
  redisUrl: string | null;
  redisSentinels: { host: string; port: number }[] | null;
  redisSentinelName: string;
  /** How long a replica trusts its in-process token and catalog entries (seconds). */
  tokenCacheTtl: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  /** Path prefix the gateway is mounted under, '' or '/conda'. */
  basePath: string;
  /** Proxies whose X-Forwarded-* headers are believed. */
  trustProxy: string[];
  /** Seconds in-flight requests get after SIGTERM. */
  shutdownTimeout: number;
  /** Store reads of unknown tokens per client address per window (AUTH_FAILURE_WINDOW)
   * before such reads get 429; a token known from the cache is never refused for it. */
  authFailureLimit: number;
  /** Seconds of that window. */
  authFailureWindow: number;
  /** Bytes of filtered index views each replica keeps in memory. */
  viewCacheBytes: number;
  /** Bytes of small hot objects (indexes, small artifacts) kept in memory, re-checked every second. */
  hotCacheBytes: number;
  /** Who may create users through the API: anyone ("open") or server admins ("admin"). */
  signup: "open" | "admin";
  /** Seconds a client has to send a whole request, headers and body (an upload included).
   * Never bounds a response: a long download is not cut. */
  bodyTimeout: number;
  /** Seconds a connection may stay silent in both directions in the middle of a request or
   * a response before it is closed (a client that stopped reading, a body that stopped
   * coming). Between requests, keep-alive connections close after 65 s. */
  idleTimeout: number;
  /** The metrics listener (Prometheus text at /metrics), apart from the serving port so that
   * it is never public; null: no metrics listener. */
  metrics: { port: number; host: string } | null;
  /** The longest lifetime of any new token, seconds. */
  tokenMaxAge: number;
  /** MAX_CONDA_UPLOAD: the largest conda package an upload may carry, bytes. */
  maxCondaUploadBytes: number;
  /** The web pages: sessions, mail, the public address. */
  web: WebConfig;
  /** Trusted publishing: which OIDC issuers' ID tokens are exchanged for tokens (oidc/). */
  oidc: OidcConfig;
  /** How artifact bytes reach clients: DOWNLOAD_MODE, PRESIGN_TTL, S3_PUBLIC_ENDPOINT, ACCEL_LOCATION. */
  downloads: DownloadConfig;
}

// ---- artifact downloads (http/download.ts) ----------------------------------------------

function downloads(env: Env, s3: S3Config | null): DownloadConfig {
  const mode = env.DOWNLOAD_MODE || "stream";
  if (mode !== "stream" && mode !== "redirect" && mode !== "accel") throw bad("DOWNLOAD_MODE", `must be "stream", "redirect" or "accel", got "${mode}"`);
  if (mode === "redirect" && !s3) {
    throw bad("DOWNLOAD_MODE", `"redirect" needs an S3 store (S3_ENDPOINT): a directory store has no URL a client could be sent to; put nginx in front and use "accel"`);
  }
  const s3PublicEndpoint = url(env, "S3_PUBLIC_ENDPOINT", ["http:", "https:"]);
  if (s3PublicEndpoint && !s3) throw bad("S3_PUBLIC_ENDPOINT", "needs S3_ENDPOINT too");
  if (s3PublicEndpoint && !/^https?:\/\/[^/?#@]+\/?$/.test(s3PublicEndpoint)) throw bad("S3_PUBLIC_ENDPOINT", "must be http(s)://host[:port], without a path or credentials");
  const accelLocation = env.ACCEL_LOCATION || "/_pkgate/";
  if (!/^(\/[A-Za-z0-9._~-]+)+\/$/.test(accelLocation)) throw bad("ACCEL_LOCATION", `must look like /_pkgate/ (a path ending in /), got "${accelLocation}"`);
  return {
    mode,
    // S3 refuses presigned URLs valid for more than a week
    presignTtl: int(env, "PRESIGN_TTL", 60, 1, 7 * 24 * 3600),
    s3PublicEndpoint: s3PublicEndpoint && s3PublicEndpoint.replace(/\/+$/, ""),
    accelLocation,
  };
}

// ---- trusted publishing ---------------------------------------------------------------------

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
export const GITLAB_ISSUER = "https://gitlab.com";

export interface OidcConfig {
  /** OIDC_ISSUERS: the issuers whose ID tokens are accepted (https, or http on a loopback
   * address only: an issuer on the same machine). Default GitHub Actions' and gitlab.com's. */
  issuers: string[];
  /** OIDC_AUDIENCE: the `aud` an ID token must carry; default PUBLIC_URL's host, else "pkgate". */
  audience: string;
  /** OIDC_TOKEN_TTL: seconds a minted token lives (15 minutes). */
  tokenTtl: number;
  /** OIDC_JWKS_REFRESH: the least seconds between two fetches of one issuer's keys when an
   * ID token names a key the cached set lacks (30). */
  jwksRefresh: number;
}

function oidcConfig(env: Env, publicUrl: string | null): OidcConfig {
  const raw = env.OIDC_ISSUERS;
  const list = raw === undefined || raw.trim() === "" ? [GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER] : raw.split(",").map((s) => s.trim()).filter(Boolean);
  const issuers = list.map((issuer) => {
    let u: URL;
    try {
      u = new URL(issuer);
    } catch {
      throw bad("OIDC_ISSUERS", `must be a comma-separated list of issuer URLs, got "${issuer}"`);
    }
    const loopback = u.hostname === "127.0.0.1" || u.hostname === "[::1]" || u.hostname === "localhost";
    if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) throw bad("OIDC_ISSUERS", `must list https:// issuers (http:// only on a loopback address), got "${issuer}"`);
    if (u.search || u.hash || u.username || u.password) throw bad("OIDC_ISSUERS", `an issuer is a plain URL (no query, fragment or credentials), got "${issuer}"`);
    // an ID token's iss is compared as a string: the issuer as written, less a trailing '/'
    return issuer.replace(/\/+$/, "");
  });
  const audience = env.OIDC_AUDIENCE || (publicUrl ? new URL(publicUrl).host : "pkgate");
  if (/[\s,]/.test(audience) || audience.length > 256) throw bad("OIDC_AUDIENCE", "must be one word (no spaces or commas), at most 256 characters");
  return { issuers, audience, tokenTtl: int(env, "OIDC_TOKEN_TTL", 900, 60, 24 * 3600), jwksRefresh: int(env, "OIDC_JWKS_REFRESH", 30, 0, 3600) };
}

// ---- the web pages ----------------------------------------------------------------------

export interface WebConfig {
  /** SESSION_SECRET (at least 32 characters): the key sessions and CSRF tokens are derived
   * from. null: a key generated once and kept in the store, so every replica shares it. */
  sessionSecret: string | null;
  /** SMTP_URL (smtp:// or smtps://): where password-recovery mail goes out. null: the pages
   * say to ask an administrator. */
  smtpUrl: string | null;
  /** MAIL_FROM: the sender of that mail. */
  mailFrom: string;
  /** PUBLIC_URL: the gateway's address as browsers see it (links in mail; the one origin
   * forms are accepted from). null: the request's own. */
  publicUrl: string | null;
  /** SIGNUP_LIMIT: sign-ups one client address (an IPv6 /64) may attempt per hour while
   * SIGNUP=open, through the pages and the API together (10). */
  signupLimit: number;
}

function webConfig(env: Env): WebConfig {
  const secret = env.SESSION_SECRET || null;
  if (secret !== null && secret.length < 32) throw bad("SESSION_SECRET", "must be at least 32 characters (e.g. `openssl rand -base64 48`)");
  const mailFrom = env.MAIL_FROM || "pkgate <pkgate@localhost>";
  if (/[\r\n]/.test(mailFrom) || !/[^@\s<>]+@[^@\s<>]+/.test(mailFrom)) throw bad("MAIL_FROM", `must be an address (name@domain or Name <name@domain>), got "${mailFrom}"`);
  const publicUrl = url(env, "PUBLIC_URL", ["http:", "https:"]);
  return { sessionSecret: secret, smtpUrl: url(env, "SMTP_URL", ["smtp:", "smtps:"]), mailFrom, publicUrl: publicUrl && publicUrl.replace(/\/+$/, ""), signupLimit: int(env, "SIGNUP_LIMIT", 10, 1, 1_000_000) };
}

type Env = Record<string, string | undefined>;

function bad(name: string, why: string): GateError {
  return new GateError("bad_config", `invalid configuration: ${name} ${why}`);
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw)) throw bad(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw bad(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === "") return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // never echo the value: it may carry a password
    throw bad(name, `must be a URL (${protocols.join(" or ")})`);
  }
  if (!protocols.includes(u.protocol)) throw bad(name, `must start with ${protocols.join(" or ")}`);
  return raw;
}

/** A listening address; "0.0.0.0:8080" (the port written into the address) is refused naming
 * the variable the port goes in: listen() would look it up as a host name. */
function address(env: Env, name: string, portName: string): string | undefined {
  const raw = env[name];
  const withPort = raw ? /^(?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/.exec(raw) : null;
  if (withPort) throw bad(name, `takes an address without a port, got "${raw}": set ${name}=${withPort[1] ?? withPort[2]} and ${portName}=${withPort[3]}`);
  return raw;
}

/** TRUST_PROXY's addresses and CIDRs, each checked here: an entry the proxy check cannot read
 * (a host name, a prefix too long) would otherwise trust nobody, or fail every request that
 * carries X-Forwarded-For. */
function trustProxy(env: Env): string[] {
  const entries = (env.TRUST_PROXY ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const entry of entries) {
    const [addr = "", bits, extra] = entry.split("/");
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    const ok = family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
    if (!ok) {
      const why = family === 0 ? `"${addr}" is not an IP address (host names are not looked up)` : `the prefix length must be 0 to ${max}`;
      throw bad("TRUST_PROXY", `must be IP addresses or CIDRs separated by commas, e.g. 127.0.0.1,10.0.0.0/8; got "${entry}": ${why}`);
    }
  }
  return entries;
}

function signup(env: Env): Config["signup"] {
  const v = env.SIGNUP || "admin";
  if (v !== "open" && v !== "admin") throw bad("SIGNUP", `must be "open" or "admin", got "${v}"`);
  return v;
}

export function loadConfig(env: Env = process.env): Config {
  const s3Endpoint = url(env, "S3_ENDPOINT", ["http:", "https:"]);
  let s3: S3Config | null = null;
  if (s3Endpoint) {
    const accessKey = env.S3_ACCESS_KEY ?? "";
    const secretKey = env.S3_SECRET_KEY ?? "";
    if (!accessKey) throw bad("S3_ACCESS_KEY", "is required when S3_ENDPOINT is set");
    if (!secretKey) throw bad("S3_SECRET_KEY", "is required when S3_ENDPOINT is set");
    const bucket = env.S3_BUCKET || "pkgate";
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad("S3_BUCKET", `is not a valid bucket name: "${bucket}"`);
    s3 = { endpoint: s3Endpoint, bucket, accessKey, secretKey, region: env.S3_REGION || "us-east-1" };
  }

  const redisUrl = url(env, "REDIS_URL", ["redis:", "rediss:"]);
  if (env.REDIS_SENTINELS && !redisUrl) throw bad("REDIS_SENTINELS", "needs REDIS_URL too (for the password and database)");
  let redisSentinels: Config["redisSentinels"] = null;
  if (env.REDIS_SENTINELS) {
    redisSentinels = env.REDIS_SENTINELS.split(",").map((hp) => {
      const m = /^([^:\s]+):(\d{1,5})$/.exec(hp.trim());
      if (!m) throw bad("REDIS_SENTINELS", `must be host:port[,host:port...], got "${hp}"`);
      return { host: m[1]!, port: Number(m[2]) };
    });
  }

  const logLevel = (env.LOG_LEVEL || "info") as Config["logLevel"];
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw bad("LOG_LEVEL", `must be one of debug, info, warn, error, silent, got "${logLevel}"`);
  }

  let basePath = env.BASE_PATH ?? "";
  if (basePath !== "") {
    if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(basePath)) throw bad("BASE_PATH", `must look like /prefix, got "${basePath}"`);
    basePath = basePath.replace(/\/$/, "");
  }

  const host = address(env, "HOST", "PORT") || "0.0.0.0";
  const metricsPort = env.METRICS_PORT ?? "";
  const metrics = metricsPort === "" ? null : { port: int(env, "METRICS_PORT", 0, 0, 65535), host: address(env, "METRICS_HOST", "METRICS_PORT") || "127.0.0.1" };
  if (env.METRICS_HOST && !metrics) throw bad("METRICS_HOST", "needs METRICS_PORT too (without it there is no metrics listener)");
  const port = int(env, "PORT", 8080, 0, 65535);
  const web = webConfig(env);
  if (metrics && metrics.port !== 0 && metrics.port === port) throw bad("METRICS_PORT", `must differ from PORT (${port}): metrics are never served on the public port`);
  return {
    port,
    host,
    dataDir: path.resolve(env.DATA_DIR || "./data"),
    s3,
    redisUrl,
    redisSentinels,
    redisSentinelName: env.REDIS_SENTINEL_NAME || "mymaster",
    tokenCacheTtl: int(env, "TOKEN_CACHE_TTL", 5, 0, 3600),
    logLevel,
    basePath,
    trustProxy: trustProxy(env),
    shutdownTimeout: int(env, "SHUTDOWN_TIMEOUT", 30, 0, 3600),
    authFailureLimit: int(env, "AUTH_FAILURE_LIMIT", 30, 1, 1_000_000),
    authFailureWindow: int(env, "AUTH_FAILURE_WINDOW", 60, 1, 24 * 3600),
    signup: signup(env),
    hotCacheBytes: int(env, "HOT_CACHE_MB", 64, 0, 1_000_000) * 1024 * 1024,
    viewCacheBytes: int(env, "VIEW_CACHE_MB", 128, 0, 1_000_000) * 1024 * 1024,
    // one hour: 1 GiB at 2.4 Mbit/s
    bodyTimeout: int(env, "BODY_TIMEOUT", 3600, 1, 7 * 24 * 3600),
    idleTimeout: int(env, "IDLE_TIMEOUT", 120, 1, 24 * 3600),
    metrics,
    tokenMaxAge: int(env, "TOKEN_MAX_AGE", DEFAULT_TOKEN_LIFETIME, 60, LIFETIME_CEILING),
    // 1 GiB, as PyPI uploads; a package is spooled to disk, never held in memory
    maxCondaUploadBytes: int(env, "MAX_CONDA_UPLOAD", 1024 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
    web,
    oidc: oidcConfig(env, web.publicUrl),
    downloads: downloads(env, s3),
  };
}
