// HTTP validators and byte ranges (RFC 9110 §13 and §14) as a pure decision: given the
// request's headers and what the store says about an object, which answer to give.
// No I/O here; the edge streams what this decides.

export interface Validators {
  size: number;
  /** Without quotes. */
  etag: string;
  /** Absent when no time may be told (a filtered view: the stored file's time would move
   * when a hidden package changes); then date conditions are ignored, as RFC 9110 says. */
  lastModified?: Date;
}

export interface ConditionalHeaders {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifMatch?: string;
  ifUnmodifiedSince?: string;
  ifRange?: string;
  range?: string;
}

export type Decision =
  | { status: 200 }
  | { status: 206; start: number; end: number }
  | { status: 304 }
  | { status: 412 }
  | { status: 416 };

export const quoteEtag = (etag: string) => `"${etag}"`;

function etagList(header: string): string[] {
  return header.split(",").map((s) => s.trim().replace(/^W\//, "")).filter(Boolean);
}

/** Whole seconds: HTTP dates carry no milliseconds. */
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function decide(h: ConditionalHeaders, v: Validators, method = "GET"): Decision {
  const tag = quoteEtag(v.etag);
  if (h.ifMatch !== undefined) {
    const list = etagList(h.ifMatch);
    if (!list.includes("*") && !list.includes(tag)) return { status: 412 };
  } else if (h.ifUnmodifiedSince !== undefined && v.lastModified) {
    const t = Date.parse(h.ifUnmodifiedSince);
    if (!Number.isNaN(t) && seconds(v.lastModified) > Math.floor(t / 1000)) return { status: 412 };
  }
  if (h.ifNoneMatch !== undefined) {
    const list = etagList(h.ifNoneMatch);
    if (list.includes("*") || list.includes(tag)) return method === "GET" || method === "HEAD" ? { status: 304 } : { status: 412 };
  } else if (h.ifModifiedSince !== undefined && v.lastModified && (method === "GET" || method === "HEAD")) {
    const t = Date.parse(h.ifModifiedSince);
    if (!Number.isNaN(t) && seconds(v.lastModified) <= Math.floor(t / 1000)) return { status: 304 };
  }
  if (h.range === undefined || method !== "GET" && method !== "HEAD") return { status: 200 };
  if (h.ifRange !== undefined && !ifRangeHolds(h.ifRange, v)) return { status: 200 };
  return parseRange(h.range, v.size);
}

function ifRangeHolds(ifRange: string, v: Validators): boolean {
  const s = ifRange.trim();
  if (s.startsWith('"')) return s === quoteEtag(v.etag);
  if (s.startsWith("W/")) return false; // weak validators never match If-Range
  const t = Date.parse(s);
  return v.lastModified !== undefined && !Number.isNaN(t) && seconds(v.lastModified) === Math.floor(t / 1000);
}

/**
 * The headers that describe the body of an answer: its length and, for ranges, which bytes.
 * A HEAD gets exactly the head its GET would get, so a refusal (412) or an unsatisfiable
 * range (416) never announces the object's length as if the object followed: 412 says
 * nothing here (its error body has its own length), 416 has an empty body and names the
 * complete length only in Content-Range, as RFC 9110 §15.5.17 asks.
 */
export function bodyHeaders(d: Decision, size: number): { "content-length"?: string; "content-range"?: string } {
  switch (d.status) {
    case 200:
      return { "content-length": String(size) };
    case 206:
      return { "content-range": `bytes ${d.start}-${d.end}/${size}`, "content-length": String(d.end - d.start + 1) };
    case 416:
      return { "content-range": `bytes */${size}`, "content-length": "0" };
    case 304:
    case 412:
      return {};
  }
}

/** A single byte range; several ranges are answered with the whole body (allowed by RFC 9110). */
export function parseRange(header: string, size: number): Decision {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) {
    // multiple ranges or another unit: ignore the header and send the whole body
    return { status: 200 };
  }
  const [, a, b] = m;
  if (a === "" && b === "") return { status: 200 };
  if (a === "") {
    // suffix range: the last N bytes
    const n = Number(b);
    if (n === 0) return { status: 416 };
    if (size === 0) return { status: 416 };
    return { status: 206, start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return { status: 416 };
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return { status: 200 };
  return { status: 206, start, end };
}
