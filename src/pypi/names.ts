// What identifies a Python distribution: project names (PEP 503 normalization, PEP 508
// validity) and distribution file names (PEP 427 wheels, sdists). Everything that reaches
// the store as a key passes through here first, so hostile names end here.
import { isValidVersion } from "./version.js";
import { PYPI_PROJECT_NAME } from "../access/names.js";

export const MAX_PROJECT_NAME_LENGTH = PYPI_PROJECT_NAME.maxLength;
export const MAX_FILENAME_LENGTH = 255;

/** PEP 503: lowercase, and every run of `-`, `_`, `.` becomes one `-`. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

/** PEP 508 name grammar (ASCII letters, digits, `-_.`, alphanumeric at both ends); the rule
 * itself lives in access/names.ts with every other naming rule. */
export const isValidProjectName = (name: string): boolean => PYPI_PROJECT_NAME.test(name);

export interface DistFilename {
  /** The project name, normalized (PEP 503). */
  name: string;
  /** The version as spelled in the file name. */
  version: string;
  kind: "wheel" | "sdist";
  /** Wheels only. */
  buildTag?: string;
  pythonTag?: string;
  abiTag?: string;
  platformTag?: string;
  /** Sdists only: ".tar.gz" or ".zip". */
  extension?: ".tar.gz" | ".zip";
}

const WHEEL_TAG = /^[A-Za-z0-9_.]+$/;
const BUILD_TAG = /^[0-9][A-Za-z0-9_.]*$/;

/** A file name safe to use as the last segment of a store key and a relative URL. */
export function isSafeFilename(file: string): boolean {
  return (
    file.length > 0 &&
    file.length <= MAX_FILENAME_LENGTH &&
    !file.startsWith(".") &&
    !/[/\\\0]/.test(file) &&
    // Control characters and spaces have no place in a distribution file name.
    !/[\x00-\x20\x7f]/.test(file)
  );
}

/**
 * Parses a wheel (`name-ver(-build)?-py-abi-plat.whl`) or sdist (`name-ver.tar.gz`, `.zip`)
 * file name. Null when it is neither, or when the name or version is invalid.
 */
export function parseDistFilename(file: string): DistFilename | null {
  if (!isSafeFilename(file)) return null;
  if (file.endsWith(".whl")) return parseWheelFilename(file.slice(0, -".whl".length));
  for (const extension of [".tar.gz", ".zip"] as const) {
    if (file.toLowerCase().endsWith(extension)) {
      return parseSdistStem(file.slice(0, -extension.length), extension);
    }
  }
  return null;
}

function parseWheelFilename(stem: string): DistFilename | null {
  const parts = stem.split("-");
  if (parts.length !== 5 && parts.length !== 6) return null;
  const [name, version] = parts as [string, string];
  const [pythonTag, abiTag, platformTag] = parts.slice(-3) as [string, string, string];
  const buildTag = parts.length === 6 ? parts[2]! : undefined;
  if (!isValidProjectName(name) || !isValidVersion(version)) return null;
  if (buildTag !== undefined && !BUILD_TAG.test(buildTag)) return null;
  if (![pythonTag, abiTag, platformTag].every((tag) => WHEEL_TAG.test(tag))) return null;
  return {
    name: normalizeProjectName(name),
    version,
    kind: "wheel",
    ...(buildTag !== undefined ? { buildTag } : {}),
    pythonTag,
    abiTag,
    platformTag,
  };
}

function parseSdistStem(stem: string, extension: ".tar.gz" | ".zip"): DistFilename | null {
  // Legacy sdists keep dashes in the name (python-dateutil-2.8.2.tar.gz); the version is
  // what follows the last dash, as packaging.utils.parse_sdist_filename reads it.
  const dash = stem.lastIndexOf("-");
  if (dash <= 0) return null;
  const name = stem.slice(0, dash);
  const version = stem.slice(dash + 1);
  if (!isValidProjectName(name) || !isValidVersion(version)) return null;
  return { name: normalizeProjectName(name), version, kind: "sdist", extension };
}
