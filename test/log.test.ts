// What may reach a log line: no token, whatever its encoding and wherever it stands. Random
// tokens under random percent-encodings inside random text (fast-check), then the cases the
// attack used, then what must stay as it is.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Writable } from "node:stream";
import { spawnSync } from "node:child_process";
import { createLogger, LineBatch, logRequest, redactPath, redactSecrets, type RequestLine } from "../src/log.js";
import { generateToken } from "../src/auth/token.js";

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Percent-decoding repeated until nothing changes, lenient about stray '%': what any layer
 * that decodes (a proxy, a log viewer, a human) could turn the text into. */
function decodeFully(text: string): string {
  for (;;) {
    const next = text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === text) return text;
    text = next;
  }
}

const token = fc.oneof(
  fc.string({ unit: fc.constantFrom(...BASE62), minLength: 40, maxLength: 40 }).map((body) => `pkg-${body}`),
  fc.constant(null).map(() => generateToken()),
);

/** One character, literal or percent-encoded, hex in either case (or mixed), encoded 1-3 times. */
const encodedChar = (ch: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(ch) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.boolean(), { minLength: 2, maxLength: 2 })).map(([times, upper]) => {
        const hex = [...ch.charCodeAt(0).toString(16).padStart(2, "0")].map((d, i) => (upper[i] ? d.toUpperCase() : d)).join("");
        return "%" + "25".repeat(times - 1) + hex;
      }),
    },
  );

const encodedToken = token.chain((t) => fc.tuple(fc.constant(t), fc.tuple(...[...t].map(encodedChar)).map((parts) => parts.join(""))));

/** Text around it: path and query punctuation, '+', stray '%', spaces, non-ASCII. */
const around = fc.string({ unit: fc.constantFrom(..."abcxyzT0129/-_.?=&+% :;\"'é😀t"), maxLength: 30 });

