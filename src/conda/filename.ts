// conda package file names and subdir names: the two path segments a conda request names.
// The gateway parses them before it touches the store, so a request for `<name>-<version>-<build>.conda`
// can be decided on the package name alone, and anything that is not a conda file is turned away early.

import { CONDA_BUILD, CONDA_FILE, CONDA_PACKAGE_NAME, CONDA_SUBDIR, CONDA_VERSION } from "../access/names.js";

export type CondaExtension = ".conda" | ".tar.bz2";

export interface CondaFilename {
  name: string;
  version: string;
  build: string;
  ext: CondaExtension;
}

// The rules of each part live in access/names.ts (the API publishes them): '-' separates the
// three parts, so it may only occur in the name (split from the right).
const EXTENSIONS: readonly CondaExtension[] = [".conda", ".tar.bz2"];

/** Splits `<name>-<version>-<build><ext>`; null for anything that is not a well-formed conda file name. */
export function parseCondaFilename(file: string): CondaFilename | null {
  const ext = EXTENSIONS.find((e) => file.endsWith(e));
  if (ext === undefined) return null;
  const stem = file.slice(0, file.length - ext.length);
  const buildDash = stem.lastIndexOf("-");
  if (buildDash <= 0) return null;
  const versionDash = stem.lastIndexOf("-", buildDash - 1);
  if (versionDash <= 0) return null;
  const name = stem.slice(0, versionDash);
  const version = stem.slice(versionDash + 1, buildDash);
  const build = stem.slice(buildDash + 1);
  if (!CONDA_FILE.test(file) || !CONDA_PACKAGE_NAME.test(name) || !CONDA_VERSION.test(version) || !CONDA_BUILD.test(build)) return null;
  return { name, version, build, ext };
}

/** `noarch` or `<platform>-<arch>` (linux-64, osx-arm64, win-64, emscripten-wasm32, zos-z, ...). */
export function isCondaSubdir(s: string): boolean {
  return CONDA_SUBDIR.test(s);
}
