// Issue 10, item 1, as a CI runner or an office behind NAT meets it: bad tokens from one
// address never lock out the valid tokens there. What is throttled is what costs, store
// reads of tokens no cache knows: AUTH_FAILURE_LIMIT of them per address and window, counted
// in Redis across replicas. A revoked token is known from the cache (refusing it again costs
// nothing): any number of them only ever get their own 403. A token known as valid, or made
// since (through the API, or by another process when Redis is shared), still works from an
// address that has spent its budget. Store reads stay bounded under a flood.
// Each test is one client address (X-Forwarded-For from a trusted 127.0.0.1), so each has a
// budget of its own.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { MATRIX, startStack, type Stack } from "../harness/gateway.js";
import { generateToken, hashToken } from "../../src/auth/token.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { loadConfig } from "../../src/config.js";
import { startGateway, type Gateway } from "../../src/server.js";
import { createLogger } from "../../src/log.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliProcess } from "../harness/cli-process.js";
import { Redis } from "ioredis";

const LIMIT = 30;
/** Long, so a test never straddles two windows (it waits past an edge that is near). */
const WINDOW = 3600;
const REPODATA = JSON.stringify({ info: { subdir: "noarch" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 1 });

interface Answer {
  status: number;
  body: { error?: string; message?: string };
  retryAfter: string | null;
}

/** Wait until the budget window is not about to end: counts of one test stay in one window. */
async function awayFromWindowEdge(): Promise<void> {
  const left = WINDOW - ((Date.now() / 1000) % WINDOW);
  if (left < 30) await new Promise((r) => setTimeout(r, left * 1000 + 500));
}

for (const kind of MATRIX) {
  describe(`lockout on ${kind.store} + ${kind.cache}: bad tokens from an address never refuse its valid tokens`, () => {
    let s: Stack;
    let ci: string; // a valid token, in use
    let revoked: string;
    let admin: string; // the admin's own CLI (API, Bearer)
    let storeReads = 0; // store reads of token records
    /** Store reads of records of tokens this test never made: what a flood costs. (A valid
     * token's record is read again whenever the catalog generation moves, which other tests'
     * writes make happen at any moment: that read is not the flood's.) */
    let unknownReads = 0;
    const secrets: string[] = [];

    /** A download through the gate, as conda and pip send it: the token in the path. */
    async function gate(url: string, token: string, from: string): Promise<Answer> {
      const res = await fetch(`${url}/t/${token}/acme/noarch/repodata.json`, { headers: { "x-forwarded-for": from } });
      const text = await res.text();
      return { status: res.status, body: res.status === 200 ? {} : (JSON.parse(text) as Answer["body"]), retryAfter: res.headers.get("retry-after") };
    }

    async function api(method: string, path: string, token: string, from: string, body?: unknown): Promise<{ status: number; body: Record<string, string> }> {
      const res = await fetch(`${s.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "x-forwarded-for": from, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    }

    /** `count` distinct tokens that pass the check characters but that nobody issued. */
    const unknownTokens = (count: number) => Array.from({ length: count }, () => generateToken());

    const tally = (answers: Answer[]) => {
      const t: Record<string, number> = {};
      for (const a of answers) t[a.status] = (t[a.status] ?? 0) + 1;
      return t;
    };

    function checkRefusals(answers: Answer[], sent: string[]): void {
      for (const a of answers) {
        if (a.status === 429) {
          assert.match(a.body.message ?? "", /too many requests with unknown tokens from this address; retry in \d+ s/);
          const retry = Number(a.retryAfter);
          assert.ok(retry >= 1 && retry <= WINDOW, `Retry-After ${a.retryAfter}`);
        } else {
          assert.equal(a.status, 403);
          assert.equal(a.body.error, "token_invalid");
        }
        for (const t of sent) assert.ok(!JSON.stringify(a.body).includes(t), "a token in an answer");
      }
    }

    before(async () => {
      s = await startStack(kind, { TRUST_PROXY: "127.0.0.1", AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW: String(WINDOW) });
      const catalog = s.rt.catalog;
      await catalog.createAccount({ name: "root", kind: "user", serverAdmin: true });
      await catalog.createAccount({ name: "acme", kind: "org", admins: ["root"] });
      await catalog.setChannelPrivacy("acme", "private");
      await s.rt.store.put("acme/noarch/repodata.json", Buffer.from(REPODATA));
      ci = (await catalog.createToken({ account: "acme", name: "ci", scopes: ["conda:download"] })).token;
      revoked = (await catalog.createToken({ account: "acme", name: "old-ci", scopes: ["conda:download"] })).token;
      await catalog.revokeToken("acme", "old-ci");
      admin = (await catalog.createToken({ account: "root", name: "laptop", scopes: ["all"] })).token;
      secrets.push(ci, revoked, admin);
      // count what a lookup costs: store reads of token records
      const store = s.rt.store;
      const get = store.get.bind(store);
      store.get = (key, ...rest) => {
        if (key.startsWith(".pkgate/tokens/")) {
          storeReads++;
          if (!secrets.some((t) => key.includes(hashToken(t)))) unknownReads++;
        }
        return get(key, ...rest);
      };
      // the valid tokens have been in use (from elsewhere) before the trouble starts
      assert.equal((await gate(s.url, ci, "10.0.0.1")).status, 200);
      assert.equal((await api("GET", "/user", admin, "10.0.0.1")).status, 200);
    });
    after(async () => {
      const logs = s.logs.join("\n");
      for (const t of secrets) assert.ok(!logs.includes(t), "a token in the logs");
      await s.stop();
    });

    test("a revoked token sent 40 times from one address: 403 each time, one store read; the valid tokens there still work", async () => {
      await awayFromWindowEdge();
      const from = "10.1.0.1";
      const reads = storeReads;
      const answers: Answer[] = [];
      for (let i = 0; i < 40; i++) answers.push(await gate(s.url, revoked, from));
      assert.deepEqual(tally(answers), { 403: 40 }, "never 429");
      for (const a of answers) assert.match(a.body.message ?? "", /"old-ci" of acme was revoked on/);
      // without a shared cache a replica trusts its own copy for TOKEN_CACHE_TTL (5 s), then reads again
      assert.ok(storeReads - reads <= 2, `${storeReads - reads} store reads`);
      assert.equal((await gate(s.url, ci, from)).status, 200);
      assert.equal((await api("GET", "/user", admin, from)).status, 200, "the admin's own CLI");
    });

    test("40 unknown tokens from one address: 30 store reads, then 429; known and new tokens from there still work, other addresses are not concerned", async () => {
      await awayFromWindowEdge();
      const from = "10.2.0.1";
      const reads = unknownReads;
      const sent = unknownTokens(40);
      const answers: Answer[] = [];
      for (const t of sent) answers.push(await gate(s.url, t, from));
      assert.deepEqual(tally(answers), { 403: LIMIT, 429: 40 - LIMIT });
      assert.deepEqual(answers.map((a) => a.status), [...Array(LIMIT).fill(403), ...Array(40 - LIMIT).fill(429)], "the first 30 are looked up");
      checkRefusals(answers, sent);
      assert.equal(unknownReads - reads, LIMIT, "one store read per unknown token within the budget, none after");

      // what is known is never refused: a valid token in use, the revoked one (its own 403), the admin
      assert.equal((await gate(s.url, ci, from)).status, 200);
      assert.equal((await gate(s.url, revoked, from)).body.error, "token_revoked");
      assert.equal((await api("GET", "/user", admin, from)).status, 200);
      // ... after its cache entry is gone too (any catalog change starts a new cache generation)
      await s.rt.catalog.setPackagePrivacy("acme", "some-pkg", "private");
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await gate(s.url, ci, from)).status, 200, "a token known as valid is read again without charge");

      // a token the admin creates now through the API, from the same address, works at once
      const made = await api("POST", "/orgs/acme/tokens", admin, from, { name: "ci-2", scopes: ["conda:download"] });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      secrets.push(made.body.token!);
      assert.equal((await gate(s.url, made.body.token!, from)).status, 200);
      // still refused: another unknown token from there; another address has its own budget
      assert.equal((await gate(s.url, generateToken(), from)).status, 429);
      assert.equal((await gate(s.url, generateToken(), "10.2.0.2")).status, 403);
    });

    if (kind.cache === "redis") {
      test("a token made by another process on the same Redis (the CLI) works at once from an address that spent its budget", async () => {
        await awayFromWindowEdge();
        const from = "10.3.0.1";
        for (const t of unknownTokens(LIMIT)) assert.equal((await gate(s.url, t, from)).status, 403);
        assert.equal((await gate(s.url, generateToken(), from)).status, 429);
        // what `pkgate auth --create` does: a process of its own on the same store and Redis
        const cli = await createRuntime(loadConfig(s.env));
        try {
          const fresh = (await cli.catalog.createToken({ account: "acme", name: "ci-3", scopes: ["conda:download"] })).token;
          secrets.push(fresh);
          assert.equal((await gate(s.url, fresh, from)).status, 200);
        } finally {
          await cli.close();
        }
      });

      test("a valid token stays known for its whole life, not a week: unused for months, it is never charged to its address", async () => {
        const redis = new Redis(s.env.REDIS_URL!);
        try {
          // ci was made a year from expiry and used in before(): its mark lives until it expires
          const ttl = await redis.ttl(`tokknown:${hashToken(ci)}`);
          assert.ok(ttl > 360 * 24 * 3600, `known for ${Math.round(ttl / 86400)} days only`);
          // a revoked one is known for a week (refusing it again costs nothing meanwhile)
          const gone = await redis.ttl(`tokknown:${hashToken(revoked)}`);
          assert.ok(gone > 0 && gone <= 7 * 24 * 3600, `revoked token known for ${gone} s`);
        } finally {
          redis.disconnect();
        }
      });

      test("two gateways on one Redis share an address's budget", async () => {
        await awayFromWindowEdge();
        const from = "10.4.0.1";
        const second: { rt: Runtime; gw: Gateway } = { rt: await createRuntime(loadConfig(s.env)), gw: undefined as unknown as Gateway };
        second.gw = await startGateway(second.rt, createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() })));
        try {
          const loadsBefore = s.rt.catalog.tokens.counters.loaded + second.rt.catalog.tokens.counters.loaded;
          const sent = unknownTokens(40);
          const answers: Answer[] = [];
          // alternating between the replicas, as a load balancer would
          for (const [i, t] of sent.entries()) answers.push(await gate(i % 2 ? second.gw.url : s.url, t, from));
          assert.deepEqual(tally(answers), { 403: LIMIT, 429: 40 - LIMIT });
          checkRefusals(answers, sent);
          const loads = s.rt.catalog.tokens.counters.loaded + second.rt.catalog.tokens.counters.loaded - loadsBefore;
          assert.equal(loads, LIMIT, "the two replicas together read the store 30 times");
          // known tokens work on both
          for (const url of [s.url, second.gw.url]) assert.equal((await gate(url, ci, from)).status, 200);
        } finally {
          await second.gw.stop(1000);
          await second.rt.close();
        }
      });
    }

    test("a flood of 600 unknown tokens, 16 at a time: store reads stay at the limit, valid requests from the same address keep working", async () => {
      await awayFromWindowEdge();
      const from = "10.5.0.1";
      const reads = unknownReads;
      const sent = unknownTokens(600);
      const answers: Answer[] = [];
      const valid: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < sent.length) {
          const i = next++;
          answers.push(await gate(s.url, sent[i]!, from));
          if (i % 50 === 0) valid.push((await gate(s.url, ci, from)).status);
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: 16 }, worker));
      const took = Date.now() - started;
      const t = tally(answers);
      const flood = { sent: sent.length, statuses: t, tokenStoreReads: unknownReads - reads, ms: took };
      console.log(`# flood (${kind.store}+${kind.cache}): ${JSON.stringify(flood)}`);
      assert.equal(t[403], LIMIT, JSON.stringify(flood));
      assert.equal(t[429], sent.length - LIMIT, JSON.stringify(flood));
      assert.equal(unknownReads - reads, LIMIT, "store reads of unknown tokens bounded by the limit");
      assert.ok(valid.every((v) => v === 200), `valid requests during the flood: ${valid.join(" ")}`);
      checkRefusals(answers, sent);
    });
  });
}

describe("the admin's own pkgate, from an address that has spent its budget", () => {
  // as the issue met it: the CLI on the same machine as a runner sending bad tokens (all from
  // 127.0.0.1 here, no proxy), a real pkgate process with a stored login
  let s: Stack;
  let dir: string;
  const secrets: string[] = [];
  const login = async (name: string, token: string) => {
    const path = join(dir, `${name}.json`);
    await writeFile(path, JSON.stringify({ site: s.url, token }), { mode: 0o600 });
    return { PKGATE_CONFIG: path };
  };

  before(async () => {
    s = await startStack({ store: "fs", cache: "memory" }, { AUTH_FAILURE_LIMIT: "3", AUTH_FAILURE_WINDOW: String(WINDOW) });
    dir = await mkdtemp(join(tmpdir(), "pkgate-lockout-cli-"));
    await s.rt.catalog.createAccount({ name: "root", kind: "user", serverAdmin: true });
    await s.rt.catalog.createAccount({ name: "acme", kind: "org", admins: ["root"] });
    secrets.push((await s.rt.catalog.createToken({ account: "root", name: "laptop", scopes: ["all"] })).token);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    const logs = s.logs.join("\n");
    for (const t of secrets) assert.ok(!logs.includes(t), "a token in the logs");
    await s.stop();
  });

  test("pkgate whoami and auth --create work; a login with a token nobody issued hears why it is refused", async () => {
    await awayFromWindowEdge();
    for (let i = 0; i < 4; i++) await fetch(`${s.url}/t/${generateToken()}/acme/noarch/repodata.json`).then((r) => r.arrayBuffer());
    assert.equal((await fetch(`${s.url}/t/${generateToken()}/acme/noarch/repodata.json`)).status, 429, "the address's budget is spent");

    const admin = await login("admin", secrets[0]!);
    const me = await runCliProcess(["whoami"], { env: admin });
    assert.equal(me.code, 0, me.stderr);
    assert.match(me.stdout, /^root \(user, server admin\) at /);
    const made = await runCliProcess(["auth", "--create", "--name", "ci", "--scopes", "conda:download", "--org", "acme"], { env: admin });
    assert.equal(made.code, 0, made.stderr);
    const ci = made.stdout.trim().split("\n").at(-1)!;
    secrets.push(ci);
    assert.equal((await fetch(`${s.url}/t/${ci}/acme/noarch/repodata.json`)).status, 404, "the new token is known at once (the channel is empty)");

    const stranger = await runCliProcess(["whoami"], { env: await login("stranger", generateToken()) });
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /^pkgate whoami: too many requests with unknown tokens from this address; retry in \d+ s/);
  });
});
