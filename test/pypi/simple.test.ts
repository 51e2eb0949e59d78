// Content negotiation (PEP 691) and the HTML and JSON pages (PEP 503, 592, 658/714, 700, 792).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  negotiate,
  negotiateMediaType,
  renderProjectHtml,
  renderProjectJson,
  renderRootHtml,
  renderRootJson,
} from "../../src/pypi/simple.js";
import { withState, type ProjectIndex } from "../../src/pypi/project.js";

const JSON_V1 = "application/vnd.pypi.simple.v1+json";
const HTML_V1 = "application/vnd.pypi.simple.v1+html";
const TEXT = "text/html; charset=utf-8";

describe("negotiateMediaType", () => {
  const cases: Array<[string, string | undefined, string | null]> = [
    ["pip 26", `${JSON_V1}, ${HTML_V1}; q=0.1, text/html; q=0.01`, JSON_V1],
    ["uv", `${JSON_V1}, ${HTML_V1};q=0.2, text/html;q=0.2`, JSON_V1],
    ["no Accept header (PEP 503 clients)", undefined, TEXT],
    ["empty Accept header", "  ", TEXT],
    ["curl */*", "*/*", TEXT],
    ["browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", TEXT],
    ["HTML v1 only", HTML_V1, HTML_V1],
    ["HTML preferred over JSON by q", `${JSON_V1};q=0.5, ${HTML_V1}`, HTML_V1],
    ["latest+json alias", "application/vnd.pypi.simple.latest+json", JSON_V1],
    ["latest+html alias", "application/vnd.pypi.simple.latest+html", HTML_V1],
    ["application/* prefers JSON", "application/*", JSON_V1],
    ["text/* is text/html", "text/*", TEXT],
    ["case-insensitive", "Application/VND.PyPI.Simple.V1+JSON", JSON_V1],
    ["q=0 excludes even through */*", "text/html;q=0, */*", JSON_V1],
    ["equal q: exact beats wildcard", `*/*;q=0.5, ${JSON_V1};q=0.5`, JSON_V1],
    ["malformed q ignores that range", `${JSON_V1};q=abc, text/html`, TEXT],
    ["application/json is not offered", "application/json", null],
    ["unsupported version", "application/vnd.pypi.simple.v2+json", null],
    ["everything refused", "text/html;q=0, application/*;q=0", null],
    ["garbage", "not a media type", null],
  ];
  for (const [label, accept, expected] of cases) {
    test(`${label} → ${expected}`, () => {
      assert.equal(negotiateMediaType(accept)?.contentType ?? null, expected);
      assert.equal(negotiate(accept), expected === null ? null : expected === JSON_V1 ? "json" : "html");
    });
  }
});

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);
const SHA_M = "c".repeat(64);
const project: ProjectIndex = {
  name: "Acme.Core",
  normalized: "acme-core",
  files: [
    // Deliberately out of order: pages list files in release order.
    {
      filename: "acme_core-1.1+local-py3-none-any.whl",
      size: 2048,
      sha256: SHA_B,
      uploadTime: "2024-05-02T10:00:00Z",
      requiresPython: ">=3.8,<4",
      coreMetadata: { sha256: SHA_M },
    },
    { filename: "acme_core-1.0.tar.gz", size: 1024, sha256: SHA_A, uploadTime: "2024-05-01T10:00:00.000Z", yanked: "broken \"quotes\" & <tags>" },
    { filename: "acme_core-0.9.tar.gz", size: 10, sha256: SHA_A, uploadTime: "2024-04-01T00:00:00.000Z", yanked: "" },
  ],
};

/** Every anchor of a page: href and data attributes (entities decoded). */
function anchors(html: string): Array<Record<string, string>> {
  const decode = (s: string) =>
    s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
  return [...html.matchAll(/<a ([^>]*)>([^<]*)<\/a>/g)].map((m) => {
    const attrs: Record<string, string> = { text: decode(m[2]!) };
    for (const a of m[1]!.matchAll(/([a-z-]+)="([^"]*)"/g)) attrs[a[1]!] = decode(a[2]!);
    return attrs;
  });
}

