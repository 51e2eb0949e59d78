// The Redis Cache, shared by every replica. Redis is a cache here, never a dependency: when it
// is down, commands fail within a bounded time with CacheUnavailable (callers then go to the
// store) instead of queueing, while the client keeps reconnecting in the background and
// re-subscribes its channels once Redis is back. Whether Redis can be used is tracked here
// (`healthy`, and a change reported to `onAvailability` listeners) and said in an operator's
// words, never in ioredis's. The URL's password never reaches a message.
import { randomBytes } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { CacheUnavailable, type Cache } from "./cache.js";
import { errnoOf } from "../errno.js";

export interface RedisCacheOptions {
  /** Prepended to every key and pub/sub channel, so deployments can share one Redis. */
  keyPrefix?: string;
  /** Longest wait for one command's reply before CacheUnavailable (default 1000 ms). */
  commandTimeoutMs?: number;
  /** Redis Sentinel: ask these for the current primary of `sentinelName` instead of
   * connecting to the URL's host (the URL still gives password and database). */
  sentinels?: { host: string; port: number }[];
  sentinelName?: string;
}

/** INCR that starts the expiry on the first increment (or if a key somehow has none). */
const INCR_WITH_TTL = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`;

/** Delete a lock only if it still holds our token: after expiry it may be someone else's. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

interface ScriptCommands {
  pkgateIncrWithTtl(key: string, ttlMs: number): Promise<number>;
  pkgateReleaseLock(key: string, token: string): Promise<number>;
}

/** How long commands issued right after start-up wait for the first connection. */
const FIRST_CONNECT_WAIT_MS = 1000;
const CONNECT_TIMEOUT_MS = 2000;

/** Redis became unusable (`up: false`, with why) or usable again (`up: true`, with how long
 * it was not). */
export type AvailabilityChange = { up: false; cause: string } | { up: true; downMs: number };

export class RedisCache implements Cache {
  readonly kind = "redis" as const;
  private readonly client: Redis;
  /** Subscriber mode takes a connection over, so pub/sub has its own. */
  private readonly subscriber: Redis;
  private readonly channelPrefix: string;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly secrets: string[];
  private readonly firstConnect: Promise<void>;
  private closed = false;
  private readonly commandTimeoutMs: number;
  /** null until the first connection succeeds or fails. */
  private up: boolean | null = null;
  private downSince = 0;
  /** Why Redis cannot be used, while it cannot. */
  private cause = "not connected yet";
  private readonly listeners = new Set<(change: AvailabilityChange) => void>();
  /** Which Redis, for messages: `Redis at host:port`, or the Sentinel group; never the password. */
  readonly label: string;

  constructor(url: string, opts: RedisCacheOptions = {}) {
    this.secrets = secretsOf(url);
    this.channelPrefix = opts.keyPrefix ?? "";
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
    this.label = labelOf(url, opts);
    const common: RedisOptions = {
      // Fail fast instead of queueing while disconnected; a command in flight when the
      // connection drops is retried at most once, and none waits longer than the timeout.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Reconnect forever, backing off to at most 2 s between attempts.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100),
      connectionName: "pkgate",
      ...(opts.sentinels ? { sentinels: opts.sentinels, name: opts.sentinelName ?? "mymaster" } : {}),
    };
    this.client = new Redis(url, { ...common, keyPrefix: opts.keyPrefix });
    // Channels are re-subscribed by our own 'ready' handler, which also covers channels
    // registered while Redis was down (ioredis only restores ones that had succeeded).
    this.subscriber = new Redis(url, { ...common, autoResubscribe: false, connectionName: "pkgate-sub" });
    this.client.defineCommand("pkgateIncrWithTtl", { numberOfKeys: 1, lua: INCR_WITH_TTL });
    this.client.defineCommand("pkgateReleaseLock", { numberOfKeys: 1, lua: RELEASE_LOCK });

    // Connection errors are expected while Redis is down and are reported through
    // CacheUnavailable, `healthy` and onAvailability, once per outage; an 'error' event
    // without a listener would print every reconnection attempt.
    this.client.on("error", (err: unknown) => {
      if (this.client.status !== "ready") this.markDown(causeOf(err, this.commandTimeoutMs));
    });
    // a connection that was up and closed; a failed attempt's 'close' follows its 'error'
    this.client.on("close", () => {
      if (this.up !== false) this.markDown("connection lost");
    });
    this.client.on("ready", () => this.markUp());
    this.subscriber.on("error", () => undefined);
    this.subscriber.on("ready", () => void this.resubscribe());
    this.subscriber.on("message", (channel: string, message: string) => this.deliver(channel, message));

    // Both connections, so that a subscription made at start-up is active when it returns.
    const ready = (c: Redis) => new Promise<void>((resolve) => c.once("ready", () => resolve()));
    this.firstConnect = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FIRST_CONNECT_WAIT_MS);
      timer.unref();
      void Promise.all([ready(this.client), ready(this.subscriber)]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** True while Redis answers: connected, and the last command did not time out. */
  get healthy(): boolean {
    return this.up === true && this.client.status === "ready";
  }

  /** Hear when Redis becomes unusable and when it is back: once per change, never for each
   * reconnection attempt in between. A listener added while Redis is down hears that at once.
   * Returns the function that removes it. */
  onAvailability(listener: (change: AvailabilityChange) => void): () => void {
    this.listeners.add(listener);
    if (this.up === false) listener({ up: false, cause: this.cause });
    return () => void this.listeners.delete(listener);
  }

  async get(key: string): Promise<Buffer | null> {
    return this.run("get", () => this.client.getBuffer(key));
  }

  async set(key: string, value: Buffer | string, ttlSeconds: number): Promise<void> {
    const ms = ttlMs(ttlSeconds * 1000);
    await this.run("set", () => this.client.set(key, value, "PX", ms));
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run("del", () => this.client.del(...keys));
  }

  async incr(key: string, ttlSeconds: number): Promise<number> {
    const ms = ttlMs(ttlSeconds * 1000);
    const n = await this.run("incr", () => this.scripts.pkgateIncrWithTtl(key, ms));
    return Number(n);
  }

  async tryLock(key: string, ttl: number): Promise<(() => Promise<void>) | null> {
    const ms = ttlMs(ttl);
    const token = randomBytes(16).toString("hex");
    const ok = await this.run("lock", () => this.client.set(key, token, "PX", ms, "NX"));
    if (ok !== "OK") return null;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.run("unlock", () => this.scripts.pkgateReleaseLock(key, token));
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run("publish", () => this.client.publish(this.channelPrefix + channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const wire = this.channelPrefix + channel;
    let set = this.handlers.get(wire);
    const first = !set;
    if (!set) this.handlers.set(wire, (set = new Set()));
    // A wrapper per call, so subscribing the same function twice gives two independent
    // subscriptions, each removed by its own unsubscribe.
    const handler = (m: string) => onMessage(m);
    set.add(handler);
    if (first) {
      await this.firstConnect;
      if (this.subscriber.status === "ready") {
        // When Redis is down the registration stands and 'ready' subscribes later.
        await this.subscriber.subscribe(wire).catch(() => undefined);
      }
    }
    return async () => {
      const current = this.handlers.get(wire);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(wire);
      if (this.subscriber.status === "ready") await this.subscriber.unsubscribe(wire).catch(() => undefined);
    };
  }

  async ping(): Promise<void> {
    await this.run("ping", () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    for (const c of [this.client, this.subscriber]) {
      // QUIT lets replies in flight arrive; when Redis is down it fails at once.
      await c.quit().catch(() => undefined);
      c.disconnect();
    }
  }

  private get scripts(): ScriptCommands {
    return this.client as unknown as ScriptCommands;
  }

  private async run<T>(op: string, command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CacheUnavailable("redis cache: closed");
    if (this.client.status !== "ready") await this.firstConnect;
    let result: T;
    try {
      result = await command();
    } catch (err) {
      // Redis answered, with an error of its own (out of memory, read-only replica...)
      if (err instanceof Error && err.name === "ReplyError") throw new CacheUnavailable(`${this.label} refused ${op}: ${this.reason(err)}`);
      // a connection that stays open but stops answering (a frozen or overloaded server)
      if (this.client.status === "ready" && isTimeout(err)) this.markDown(causeOf(err, this.commandTimeoutMs));
      throw new CacheUnavailable(`${this.label} is unreachable (${this.up === false ? this.cause : causeOf(err, this.commandTimeoutMs)})`);
    }
    if (this.up === false && this.client.status === "ready") this.markUp();
    return result;
  }

  private markDown(cause: string): void {
    if (this.closed) return;
    this.cause = cause;
    if (this.up === false) return;
    this.up = false;
    this.downSince = Date.now();
    this.announce({ up: false, cause });
  }

  private markUp(): void {
    if (this.closed || this.up === true) return;
    const wasDown = this.up === false;
    this.up = true;
    if (wasDown) this.announce({ up: true, downMs: Date.now() - this.downSince });
  }

  private announce(change: AvailabilityChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is not the cache's
      }
    }
  }

  private async resubscribe(): Promise<void> {
    const channels = [...this.handlers.keys()];
    if (channels.length === 0) return;
    await this.subscriber.subscribe(...channels).catch(() => undefined);
  }

  private deliver(wire: string, message: string): void {
    for (const h of this.handlers.get(wire) ?? []) {
      try {
        h(message);
      } catch {
        // one subscriber's failure is not the others'
      }
    }
  }

  /** A short reason with anything taken from the URL's credentials cut out. */
  private reason(err: unknown): string {
    let text = err instanceof Error ? err.message : String(err);
    for (const s of this.secrets) text = text.split(s).join("***");
    return text.slice(0, 200);
  }
}

/** `Redis at host:port` from the URL (never its password), or the Sentinel group. */
function labelOf(url: string, opts: RedisCacheOptions): string {
  if (opts.sentinels) return `Redis "${opts.sentinelName ?? "mymaster"}" (sentinels ${opts.sentinels.map((s) => `${s.host}:${s.port}`).join(", ")})`;
  try {
    const u = new URL(url);
    return `Redis at ${u.hostname || "localhost"}:${u.port || "6379"}`;
  } catch {
    return "Redis";
  }
}

/** Why a connection or a command failed, in words an operator acts on (ioredis's own words
 * name its internals: "Stream isn't writeable and enableOfflineQueue options is false"). */
function causeOf(err: unknown, commandTimeoutMs: number): string {
  const message = err instanceof Error ? err.message : String(err);
  const errno = errnoOf(err);
  if (errno?.kind === "timeout") return `${errno.words} within ${CONNECT_TIMEOUT_MS / 1000} s`;
  // the list README gives says "TLS handshake failed"; the certificate's trouble follows
  if (errno?.kind === "tls" || errno?.kind === "untrusted") return errno.words.startsWith("TLS handshake failed") ? errno.words : `TLS handshake failed: ${errno.words}`;
  if (errno) return errno.words;
  if (isTimeout(err)) return `no answer within ${commandTimeoutMs} ms`;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) return "login refused: check the password in REDIS_URL";
  if (/sentinel/i.test(message)) return "no sentinel names a reachable primary";
  if (/certificate|SSL|TLS/i.test(message)) return "TLS handshake failed";
  if (/writeable|Connection is closed/i.test(message)) return "not connected";
  return "connection failed";
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("Command timed out");
}

function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [url];
    if (u.password) out.push(u.password, decodeURIComponent(u.password));
    return out.filter((s) => s.length > 0);
  } catch {
    return [url];
  }
}

/** A positive whole number of milliseconds, as PX requires. */
function ttlMs(ms: number): number {
  const whole = Math.ceil(ms);
  if (!Number.isFinite(whole) || whole <= 0) throw new RangeError(`ttl must be positive, got ${ms} ms`);
  return whole;
}
