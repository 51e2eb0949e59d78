// The gateway process: read the configuration, wire the parts, listen, and shut down
// gracefully on SIGTERM/SIGINT.
import { loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { createRuntime } from "./runtime.js";
import { startGateway } from "./server.js";
import { GateError } from "./errors.js";
import { RedisCache } from "./cache/redis.js";
import { packageVersion } from "./metrics.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof GateError) {
      console.error(`pkgate: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const rt = await createRuntime(config);
  const gw = await startGateway(rt, logger);
  logger.info({
    msg: "listening",
    // to open from this machine (under BASE_PATH: the root answers 404 there); `address` is
    // where the socket listens (0.0.0.0: everywhere)
    url: config.basePath ? `${gw.url}${config.basePath}/` : gw.url,
    address: gw.address,
    version: packageVersion(),
    store: config.s3 ? `s3 bucket ${config.s3.bucket} at ${new URL(config.s3.endpoint).origin}` : `directory ${config.dataDir}`,
    cache: rt.cache instanceof RedisCache ? `shared: ${rt.cache.label}` : "in-process (no REDIS_URL)",
    basePath: config.basePath || "/",
    // Prometheus scrapes here, never on the serving port
    metrics: gw.metricsUrl ? `${gw.metricsUrl}/metrics` : "off (set METRICS_PORT)",
    metricsAddress: gw.metricsAddress ?? undefined,
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ msg: "shutting down", signal, deadlineSeconds: config.shutdownTimeout });
    await gw.stop();
    await rt.close();
    logger.info({ msg: "stopped" });
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(`pkgate: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
