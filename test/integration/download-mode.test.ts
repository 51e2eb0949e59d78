// DOWNLOAD_MODE=redirect on an S3 store (s3rver): once the gate has said yes, a GET of a conda
// package or a PyPI distribution file is a 302 to a URL presigned for that object, signed for
// S3_PUBLIC_ENDPOINT (the host clients reach), valid PRESIGN_TTL seconds, never cached, never
// carrying the token. HEAD, 304 and 416 come from the gateway; indexes, shards and core
// metadata are still served by it; a hidden package answers exactly like a missing one.
// Real clients follow the redirect: rattler's solve then the downloads, pip (path token and
// Basic credentials), curl -L with and without Range. Also: the configuration refuses what
// cannot work, with a message naming the variable.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { simpleSolve } from "@conda-org/rattler";
import { startStack, type Stack } from "../harness/gateway.js";
import { startS3, type S3Service } from "../harness/services.js";
import { answerSeen, pipInstall, setUpPrivateChannel, sha256, type PrivateChannel } from "../harness/private-channel.js";
import { loadConfig } from "../../src/config.js";

const run = promisify(execFile);
const TTL = 3;

/** AWS Signature V4 of a presigned GET (query authentication, UNSIGNED-PAYLOAD, signed
 * header `host`), recomputed from the URL as a server receives it. */
