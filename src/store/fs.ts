// The local-directory Store: the embedded default. One file per key under a root directory;
// writes go to a hidden `.tmp/` directory first and are renamed into place, so a reader sees
// the old bytes or the new ones, never a torn file. The ETag is derived from size, mtime and
// inode rather than from the content, so a stat costs one syscall however large the file is.
import { createHash, randomUUID } from "node:crypto";
import { constants as fsc, open as fsOpen, fstat, close as fsClose } from "node:fs";
import { link, mkdir, open, readdir, rename, stat, unlink, access } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { addAbortSignal, type Readable } from "node:stream";
import {
  StoreConflict,
  StoreUnavailable,
  type ListedObject,
  type ListOptions,
  type ObjectInfo,
  type PutOptions,
  type ReadRange,
  type Store,
} from "./store.js";

/** Where half-written objects live until they are renamed into place; never listed. */
const TMP_DIR = ".tmp";

export class FsStore implements Store {
  readonly kind = "fs" as const;
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      return st.isFile() ? infoOf(st) : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("stat", err);
    }
  }

  async get(key: string): Promise<{ body: Buffer; info: ObjectInfo } | null> {
    const path = this.pathOf(key);
    let fh;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("get", err);
    }
    try {
      // stat and read through the same descriptor: the info describes exactly these bytes
      // even if the key is replaced meanwhile.
      const st = await fh.stat();
      if (!st.isFile()) return null;
      const body = await fh.readFile();
      return { body, info: infoOf(st) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("get", err);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async read(key: string, range?: ReadRange, signal?: AbortSignal): Promise<Readable | null> {
    const path = this.pathOf(key);
    if (range) checkRange(range);
    signal?.throwIfAborted();
    let fh;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable("read", err);
    }
    try {
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        return null;
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw unavailable("read", err);
    }
    if (signal?.aborted) {
      await fh.close().catch(() => undefined);
      signal.throwIfAborted();
    }
    // The stream owns the descriptor (autoClose), so destroying it releases the file.
    const stream = fh.createReadStream(range ? { start: range.start, end: range.end } : {});
    if (signal) addAbortSignal(signal, stream);
    return stream;
  }

  openFile(key: string): Promise<{ fd: number; info: ObjectInfo } | null> {
    const path = this.pathOf(key);
    // callback fs: FileHandle-based streams cost several times more per small file
    return new Promise((resolve, reject) => {
      fsOpen(path, "r", (err, fd) => {
        if (err) return isMissing(err) ? resolve(null) : reject(unavailable("read", err));
        fstat(fd, (err2, st) => {
          if (err2 || !st.isFile()) {
            fsClose(fd, () => undefined);
            return err2 ? reject(unavailable("read", err2)) : resolve(null);
          }
          resolve({ fd, info: infoOf(st) });
        });
      });
    });
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    const tmpDir = join(this.root, TMP_DIR);
    const tmp = join(tmpDir, randomUUID());
    let info: ObjectInfo;
    try {
      await mkdir(tmpDir, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      const fh = await open(tmp, "wx");
      try {
        if (Buffer.isBuffer(body)) await fh.writeFile(body);
        else for await (const chunk of body) await fh.write(chunk as Buffer);
        await fh.sync();
        // rename and link keep the inode and mtime, so this is the info of the stored object.
        info = infoOf(await fh.stat());
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw unavailable("put", err);
    }

    if (opts.ifNotExists) {
      // link() fails with EEXIST when the target exists: create-only without a race.
      try {
        await link(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        if (codeOf(err) === "EEXIST") throw new StoreConflict(key);
        throw unavailable("put", err);
      }
      await unlink(tmp).catch(() => undefined);
    } else {
      try {
        await rename(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw unavailable("put", err);
      }
    }
    await syncDir(dirname(target));
    return info;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (isMissing(err)) return;
      throw unavailable("delete", err);
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ListedObject> {
    if (prefix.includes("\0")) throw new Error("invalid store prefix: contains NUL");
    const limit = opts.limit ?? Infinity;
    if (limit <= 0) return;
    // Start at the deepest directory the prefix names; the rest of the prefix filters that
    // directory's entries by name.
    const cut = prefix.lastIndexOf("/");
    const dirKey = cut >= 0 ? prefix.slice(0, cut + 1) : "";
    const namePrefix = cut >= 0 ? prefix.slice(cut + 1) : prefix;
    if (dirKey && dirKey.split("/").slice(0, -1).some((s) => s === "" || s === "." || s === "..")) return;
    let n = 0;
    // the walk is lazy: stopping here stops it (no directory beyond this key is read)
    for await (const o of this.walk(dirKey, namePrefix)) {
      yield o;
      if (++n >= limit) return;
    }
  }

  /** Always: put's create-only path is link(2), which fails on an existing name whichever
   * process made it. */
  async exclusiveCreate(_scratchKey: string): Promise<boolean> {
    return true;
  }

  /** Create the root directory, parents included, if it is not there (at start: an operator
   * copies a channel into it before anything was ever written). Throws the system's error,
   * with its code, when it cannot be created. */
  async ensureRoot(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    if (!(await stat(this.root)).isDirectory()) throw Object.assign(new Error(`${this.root} is not a directory`), { code: "ENOTDIR" });
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, fsc.R_OK | fsc.W_OK);
    } catch (err) {
      throw unavailable("ping", err);
    }
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  async close(): Promise<void> {}

  /** Entries of one directory in key order, recursing into subdirectories in place. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<ListedObject> {
    const dir = dirKey ? join(this.root, ...dirKey.split("/").filter(Boolean)) : this.root;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw unavailable("list", err);
    }
    // A directory "a" holds keys "a/…": sort it as "a/" so that "a.b" (0x2E < 0x2F) comes
    // before everything under "a/", as in S3's byte order.
    const sorted = entries
      .filter((e) => e.name.startsWith(namePrefix) && !(dirKey === "" && e.name === TMP_DIR))
      .map((e) => ({ e, sortName: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.sortName), Buffer.from(b.sortName)));
    for (const { e } of sorted) {
      const key = dirKey + e.name;
      if (e.isDirectory()) {
        yield* this.walk(`${key}/`, "");
        continue;
      }
      let st: Stats;
      try {
        st = await stat(join(dir, e.name));
      } catch (err) {
        if (isMissing(err)) continue; // deleted while listing
        throw unavailable("list", err);
      }
      if (st.isFile()) yield { key, ...infoOf(st) };
      else if (st.isDirectory()) yield* this.walk(`${key}/`, ""); // a symlink to a directory
    }
  }

  /** The absolute file of a key. Callers validate keys; this refuses anything that could
   * escape the root or alias another key anyway. */
  private pathOf(key: string): string {
    const why = badKey(key);
    if (why) throw new Error(`invalid store key: ${why}`);
    const path = join(this.root, ...key.split("/"));
    if (!path.startsWith(this.root + sep)) throw new Error("invalid store key: outside the store");
    return path;
  }
}

function badKey(key: string): string | null {
  if (key === "") return "empty";
  if (key.includes("\0")) return "contains NUL";
  if (key.startsWith("/")) return "leading '/'";
  if (key.includes("\\")) return "contains '\\'";
  const segments = key.split("/");
  if (segments.some((s) => s === "..")) return "'..' segment";
  if (segments.some((s) => s === "" || s === ".")) return "empty or '.' segment";
  if (segments[0] === TMP_DIR) return "reserved prefix";
  return null;
}

function checkRange(range: ReadRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}`);
  }
}

function infoOf(st: Stats): ObjectInfo {
  const etag = createHash("sha1").update(`${st.size}:${st.mtimeMs}:${st.ino}`).digest("hex").slice(0, 32);
  return { size: st.size, etag, lastModified: st.mtime };
}

/** fsync the directory so the rename itself survives a crash; best effort (not every
 * filesystem allows opening a directory for it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // the data is already durable; only the directory entry might be replayed
  }
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(err: unknown): boolean {
  const code = codeOf(err);
  // ENOTDIR: a path component is a file, so the key cannot exist; EISDIR: the key names a
  // directory, which is not an object.
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

function unavailable(op: string, err: unknown): StoreUnavailable {
  const code = codeOf(err) ?? (err instanceof Error ? err.name : "error");
  return new StoreUnavailable(`fs store: ${op} failed (${code})`, { cause: err });
}
