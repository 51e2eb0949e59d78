// Validators and ranges as a table: request headers against one stored object.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bodyHeaders, decide, type ConditionalHeaders, type Decision } from "../../src/http/conditional.js";

const v = { size: 1000, etag: "abc", lastModified: new Date("2026-01-02T03:04:05.678Z") };
const lm = "Fri, 02 Jan 2026 03:04:05 GMT";
const before = "Fri, 02 Jan 2026 03:04:04 GMT";

const cases: [string, ConditionalHeaders, Decision, string?][] = [
  ["no headers", {}, { status: 200 }],
  ["matching If-None-Match", { ifNoneMatch: '"abc"' }, { status: 304 }],
  ["matching weak If-None-Match", { ifNoneMatch: 'W/"abc"' }, { status: 304 }],
  ["one of a list", { ifNoneMatch: '"x", "abc"' }, { status: 304 }],
  ["If-None-Match *", { ifNoneMatch: "*" }, { status: 304 }],
  ["other etag", { ifNoneMatch: '"zzz"' }, { status: 200 }],
  ["If-Modified-Since equal", { ifModifiedSince: lm }, { status: 304 }],
  ["If-Modified-Since before", { ifModifiedSince: before }, { status: 200 }],
  ["If-None-Match wins over If-Modified-Since", { ifNoneMatch: '"zzz"', ifModifiedSince: lm }, { status: 200 }],
  ["garbage date ignored", { ifModifiedSince: "yesterday" }, { status: 200 }],
  ["If-Match fails", { ifMatch: '"zzz"' }, { status: 412 }],
  ["If-Unmodified-Since fails", { ifUnmodifiedSince: before }, { status: 412 }],
  ["open range", { range: "bytes=100-" }, { status: 206, start: 100, end: 999 }],
  ["closed range", { range: "bytes=0-0" }, { status: 206, start: 0, end: 0 }],
  ["range past the end is clipped", { range: "bytes=900-5000" }, { status: 206, start: 900, end: 999 }],
  ["suffix range", { range: "bytes=-100" }, { status: 206, start: 900, end: 999 }],
  ["suffix larger than the file", { range: "bytes=-5000" }, { status: 206, start: 0, end: 999 }],
  ["start beyond the end", { range: "bytes=1000-" }, { status: 416 }],
  ["zero suffix", { range: "bytes=-0" }, { status: 416 }],
  ["multiple ranges → whole body", { range: "bytes=0-1,5-6" }, { status: 200 }],
  ["other unit → whole body", { range: "items=0-1" }, { status: 200 }],
  ["inverted → whole body", { range: "bytes=5-1" }, { status: 200 }],
  ["If-Range etag matches", { range: "bytes=10-", ifRange: '"abc"' }, { status: 206, start: 10, end: 999 }],
  ["If-Range etag differs → whole", { range: "bytes=10-", ifRange: '"old"' }, { status: 200 }],
  ["If-Range date matches", { range: "bytes=10-", ifRange: lm }, { status: 206, start: 10, end: 999 }],
  ["If-Range date differs → whole", { range: "bytes=10-", ifRange: before }, { status: 200 }],
  ["304 beats Range", { range: "bytes=10-", ifNoneMatch: '"abc"' }, { status: 304 }],
];

describe("conditional decide", () => {
  for (const [name, h, want] of cases) test(name, () => assert.deepEqual(decide(h, v), want));
  test("empty file: any range is unsatisfiable", () => {
    assert.deepEqual(decide({ range: "bytes=0-" }, { ...v, size: 0 }), { status: 416 });
  });
});

describe("without a modification time (a filtered view), date conditions are ignored", () => {
  const noTime = { size: 1000, etag: "abc" };
  const dated: [string, ConditionalHeaders, Decision][] = [
    ["If-Modified-Since", { ifModifiedSince: lm }, { status: 200 }],
    ["If-Unmodified-Since", { ifUnmodifiedSince: before }, { status: 200 }],
    ["If-Range by date → whole body", { range: "bytes=10-", ifRange: lm }, { status: 200 }],
    ["If-Range by etag still holds", { range: "bytes=10-", ifRange: '"abc"' }, { status: 206, start: 10, end: 999 }],
    ["If-None-Match still answers 304", { ifNoneMatch: '"abc"' }, { status: 304 }],
  ];
  for (const [name, h, want] of dated) test(name, () => assert.deepEqual(decide(h, noTime), want));
});

describe("bodyHeaders: what the head says about the body, the same for GET and HEAD", () => {
  const heads: [Decision, Record<string, string>][] = [
    [{ status: 200 }, { "content-length": "1000" }],
    [{ status: 206, start: 10, end: 19 }, { "content-range": "bytes 10-19/1000", "content-length": "10" }],
    [{ status: 304 }, {}],
    // a refusal never announces the object's length as if the object followed
    [{ status: 412 }, {}],
    [{ status: 416 }, { "content-range": "bytes */1000", "content-length": "0" }],
  ];
  for (const [d, want] of heads) test(`${d.status}`, () => assert.deepEqual(bodyHeaders(d, 1000), want));
});