function sigV4Holds(url: string, secret: string, region: string): boolean {
  const u = new URL(url);
  const strict = (x: string) => encodeURIComponent(x).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  const params = [...u.searchParams.entries()].filter(([k]) => k !== "X-Amz-Signature");
  const query = params.map(([k, v]) => [strict(k), strict(v)]).sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join("&");
  const canonical = ["GET", u.pathname, query, `host:${u.host}`, "", "host", "UNSIGNED-PAYLOAD"].join("\n");
  const date = u.searchParams.get("X-Amz-Date")!;
  const scope = `${date.slice(0, 8)}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
  const key = ["s3", "aws4_request"].reduce((k, part) => hmac(k, part), hmac(hmac(`AWS4${secret}`, date.slice(0, 8)), region));
  return createHmac("sha256", key).update(toSign).digest("hex") === u.searchParams.get("X-Amz-Signature");
}

describe("DOWNLOAD_MODE=redirect on s3rver", () => {
  let s3: S3Service;
  let s: Stack;
  let ch: PrivateChannel;
  let token: string;
  let publicEndpoint: string;
  let work: string;
  let pubFile: string; // linux-64/<pub-lib file>
  let privFile: string;
  let pubSha: string;
  let wheelName: string;

  const get = (path: string, init: RequestInit = {}) => fetch(s.url + path, { redirect: "manual", ...init });

  before(async () => {
    // the gateway reaches s3rver as 127.0.0.1, clients as localhost: two host names, one server
    s3 = await startS3();
    publicEndpoint = s3.endpoint.replace("127.0.0.1", "localhost");
    // (the stack's S3 settings come from here, so that S3_PUBLIC_ENDPOINT can name its port)
    s = await startStack(
      { store: "fs", cache: "redis" },
      {
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_PUBLIC_ENDPOINT: publicEndpoint,
        DOWNLOAD_MODE: "redirect",
        PRESIGN_TTL: String(TTL),
      },
    );
    assert.equal(s.rt.store.kind, "s3");
    ch = await setUpPrivateChannel(s, { name: "priv-core", version: "1.0" });
    ({ token, work, wheelName } = ch);
    ({ file: pubFile, sha256: pubSha } = ch.pub);
    privFile = ch.priv.file;
  });
  after(async () => {
    await s.stop();
    await s3.stop();
    await ch.close();
  });

  test("a GET of a package file is a 302 to a presigned URL on the public endpoint: no cache, no token, the bytes of the object", async () => {
    const res = await get(`/t/${token}/acme/${privFile}`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("cache-control"), "private, no-store");
    const location = res.headers.get("location")!;
    assert.ok(location.startsWith(`${publicEndpoint}/${s3.bucket}/acme/${privFile}?`), location);
    assert.ok(!location.includes(token), "the token is in the redirect target");
    assert.match(location, new RegExp(`X-Amz-Expires=${TTL}(&|$)`));
    assert.equal(await res.text(), "");
    const bytes = await fetch(location);
    assert.equal(bytes.status, 200);
    assert.equal(bytes.headers.get("content-type"), "application/octet-stream");
    assert.ok((await bytes.arrayBuffer()).byteLength > 0);
    // s3rver does not check V4 signatures (S3 and MinIO do): checked here, independently of
    // minio's signer. Valid for the host the client sees, not for the gateway's name of s3rver.
    assert.equal(new URL(location).searchParams.get("X-Amz-SignedHeaders"), "host");
    assert.ok(sigV4Holds(location, s3.secretKey, "us-east-1"), "the presigned URL's signature is valid");
    assert.ok(!sigV4Holds(location.replace(publicEndpoint, s3.endpoint), s3.secretKey, "us-east-1"), "valid on another host too");
  });

  test("a public package without a token redirects too; the URL stops working after PRESIGN_TTL", async () => {
    const res = await get(`/acme/${pubFile}`);
    assert.equal(res.status, 302);
    const location = res.headers.get("location")!;
    const first = await fetch(location);
    assert.equal(sha256(new Uint8Array(await first.arrayBuffer())), pubSha);
    await new Promise((r) => setTimeout(r, (TTL + 1.5) * 1000));
    const late = await fetch(location);
    assert.equal(late.status, 403);
    assert.match(await late.text(), /expired/i);
  });

  test("HEAD, If-None-Match and an unsatisfiable Range are answered by the gateway itself", async () => {
    const head = await get(`/t/${token}/acme/${pubFile}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("location"), null);
    const size = Number(head.headers.get("content-length"));
    assert.ok(size > 0);
    const etag = head.headers.get("etag")!;
    assert.match(etag, /^"[^"]+"$/);
    // uv's HEAD with a Range
    const ranged = await get(`/t/${token}/acme/${pubFile}`, { method: "HEAD", headers: { range: "bytes=0-9" } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-range"), `bytes 0-9/${size}`);
    const revalidated = await get(`/t/${token}/acme/${pubFile}`, { headers: { "if-none-match": etag } });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get("location"), null);
    const beyond = await get(`/t/${token}/acme/${pubFile}`, { headers: { range: `bytes=${size + 10}-` } });
    assert.equal(beyond.status, 416);
    // a stale validator gets the redirect
    assert.equal((await get(`/t/${token}/acme/${pubFile}`, { headers: { "if-none-match": '"stale"' } })).status, 302);
  });

  test("a hidden package answers exactly like a missing one: no redirect, nothing presigned", async () => {
    // a missing package of a name as long as the hidden one's: the message names the package
    const missingFile = privFile.replace("priv-app", "priv-zzz");
    const answers = await Promise.all([get(`/acme/${privFile}`), get(`/acme/${missingFile}`)]);
    const [hidden, missing] = await Promise.all(answers.map((r) => answerSeen(r, /priv-(app|zzz)/g)));
    assert.equal(hidden!.status, 404);
    assert.deepEqual(hidden, missing);
    const hiddenWheel = await get(`/acme/simple/priv-core/${wheelName}`, { method: "HEAD" });
    assert.equal(hiddenWheel.status, 404);
  });

  test("indexes, channeldata, PyPI pages and core metadata are served by the gateway", async () => {
    for (const path of [
      `/t/${token}/acme/linux-64/repodata.json`,
      `/t/${token}/acme/channeldata.json`,
      `/t/${token}/acme/simple/priv-core/`,
      `/t/${token}/acme/simple/priv-core/${wheelName}.metadata`,
    ]) {
      const res = await get(path);
      assert.equal(res.status, 200, path.replace(token, "<token>"));
      assert.equal(res.headers.get("location"), null);
      assert.ok((await res.arrayBuffer()).byteLength > 0);
    }
    const wheelRes = await get(`/t/${token}/acme/simple/priv-core/${wheelName}`);
    assert.equal(wheelRes.status, 302);
    const bytes = await fetch(wheelRes.headers.get("location")!);
    assert.equal(bytes.headers.get("content-type"), "application/zip");
    assert.equal(sha256(new Uint8Array(await bytes.arrayBuffer())), sha256(ch.wheel));
  });

  test("rattler solves through the gateway, and every package it would fetch arrives through the redirect with its sha256", async () => {
    const solved = await simpleSolve(["priv-app"], [`${s.url}/t/${token}/acme`], ["linux-64", "noarch"], undefined);
    assert.deepEqual(solved.map((r) => r.packageName).sort(), ["priv-app", "pub-lib"]);
    for (const rec of solved) {
      const hop = await fetch(rec.url, { redirect: "manual" });
      assert.equal(hop.status, 302);
      const res = await fetch(rec.url);
      assert.equal(res.status, 200);
      assert.ok(res.redirected);
      assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), rec.sha256);
    }
  });

  test("curl -L follows the redirect, with and without Range", async () => {
    const whole = await run("curl", ["-sSfL", "-o", join(work, "whole"), "-w", "%{http_code} %{num_redirects}", `${s.url}/t/${token}/acme/${pubFile}`]);
    assert.equal(whole.stdout, "200 1");
    const { readFile } = await import("node:fs/promises");
    const got = await readFile(join(work, "whole"));
    assert.equal(sha256(got), pubSha);
    const part = await run("curl", ["-sSfL", "-r", "5-14", "-o", join(work, "part"), "-w", "%{http_code}", `${s.url}/t/${token}/acme/${pubFile}`]);
    assert.equal(part.stdout, "206");
    assert.deepEqual(await readFile(join(work, "part")), got.subarray(5, 15));
  });

  test("pip installs a private wheel through the redirect, with a path token and with Basic credentials", async () => {
    const port = new URL(s.url).port;
    const indexes = [`${s.url}/t/${token}/acme/simple/`, `http://__token__:${token}@127.0.0.1:${port}/acme/simple/`];
    const before = s.logs.length;
    await Promise.all(indexes.map((index, i) => pipInstall(index, join(work, `site-${i}`), "priv-core", token)));
    for (const i of [0, 1]) assert.ok((await readdir(join(work, `site-${i}`))).includes("priv_core"));
    // both took the file through a redirect, not from the gateway's own stream
    const fileLines = s.logs.slice(before).map((l) => JSON.parse(l) as { path?: string; status?: number }).filter((l) => l.path?.endsWith(`/${wheelName}`));
    assert.deepEqual(fileLines.map((l) => l.status), [302, 302]);
  });
});

