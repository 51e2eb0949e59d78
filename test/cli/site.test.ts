// Where a gateway is: a --site without its scheme names the URLs it may have meant, and a
// gateway that does not answer says why in words (src/errno.ts) and what to check (the CLI said
// "ECONNREFUSED" and stopped).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliProcess } from "../harness/cli-process.js";

test("--site host:port without a scheme: exit 2 naming the https and http URLs; with credentials the value is not echoed", async () => {
  const bare = await runCliProcess(["whoami", "--site", "localhost:8080"]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stderr.split("\n")[0], "pkgate whoami: --site needs an http or https URL without credentials: https://localhost:8080, or http://localhost:8080 for a gateway without TLS");
  const secret = await runCliProcess(["whoami", "--site", "alice:hunter2@pkgs.example.com"]);
  assert.equal(secret.code, 2);
  assert.equal(secret.stderr.split("\n")[0], "pkgate whoami: --site needs an http or https URL without credentials");
  assert.ok(!secret.stderr.includes("hunter2"));
});

test("a stored login's gateway that does not answer: the cause, then what to check", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pkgate-site-"));
  try {
    const login = join(dir, "config.json");
    // port 9 (discard): nothing listens there
    await writeFile(login, JSON.stringify({ site: "http://127.0.0.1:9", token: "pkg-" + "a".repeat(40) }));
    const run = await runCliProcess(["whoami"], { env: { PKGATE_CONFIG: login } });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim(),
      "pkgate whoami: cannot reach http://127.0.0.1:9: connection refused; is the gateway running, and is this its address? (--site URL, or pkgate login again; the verbs that act on the store take --local)",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a gateway whose certificate this machine does not trust: the certificate's trouble, and where to give its authority", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pkgate-site-tls-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pkgate.test", "-addext", "subjectAltName=DNS:pkgate.test", "-keyout", key, "-out", cert]);
  assert.equal(made.status, 0, String(made.stderr));
  const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const site = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const login = join(dir, "config.json");
  await writeFile(login, JSON.stringify({ site, token: "pkg-" + "a".repeat(40) }));
  try {
    const untrusted = await runCliProcess(["whoami"], { env: { PKGATE_CONFIG: login } });
    assert.equal(untrusted.code, 1);
    assert.equal(
      untrusted.stderr.trim(),
      `pkgate whoami: cannot reach ${site}: the server's certificate is self-signed; if the gateway's certificate comes from your own authority, give that authority's certificate file in NODE_EXTRA_CA_CERTS`,
    );
    // trusted now, and the next trouble shows: the certificate names another host
    const trusted = await runCliProcess(["whoami"], { env: { PKGATE_CONFIG: login, NODE_EXTRA_CA_CERTS: cert } });
    assert.equal(trusted.code, 1);
    assert.equal(
      trusted.stderr.trim(),
      `pkgate whoami: cannot reach ${site}: the server's certificate is for another host name; is the gateway running, and is this its address? (--site URL, or pkgate login again; the verbs that act on the store take --local)`,
    );
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
