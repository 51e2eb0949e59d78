// The Simple Repository API as pip and uv read it: content negotiation (PEP 691) and the
// project and root pages in HTML (PEP 503, 592, 658/714, 792) and JSON (PEP 691, 700, 792),
// API 1.4 (the optional PEP 708 and PEP 740 keys are not served).
// Links are relative (the page lives at `.../simple/<project>/`), so a path token or Basic
// credentials carry over to files and metadata without the page ever printing them.
import type { FileEntry, ProjectIndex } from "./project.js";
import { projectVersions, sortFiles } from "./project.js";
import { normalizeProjectName } from "./names.js";

export const API_VERSION = "1.4";
export const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";
export const SIMPLE_HTML = "application/vnd.pypi.simple.v1+html";
export const TEXT_HTML = "text/html";

export type SimpleFormat = "json" | "html";

export interface Negotiated {
  format: SimpleFormat;
  /** The Content-Type to answer with (add `Vary: Accept`). */
  contentType: string;
}

interface Offer {
  format: SimpleFormat;
  type: string;
  subtype: string;
  contentType: string;
}

// `latest` aliases resolve to v1 (PEP 691), and answer with the versioned type.
const OFFERS: Offer[] = [
  { format: "json", type: "application", subtype: "vnd.pypi.simple.v1+json", contentType: SIMPLE_JSON },
  { format: "json", type: "application", subtype: "vnd.pypi.simple.latest+json", contentType: SIMPLE_JSON },
  { format: "html", type: "application", subtype: "vnd.pypi.simple.v1+html", contentType: SIMPLE_HTML },
  { format: "html", type: "application", subtype: "vnd.pypi.simple.latest+html", contentType: SIMPLE_HTML },
  { format: "html", type: "text", subtype: "html", contentType: `${TEXT_HTML}; charset=utf-8` },
];

/** Exact beats `type/*` beats `*\/*`, for the same q (RFC 9110 §12.5.1). */
const SPECIFICITY = { exact: 2, subtype: 1, any: 0 } as const;

/**
 * Picks the representation for an Accept header. Highest q wins; for equal q the more
 * specific range wins; for equal specificity JSON is preferred, except through a bare
 * `*\/*`, which gets text/html so browsers and old tools see the page they always saw.
 * No header (or an empty one) means HTML, as PEP 503 clients expect. Null → answer 406.
 */
export function negotiateMediaType(accept: string | undefined): Negotiated | null {
  if (accept === undefined || accept.trim() === "") return { format: "html", contentType: `${TEXT_HTML}; charset=utf-8` };
  const ranges = parseAccept(accept);
  let best: { offer: Offer; q: number; specificity: number; order: number } | null = null;
  for (const [order, offer] of OFFERS.entries()) {
    // The most specific range that matches this offer decides its q (RFC 9110).
    let match: { q: number; specificity: number } | null = null;
    for (const r of ranges) {
      const specificity =
        r.type === offer.type && r.subtype === offer.subtype
          ? SPECIFICITY.exact
          : r.type === offer.type && r.subtype === "*"
            ? SPECIFICITY.subtype
            : r.type === "*" && r.subtype === "*"
              ? SPECIFICITY.any
              : -1;
      if (specificity < 0) continue;
      if (!match || specificity > match.specificity || (specificity === match.specificity && r.q > match.q)) {
        match = { q: r.q, specificity };
      }
    }
    if (!match || match.q <= 0) continue;
    // Through `*/*` alone, text/html comes first.
    const rank = match.specificity === SPECIFICITY.any ? (offer.type === "text" ? -1 : order) : order;
    if (
      !best ||
      match.q > best.q ||
      (match.q === best.q && match.specificity > best.specificity) ||
      (match.q === best.q && match.specificity === best.specificity && rank < best.order)
    ) {
      best = { offer, q: match.q, specificity: match.specificity, order: rank };
    }
  }
  return best ? { format: best.offer.format, contentType: best.offer.contentType } : null;
}