describe("the configuration of DOWNLOAD_MODE", () => {
  const s3 = { S3_ENDPOINT: "http://127.0.0.1:9000", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s" };
  const cases: [string, Record<string, string>, RegExp | { mode: string; presignTtl: number; s3PublicEndpoint: string | null }][] = [
    ["stream by default", {}, { mode: "stream", presignTtl: 60, s3PublicEndpoint: null }],
    ["redirect on S3, TTL and public endpoint", { ...s3, DOWNLOAD_MODE: "redirect", PRESIGN_TTL: "30", S3_PUBLIC_ENDPOINT: "https://s3.example.com/" }, { mode: "redirect", presignTtl: 30, s3PublicEndpoint: "https://s3.example.com" }],
    ["accel on a directory", { DOWNLOAD_MODE: "accel" }, { mode: "accel", presignTtl: 60, s3PublicEndpoint: null }],
    ["redirect on a directory store", { DOWNLOAD_MODE: "redirect" }, /DOWNLOAD_MODE "redirect" needs an S3 store \(S3_ENDPOINT\).*accel/],
    ["an unknown mode", { DOWNLOAD_MODE: "sendfile" }, /DOWNLOAD_MODE must be "stream", "redirect" or "accel", got "sendfile"/],
    ["a zero TTL", { ...s3, DOWNLOAD_MODE: "redirect", PRESIGN_TTL: "0" }, /PRESIGN_TTL must be between 1 and 604800/],
    ["a TTL beyond S3's week", { ...s3, PRESIGN_TTL: "604801" }, /PRESIGN_TTL must be between 1 and 604800/],
    ["a public endpoint without S3", { S3_PUBLIC_ENDPOINT: "http://s3.example.com" }, /S3_PUBLIC_ENDPOINT needs S3_ENDPOINT/],
    ["a public endpoint with a path", { ...s3, S3_PUBLIC_ENDPOINT: "http://s3.example.com/bucket" }, /S3_PUBLIC_ENDPOINT must be http\(s\):\/\/host\[:port\]/],
    ["an accel location without a trailing slash", { ACCEL_LOCATION: "/_pkgate" }, /ACCEL_LOCATION must look like/],
  ];
  for (const [name, env, want] of cases) {
    test(name, () => {
      if (want instanceof RegExp) {
        assert.throws(() => loadConfig(env), (err: Error) => want.test(err.message));
      } else {
        const d = loadConfig(env).downloads;
        assert.deepEqual({ mode: d.mode, presignTtl: d.presignTtl, s3PublicEndpoint: d.s3PublicEndpoint }, want);
      }
    });
  }
});
