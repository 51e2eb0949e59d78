// src/errno.ts: a system error's code in words, the one copy every place that reports one uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdir, writeFile, rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errnoOf, unreached } from "../src/errno.js";

test("each code: its kind and its words", () => {
  const cases: [string, string, string][] = [
    ["ECONNREFUSED", "refused", "connection refused"],
    ["ECONNRESET", "lost", "connection lost"],
    ["EPIPE", "lost", "connection lost"],
    ["ENOTFOUND", "name", "host name not found"],
    ["EAI_AGAIN", "name", "host name not found"],
    ["ETIMEDOUT", "timeout", "no answer to connecting"],
    ["EHOSTUNREACH", "route", "no route to the host"],
    ["ENETUNREACH", "route", "no route to the host"],
    ["CERT_HAS_EXPIRED", "tls", "the server's certificate has expired"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "tls", "the server's certificate is for another host name"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "untrusted", "the server's certificate is self-signed"],
    ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "untrusted", "the server's certificate is signed by an authority this machine does not trust"],
    ["EACCES", "permission", "permission denied"],
    ["EPERM", "permission", "permission denied"],
    ["EROFS", "read-only", "read-only file system"],
    ["ENOSPC", "full", "no space left on the device"],
    ["ENOTDIR", "not-a-directory", "a file stands where a directory should be"],
    ["EADDRINUSE", "port-taken", "the port is already in use"],
    ["EADDRNOTAVAIL", "not-local", "not an address of this machine"],
  ];
  for (const [code, kind, words] of cases) {
    assert.deepEqual(errnoOf(Object.assign(new Error(`connect ${code} 10.0.0.1:6379`), { code })), { code, kind, words }, code);
  }
});

test("nodemailer's errors: its own code (ESOCKET, EDNS) in code, the system's in originalCode", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:25"), { code: "ESOCKET", originalCode: "ECONNREFUSED", command: "CONN" });
  assert.deepEqual(errnoOf(refused), { code: "ECONNREFUSED", kind: "refused", words: "connection refused" });
  const dns = Object.assign(new Error("getaddrinfo ENOTFOUND smtp.example.invalid"), { code: "EDNS", originalCode: "ENOTFOUND" });
  assert.equal(errnoOf(dns)?.words, "host name not found");
  assert.equal(errnoOf({ code: "ESOCKET", originalCode: "toString" }), undefined);
});

test("no code it knows: undefined, whatever the error is (S3's own codes stay the S3 store's)", () => {
  for (const err of [new Error("boom"), Object.assign(new Error("x"), { code: "AccessDenied" }), { code: "toString" }, { code: 42 }, "ECONNREFUSED", null, undefined]) {
    assert.equal(errnoOf(err), undefined, String(err));
  }
});

test("the network's trouble, not this machine's: unreached", () => {
  const of = (code: string) => unreached(errnoOf({ code }));
  assert.deepEqual(
    ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "CERT_HAS_EXPIRED", "SELF_SIGNED_CERT_IN_CHAIN", "EACCES", "ENOSPC", "EROFS", "EADDRINUSE"].map(of),
    [true, true, true, true, true, true, true, false, false, false, false],
  );
  assert.equal(unreached(undefined), false);
});

test("real errors: fetch's cause, a listen on a taken port, a directory under a file", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", () => resolve()));
  const port = (taken.address() as { port: number }).port;
  try {
    const second = createServer();
    const listenErr = await new Promise<unknown>((resolve) => second.once("error", resolve).listen(port, "127.0.0.1"));
    assert.equal(errnoOf(listenErr)?.kind, "port-taken");
  } finally {
    taken.close();
  }
  // fetch says "fetch failed" and puts the socket's error in `cause`; the port is closed now
  const fetchErr = await fetch(`http://127.0.0.1:${port}/`).then(
    () => null,
    (err: unknown) => err,
  );
  assert.equal(errnoOf(fetchErr)?.words, "connection refused");
  const dir = await mkdtemp(join(tmpdir(), "pkgate-errno-"));
  try {
    await writeFile(join(dir, "a-file"), "");
    const mkdirErr = await mkdir(join(dir, "a-file", "data"), { recursive: true }).then(
      () => null,
      (err: unknown) => err,
    );
    assert.equal(errnoOf(mkdirErr)?.words, "a file stands where a directory should be");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