/** The format only; see negotiateMediaType for the Content-Type that goes with it. */
export function negotiate(accept: string | undefined): SimpleFormat | null {
  return negotiateMediaType(accept)?.format ?? null;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of header.split(",")) {
    const [range, ...params] = part.split(";");
    const m = /^\s*([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)\s*$/i.exec(range ?? "");
    if (!m) continue;
    let q = 1;
    for (const p of params) {
      const qm = /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(p);
      if (qm) q = Math.min(1, Number(qm[1]));
      else if (/^\s*q\s*=/i.test(p)) q = -1; // malformed q: ignore the range
    }
    if (q < 0) continue;
    out.push({ type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), q });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Rendering

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A file name as a relative URL path segment (`+` and `!` stay as they are: pchar). */
export function fileHref(filename: string): string {
  return encodeURIComponent(filename).replace(/%2B/g, "+").replace(/%21/g, "!");
}

function uploadTimeIso(time: string): string | undefined {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export function renderProjectHtml(p: ProjectIndex): string {
  const title = `Links for ${escapeHtml(p.name)}`;
  const links = sortFiles(p.files).map((f) => `    ${fileAnchor(f)}<br />`);
  return [
    "<!DOCTYPE html>",
    "<html>",
    "  <head>",
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    ...statusMeta(p),
    `    <title>${title}</title>`,
    "  </head>",
    "  <body>",
    `    <h1>${title}</h1>`,
    ...links,
    "  </body>",
    "</html>",
    "",
  ].join("\n");
}

/** PEP 792: the status, and its reason when there is one (absent: active). */
function statusMeta(p: ProjectIndex): string[] {
  if (!p.status) return [];
  const out = [`    <meta name="pypi:project-status" content="${escapeHtml(p.status.status)}">`];
  if (p.status.reason) out.push(`    <meta name="pypi:project-status-reason" content="${escapeHtml(p.status.reason)}">`);
  return out;
}

function fileAnchor(f: FileEntry): string {
  const attrs = [`href="${escapeHtml(`${fileHref(f.filename)}#sha256=${f.sha256}`)}"`];
  if (f.requiresPython) attrs.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`);
  if (f.coreMetadata) {
    // PEP 714 name, and the PEP 658 name that pip before 23.2 reads.
    const value = escapeHtml(`sha256=${f.coreMetadata.sha256}`);
    attrs.push(`data-core-metadata="${value}"`, `data-dist-info-metadata="${value}"`);
  }
  if (typeof f.yanked === "string") attrs.push(`data-yanked="${escapeHtml(f.yanked)}"`);
  return `<a ${attrs.join(" ")}>${escapeHtml(f.filename)}</a>`;
}

export function renderProjectJson(p: ProjectIndex): string {
  const files = sortFiles(p.files).map((f) => {
    const out: Record<string, unknown> = {
      filename: f.filename,
      url: fileHref(f.filename),
      hashes: { sha256: f.sha256 },
    };
    if (f.requiresPython) out["requires-python"] = f.requiresPython;
    out.size = f.size;
    const time = uploadTimeIso(f.uploadTime);
    if (time) out["upload-time"] = time;
    // PEP 691: true, or a non-empty reason.
    out.yanked = typeof f.yanked === "string" ? (f.yanked === "" ? true : f.yanked) : false;
    if (f.coreMetadata) {
      out["core-metadata"] = { sha256: f.coreMetadata.sha256 };
      out["dist-info-metadata"] = { sha256: f.coreMetadata.sha256 };
    }
    return out;
  });
  const doc: Record<string, unknown> = { meta: { "api-version": API_VERSION }, name: p.normalized, files, versions: projectVersions(p) };
  // PEP 792: absent means active
  if (p.status) doc["project-status"] = p.status.reason ? { status: p.status.status, reason: p.status.reason } : { status: p.status.status };
  return JSON.stringify(doc);
}

/** Root entries, once per normalized name, in normalized order. */
function rootEntries(names: readonly string[]): Array<{ name: string; normalized: string }> {
  const byNormalized = new Map<string, string>();
  for (const name of names) {
    const normalized = normalizeProjectName(name);
    if (!byNormalized.has(normalized)) byNormalized.set(normalized, name);
  }
  return [...byNormalized.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([normalized, name]) => ({ name, normalized }));
}

export function renderRootHtml(names: readonly string[]): string {
  const links = rootEntries(names).map(
    ({ name, normalized }) => `    <a href="${escapeHtml(fileHref(normalized))}/">${escapeHtml(name)}</a><br />`,
  );
  return [
    "<!DOCTYPE html>",
    "<html>",
    "  <head>",
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    "    <title>Simple index</title>",
    "  </head>",
    "  <body>",
    ...links,
    "  </body>",
    "</html>",
    "",
  ].join("\n");
}

export function renderRootJson(names: readonly string[]): string {
  return JSON.stringify({
    meta: { "api-version": API_VERSION },
    projects: rootEntries(names).map(({ name }) => ({ name })),
  });
}
