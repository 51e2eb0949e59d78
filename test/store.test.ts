// Both Store adapters against the one contract (FsStore on a temp directory, S3Store on a
// real s3rver over HTTP), then what only one adapter has: fs key checks and layout, S3
// errors when the server is gone.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { FsStore } from "../src/store/fs.js";
import { S3Store } from "../src/store/s3.js";
import { StoreConflict, StoreUnavailable } from "../src/store/store.js";
import { startS3, tempDir, freePort } from "./harness/services.js";
import { storeContract } from "./store.contract.js";

storeContract("fs", async () => {
  const dir = await tempDir("pkgate-fsstore-");
  const store = new FsStore(join(dir.path, "root"));
  return { store, stop: () => store.close().then(() => dir.remove()) };
});

// s3rver writes objects in place (a reader racing a PUT gets a torn body or a reset), which
// real S3 services never do, so the concurrent-overwrite case is left to the fs suite.
storeContract("s3 (s3rver)", async () => {
  const s3 = await startS3();
  const store = new S3Store({ endPoint: s3.endpoint, bucket: s3.bucket, accessKey: s3.accessKey, secretKey: s3.secretKey });
  return {
    store,
    async stop() {
      await store.close();
      await s3.stop();
    },
  };
}, { atomicOverwrite: false });

describe("FsStore", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir("pkgate-fsstore-");
  });
  after(async () => {
    await dir.remove();
  });

  describe("refuses keys that could leave the root or alias another key", () => {
    const bad = ["", "/etc/passwd", "../outside", "a/../../b", "a/..", "a\0b", "a//b", "a/./b", "a/", ".tmp/x", "a\\b"];
    for (const key of bad) {
      test(JSON.stringify(key), async () => {
        const store = new FsStore(join(dir.path, "keys"));
        await assert.rejects(store.put(key, Buffer.from("x")), /invalid store key/);
        await assert.rejects(store.stat(key), /invalid store key/);
        assert.throws(() => store.localPath(key), /invalid store key/);
      });
    }
  });

  test("a root that does not exist yet reads as empty and is created by the first put", async () => {
    const root = join(dir.path, "not", "yet");
    const store = new FsStore(root);
    assert.equal(await store.stat("a/b"), null);
    assert.equal(await store.get("a/b"), null);
    assert.equal(await store.read("a/b"), null);
    const listed = [];
    for await (const o of store.list("")) listed.push(o);
    assert.deepEqual(listed, []);
    await store.put("a/b", Buffer.from("x"));
    assert.deepEqual(await readdir(join(root, "a")), ["b"]);
  });

  test("exclusiveCreate: always (create-only is link(2)), and the probe writes nothing", async () => {
    const root = join(dir.path, "exclusive");
    const store = new FsStore(root);
    assert.equal(await store.exclusiveCreate("probe"), true);
    const listed = [];
    for await (const o of store.list("")) listed.push(o.key);
    assert.deepEqual(listed, []);
  });

  test("localPath is the absolute file of the key", async () => {
    const store = new FsStore(join(dir.path, "local"));
    await store.put("ch/linux-64/repodata.json", Buffer.from("{}"));
    const path = store.localPath("ch/linux-64/repodata.json");
    assert.equal(path, join(dir.path, "local", "ch", "linux-64", "repodata.json"));
  });

  test("temporary files are never listed and none are left behind", async () => {
    const root = join(dir.path, "tmpfiles");
    const store = new FsStore(root);
    await store.put("k", Buffer.from("1"));
    await store.put("k", Buffer.from("2"));
    await assert.rejects(store.put("k", Buffer.from("3"), { ifNotExists: true }), StoreConflict);
    // a stray file in .tmp (a crash mid-write) stays out of listings
    await writeFile(join(root, ".tmp", "stray"), "x");
    const keys: string[] = [];
    for await (const o of store.list("")) keys.push(o.key);
    assert.deepEqual(keys, ["k"]);
    assert.deepEqual(await readdir(join(root, ".tmp")), ["stray"]);
  });

  test("a directory is not an object", async () => {
    const root = join(dir.path, "dirs");
    const store = new FsStore(root);
    await mkdir(join(root, "only", "a", "dir"), { recursive: true });
    assert.equal(await store.stat("only/a"), null);
    assert.equal(await store.get("only/a"), null);
    assert.equal(await store.read("only/a"), null);
  });

  test("a failed streamed put leaves the old object in place", async () => {
    const store = new FsStore(join(dir.path, "failed"));
    await store.put("obj", Buffer.from("old"));
    const broken = new Readable({
      read() {
        this.push(Buffer.from("partial"));
        this.destroy(new Error("client went away"));
      },
    });
    await assert.rejects(store.put("obj", broken), StoreUnavailable);
    assert.equal((await store.get("obj"))?.body.toString(), "old");
  });
});