describe("redactSecrets (fast-check)", () => {
  test("no token survives, however it is encoded and wherever it stands", () => {
    fc.assert(
      fc.property(around, encodedToken, around, encodedToken, around, (a, [t1, e1], b, [t2, e2], c) => {
        const out = redactSecrets(a + e1 + b + e2 + c);
        const seen = decodeFully(out);
        // not even most of it: its first 20 characters after pkg- would be half the secret
        for (const t of [t1, t2]) assert.ok(!seen.includes(t.slice(4, 24)), `${t} survives in ${out}`);
      }),
      { numRuns: 3000 },
    );
  });

  test("a token cut short is still removed", () => {
    fc.assert(
      fc.property(token, fc.integer({ min: 24, max: 44 }), (t, keep) => {
        assert.ok(!decodeFully(redactSecrets(`/x/${t.slice(0, keep)}`)).includes(t.slice(4, 24)));
      }),
      { numRuns: 1000 },
    );
  });

  test("text that decodes to nothing token-shaped is left as it is", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."pkgPKG-%0123456789abcdefABCDEF/?=&+t._ é"), maxLength: 80 }), (text) => {
        fc.pre(!/pkg-[A-Za-z0-9]{20}/i.test(decodeFully(text)));
        assert.equal(redactSecrets(text), text);
      }),
      { numRuns: 3000 },
    );
  });

  test("redacting twice changes nothing more", () => {
    fc.assert(
      fc.property(around, encodedToken, around, (a, [, e], b) => {
        const once = redactSecrets(a + e + b);
        assert.equal(redactSecrets(once), once);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("redactPath", () => {
  const t = generateToken();
  const pct = (s: string, upper = true) => [...s].map((ch) => "%" + ch.charCodeAt(0).toString(16)[upper ? "toUpperCase" : "toLowerCase"]()).join("");
  const cases: [string, string, string | undefined, string][] = [
    ["the /t/ segment, with the token's id", `/t/${t}/acme/noarch/repodata.json`, "abc123def456", "/t/<id:abc123def456>/acme/noarch/repodata.json"],
    ["under a prefix", `/conda/t/${t}/acme/`, "abc123def456", "/conda/t/<id:abc123def456>/acme/"],
    ["an unknown token", `/t/${t}/acme/`, undefined, "/t/<token>/acme/"],
    ["/T/ (upper case)", `/T/${t}/acme/`, undefined, "/t/<token>/acme/"],
    ["/%74/ (the t percent-encoded)", `/%74/${t}/acme/`, undefined, "/t/<token>/acme/"],
    ["/%54/", `/%54/${t}/acme/`, undefined, "/t/<token>/acme/"],
    ["/%2574/ (encoded twice)", `/%2574/${t}/acme/`, undefined, "/t/<token>/acme/"],
    ["the token percent-encoded in the /t/ segment", `/t/${pct(t)}/acme/`, undefined, "/t/<token>/acme/"],
    ["a token anywhere else in the path", `/acme/${t}/x`, undefined, "/acme/<token>/x"],
    ["percent-encoded anywhere, lower-case hex", `/acme/${pct(t, false)}/x`, undefined, "/acme/<token>/x"],
    ["in a query", `/acme/simple/?token=${t}&x=1`, undefined, "/acme/simple/?token=<token>&x=1"],
    ["next to a '+'", `/acme/?q=a+${t}+b`, undefined, "/acme/?q=a+<token>+b"],
    ["a t segment that is not first", `/acme/t/x/linux-64/`, undefined, "/acme/t/<token>/linux-64/"],
    // anaconda-client's post_url: the path is the upload's credential (a JWS), a JWE likewise
    ["a JWS in the path", "/api/anaconda-upload/eyJhbGciOiJIUzI1NiJ9.eyJjaGFubmVsIjoiYWxpY2UifQ.c2lnbmF0dXJl", undefined, "/api/anaconda-upload/<jwt>"],
    ["a JWE in a query", "/x?s=eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn&y=1", undefined, "/x?s=<jwt>&y=1"],
  ];
  for (const [name, path, id, want] of cases) test(name, () => assert.equal(redactPath(path, id), want));

  const untouched = [
    "/acme/linux-64/pkg-config-0.29.2-h1bed415_8.conda",
    "/acme/simple/pkg-resources/",
    "/acme/noarch/repodata.json.zst",
    "/acme/simple/requests/?q=%20a%2Fb",
    "/tools/label/main/linux-64/",
  ];
  for (const path of untouched) test(`leaves ${path}`, () => assert.equal(redactPath(path, undefined), path));
});

describe("redactSecrets: JWTs in what is logged beside the path (query, Referer, User-Agent)", () => {
  const jws = "eyJhbGciOiJIUzI1NiJ9.eyJjaGFubmVsIjoiYWxpY2UifQ.c2lnbmF0dXJl";
  const cases: [string, string, string][] = [
    ["a signed link's query", `sig=${jws}&exp=1`, "sig=<jwt>&exp=1"],
    ["a Referer holding anaconda-client's post_url", `https://pkgate.example/api/anaconda-upload/${jws}`, "https://pkgate.example/api/anaconda-upload/<jwt>"],
    ["a JWE (five parts, an empty key)", "s=eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn", "s=<jwt>"],
    ["a JWT and a token side by side", `a=${jws}&t=pkg-${"A".repeat(40)}`, "a=<jwt>&t=<token>"],
    // percent-encoded, in part or all, once or again: the same secret
    ["its dots sent as %2E", `sig=${jws.replaceAll(".", "%2E")}&exp=1`, "sig=<jwt>&exp=1"],
    ["its dots sent as %2e, encoded again", `sig=${jws.replaceAll(".", "%252e")}`, "sig=<jwt>"],
    ["its eyJ encoded", `sig=%65%79%4A${jws.slice(3)}`, "sig=<jwt>"],
    ["every character encoded", `sig=${[...jws].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join("")}`, "sig=<jwt>"],
  ];
  for (const [name, text, want] of cases) test(name, () => assert.equal(redactSecrets(text), want));
  test("leaves text without a JWT as it is", () => assert.equal(redactSecrets("q=eyJ&x=eyJhbGc"), "q=eyJ&x=eyJhbGc"));
  test("a JWT with encoded dots in the path is cut out too", () => assert.equal(redactPath(`/api/anaconda-upload/${jws.replaceAll(".", "%2E")}`, undefined), "/api/anaconda-upload/<jwt>"));
  test("finds what one regex over the whole text finds, however JWT-like pieces are put together", () => {
    // the pattern redactSecrets applies at one place at a time, applied to the whole text
    const enc = (literal: string, hex: string) => `(?:${literal}|%(?:25)*(?:${hex}))`;
    const char = enc("[A-Za-z0-9_-]", "3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa]|2[Dd]|5[Ff]");
    const whole = new RegExp(`${enc("e", "65")}${enc("y", "79")}${enc("J", "4[Aa]")}${char}*(?:${enc("\\.", "2[Ee]")}${char}*){2,4}`, "g");
    const pieces = fc.constantFrom("eyJ", "e", "y", "J", "%65", "%79", "%4a", "%2565", ".", "%2E", "%252e", "a", "Z", "9", "-", "_", "%41", "%6e", "%", "25", "/", "=", "&", " ");
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        assert.equal(redactSecrets(text), text.replace(whole, "<jwt>"), text);
      }),
      { numRuns: 5000 },
    );
  });
  // a hang detector, not a benchmark: one regex tried at every eyJ took minutes on a megabyte
  test("a megabyte of eyJ without a dot is read once, not once for each eyJ", { timeout: 30_000 }, () => {
    const text = `q=${"eyJ".repeat(350_000)}.x`;
    assert.equal(redactSecrets(text), text);
  });
  test("leaves encoded text without a JWT as it is", () => assert.equal(redactSecrets("q=a%2Eb%2Ec&r=%65yJ%2E"), "q=a%2Eb%2Ec&r=%65yJ%2E"));
});

describe("logRequest", () => {
  const written = () => {
    const lines: string[] = [];
    return { lines, sink: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) };
  };
  const full: RequestLine = { reqId: 'a"b\\c', method: "GET", path: "/t/<id:abc123def456>/acme/x", query: "q=é\u0001", referer: "https://r/", status: 304, bytes: 0, ms: 1.25, client: "10.0.0.1", tokenId: "abc123def456", tokenName: "ci", account: "acme", aborted: false, ua: "curl/8" };
  const sparse: RequestLine = { ...full, query: undefined, referer: undefined, tokenId: undefined, tokenName: undefined, account: undefined, aborted: undefined, ua: undefined, ms: NaN };
  for (const [name, line] of [["every field", full], ["fields left out", sparse]] as const) {
    test(`writes what pino writes for the same record (${name}), child bindings included`, async () => {
      const { lines, sink } = written();
      const root = createLogger("info", sink);
      for (const logger of [root, root.child({ part: "x" })]) {
        logger.info({ msg: "request", ...line });
        logRequest(logger, line);
      }
      await new Promise((r) => setImmediate(r));
      const untimed = lines.map((l) => l.replace(/"time":"[^"]*"/, '"time":""'));
      assert.equal(untimed.length, 4);
      assert.equal(untimed[1], untimed[0]);
      assert.equal(untimed[3], untimed[2]);
      assert.deepEqual(JSON.parse(lines[1]!).reqId, line.reqId);
    });
  }
  test("any string in a field is written as JSON.stringify writes it (fast-check)", async () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom(...'"\\/\u0000\u001f\u007f\u2028é😀'), fc.string({ unit: "binary", maxLength: 1 })) }), (text) => {
        const lines: string[] = [];
        const sink = { write: (l: string) => void lines.push(l) };
        logRequest(createLogger("info", sink), { ...full, reqId: text, path: text, client: text, ua: text });
        const got = JSON.parse(lines[0]!) as Record<string, unknown>;
        assert.deepEqual([got.reqId, got.path, got.client, got.ua], [text, text, text, text]);
        assert.ok(lines[0]!.includes(`"path":${JSON.stringify(text)}`));
      }),
    );
  });
  test("writes nothing below its level", async () => {
    const { lines, sink } = written();
    logRequest(createLogger("warn", sink), full);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines, []);
  });
});

