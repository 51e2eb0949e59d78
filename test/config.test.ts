// Configuration from the environment: defaults, switches, and refusals that name the variable.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../src/config.js";
import { GateError } from "../src/errors.js";
import { DEFAULT_TOKEN_LIFETIME, LIFETIME_CEILING } from "../src/access/names.js";

describe("loadConfig", () => {
  test("defaults: port 8080, ./data, in-process cache, no prefix", () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.match(c.dataDir, /\/data$/);
    assert.equal(c.s3, null);
    assert.equal(c.redisUrl, null);
    assert.equal(c.basePath, "");
    assert.equal(c.tokenCacheTtl, 5);
    assert.equal(c.shutdownTimeout, 30);
  });
  test("an S3 endpoint switches the store; REDIS_URL the cache; BASE_PATH loses its trailing slash", () => {
    const c = loadConfig({ S3_ENDPOINT: "http://minio:9000", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "b", REDIS_URL: "redis://r:6379", BASE_PATH: "/conda/" });
    assert.deepEqual(c.s3, { endpoint: "http://minio:9000", bucket: "pkgate", accessKey: "a", secretKey: "b", region: "us-east-1" });
    assert.equal(c.redisUrl, "redis://r:6379");
    assert.equal(c.basePath, "/conda");
  });
  const refused: [Record<string, string>, string][] = [
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ S3_ENDPOINT: "minio:9000" }, "S3_ENDPOINT"],
    [{ S3_ENDPOINT: "http://minio:9000" }, "S3_ACCESS_KEY"],
    [{ S3_ENDPOINT: "http://minio:9000", S3_ACCESS_KEY: "a" }, "S3_SECRET_KEY"],
    [{ S3_ENDPOINT: "http://m:9000", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "b", S3_BUCKET: "Bad_Bucket" }, "S3_BUCKET"],
    [{ REDIS_URL: "http://redis" }, "REDIS_URL"],
    [{ REDIS_SENTINELS: "a:1" }, "REDIS_SENTINELS"],
    [{ REDIS_URL: "redis://r", REDIS_SENTINELS: "a" }, "REDIS_SENTINELS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ BASE_PATH: "conda" }, "BASE_PATH"],
    [{ TOKEN_CACHE_TTL: "-1" }, "TOKEN_CACHE_TTL"],
    [{ BODY_TIMEOUT: "0" }, "BODY_TIMEOUT"],
    [{ BODY_TIMEOUT: "1h" }, "BODY_TIMEOUT"],
    [{ IDLE_TIMEOUT: "0" }, "IDLE_TIMEOUT"],
    [{ METRICS_PORT: "70000" }, "METRICS_PORT"],
    [{ METRICS_PORT: "8080" }, "METRICS_PORT"], // the serving port: metrics would be public
    [{ PORT: "9000", METRICS_PORT: "9000" }, "METRICS_PORT"],
    [{ METRICS_HOST: "0.0.0.0" }, "METRICS_HOST"],
    [{ TOKEN_MAX_AGE: "0" }, "TOKEN_MAX_AGE"],
    [{ TOKEN_MAX_AGE: String(10 * 365 * 24 * 3600 + 1) }, "TOKEN_MAX_AGE"],
  ];
  for (const [env, name] of refused) {
    test(`refuses ${JSON.stringify(env)} naming ${name}`, () => {
      assert.throws(() => loadConfig(env), (e: unknown) => e instanceof GateError && e.message.includes(name));
    });
  }
  test("timeouts: an hour for a request (a 1 GiB upload on a slow link), two minutes of silence", () => {
    const c = loadConfig({});
    assert.equal(c.bodyTimeout, 3600);
    assert.equal(c.idleTimeout, 120);
    assert.deepEqual([loadConfig({ BODY_TIMEOUT: "5", IDLE_TIMEOUT: "2" }).bodyTimeout, loadConfig({ IDLE_TIMEOUT: "2" }).idleTimeout], [5, 2]);
  });
  test("metrics: no listener unless METRICS_PORT is set; then on loopback unless METRICS_HOST says", () => {
    assert.equal(loadConfig({}).metrics, null);
    assert.deepEqual(loadConfig({ METRICS_PORT: "9090" }).metrics, { port: 9090, host: "127.0.0.1" });
    assert.deepEqual(loadConfig({ METRICS_PORT: "9090", METRICS_HOST: "0.0.0.0" }).metrics, { port: 9090, host: "0.0.0.0" });
    assert.deepEqual(loadConfig({ PORT: "0", METRICS_PORT: "0" }).metrics, { port: 0, host: "127.0.0.1" }, "0: any free port, as PORT");
  });
  test("TOKEN_MAX_AGE: a year by default, at most ten years", () => {
    assert.equal(loadConfig({}).tokenMaxAge, DEFAULT_TOKEN_LIFETIME);
    assert.equal(loadConfig({ TOKEN_MAX_AGE: "3600" }).tokenMaxAge, 3600);
    assert.equal(loadConfig({ TOKEN_MAX_AGE: String(LIFETIME_CEILING) }).tokenMaxAge, LIFETIME_CEILING);
  });
  test("TRUST_PROXY: addresses and CIDRs of both families; a host name or a prefix too long is refused at start, naming the entry", () => {
    assert.deepEqual(loadConfig({ TRUST_PROXY: " 127.0.0.1, 10.0.0.0/8,::1,fd00::/8 " }).trustProxy, ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
    assert.deepEqual(loadConfig({}).trustProxy, []);
    // each of these used to be accepted: "nginx" and "10.0.0.0/8x" trusted nobody, and
    // "10.0.0.0/33" threw on every request carrying X-Forwarded-For
    for (const [value, why] of [
      ["nginx", /"nginx" is not an IP address \(host names are not looked up\)/],
      ["127.0.0.1,10.0.0.0/33", /got "10\.0\.0\.0\/33": the prefix length must be 0 to 32/],
      ["fd00::/129", /the prefix length must be 0 to 128/],
      ["10.0.0.0/8x", /got "10\.0\.0\.0\/8x"/],
      ["10.0.0.0/8/1", /got "10\.0\.0\.0\/8\/1"/],
    ] as const) {
      assert.throws(() => loadConfig({ TRUST_PROXY: value }), (e: unknown) => e instanceof GateError && /^invalid configuration: TRUST_PROXY must be IP addresses or CIDRs/.test(e.message) && why.test(e.message), value);
    }
  });
  test("HOST and METRICS_HOST with a port written in are refused, saying where the port goes; IPv6 addresses are addresses", () => {
    assert.throws(() => loadConfig({ HOST: "0.0.0.0:8080" }), { message: 'invalid configuration: HOST takes an address without a port, got "0.0.0.0:8080": set HOST=0.0.0.0 and PORT=8080' });
    assert.throws(() => loadConfig({ HOST: "[::1]:8080" }), { message: 'invalid configuration: HOST takes an address without a port, got "[::1]:8080": set HOST=::1 and PORT=8080' });
    assert.throws(() => loadConfig({ METRICS_PORT: "9090", METRICS_HOST: "localhost:9091" }), { message: 'invalid configuration: METRICS_HOST takes an address without a port, got "localhost:9091": set METRICS_HOST=localhost and METRICS_PORT=9091' });
    assert.equal(loadConfig({ HOST: "::" }).host, "::");
    assert.equal(loadConfig({ HOST: "fd00::1" }).host, "fd00::1");
    assert.equal(loadConfig({ HOST: "localhost" }).host, "localhost");
  });
  test("a bad REDIS_URL is refused without echoing it (it may hold a password)", () => {
    assert.throws(() => loadConfig({ REDIS_URL: "redis//:hunter2@x" }), (e: unknown) => e instanceof Error && !e.message.includes("hunter2"));
  });
});
