// A channel with something to hide, for the download-mode tests (redirect, accel): organization
// acme adopts a conda channel of pub-lib 1.0 (public) and priv-app 2.1 (private, depends on
// pub-lib), holds one private PyPI wheel, and has a download token (conda:download
// pypi:download). close() removes the scratch directory and checks that the token never
// reached the gateway's logs. Also: pip as these tests run it, and the answer of a hidden
// package put in a form to compare with a missing one's.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { lastLine, type Stack } from "./gateway.js";
import { buildWheel, wheelFilename } from "../pypi/fixtures.js";

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export interface PrivateChannel {
  /** acme's download token. */
  token: string;
  /** `<subdir>/<filename>` and sha256 of the public and the private conda package. */
  pub: { file: string; sha256: string };
  priv: { file: string; sha256: string };
  wheel: Uint8Array;
  wheelName: string;
  /** A scratch directory for the test's clients. */
  work: string;
  close(): Promise<void>;
}

/** Seeds `s` as above; `wheel` names the private distribution (stored under acme/pypi/). */
export async function setUpPrivateChannel(s: Stack, wheel: { name: string; version: string }): Promise<PrivateChannel> {
  const work = await mkdtemp(join(tmpdir(), "pkgate-private-channel-"));
  const built = await s.seedConda({
    channel: "acme",
    subdirs: ["linux-64"],
    packages: [
      { name: "pub-lib", version: "1.0", subdir: "linux-64" },
      { name: "priv-app", version: "2.1", subdir: "linux-64", depends: ["pub-lib >=1.0"] },
    ],
  });
  const pkg = (name: string) => {
    const p = built.packages.find((x) => x.name === name)!;
    return { file: p.url, sha256: p.sha256 };
  };
  await s.cli(["org", "--create", "acme", "--adopt"]);
  await s.cli(["package", "--private", "acme/priv-app"]);
  await s.cli(["package", "--private", `acme/${wheel.name}`]);
  const token = lastLine((await s.cli(["auth", "--create", "--name", "dl", "--scopes", "conda:download pypi:download", "--org", "acme"])).stdout);
  const bytes = buildWheel(wheel);
  const wheelName = wheelFilename(wheel.name, wheel.version);
  await s.rt.store.put(`acme/pypi/${wheel.name}/${wheelName}`, bytes);
  return {
    token,
    pub: pkg("pub-lib"),
    priv: pkg("priv-app"),
    wheel: bytes,
    wheelName,
    work,
    async close() {
      await rm(work, { recursive: true, force: true });
      assert.ok(!s.logs.join("\n").includes(token), "the token appeared in the logs");
    },
  };
}

// no prompts, no keyring, no cache, no network beyond the gateway (and what it redirects to)
const PIP_ENV = {
  PIP_NO_INPUT: "1",
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_NO_CACHE_DIR: "1",
  PIP_CONFIG_FILE: "/dev/null",
  PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring",
  NO_COLOR: "1",
};

/** `pip install --index-url index --target target requirement`; a failure fails the test with
 * pip's output, `secret` masked in it. */
export async function pipInstall(index: string, target: string, requirement: string, secret: string): Promise<void> {
  await promisify(execFile)("python3", ["-m", "pip", "install", "--index-url", index, "--target", target, requirement], { env: { ...process.env, ...PIP_ENV }, timeout: 60_000 }).catch(
    (err: { stdout?: string; stderr?: string }) => assert.fail(`pip failed:\n${err.stdout}\n${err.stderr}`.replaceAll(secret, "<token>")),
  );
}

/** An answer as a client sees it, for comparing a hidden package's with a missing one's: the
 * status, the headers but Date and X-Request-Id, the body with the names matching `names`
 * replaced (the message names the package). */
export async function answerSeen(r: Response, names: RegExp): Promise<{ status: number; headers: [string, string][]; body: string }> {
  return {
    status: r.status,
    headers: [...r.headers.entries()].filter(([k]) => k !== "date" && k !== "x-request-id"),
    body: (await r.text()).replace(names, "<name>"),
  };
}
