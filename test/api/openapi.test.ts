// The published OpenAPI document against the router: every documented operation is routed
// (a request to it reaches a handler, not the "no such endpoint" fallback), every routed
// operation is documented, and every schema reference resolves. The names it publishes are the
// server's own rules (test/access/names.test.ts compares them string by string).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { apiRoutes, routerPath } from "../../src/api/index.js";
import { Catalog } from "../../src/access/catalog.js";
import { Identifier } from "../../src/auth/identify.js";
import { AuthFailures } from "../../src/http/auth-failures.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { errorResponse } from "../../src/http/error-response.js";
import { createLogger } from "../../src/log.js";
import { tempDir, type TempDir } from "../harness/services.js";
import { Writable } from "node:stream";
import { ACCOUNT_NAME, lifetimeSchema } from "../../src/access/names.js";

const METHODS = ["get", "post", "put", "patch", "delete"];
const TOKEN_MAX_AGE = 86_400;

describe("/api/openapi.json matches the router", () => {
  let dir: TempDir;
  let app: Hono;
  let api: Hono;
  let doc: { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; in?: string }[]; responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } };

  before(async () => {
    dir = await tempDir();
    const cache = new MemoryCache();
    const catalog = new Catalog(new FsStore(dir.path), cache, { localTtlSeconds: 0 });
    api = apiRoutes({ catalog, identifier: new Identifier(catalog), failures: new AuthFailures(1000), cache, basePath: "", signup: "open", tokenMaxAge: TOKEN_MAX_AGE });
    const logger = createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() }));
    app = new Hono();
    app.onError((err, c) => errorResponse(err, c, logger));
    app.route("/api", api);
    const res = await app.request("/api/openapi.json");
    assert.equal(res.status, 200);
    doc = await res.json();
  });
  after(() => dir.remove());

  test("it is OpenAPI 3.1", () => assert.equal(doc.openapi, "3.1.0"));

  test("every documented operation reaches a handler", async () => {
    let count = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        assert.ok(METHODS.includes(method), `${method} ${path}`);
        const concrete = path.replace(/\{[^}]+\}/g, "x1");
        // an operation for anaconda-client only is asked as anaconda-client asks
        const client = (ops[method]!.parameters ?? []).some((p) => p.in === "header" && p.name === "x-binstar-api-version");
        const res = await app.request(concrete, { method: method.toUpperCase(), headers: client ? { "x-binstar-api-version": "1.16.0" } : {} });
        const body = res.status === 204 ? null : await res.json();
        assert.ok(!/no such API endpoint/.test(body?.message ?? ""), `${method} ${path} is not routed`);
        // unauthenticated: the documented answer for that (401), or what the operation
        // documents (200 for the document itself, 400 for a sign-up without a body)
        assert.ok(String(res.status) in ops[method]!.responses, `${method} ${path} answered ${res.status}, which is not documented`);
        count++;
      }
    }
    assert.ok(count >= 30, `only ${count} operations documented`);
  });

  test("every routed operation is documented, with its path parameters", () => {
    const routed = api.routes.filter((r) => r.path !== "/*" && r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${r.path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${routerPath(path.replace(/^\/api/, "")) || "/"}`));
    assert.deepEqual([...new Set(routed)].sort(), documented.sort());
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) assert.deepEqual((op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name), inPath, path);
    }
  });

  const props = (name: string) => (doc.components.schemas[name] as { properties: Record<string, { pattern?: string; maxLength?: number }> }).properties;

  test("the served document publishes the server's account name rule", () => {
    for (const [schema, field] of [["Signup", "username"], ["OrgCreate", "name"], ["User", "name"], ["Channel", "name"]] as const) {
      const s = props(schema)[field]!;
      assert.equal(s.pattern, ACCOUNT_NAME.pattern, `${schema}.${field}`);
      // what the old published pattern accepted and the server refuses
      for (const x of ["a..b", "api", "simple", "a."]) assert.ok(!new RegExp(s.pattern!, "u").test(x), `${schema}.${field} accepts ${x}`);
    }
  });

  test("the served document publishes this server's TOKEN_MAX_AGE as maxAgeSeconds' maximum", () => {
    for (const schema of ["Login", "TokenCreate"]) assert.deepEqual(props(schema)["maxAgeSeconds"], lifetimeSchema(TOKEN_MAX_AGE), `${schema}.maxAgeSeconds`);
  });

  test("every $ref resolves to a schema", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 10);
    for (const r of refs) assert.ok(r in doc.components.schemas, `missing schema ${r}`);
  });
});
