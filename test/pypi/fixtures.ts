// Real Python distributions for tests: wheels pip can install (METADATA, WHEEL, RECORD with
// hashes, a top-level module) and sdists with PKG-INFO. Integration tests build private
// packages with these and install them through the gateway.
import { createHash } from "node:crypto";
import { writeTarGz, writeZip, type ZipMember } from "./wheel-fixture.js";

export interface DistSpec {
  name: string;
  version: string;
  requiresPython?: string;
  requiresDist?: string[];
  providesExtra?: string[];
  summary?: string;
  /** Extra members inside the archive, e.g. a hostile second .dist-info. */
  extraFiles?: Array<{ name: string; data: string | Buffer }>;
}

/** The name as it appears in file names and the .dist-info directory (PEP 427, PEP 625). */
export function escapedName(name: string): string {
  return name.replace(/[-_.]+/g, "_").toLowerCase();
}

/** The import name of the fixture's single module. */
export function moduleName(name: string): string {
  return escapedName(name);
}

export function wheelFilename(name: string, version: string): string {
  return `${escapedName(name)}-${version}-py3-none-any.whl`;
}

export function sdistFilename(name: string, version: string): string {
  return `${escapedName(name)}-${version}.tar.gz`;
}

/** The METADATA / PKG-INFO text of a spec (Metadata-Version 2.1). */
export function coreMetadataText(spec: DistSpec): string {
  const lines = ["Metadata-Version: 2.1", `Name: ${spec.name}`, `Version: ${spec.version}`];
  lines.push(`Summary: ${spec.summary ?? `Test package ${spec.name}`}`);
  if (spec.requiresPython) lines.push(`Requires-Python: ${spec.requiresPython}`);
  for (const req of spec.requiresDist ?? []) lines.push(`Requires-Dist: ${req}`);
  for (const extra of spec.providesExtra ?? []) lines.push(`Provides-Extra: ${extra}`);
  lines.push("Description-Content-Type: text/markdown", "", `# ${spec.name}`, "", "A package built by pkgate's tests.", "");
  return lines.join("\n");
}

function recordHash(data: Buffer): string {
  return `sha256=${createHash("sha256").update(data).digest("base64url")}`;
}

/** A pure-Python py3-none-any wheel, installable by pip. */
export function buildWheel(spec: DistSpec): Buffer {
  const mod = moduleName(spec.name);
  const infoDir = `${escapedName(spec.name)}-${spec.version}.dist-info`;
  const files: Array<{ name: string; data: Buffer }> = [
    { name: `${mod}/__init__.py`, data: Buffer.from(`__version__ = ${JSON.stringify(spec.version)}\n`) },
    { name: `${infoDir}/METADATA`, data: Buffer.from(coreMetadataText(spec)) },
    {
      name: `${infoDir}/WHEEL`,
      data: Buffer.from("Wheel-Version: 1.0\nGenerator: pkgate-test-fixtures\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    },
    { name: `${infoDir}/top_level.txt`, data: Buffer.from(`${mod}\n`) },
    ...(spec.extraFiles ?? []).map((f) => ({ name: f.name, data: Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data) })),
  ];
  const record = [
    ...files.map((f) => `${f.name},${recordHash(f.data)},${f.data.length}`),
    `${infoDir}/RECORD,,`,
    "",
  ].join("\n");
  const members: ZipMember[] = [...files, { name: `${infoDir}/RECORD`, data: Buffer.from(record) }];
  return writeZip(members);
}

/** A setuptools sdist (.tar.gz) with PKG-INFO at `<name>-<version>/PKG-INFO`. */
export function buildSdist(spec: DistSpec): Buffer {
  const mod = moduleName(spec.name);
  const root = `${escapedName(spec.name)}-${spec.version}`;
  const deps = (spec.requiresDist ?? []).map((d) => JSON.stringify(d)).join(", ");
  const pyproject = [
    "[build-system]",
    'requires = ["setuptools>=61"]',
    'build-backend = "setuptools.build_meta"',
    "",
    "[project]",
    `name = ${JSON.stringify(spec.name)}`,
    `version = ${JSON.stringify(spec.version)}`,
    ...(spec.requiresPython ? [`requires-python = ${JSON.stringify(spec.requiresPython)}`] : []),
    `dependencies = [${deps}]`,
    "",
  ].join("\n");
  return writeTarGz([
    { name: `${root}/PKG-INFO`, data: coreMetadataText(spec) },
    { name: `${root}/pyproject.toml`, data: pyproject },
    { name: `${root}/${mod}/__init__.py`, data: `__version__ = ${JSON.stringify(spec.version)}\n` },
    ...(spec.extraFiles ?? []),
  ]);
}