describe("LineBatch (the gateway's standard output)", () => {
  const sink = () => {
    const writes: string[] = [];
    let flushed = 0;
    return { writes, flushed: () => flushed, dest: { write: (s: string) => void writes.push(s), flush: (cb?: () => void) => (flushed++, cb?.()), flushSync: () => void flushed++ } };
  };
  test("hands lines on in order, in chunks of at least its size, and the rest on flush", () => {
    const { writes, dest } = sink();
    const batch = new LineBatch(dest, 100);
    const lines = Array.from({ length: 25 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(i % 7)}"}\n`);
    for (const l of lines) batch.write(l);
    assert.ok(writes.length >= 2, "full chunks go on without a flush");
    for (const w of writes) assert.ok(w.length >= 100);
    batch.flush();
    assert.equal(writes.join(""), lines.join(""));
    batch.flush();
    assert.equal(writes.join(""), lines.join(""), "a second flush writes nothing more");
  });
  test("a line logged right before process.exit() reaches standard output", () => {
    const code = `import { createLogger, logRequest } from ${JSON.stringify(new URL("../src/log.ts", import.meta.url).pathname)};
      const logger = createLogger("info");
      logger.warn({ msg: "first" });
      logRequest(logger, ${JSON.stringify({ reqId: "r1", method: "GET", path: "/x", status: 200, bytes: 1, ms: 1, client: "127.0.0.1" })});
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const msgs = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(msgs, ["first", "request"]);
  });
});