describe("renderProjectHtml", () => {
  const html = renderProjectHtml(project);

  test("declares API version 1.4 and titles the project", () => {
    assert.match(html, /<meta name="pypi:repository-version" content="1\.4">/);
    assert.match(html, /<title>Links for Acme\.Core<\/title>/);
  });

  test("one relative anchor per file in release order, with hash, requires-python, metadata and yanked", () => {
    assert.deepEqual(anchors(html), [
      { text: "acme_core-0.9.tar.gz", href: `acme_core-0.9.tar.gz#sha256=${SHA_A}`, "data-yanked": "" },
      { text: "acme_core-1.0.tar.gz", href: `acme_core-1.0.tar.gz#sha256=${SHA_A}`, "data-yanked": 'broken "quotes" & <tags>' },
      {
        text: "acme_core-1.1+local-py3-none-any.whl",
        href: `acme_core-1.1+local-py3-none-any.whl#sha256=${SHA_B}`,
        "data-requires-python": ">=3.8,<4",
        "data-core-metadata": `sha256=${SHA_M}`,
        "data-dist-info-metadata": `sha256=${SHA_M}`,
      },
    ]);
  });

  test("escapes attribute values", () => {
    assert.ok(html.includes('data-requires-python="&gt;=3.8,&lt;4"'));
    assert.ok(html.includes('data-yanked="broken &quot;quotes&quot; &amp; &lt;tags&gt;"'));
    assert.ok(!html.includes("<tags>"));
  });

  test("never prints an absolute URL", () => assert.doesNotMatch(html, /href="(\/|https?:)/));

  test("escapes a hostile display name", () => {
    const page = renderProjectHtml({ ...project, name: "<script>", files: [] });
    assert.ok(page.includes("Links for &lt;script&gt;") && !page.includes("<script>"));
  });
});

describe("renderProjectJson", () => {
  const doc = JSON.parse(renderProjectJson(project));

  test("PEP 691 + PEP 700 document", () => {
    assert.deepEqual(doc, {
      meta: { "api-version": "1.4" },
      name: "acme-core",
      files: [
        {
          filename: "acme_core-0.9.tar.gz",
          url: "acme_core-0.9.tar.gz",
          hashes: { sha256: SHA_A },
          size: 10,
          "upload-time": "2024-04-01T00:00:00.000Z",
          yanked: true,
        },
        {
          filename: "acme_core-1.0.tar.gz",
          url: "acme_core-1.0.tar.gz",
          hashes: { sha256: SHA_A },
          size: 1024,
          "upload-time": "2024-05-01T10:00:00.000Z",
          yanked: 'broken "quotes" & <tags>',
        },
        {
          filename: "acme_core-1.1+local-py3-none-any.whl",
          url: "acme_core-1.1+local-py3-none-any.whl",
          hashes: { sha256: SHA_B },
          "requires-python": ">=3.8,<4",
          size: 2048,
          "upload-time": "2024-05-02T10:00:00.000Z",
          yanked: false,
          "core-metadata": { sha256: SHA_M },
          "dist-info-metadata": { sha256: SHA_M },
        },
      ],
      versions: ["0.9", "1.0", "1.1+local"],
    });
  });

  test("carries the same files and hashes as the HTML page", () => {
    const fromHtml = anchors(renderProjectHtml(project)).map((a) => a.href);
    const fromJson = doc.files.map((f: { url: string; hashes: { sha256: string } }) => `${f.url}#sha256=${f.hashes.sha256}`);
    assert.deepEqual(fromJson, fromHtml);
  });

  test("an empty project is a valid page", () => {
    assert.deepEqual(JSON.parse(renderProjectJson({ ...project, files: [] })), {
      meta: { "api-version": "1.4" },
      name: "acme-core",
      files: [],
      versions: [],
    });
  });
});

describe("root pages", () => {
  const names = ["Zope.Interface", "acme_core", "Acme.Core", "<b>"];

  test("HTML links each normalized name once, relative, sorted", () => {
    assert.deepEqual(
      anchors(renderRootHtml(names)).map((a) => [a.href, a.text]),
      [
        ["%3Cb%3E/", "<b>"],
        ["acme-core/", "acme_core"],
        ["zope-interface/", "Zope.Interface"],
      ],
    );
    assert.match(renderRootHtml([]), /<meta name="pypi:repository-version" content="1\.4">/);
  });

  test("JSON lists projects by name", () => {
    assert.deepEqual(JSON.parse(renderRootJson(names)), {
      meta: { "api-version": "1.4" },
      projects: [{ name: "<b>" }, { name: "acme_core" }, { name: "Zope.Interface" }],
    });
  });
});

describe("project status (PEP 792)", () => {
  const one: ProjectIndex = { name: "Acme", normalized: "acme", files: [{ filename: "acme-1.0.tar.gz", size: 1, sha256: "a".repeat(64), uploadTime: "2024-05-01T10:00:00.000Z" }] };
  const cases: Array<[string, ProjectIndex, unknown, string[]]> = [
    ["active: no marker", one, undefined, []],
    [
      "archived with a reason",
      { ...one, status: { status: "archived", reason: 'moved to "acme2" & <co>' } },
      { status: "archived", reason: 'moved to "acme2" & <co>' },
      ['<meta name="pypi:project-status" content="archived">', '<meta name="pypi:project-status-reason" content="moved to &quot;acme2&quot; &amp; &lt;co&gt;">'],
    ],
    ["deprecated without one", { ...one, status: { status: "deprecated" } }, { status: "deprecated" }, ['<meta name="pypi:project-status" content="deprecated">']],
  ];
  for (const [label, p, json, metas] of cases) {
    test(label, () => {
      assert.deepEqual(JSON.parse(renderProjectJson(p))["project-status"], json);
      const html = renderProjectHtml(p);
      const found = html.split("\n").map((l) => l.trim()).filter((l) => l.includes("pypi:project-status"));
      assert.deepEqual(found, metas);
    });
  }

  test("quarantined: no file, no version, the status and its reason", () => {
    const q = withState(one, { status: { status: "quarantined", reason: "malware" }, yanked: {} });
    assert.deepEqual(JSON.parse(renderProjectJson(q)), { meta: { "api-version": "1.4" }, name: "acme", files: [], versions: [], "project-status": { status: "quarantined", reason: "malware" } });
    assert.ok(!renderProjectHtml(q).includes("<a "));
  });
});
