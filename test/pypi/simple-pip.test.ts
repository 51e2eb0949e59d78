// pip reads what simple.ts renders: a bare server (no gateway) answers project pages through
// negotiateMediaType and the renderers, files and `<file>.metadata` by relative links, and
// pip installs a package with its dependency, checking hashes and the PEP 658 metadata.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readWheelMetadata } from "../../src/pypi/metadata.js";
import { addFile, emptyProjectIndex, type ProjectIndex } from "../../src/pypi/project.js";
import { negotiateMediaType, renderProjectHtml, renderProjectJson } from "../../src/pypi/simple.js";
import { buildWheel, wheelFilename } from "./fixtures.js";

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("pip against rendered pages", () => {
  const projects = new Map<string, ProjectIndex>();
  const blobs = new Map<string, Buffer>();
  const requests: Array<{ path: string; accept: string; contentType?: string }> = [];
  let htmlOnly = false;
  let server: Server;
  let port: number;
  const dir = mkdtempSync(join(tmpdir(), "pkgate-simple-pip-"));

  before(async () => {
    const specs = [
      { name: "Acme.Core", version: "1.2.0", requiresDist: ["acme-util>=0.1"], requiresPython: ">=3.7" },
      { name: "acme-util", version: "0.1" },
      { name: "acme-util", version: "0.2" },
    ];
    for (const spec of specs) {
      const wheel = buildWheel(spec);
      const metadata = await readWheelMetadata(wheel);
      const filename = wheelFilename(spec.name, spec.version);
      const p = projects.get(spec.name.toLowerCase().replace(/[._]/g, "-")) ?? emptyProjectIndex(spec.name);
      const next = addFile(p, {
        filename,
        size: wheel.length,
        sha256: sha256(wheel),
        uploadTime: new Date().toISOString(),
        ...(spec.requiresPython ? { requiresPython: spec.requiresPython } : {}),
        coreMetadata: { sha256: sha256(metadata) },
      });
      projects.set(next.normalized, next);
      blobs.set(`/simple/${next.normalized}/${filename}`, wheel);
      blobs.set(`/simple/${next.normalized}/${filename}.metadata`, metadata);
    }
    // 0.2 is yanked: pip must pick 0.1 (PEP 592) although 0.2 satisfies >=0.1.
    const util = projects.get("acme-util")!;
    projects.set("acme-util", { ...util, files: util.files.map((f) => (f.filename.includes("0.2") ? { ...f, yanked: "broken" } : f)) });

    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const accept = htmlOnly ? "text/html" : req.headers.accept;
      const record: (typeof requests)[number] = { path, accept: req.headers.accept ?? "" };
      requests.push(record);
      const page = /^\/simple\/([^/]+)\/$/.exec(path);
      if (page) {
        const p = projects.get(page[1]!);
        const neg = negotiateMediaType(accept);
        if (!p) return void res.writeHead(404).end();
        if (!neg) return void res.writeHead(406).end();
        record.contentType = neg.contentType;
        res.writeHead(200, { "content-type": neg.contentType, vary: "Accept" });
        return void res.end(neg.format === "json" ? renderProjectJson(p) : renderProjectHtml(p));
      }
      const blob = blobs.get(path);
      if (!blob) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(blob);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ["json", "html"] as const) {
    test(`installs through ${mode} pages, reading PEP 658 metadata, skipping the yanked file`, async () => {
      htmlOnly = mode === "html";
      requests.length = 0;
      const target = join(dir, mode);
      await run(
        "python3",
        ["-m", "pip", "install", "--quiet", "--no-cache-dir", "--index-url", `http://127.0.0.1:${port}/simple/`, "--target", target, "acme-core"],
        { env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" }, timeout: 120_000 },
      );
      assert.deepEqual(readdirSync(target).sort(), ["acme_core", "acme_core-1.2.0.dist-info", "acme_util", "acme_util-0.1.dist-info"]);
      const pages = requests.filter((r) => r.path.endsWith("/") && r.contentType);
      assert.ok(pages.length >= 2);
      for (const r of pages) {
        assert.match(r.accept, /application\/vnd\.pypi\.simple\.v1\+json/);
        assert.equal(r.contentType, mode === "json" ? "application/vnd.pypi.simple.v1+json" : "text/html; charset=utf-8");
      }
      // The relative links resolved under the project page, metadata before the wheel.
      const paths = requests.map((r) => r.path);
      assert.ok(paths.includes("/simple/acme-core/acme_core-1.2.0-py3-none-any.whl.metadata"), paths.join(" "));
      assert.ok(paths.includes("/simple/acme-core/acme_core-1.2.0-py3-none-any.whl"));
      assert.ok(!paths.some((p) => p.includes("acme_util-0.2")), "the yanked file was fetched");
    });
  }
});