describe("S3Store", () => {
  test("exclusiveCreate is false on s3rver, which ignores If-None-Match on PUT (so no store lock is built on it)", async () => {
    const s3 = await startS3();
    const store = new S3Store({ endPoint: s3.endpoint, bucket: s3.bucket, accessKey: s3.accessKey, secretKey: s3.secretKey });
    try {
      assert.equal(await store.exclusiveCreate("probe/one"), false);
      assert.equal(await store.stat("probe/one"), null, "the probe object is removed");
      // the answer is remembered: no second probe
      assert.equal(await store.exclusiveCreate("probe/two"), false);
      assert.equal(await store.stat("probe/two"), null);
    } finally {
      await store.close();
      await s3.stop();
    }
  });

  test("a probe that cannot reach the server fails (and is asked again next time)", async () => {
    const port = await freePort();
    const store = new S3Store({ endPoint: `http://127.0.0.1:${port}`, bucket: "pkgate", accessKey: "AKIDEXAMPLE", secretKey: "secret" });
    try {
      await assert.rejects(store.exclusiveCreate("probe/x"), StoreUnavailable);
      await assert.rejects(store.exclusiveCreate("probe/x"), StoreUnavailable);
    } finally {
      await store.close();
    }
  });

  test("ensureBucket creates a missing bucket and is idempotent", async () => {
    const s3 = await startS3();
    const store = new S3Store({ endPoint: s3.endpoint, bucket: "fresh-bucket", accessKey: s3.accessKey, secretKey: s3.secretKey });
    try {
      await assert.rejects(store.ping(), (err: unknown) => err instanceof StoreUnavailable && /bucket does not exist/.test(err.message));
      await store.ensureBucket();
      await store.ensureBucket();
      await store.ping();
      await store.put("x", Buffer.from("y"));
      assert.equal((await store.get("x"))?.body.toString(), "y");
    } finally {
      await store.close();
      await s3.stop();
    }
  });

  test("an unreachable endpoint is StoreUnavailable, and the message leaks no key or secret", async () => {
    const port = await freePort(); // nothing listens there
    const secretKey = "very-secret-key-123";
    const store = new S3Store({ endPoint: `http://127.0.0.1:${port}`, bucket: "pkgate", accessKey: "AKIDEXAMPLE", secretKey });
    try {
      const ops: [string, () => Promise<unknown>][] = [
        ["ping", () => store.ping()],
        ["stat", () => store.stat("private/catalog/tokens/abc")],
        ["get", () => store.get("private/catalog/tokens/abc")],
        ["read", () => store.read("private/catalog/tokens/abc")],
        ["put", () => store.put("private/catalog/tokens/abc", Buffer.from("x"))],
        ["delete", () => store.delete("private/catalog/tokens/abc")],
        ["list", async () => {
          for await (const _ of store.list("private/")) void _;
        }],
      ];
      for (const [name, op] of ops) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof StoreUnavailable, `${name}: ${String(err)}`);
          assert.match(err.message, /^s3 store: \w+ failed: cannot reach the S3 endpoint \(connection refused\)$/);
          for (const secret of [secretKey, "AKIDEXAMPLE", "private/catalog"]) {
            assert.ok(!err.message.includes(secret), `${name} message leaks ${secret}`);
            assert.ok(!String(err.cause ?? "").includes(secret), `${name} cause leaks ${secret}`);
          }
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  test("an unknown access key is StoreUnavailable that says access was denied", async () => {
    // s3rver does not verify V4 signatures, so a wrong secret would pass: use an unknown key id.
    const s3 = await startS3();
    const store = new S3Store({ endPoint: s3.endpoint, bucket: s3.bucket, accessKey: "WRONG-KEY-ID", secretKey: "wrong-secret" });
    try {
      await assert.rejects(store.get("k"), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailable);
        assert.match(err.message, /access denied \(InvalidAccessKeyId\)/);
        assert.ok(!err.message.includes("wrong-secret") && !err.message.includes("WRONG-KEY-ID"));
        return true;
      });
    } finally {
      await store.close();
      await s3.stop();
    }
  });

  test("a streamed body over the in-memory limit is spooled to disk and stored whole", async () => {
    const s3 = await startS3();
    const store = new S3Store({ endPoint: s3.endpoint, bucket: s3.bucket, accessKey: s3.accessKey, secretKey: s3.secretKey });
    const spools = async () => (await readdir(tmpdir())).filter((n) => n.startsWith("pkgate-s3-put-")).length;
    try {
      const before = await spools();
      const body = randomBytes(17 * 1024 * 1024);
      const parts = [];
      for (let i = 0; i < body.length; i += 1 << 20) parts.push(body.subarray(i, i + (1 << 20)));
      const info = await store.put("big/seventeen.bin", Readable.from(parts));
      assert.equal(info.size, body.length);
      const got = await store.get("big/seventeen.bin");
      assert.ok(got?.body.equals(body));
      assert.equal(await spools(), before, "the spool file is removed");
    } finally {
      await store.close();
      await s3.stop();
    }
  });

  test("the endpoint must be an http(s) URL without a path", () => {
    const base = { bucket: "b", accessKey: "a", secretKey: "s" };
    for (const endPoint of ["127.0.0.1:9000", "ftp://host", "http://host:9000/prefix"]) {
      assert.throws(() => new S3Store({ ...base, endPoint }), /S3 endpoint/, endPoint);
    }
  });
});
