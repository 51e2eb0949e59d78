// A running gateway: the app on a Node HTTP server, with readiness, and a graceful stop
// that lets in-flight downloads finish up to a deadline.
import { createAdaptorServer } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { NodeBindings } from "./http/send.js";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import type { Runtime } from "./runtime.js";
import { Identifier } from "./auth/identify.js";
import { ViewCache } from "./cache/views.js";
import { DEFAULT_HOT, ObjectSource } from "./http/objects.js";
import { AuthFailures } from "./http/auth-failures.js";
import type { Logger } from "./log.js";
import { servePypi, MAX_UPLOAD_BYTES } from "./http/pypi.js";
import { PypiRegistry } from "./pypi/registry.js";
import { Metrics } from "./metrics.js";

export interface Gateway {
  port: number;
  metrics: Metrics;
  views: ViewCache;
  url: string;
  server: Server;
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

export async function startGateway(rt: Runtime, logger: Logger): Promise<Gateway> {
  const { config, store, cache, catalog } = rt;
  await catalog.listen().catch((err) => logger.warn({ msg: "cache subscribe failed; replicas converge by TTL", err: String(err) }));
  const metrics = new Metrics();
  const views = new ViewCache(cache, { maxLocalBytes: config.viewCacheBytes, maxSharedBytes: 32 * 1024 * 1024, sharedTtlSeconds: 3600 });
  const objects = new ObjectSource(store, { ...DEFAULT_HOT, maxBytes: config.hotCacheBytes });
  const pypiDeps = { store, objects, views, registry: new PypiRegistry(store, cache), maxUploadBytes: MAX_UPLOAD_BYTES };
  const app = createApp({
    pypi: (c, t, p, a) => servePypi(c, pypiDeps, t, p, a),
    store,
    objects,
    views,
    catalog,
    identifier: new Identifier(catalog),
    failures: new AuthFailures(config.authFailureLimit),
    basePath: config.basePath,
    logger,
    metrics,
    signup: config.signup,
    trustProxy: config.trustProxy,
    cache,
    readiness: async () => ({
      store: await store.ping().then(() => null, (e: Error) => e.message),
      cache: await cache.ping().then(() => null, (e: Error) => e.message),
    }),
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
  const server = createAdaptorServer({
    // Bodies are written straight to Node's response (http/send.ts). When Hono hands back a
    // Response anyway (an error after the head went out, or Hono copying RESPONSE_ALREADY_SENT
    // into a new Response of its own), the adapter would write a second head: say "sent".
    fetch: async (req, env) => {
      const res = await app.fetch(req, env);
      return (env as NodeBindings).outgoing.headersSent ? RESPONSE_ALREADY_SENT : res;
    },
  }) as Server;
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // never cut a long download; idle sockets are bounded below
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    metrics,
    views,
    url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`,
    server,
    async stop(deadlineMs = config.shutdownTimeout * 1000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
