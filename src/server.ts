// A running gateway: the app on a Node HTTP server, with readiness, time bounds on what
// clients send, metrics on a listener of their own, a log line when Redis goes away and when
// it is back, and a graceful stop that lets in-flight downloads finish up to a deadline.
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { nodeListener, type AppDeps } from "./app.js";
import { lingering } from "./http/linger.js";
import type { Runtime } from "./runtime.js";
import type { Config } from "./config.js";
import { Identifier } from "./auth/identify.js";
import { ViewCache } from "./cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "./http/objects.js";
import { AuthFailures } from "./http/auth-failures.js";
import type { Logger } from "./log.js";
import { servePypi, MAX_UPLOAD_BYTES } from "./http/pypi.js";
import { PypiRegistry } from "./pypi/registry.js";
import { Metrics } from "./metrics.js";
import { UnownedFolders } from "./ops/unowned-folders.js";
import { RedisCache } from "./cache/redis.js";
import type { Cache } from "./cache/cache.js";
import { OidcExchange } from "./oidc/exchange.js";
import { GateError } from "./errors.js";
import { errnoOf } from "./errno.js";

export interface Gateway {
  port: number;
  metrics: Metrics;
  views: ViewCache;
  /** A URL to open from this machine: the listening address, or loopback when the socket
   * listens on every interface. */
  url: string;
  /** The socket's own address, `0.0.0.0:8080` when it listens on every IPv4 interface. */
  address: string;
  server: Server;
  /** Where Prometheus scrapes `/metrics` (METRICS_PORT), or null when there is no listener. */
  metricsUrl: string | null;
  /** The metrics socket's own address, or null. */
  metricsAddress: string | null;
  /** Stop accepting, wait for in-flight requests up to the deadline, then close. */
  stop(deadlineMs?: number): Promise<void>;
}

function tierSamples(c: { local: number; shared: number; loaded: number }): [Record<string, string>, number][] {
  return [
    [{ tier: "local" }, c.local],
    [{ tier: "shared" }, c.shared],
    [{ tier: "store" }, c.loaded],
  ];
}

/** The parts a gateway's app is made of, built by the caller. */
export interface AppParts {
  store: Runtime["store"];
  cache: Runtime["cache"];
  catalog: Runtime["catalog"];
  objects: ObjectSource;
  views: ViewCache;
  logger: Logger;
  metrics: Metrics;
  /** The log hint for store folders no account owns (the in-process test harness has none:
   * its timer would add store work between the requests a test counts). */
  unownedFolders?: UnownedFolders;
}

/** The app's dependencies from its parts and the configuration: the one wiring of the doors
 * (the gateway and the in-process test harness both use it). */
export function appDeps(parts: AppParts, config: Config): AppDeps {
  const { store, cache, catalog, objects, views, logger, metrics, unownedFolders } = parts;
  // one registry for the PyPI door, the API and the pages: a status or yank set through one is
  // seen by the others at once (its memo of project states is this one)
  const registry = new PypiRegistry(store, cache);
  const pypiDeps = { store, objects, views, registry, maxUploadBytes: MAX_UPLOAD_BYTES, downloads: config.downloads };
  return {
    tokenMaxAge: config.tokenMaxAge,
    maxCondaUploadBytes: config.maxCondaUploadBytes,
    web: config.web,
    oidc: new OidcExchange({ catalog, store, cache, config: config.oidc, tokenMaxAge: config.tokenMaxAge, logger }),
    unownedFolders,
    pypi: (c, t, p, a) => servePypi(c, pypiDeps, t, p, a),
    pypiProjects: registry,
    store,
    objects,
    views,
    downloads: config.downloads,
    catalog,
    identifier: new Identifier(catalog),
    failures: new AuthFailures(config.authFailureLimit, { cache, windowSeconds: config.authFailureWindow }),
    basePath: config.basePath,
    logger,
    metrics,
    signup: config.signup,
    trustProxy: config.trustProxy,
    cache,
    readiness: async () => {
      const [storeProblem, cacheProblem] = await Promise.all([store.ping().then(() => null, (e: Error) => e.message), cache.ping().then(() => null, (e: Error) => e.message)]);
      return { store: storeProblem, cache: cacheProblem };
    },
  };
}

