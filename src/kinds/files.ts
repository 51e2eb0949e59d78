// The environments and notebooks of a channel in the store (kinds.ts says where): each file one
// object, written whole and atomically — a reader sees the old file or the new one, never a
// part. A file name already there is refused (a create-only put, so two uploads racing for
// one name cannot both win where the store can tell), replaced, or left as it is.
import { GateError } from "../errors.js";
import { StoreConflict, type Store } from "../store/store.js";
import type { OnExisting } from "../conda/publish.js";
import { checkKindFile, kindFolder, kindKey, parseKindKey, type Kind, type KindFile } from "./kinds.js";

export interface KindEntry {
  name: string;
  version: string;
  basename: string;
  size: number;
  lastModified: string;
}

export interface KindPutResult {
  channel: string;
  kind: Kind["name"];
  name: string;
  version: string;
  basename: string;
  /** `<folder>/<name>/<version>/<file>` written, or skipped (already there). */
  published: string[];
  skipped: string[];
}

const pathOf = (f: KindFile) => `${f.kind.folder}/${f.name}/${f.version}/${f.basename}`;

export class KindFiles {
  constructor(private readonly store: Store) {}

  async put(f: KindFile, body: Buffer, existing: OnExisting): Promise<KindPutResult> {
    checkKindFile(f);
    const key = kindKey(f);
    const result = { channel: f.channel, kind: f.kind.name, name: f.name, version: f.version, basename: f.basename };
    try {
      await this.store.put(key, body, { contentType: f.kind.contentType, ...(existing === "replace" ? {} : { ifNotExists: true }) });
    } catch (e) {
      if (!(e instanceof StoreConflict)) throw e;
      if (existing === "skip") return { ...result, published: [], skipped: [pathOf(f)] };
      throw new GateError("conflict", `${f.channel}/${pathOf(f)} already exists; upload with --force to replace it or --skip to leave it`);
    }
    return { ...result, published: [pathOf(f)], skipped: [] };
  }

  /** Every file of a kind in a channel, sorted by name, version, file. */
  async list(channel: string, kind: Kind): Promise<KindEntry[]> {
    const out: KindEntry[] = [];
    for await (const o of this.store.list(kindFolder(channel, kind))) {
      const f = parseKindKey(channel, kind, o.key);
      if (f) out.push({ name: f.name, version: f.version, basename: f.basename, size: o.size, lastModified: o.lastModified.toISOString() });
    }
    return out;
  }

  /** The file's bytes as a stream with its size, or null when it is not there. */
  async open(f: KindFile): Promise<{ body: import("node:stream").Readable; size: number; etag: string; lastModified: Date } | null> {
    const key = kindKey(checkKindFile(f));
    const info = await this.store.stat(key);
    if (!info) return null;
    const body = await this.store.read(key);
    return body ? { body, size: info.size, etag: info.etag, lastModified: info.lastModified } : null;
  }

  /** Takes out the files of `name` (one version, one file of it); what went. */
  async remove(channel: string, kind: Kind, name: string, version?: string, basename?: string): Promise<string[]> {
    const gone: string[] = [];
    for (const e of await this.list(channel, kind)) {
      if (e.name !== name || (version !== undefined && e.version !== version) || (basename !== undefined && e.basename !== basename)) continue;
      await this.store.delete(kindKey({ kind, channel, name: e.name, version: e.version, basename: e.basename }));
      gone.push(`${kind.folder}/${e.name}/${e.version}/${e.basename}`);
    }
    return gone;
  }
}
