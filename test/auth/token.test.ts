// Token format, stored form and Authorization parsing, as a table of inputs and answers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  generateToken,
  hashToken,
  tokenId,
  looksLikeToken,
  isTokenAlphabet,
  parseAuthorization,
  TOKEN_LENGTH,
  MAX_AUTHORIZATION_LENGTH,
  type Credentials,
} from "../../src/auth/token.js";

const TOK = generateToken(); // 44 chars, a well-formed token
/** The same token with one character of its random part changed: the check no longer fits. */
const TYPO = TOK.slice(0, 10) + (TOK[10] === "a" ? "b" : "a") + TOK.slice(11);
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("generateToken", () => {
  test("is pkg- and 40 base62 characters, inside conda's alphabet", () => {
    for (let i = 0; i < 200; i++) {
      const t = generateToken();
      assert.match(t, /^pkg-[A-Za-z0-9]{40}$/);
      assert.equal(t.length, TOKEN_LENGTH);
      assert.ok(looksLikeToken(t));
      assert.ok(isTokenAlphabet(t));
    }
  });

  test("never repeats", () => {
    const seen = new Set(Array.from({ length: 2000 }, generateToken));
    assert.equal(seen.size, 2000);
  });

  test("draws every base62 character equally often (no modulo bias)", () => {
    // The 34 random characters of 2350 tokens ≈ 80 000 characters, 1290 expected per
    // character (σ ≈ 36). A plain byte % 62 would give the first 8 characters ~1610.
    const counts = new Map<string, number>();
    for (let i = 0; i < 2350; i++) for (const c of generateToken().slice(4, 38)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 62);
    for (const [c, n] of counts) assert.ok(n > 1100 && n < 1500, `character ${c} drawn ${n} times`);
  });
});

describe("hashToken and tokenId", () => {
  test("sha256 hex, and the id is its first 12 characters", () => {
    const hash = hashToken("abc");
    assert.equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(tokenId(hash), "ba7816bf8f01");
  });
  test("different tokens, different hashes; the id does not contain the token", () => {
    const a = generateToken();
    const b = generateToken();
    assert.notEqual(hashToken(a), hashToken(b));
    assert.match(hashToken(a), /^[0-9a-f]{64}$/);
    assert.ok(!a.includes(tokenId(hashToken(a))));
  });
});

describe("looksLikeToken", () => {
  const table: [string, boolean][] = [
    [TOK, true],
    [TYPO, false], // one character off: the check catches it without any lookup
    ["pkg-" + "0".repeat(40), false], // right shape, invented: the check does not fit
    ["pkg-" + "a".repeat(39), false], // too short
    ["pkg-" + "a".repeat(41), false], // too long
    ["PKG-" + "a".repeat(40), false], // prefix is case-sensitive
    ["abc-" + "a".repeat(40), false], // wrong prefix
    ["a".repeat(44), false], // no prefix
    ["pkg-" + "a".repeat(39) + "-", false], // '-' is conda's but not in our body
    ["pkg-" + "a".repeat(39) + "_", false],
    ["pkg-" + "a".repeat(39) + "=", false],
    ["pkg-" + "a".repeat(39) + "é", false],
    ["pkg-" + "a".repeat(39) + "\n", false],
    ["", false],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(looksLikeToken(input), expected));
  }
});

describe("isTokenAlphabet", () => {
  const table: [string, boolean][] = [
    ["abcXYZ019", true],
    ["with-dash", true],
    ["-", true],
    ["", false],
    ["under_score", false],
    ["dot.ted", false],
    ["plus+", false],
    ["slash/", false],
    ["space ", false],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(isTokenAlphabet(input), expected));
  }
});

describe("parseAuthorization", () => {
  const ok: [string, string | undefined, Credentials][] = [
    ["no header", undefined, {}],
    ["empty header", "", {}],
    ["blank header", "   ", {}],
    ["Bearer", `Bearer ${TOK}`, { token: TOK }],
    ["bearer, lower case", `bearer ${TOK}`, { token: TOK }],
    ["BEARER, upper case, extra spaces", `  BEARER   ${TOK} `, { token: TOK }],
    ["anaconda-client's 'token' scheme", `token ${TOK}`, { token: TOK }],
    ["Bearer with a foreign token (identify refuses it later)", "Bearer abc.def_ghi", { token: "abc.def_ghi" }],
    ["Basic __token__:token (pip, uv, twine)", `Basic ${b64(`__token__:${TOK}`)}`, { token: TOK, basicUser: "__token__", basicPassword: TOK }],
    ["basic, lower case", `basic ${b64(`x:${TOK}`)}`, { token: TOK, basicUser: "x", basicPassword: TOK }],
    ["Basic user:password for login", `Basic ${b64("alice:s3cret pw")}`, { token: "s3cret pw", basicUser: "alice", basicPassword: "s3cret pw" }],
    ["Basic password containing ':'", `Basic ${b64("alice:a:b:c")}`, { token: "a:b:c", basicUser: "alice", basicPassword: "a:b:c" }],
    ["Basic empty user", `Basic ${b64(`:${TOK}`)}`, { token: TOK, basicUser: "", basicPassword: TOK }],
    ["Basic unicode", `Basic ${b64("zoë:pässwört")}`, { token: "pässwört", basicUser: "zoë", basicPassword: "pässwört" }],
    ["Basic without padding", `Basic ${b64("ab:c").replace(/=+$/, "")}`, { token: "c", basicUser: "ab", basicPassword: "c" }],
  ];
  for (const [name, header, expected] of ok) {
    test(`accepts: ${name}`, () => assert.deepEqual(parseAuthorization(header), expected));
  }

  // [name, header, secret that must not appear in the message]
  const SECRET = "pkg-SECRETsecretSECRETsecretSECRETsecret12";
  const refused: [string, string, string][] = [
    ["bare token without scheme", SECRET, SECRET],
    ["unknown scheme", `Digest ${SECRET}`, SECRET],
    ["scheme only", "Bearer", "no secret here"],
    ["two credentials", `Bearer ${SECRET} more`, SECRET],
    ["bearer with control character", `Bearer ${SECRET}\u0001`, SECRET],
    ["Basic not base64", `Basic ${SECRET}!`, SECRET],
    ["Basic without colon", `Basic ${b64(SECRET)}`, SECRET],
    ["Basic with empty password", `Basic ${b64(`${SECRET}:`)}`, SECRET],
    ["Basic invalid UTF-8", `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString("base64")}`, "\ufffd"],
    ["Basic with control characters", `Basic ${b64(`user:${SECRET}\n`)}`, SECRET],
    ["too long", `Bearer ${SECRET}${"a".repeat(MAX_AUTHORIZATION_LENGTH)}`, SECRET],
  ];
  for (const [name, header, secret] of refused) {
    test(`refuses without echoing the secret: ${name}`, () => {
      const result = parseAuthorization(header);
      assert.equal(typeof result.error, "string");
      assert.equal(result.token, undefined);
      assert.ok(!result.error!.includes(secret), result.error);
    });
  }
});
