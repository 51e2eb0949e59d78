// A gateway ready to publish into (the conda CLI, label, kinds and anaconda-client tests share it): a
// stack, an organization, an upload token (scope conda) and a download token (conda:download)
// of that organization, and stored logins for `pkgate` processes — the upload token's as
// `pkgate login` writes it (with the account), the same token bare, and the download token's.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lastLine, startStack, type CacheKind, type Stack, type StoreKind } from "./gateway.js";
import { runCliProcess, type CliRun } from "./cli-process.js";
import { buildCondaChannel, type BuiltChannel } from "../fixtures/conda-channel.js";

export interface Publishing {
  s: Stack;
  org: string;
  /** The organization's token with scope conda. */
  upload: string;
  /** The organization's token with scope conda:download. */
  download: string;
  /** Stored logins (PKGATE_CONFIG files). */
  logins: { upload: string; bare: string; download: string };
  /** A pkgate process logged in with `config` (the upload login unless given), with no store. */
  remote(args: string[], config?: string): Promise<CliRun>;
  /** A pkgate process on the gateway's store, as its operator. */
  local(args: string[]): Promise<CliRun>;
  /** The file names the organization's `<root><subdir>/repodata.json` holds (root: "" for
   * main, "label/dev/"), read from the store; none when there is no index. */
  indexed(root: string, subdir: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Gateways re-check their hot index objects once a second: wait that long before a client
 * reads what was just published. */
export const settle = (): Promise<void> => new Promise((ok) => setTimeout(ok, 1100));

/** The builds the label tests move between labels, built with cph under `dir`/fixture: `lib`
 * 1.0 as .conda (noarch) and .tar.bz2 (linux-64), `lib` 2.0 (noarch), and `app` 1.0 (noarch),
 * which depends on `lib`. Each test file names its own, so that their messages tell them apart. */
export function buildLabelBuilds(dir: string, lib: string, app: string): Promise<BuiltChannel> {
  return buildCondaChannel(join(dir, "fixture"), {
    channel: "acme",
    packages: [
      { name: lib, version: "1.0", subdir: "noarch", format: ".conda" },
      { name: lib, version: "1.0", subdir: "linux-64", format: ".tar.bz2" },
      { name: lib, version: "2.0", subdir: "noarch", format: ".conda" },
      { name: app, version: "1.0", subdir: "noarch", format: ".conda", depends: [lib] },
    ],
  });
}

/** Starts the stack and makes the organization and its tokens; `dir` holds the logins. */
export async function startPublishing(dir: string, opts: { org?: string; kind?: { store: StoreKind; cache: CacheKind }; env?: Record<string, string> } = {}): Promise<Publishing> {
  const org = opts.org ?? "acme";
  const s = await startStack(opts.kind ?? { store: "fs", cache: "memory" }, opts.env ?? {});
  try {
    const created = await s.cli(["org", "--create", org]);
    assert.equal(created.code, 0, created.stderr);
    const token = async (name: string, scopes: string) => {
      const made = await s.cli(["auth", "--create", "--name", name, "--scopes", scopes, "--org", org]);
      assert.equal(made.code, 0, made.stderr);
      return lastLine(made.stdout);
    };
    const upload = await token("ci-upload", "conda");
    const download = await token("ci-download", "conda:download");
    const logins = { upload: join(dir, "login.json"), bare: join(dir, "token-only.json"), download: join(dir, "download.json") };
    writeFileSync(logins.upload, JSON.stringify({ site: s.url, token: upload, username: org }), { mode: 0o600 });
    writeFileSync(logins.bare, JSON.stringify({ site: s.url, token: upload }), { mode: 0o600 });
    writeFileSync(logins.download, JSON.stringify({ site: s.url, token: download, username: org }), { mode: 0o600 });
    return {
      s,
      org,
      upload,
      download,
      logins,
      remote: (args, config = logins.upload) => runCliProcess(args, { env: { PKGATE_CONFIG: config, DATA_DIR: join(dir, "no-store") } }),
      local: (args) => runCliProcess(args, { env: { ...s.env } }),
      async indexed(root, subdir) {
        const body = (await s.rt.store.get(`${org}/${root}${subdir}/repodata.json`))?.body;
        if (!body) return [];
        const doc = JSON.parse(body.toString("utf8")) as { packages: object; "packages.conda": object };
        return [...Object.keys(doc.packages), ...Object.keys(doc["packages.conda"])].sort();
      },
      stop: () => s.stop(),
    };
  } catch (e) {
    await s.stop();
    throw e;
  }
}