export async function startGateway(rt: Runtime, logger: Logger): Promise<Gateway> {
  const { config, store, cache, catalog } = rt;
  await catalog.listen().catch((err) => logger.warn({ msg: "cache subscribe failed; replicas converge by TTL", err: String(err) }));
  const metrics = new Metrics();
  const views = new ViewCache(cache, { maxLocalBytes: config.viewCacheBytes, maxSharedBytes: 32 * 1024 * 1024, sharedTtlSeconds: 3600 });
  const objects = new ObjectSource(store, { ...DEFAULT_HOT, maxBytes: config.hotCacheBytes });
  const unownedFolders = new UnownedFolders(store, catalog, logger);
  const deps = appDeps({ store, cache, catalog, objects, views, logger, metrics, unownedFolders }, config);
  const { listener } = nodeListener(deps);
  const stopReporting = reportCacheAvailability(cache, logger);
  metrics.addSampled({
    name: "pkgate_cache_up",
    help: "1 while the shared cache (Redis) answers, 0 while the gateway serves without it (always 1 for the in-process cache)",
    type: "gauge",
    sample: () => [[{}, cache instanceof RedisCache && !cache.healthy ? 0 : 1]],
  });
  metrics.addSampled({
    name: "pkgate_token_lookups_total",
    help: "Token lookups by the tier that answered (local = in-process, shared = Redis, store = the catalog)",
    type: "counter",
    sample: () => tierSamples(catalog.tokens.counters),
  });
  metrics.addSampled({
    name: "pkgate_account_lookups_total",
    help: "Account (channel policy) lookups by the tier that answered",
    type: "counter",
    sample: () => tierSamples(catalog.accounts.counters),
  });
  metrics.addSampled({
    name: "pkgate_index_views_total",
    help: "Filtered index views by where they came from (computed = filtered now)",
    type: "counter",
    sample: () => Object.entries(views.counters).map(([source, n]) => [{ source }, n]),
  });
  metrics.addSampled({
    name: "pkgate_cache_errors_total",
    help: "Shared-cache (Redis) operations that failed and fell back to the store",
    type: "counter",
    sample: () => [[{}, catalog.tokens.counters.sharedErrors + catalog.accounts.counters.sharedErrors]],
  });
  const server = createServer(
    {
      // Receiving a request, headers and body, may take BODY_TIMEOUT at most: a body sent a
      // byte every few seconds no longer holds a connection for ever. Node counts this only
      // until the request is received, so a long download is never cut by it.
      requestTimeout: config.bodyTimeout * 1000,
      headersTimeout: Math.min(30_000, config.bodyTimeout * 1000),
      // how often Node looks for requests past those deadlines (its default is 30 s)
      connectionsCheckingInterval: 1000,
      keepAliveTimeout: 65_000,
    },
    // a refused upload's answer reaches a client that is still sending (http/linger.ts)
    lingering(listener),
  );
  // A connection silent in both directions for IDLE_TIMEOUT, in the middle of a request or a
  // response (a client that stopped reading or sending), is closed. A download that moves is
  // never idle.
  server.timeout = config.idleTimeout * 1000;
  server.maxHeadersCount = 100;
  try {
    await listen(server, config.port, config.host, "PORT", "HOST");
  } catch (err) {
    stopReporting();
    throw err;
  }
  const metricsServer = config.metrics ? metricsListener(metrics) : null;
  if (metricsServer && config.metrics) {
    try {
      await listen(metricsServer, config.metrics.port, config.metrics.host, "METRICS_PORT", "METRICS_HOST");
    } catch (err) {
      stopReporting();
      server.close();
      throw err;
    }
  }
  unownedFolders.start();
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    metrics,
    views,
    url: urlOf(server),
    address: addressOf(server),
    server,
    metricsUrl: metricsServer ? urlOf(metricsServer) : null,
    metricsAddress: metricsServer ? addressOf(metricsServer) : null,
    async stop(deadlineMs = config.shutdownTimeout * 1000) {
      stopReporting();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
      // a scrape is short: the metrics listener goes at once
      const metricsClosed = metricsServer ? new Promise<void>((resolve) => metricsServer.close(() => resolve())) : null;
      metricsServer?.closeAllConnections();
      await Promise.all([closed, metricsClosed]);
      await unownedFolders.stop();
      clearTimeout(timer);
    },
  };
}

/** Listen, or fail with what to change: the system's EADDRINUSE or ENOTFOUND named after the
 * variable that chose the port or the address (`portVar`, `hostVar`). */
function listen(server: Server, port: number, host: string, portVar: string, hostVar: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => reject(listenError(err, port, host, portVar, hostVar));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
}

/** A listen failure in the operator's words: which variable to change, and to what. */
function listenError(err: unknown, port: number, host: string, portVar: string, hostVar: string): Error {
  const errno = errnoOf(err);
  const failed = (todo: string) => new GateError("bad_config", `${portVar} ${port} on ${hostVar} ${host}: ${errno!.words}${todo}`);
  switch (errno?.kind) {
    case "port-taken":
      return failed(` (another pkgate or another server listens there): stop it, or set ${portVar} to a free port`);
    case "permission":
      return failed(` (ports below 1024 need privileges): set ${portVar} to 1024 or above behind a proxy, or grant CAP_NET_BIND_SERVICE`);
    case "not-local":
      return failed(`: set ${hostVar} to one of its addresses, or 0.0.0.0 for every IPv4 interface`);
    case "name":
      return failed(`: set ${hostVar} to an address of this machine, or 0.0.0.0 for every IPv4 interface`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** `host:port` of a listening socket, as the operating system reports it. */
function addressOf(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/** A URL a human on this machine can open: the listening address, or loopback of the same
 * family when the socket listens on every interface. */
function urlOf(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "[::1]" : address.includes(":") ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/** One warn line when Redis becomes unreachable and one when it is back, in an operator's
 * words; nothing for the in-process cache. Returns the function that stops the reporting. */
function reportCacheAvailability(cache: Cache, logger: Logger): () => void {
  if (!(cache instanceof RedisCache)) return () => undefined;
  return cache.onAvailability((change) => {
    if (!change.up) {
      logger.warn({ msg: `${cache.label} is unreachable; serving without the shared cache (${change.cause})`, cache: "down", cause: change.cause });
      return;
    }
    const seconds = Math.round(change.downMs / 100) / 10;
    logger.warn({ msg: `${cache.label} is reachable again; the shared cache is back in use after ${seconds} s without it`, cache: "up", downSeconds: seconds });
  });
}

/** A plain HTTP server with one page, `GET /metrics` (Prometheus text format), for a scraper
 * on a port the public never reaches. Anything else is 404. */
export function metricsListener(metrics: Metrics): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    const body = metrics.render();
    res.writeHead(200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
      "content-length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.timeout = 30_000;
  return server;
}
