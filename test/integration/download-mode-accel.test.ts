// DOWNLOAD_MODE=accel with the shipped nginx configuration (deploy/nginx/pkgate.conf's proxy
// location and deploy/nginx/pkgate-accel.conf) in front of a gateway, on a directory store
// (nginx sends the file with sendfile) and on s3rver (nginx proxies a presigned URL). Through
// nginx: whole files and ranges with their bytes, If-Range, HEAD and 304 from the gateway, one
// ETag for all of them, a hidden package answering like a missing one, a file name with '+',
// indexes untouched, the internal locations unreachable from outside, the presigned URL never
// reaching the client; rattler and pip install through it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import { MATRIX, startStack, type Stack } from "../harness/gateway.js";
import { startNginxFront, type NginxFront } from "../harness/nginx.js";
import { answerSeen, pipInstall, setUpPrivateChannel, sha256, type PrivateChannel } from "../harness/private-channel.js";

for (const kind of MATRIX) {
  describe(`DOWNLOAD_MODE=accel behind nginx, ${kind.store} store`, () => {
    let s: Stack;
    let nginx: NginxFront;
    let ch: PrivateChannel;
    let token: string;
    let privFile: string;
    let privBytes: Buffer;
    let privSha: string;
    // a local version: '+' in the file name, which nginx must find on disk (not on s3rver,
    // which stores a '+' of a key as a space)
    const version = kind.store === "fs" ? "1.0+loc" : "1.0";

    const get = (path: string, init: RequestInit = {}) => fetch(nginx.url + path, { redirect: "manual", ...init });

    before(async () => {
      s = await startStack(kind, { DOWNLOAD_MODE: "accel" });
      nginx = await startNginxFront({ gateway: s.url, dataDir: s.env.DATA_DIR! });
      ch = await setUpPrivateChannel(s, { name: "plus-lib", version });
      ({ token } = ch);
      ({ file: privFile, sha256: privSha } = ch.priv);
      privBytes = Buffer.from(await (await s.rt.store.get(`acme/${privFile}`))!.body);
    });
    after(async () => {
      await nginx.stop();
      await s.stop();
      await ch.close();
    });

    test("a private package through nginx: its bytes, the gateway's headers, nothing internal", async () => {
      const res = await get(`/t/${token}/acme/${privFile}`);
      assert.equal(res.status, 200);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(sha256(body), privSha);
      assert.equal(res.headers.get("content-length"), String(privBytes.length));
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.equal(res.headers.get("cache-control"), "private, max-age=86400");
      for (const h of ["x-accel-redirect", "x-pkgate-presigned", "x-amz-request-id", "location"]) assert.equal(res.headers.get(h), null, h);
      // one validator: the GET's ETag is the one HEAD (answered by the gateway) gives
      const head = await get(`/t/${token}/acme/${privFile}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(privBytes.length));
      assert.equal(res.headers.get("etag"), head.headers.get("etag"));
      assert.match(res.headers.get("etag") ?? "", /^"[^"]+"$/);
      assert.equal((await get(`/t/${token}/acme/${privFile}`, { headers: { "if-none-match": head.headers.get("etag")! } })).status, 304);
    });

    test("Range and If-Range through nginx", async () => {
      const etag = (await get(`/t/${token}/acme/${privFile}`, { method: "HEAD" })).headers.get("etag")!;
      const part = await get(`/t/${token}/acme/${privFile}`, { headers: { range: "bytes=5-14" } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), `bytes 5-14/${privBytes.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), privBytes.subarray(5, 15));
      const tail = await get(`/t/${token}/acme/${privFile}`, { headers: { range: "bytes=-7", "if-range": etag } });
      assert.equal(tail.status, 206);
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), privBytes.subarray(privBytes.length - 7));
      const stale = await get(`/t/${token}/acme/${privFile}`, { headers: { range: "bytes=5-14", "if-range": '"stale"' } });
      assert.equal(stale.status, 200);
      assert.equal(sha256(new Uint8Array(await stale.arrayBuffer())), privSha);
      const headRange = await get(`/t/${token}/acme/${privFile}`, { method: "HEAD", headers: { range: "bytes=0-9" } });
      assert.equal(headRange.status, 206);
      assert.equal(await headRange.text(), "");
      assert.equal((await get(`/t/${token}/acme/${privFile}`, { headers: { range: `bytes=${privBytes.length + 5}-` } })).status, 416);
    });

    test("a hidden package answers through nginx exactly like a missing one", async () => {
      const missingFile = privFile.replace("priv-app", "priv-zzz");
      const answers = await Promise.all([get(`/acme/${privFile}`), get(`/acme/${missingFile}`), get(`/acme/${privFile}`, { method: "HEAD" }), get(`/acme/${missingFile}`, { method: "HEAD" })]);
      const seen = await Promise.all(answers.map((r) => answerSeen(r, /priv-(app|zzz)/g)));
      assert.equal(seen[0]!.status, 404);
      assert.deepEqual(seen[0], seen[1]);
      assert.deepEqual(seen[2], seen[3]);
    });

    test("the internal locations cannot be reached from outside", async () => {
      const probes: [string, RequestInit][] = [
        [`/_pkgate/store/acme/${privFile}`, {}],
        [`/_pkgate/store/.pkgate/`, {}],
        [`/_pkgate/s3`, { headers: { "x-pkgate-presigned": `${s.env.S3_ENDPOINT ?? "http://127.0.0.1:1"}/x` } }],
        [`/_pkgate/unavailable`, {}],
        [`/_pkgate/missing`, {}],
        [`/_pkgate/store/acme/${privFile}`, { headers: { "x-accel-redirect": `/_pkgate/store/acme/${privFile}` } }],
      ];
      for (const [path, init] of probes) {
        const res = await get(path, init);
        const body = await res.text();
        assert.equal(res.status, 404, path);
        assert.ok(body.length < 1000, `${path}: a small error page, not the file`);
      }
      // the locations' own refusal is the JSON 404 the gateway's clients read
      const store = await get(`/_pkgate/store/acme/${privFile}`);
      assert.deepEqual([store.headers.get("content-type"), await store.json()], ["application/json", { error: "not_found", message: "not found" }]);
      const s3 = await get(`/_pkgate/s3`);
      assert.deepEqual([s3.status, await s3.json()], [404, { error: "not_found", message: "not found" }]);
    });

    test("a PyPI file (with '+' in its name on the directory store); indexes come from the gateway", async () => {
      const res = await get(`/t/${token}/acme/simple/plus-lib/${ch.wheelName}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/zip");
      assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(ch.wheel));
      const page = await get(`/t/${token}/acme/simple/plus-lib/`);
      assert.equal(page.status, 200);
      assert.ok((await page.text()).includes(ch.wheelName));
      const repodata = await get(`/t/${token}/acme/linux-64/repodata.json`);
      assert.equal(repodata.status, 200);
      const doc = (await repodata.json()) as Record<string, Record<string, { name: string }>>;
      const names = [...Object.values(doc.packages ?? {}), ...Object.values(doc["packages.conda"] ?? {})].map((r) => r.name);
      assert.ok(names.includes("priv-app"));
    });

    test("rattler solves and downloads through nginx; pip installs through it", async () => {
      const solved = await simpleSolve(["priv-app"], [`${nginx.url}/t/${token}/acme`], ["linux-64", "noarch"], undefined);
      assert.deepEqual(solved.map((r) => r.packageName).sort(), ["priv-app", "pub-lib"]);
      for (const rec of solved) {
        const res = await fetch(rec.url);
        assert.equal(res.status, 200);
        assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), rec.sha256);
      }
      const before = s.logs.length;
      await pipInstall(`${nginx.url}/t/${token}/acme/simple/`, join(ch.work, "site"), `plus-lib==${version}`, token);
      assert.ok((await readdir(join(ch.work, "site"))).includes("plus_lib"));
      // the gateway decided (200 with X-Accel-Redirect, no bytes of its own)
      const fileLines = s.logs.slice(before).map((l) => JSON.parse(l) as { path?: string; status?: number; bytes?: number }).filter((l) => l.path?.endsWith(".whl"));
      assert.ok(fileLines.length >= 1);
      for (const l of fileLines) assert.deepEqual([l.status, l.bytes ?? 0], [200, 0]);
      assert.doesNotMatch(await nginx.errors(), /\[(error|crit|alert|emerg)\]/);
    });
  });
}
