// The conda gate end to end, on each store and cache: real .conda/.tar.bz2 packages made
// with cph, a real gateway on a loopback port, requests as conda, mamba and rattler make
// them, and the CLI that manages tokens.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { decompress as zstdDecompress } from "zstd-napi";
import { decode } from "@msgpack/msgpack";
import { MATRIX, startStack, lastLine, type Stack } from "../harness/gateway.js";
import type { BuiltChannel } from "../fixtures/conda-channel.js";
import { generateToken } from "../../src/auth/token.js";

/** GET with the path sent exactly as given, no client-side normalization. */
function rawStatus(base: string, path: string): Promise<number> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

for (const kind of MATRIX) {
  describe(`conda gate on ${kind.store} store + ${kind.cache} cache`, () => {
    let s: Stack;
    let built: BuiltChannel;
    let token: string; // conda:download on acme
    let pypiOnly: string;
    const tokens: string[] = [];

    const get = (path: string, init: RequestInit = {}) => fetch(s.url + path, { redirect: "manual", ...init });
    const names = (repodata: { packages: Record<string, { name: string }>; "packages.conda": Record<string, { name: string }> }) =>
      [...Object.values(repodata.packages), ...Object.values(repodata["packages.conda"])].map((r) => r.name).sort();

    before(async () => {
      s = await startStack(kind);
      built = await s.seedConda({
        channel: "acme",
        subdirs: ["linux-64"],
        packages: [
          { name: "pub-lib", version: "1.0", subdir: "linux-64" },
          { name: "priv-app", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0"] },
          { name: "priv-tool", version: "0.3", format: ".tar.bz2" },
          { name: "pub-lib", version: "1.1", subdir: "linux-64", labels: ["dev"] },
        ],
      });
      assert.equal((await s.cli(["org", "--create", "acme", "--adopt"])).code, 0);
      assert.equal((await s.cli(["package", "--private", "acme/priv-app"])).code, 0);
      assert.equal((await s.cli(["package", "--private", "acme/priv-tool"])).code, 0);
      const created = await s.cli(["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "acme"]);
      assert.equal(created.code, 0, created.stderr);
      token = lastLine(created.stdout);
      const other = await s.cli(["auth", "--create", "--name", "pip", "--scopes", "pypi", "--org", "acme"]);
      pypiOnly = lastLine(other.stdout);
      tokens.push(token, pypiOnly);
    });
    after(async () => {
      // no token may ever reach a log line
      const all = s.logs.join("\n");
      for (const t of tokens) assert.ok(!all.includes(t), "a token appeared in the logs");
      await s.stop();
    });

    test("the token is in conda's alphabet and long enough", () => {
      assert.match(token, /^[A-Za-z0-9-]{40,}$/);
    });

    test("anonymous repodata.json hides private packages, in every form", async () => {
      const res = await get("/acme/linux-64/repodata.json");
      assert.equal(res.status, 200);
      assert.deepEqual(names(await res.json()), ["pub-lib"]);
      const zst = await get("/acme/linux-64/repodata.json.zst");
      assert.equal(zst.status, 200);
      assert.deepEqual(names(JSON.parse(zstdDecompress(Buffer.from(await zst.arrayBuffer())).toString())), ["pub-lib"]);
      const noarch = await get("/acme/noarch/repodata.json");
      assert.deepEqual(names(await noarch.json()), []);
      const cur = await get("/acme/linux-64/current_repodata.json");
      assert.deepEqual(names(await cur.json()), ["pub-lib"]);
      const rfp = await get("/acme/linux-64/repodata_from_packages.json");
      assert.deepEqual(names(await rfp.json()), ["pub-lib"]);
      const cd = await get("/acme/channeldata.json");
      assert.deepEqual(Object.keys((await cd.json()).packages).sort(), ["pub-lib"]);
    });

    test("a token that sees everything gets the stored bytes unchanged", async () => {
      for (const file of ["linux-64/repodata.json", "linux-64/repodata.json.zst", "noarch/repodata.json", "linux-64/repodata_shards.msgpack.zst"]) {
        const res = await get(`/t/${token}/acme/${file}`);
        assert.equal(res.status, 200, file);
        const stored = await s.rt.store.get(`acme/${file}`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(stored!.body), file);
        assert.match(res.headers.get("cache-control") ?? "", /private/);
      }
    });

    test("filtered views have their own ETag and answer 304", async () => {
      const anon = await get("/acme/linux-64/repodata.json");
      const full = await get(`/t/${token}/acme/linux-64/repodata.json`);
      const e1 = anon.headers.get("etag");
      const e2 = full.headers.get("etag");
      assert.ok(e1 && e2 && e1 !== e2);
      const again = await get("/acme/linux-64/repodata.json", { headers: { "if-none-match": e1 } });
      assert.equal(again.status, 304);
      const cross = await get("/acme/linux-64/repodata.json", { headers: { "if-none-match": e2 } });
      assert.equal(cross.status, 200, "the full view's ETag must not validate the filtered view");
    });

    test("CEP-16 shard index drops hidden names; their shards answer 404", async () => {
      const sub = built.subdirs.find((d) => d.subdir === "linux-64" && d.label === "main")!;
      const res = await get("/acme/linux-64/repodata_shards.msgpack.zst");
      assert.equal(res.status, 200);
      const index = decode(zstdDecompress(Buffer.from(await res.arrayBuffer()))) as { shards: Record<string, Uint8Array> };
      assert.deepEqual(Object.keys(index.shards).sort(), ["pub-lib"]);
      const hidden = await get(`/acme/${sub.shardUrls["priv-app"]}`);
      assert.equal(hidden.status, 404);
      const shown = await get(`/acme/${sub.shardUrls["pub-lib"]}`);
      assert.equal(shown.status, 200);
      const withToken = await get(`/t/${token}/acme/${sub.shardUrls["priv-app"]}`);
      assert.equal(withToken.status, 200);
    });

    test("private artifacts: 404 without a token, bytes matching repodata with one, in all three credential forms", async () => {
      const pkg = built.packages.find((p) => p.name === "priv-app")!;
      assert.equal((await get(`/acme/${pkg.url}`)).status, 404);
      const missing = await get(`/acme/linux-64/does-not-exist-1.0-0.conda`);
      assert.equal(missing.status, 404);
      const hiddenBody = JSON.stringify(await (await get(`/acme/${pkg.url}`)).json()).replaceAll("priv-app", "NAME");
      assert.equal(hiddenBody, JSON.stringify(await missing.json()).replaceAll("does-not-exist", "NAME"), "hidden and missing look the same");
      const forms: { path: string; headers: Record<string, string> }[] = [
        { path: `/t/${token}/acme/${pkg.url}`, headers: {} },
        { path: `/acme/${pkg.url}`, headers: { authorization: `Bearer ${token}` } },
        { path: `/acme/${pkg.url}`, headers: { authorization: `Basic ${Buffer.from(`__token__:${token}`).toString("base64")}` } },
      ];
      for (const init of forms) {
        const res = await get(init.path, { headers: init.headers });
        assert.equal(res.status, 200);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(sha256(body), pkg.sha256);
        assert.equal(Number(res.headers.get("content-length")), pkg.size);
        assert.equal(res.headers.get("accept-ranges"), "bytes");
        assert.match(res.headers.get("cache-control") ?? "", /^private/);
      }
    });

    test("artifacts: Range, suffix range, If-Range, 304, HEAD, 416", async () => {
      const pkg = built.packages.find((p) => p.name === "pub-lib")!;
      const path = `/acme/${pkg.url}`;
      const whole = Buffer.from(await (await get(path)).arrayBuffer());
      const head = await get(path, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get("content-length")), whole.length);
      const etag = head.headers.get("etag")!;
      const lastModified = head.headers.get("last-modified")!;
      const part = await get(path, { headers: { range: "bytes=10-19" } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), `bytes 10-19/${whole.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(10, 20));
      const suffix = await get(path, { headers: { range: "bytes=-16" } });
      assert.equal(suffix.status, 206);
      assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), whole.subarray(whole.length - 16));
      const resume = await get(path, { headers: { range: "bytes=100-", "if-range": etag } });
      assert.equal(resume.status, 206);
      assert.deepEqual(Buffer.from(await resume.arrayBuffer()), whole.subarray(100));
      const stale = await get(path, { headers: { range: "bytes=100-", "if-range": '"other"' } });
      assert.equal(stale.status, 200);
      assert.equal((await stale.arrayBuffer()).byteLength, whole.length);
      assert.equal((await get(path, { headers: { "if-none-match": etag } })).status, 304);
      assert.equal((await get(path, { headers: { "if-match": '"other"' } })).status, 412);
      assert.equal((await get(path, { headers: { "if-match": etag } })).status, 200);
      assert.equal((await get(path, { headers: { "if-modified-since": lastModified } })).status, 304);
      const beyond = await get(path, { headers: { range: `bytes=${whole.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get("content-range"), `bytes */${whole.length}`);
      assert.match((await get(path)).headers.get("cache-control") ?? "", /^public/);
    });

    test("labels are channels of their own", async () => {
      const res = await get("/acme/label/dev/linux-64/repodata.json");
      assert.equal(res.status, 200);
      const rd = await res.json();
      assert.deepEqual(names(rd), ["pub-lib"]);
      assert.ok(Object.keys(rd["packages.conda"]).some((f) => f.startsWith("pub-lib-1.1-")));
    });

    test("bad tokens in the path: 403 (never a 401, which invites credentials) with a message that says which, and never the token", async () => {
      const neverIssued = generateToken();
      const cases: [string, RegExp][] = [
        [`/t/${neverIssued}/acme/linux-64/repodata.json`, /invalid: this server does not know it/i],
        [`/t/pkg-${"x".repeat(40)}/acme/linux-64/repodata.json`, /not a pkgate token/i],
        [`/t/not-a-pkgate-token/acme/linux-64/repodata.json`, /not a pkgate token/i],
      ];
      for (const [path, msg] of cases) {
        const res = await get(path);
        assert.equal(res.status, 403);
        assert.equal(res.headers.get("www-authenticate"), null);
        const body = await res.json();
        assert.match(body.message, msg);
        assert.ok(!JSON.stringify(body).includes("x".repeat(40)) && !JSON.stringify(body).includes(neverIssued));
      }
    });

    test("a token without a covering scope gets what anonymous gets, and 403 naming the scope for the rest", async () => {
      // public stays public: never less than presenting no token
      const index = await get(`/t/${pypiOnly}/acme/linux-64/repodata.json`);
      assert.equal(index.status, 200);
      assert.deepEqual(names(await index.json()), ["pub-lib"]);
      const pub = built.packages.find((p) => p.name === "pub-lib")!;
      assert.equal((await get(`/t/${pypiOnly}/acme/${pub.url}`)).status, 200);
      // a private package its account reaches: 403, naming the scope to ask for
      const priv = built.packages.find((p) => p.name === "priv-app")!;
      const res = await get(`/t/${pypiOnly}/acme/${priv.url}`);
      assert.equal(res.status, 403);
      assert.match((await res.json()).message, /conda:download/);
    });

    test("jlap and anything outside the index files answer 404; dot paths are never served", async () => {
      for (const path of ["/acme/linux-64/repodata.jlap", "/acme/linux-64/.cache/cache.db", "/acme/linux-64/index.html", "/.pkgate/accounts/acme.json", "/nochannel/linux-64/repodata.json"]) {
        assert.equal((await get(path)).status, 404, path);
      }
      // fetch() would resolve %2e%2e itself: send the raw path as an attacker would
      for (const path of ["/acme/linux-64/%2e%2e/%2e%2e/.pkgate/accounts/acme.json", "/acme/linux-64%2f..%2f..%2f.pkgate/x", "/acme/linux-64/../../.pkgate/accounts/acme.json"]) {
        assert.equal(await rawStatus(s.url, path), 400, path);
      }
    });

    test("expired and revoked tokens are refused with a message that says so", async () => {
      const short = await s.cli(["auth", "--create", "--name", "short", "--scopes", "conda:download", "--org", "acme", "--max-age", "1"]);
      const shortToken = lastLine(short.stdout);
      tokens.push(shortToken);
      assert.equal((await get(`/t/${shortToken}/acme/linux-64/repodata.json`)).status, 200);
      await new Promise((r) => setTimeout(r, 1100));
      const expired = await get(`/t/${shortToken}/acme/linux-64/repodata.json`);
      assert.equal(expired.status, 403);
      assert.match((await expired.json()).message, /expired/);

      const made = await s.cli(["auth", "--create", "--name", "temp", "--scopes", "conda", "--org", "acme"]);
      const temp = lastLine(made.stdout);
      tokens.push(temp);
      assert.equal((await get(`/t/${temp}/acme/linux-64/repodata.json`)).status, 200);
      const listed = await s.cli(["auth", "--list", "--org", "acme"]);
      assert.match(listed.stdout, /temp/);
      assert.ok(!listed.stdout.includes(temp), "listing never shows the secret");
      assert.equal((await s.cli(["auth", "--remove", "temp", "--org", "acme"])).code, 0);
      const deadline = Date.now() + 6000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await get(`/t/${temp}/acme/linux-64/repodata.json`)).status;
        if (status === 403) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 403);
      const revoked = await get(`/t/${temp}/acme/linux-64/repodata.json`);
      assert.match((await revoked.json()).message, /revoked/);
    });

    test("the access log has one JSON line per request with the token replaced by its id", async () => {
      await get(`/t/${token}/acme/linux-64/repodata.json`);
      await new Promise((r) => setTimeout(r, 50));
      const line = s.logs.map((l) => JSON.parse(l)).reverse().find((l) => l.msg === "request" && String(l.path).endsWith("/acme/linux-64/repodata.json") && l.tokenId);
      assert.ok(line, "request line logged");
      assert.match(line.path, /^\/t\/<id:[0-9a-f]{12}>\/acme\/linux-64\/repodata\.json$/);
      assert.equal(line.tokenName, "ci");
      assert.equal(line.status, 200);
    });
  });
}
