// twine's upload (the legacy PyPI upload API): a multipart/form-data POST with
// `:action=file_upload`, `protocol_version=1`, the metadata fields, digests and the file as
// `content`. parseUpload streams the file to a private temp file while hashing it, so a
// large wheel never sits in memory; validateUpload checks the form against the file and the
// file's own metadata, with messages that become the 400 body twine prints.
//
// Digests: sha256 and md5 are computed while the file streams in (native, ~1 GB/s). BLAKE2b-256
// has no native implementation in Node (only BLAKE2b-512, a different function), and the JS one
// runs at 5-30 MB/s: a 1 GiB wheel would spend a minute or more on it. It is served nowhere
// (the simple API names sha256), so it is computed only to check a blake2_256_digest sent
// without a sha256_digest — no client known does that; twine and uv send both, and sha256
// decides.
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import busboy from "busboy";
import { GateError, badRequest } from "../errors.js";
import { Blake2b } from "./blake2b.js";
import type { CoreMetadata } from "./metadata.js";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "./names.js";
import { sameVersion } from "./version.js";

export interface UploadLimits {
  /** Largest distribution file accepted; beyond it the upload fails with 413. */
  maxFileBytes: number;
  /** Largest form field value (twine sends the long description as `description`). */
  maxFieldBytes?: number;
  /** Most form fields (classifiers and requires_dist repeat). */
  maxFields?: number;
  /** Where the temp file goes; the OS temp directory by default. */
  tmpDir?: string;
}

export interface UploadedFile {
  filename: string;
  /** A private temp file holding the bytes; the caller moves it to the store, then removes it. */
  tmpPath: string;
  size: number;
  sha256: string;
  /** Only when the form's blake2_256_digest is the one to check (see above). */
  blake2b_256?: string;
  md5: string;
}

export interface ParsedUpload {
  /** Every form field; a field sent more than once is a list, in the order sent. */
  fields: Record<string, string | string[]>;
  file: UploadedFile;
}

const DEFAULT_MAX_FIELD_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_FIELDS = 2000;
const MAX_FILE_PARTS = 8;

/**
 * Reads a twine upload body. Rejects with a GateError: `payload_too_large` (413) when the
 * file exceeds limits.maxFileBytes, `bad_request` (400) for a malformed form. On rejection
 * nothing is left on disk; the body is no longer read, so answer with `Connection: close`.
 */
export function parseUpload(
  req: { contentType: string; body: Readable },
  limits: UploadLimits,
): Promise<ParsedUpload> {
  const maxFieldBytes = limits.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": req.contentType },
      limits: {
        fileSize: limits.maxFileBytes,
        fieldSize: maxFieldBytes,
        fields: limits.maxFields ?? DEFAULT_MAX_FIELDS,
        files: MAX_FILE_PARTS,
        fieldNameSize: 200,
      },
    });
  } catch {
    return Promise.reject(badRequest("the upload must be a multipart/form-data body, as twine sends it"));
  }

  return new Promise<ParsedUpload>((resolve, reject) => {
    const fields: Record<string, string | string[]> = {};
    let settled = false;
    let fileDone: Promise<UploadedFile> | null = null;
    let tmpPath: string | null = null;
    let fileStream: Readable | null = null;

    const fail = (err: GateError) => {
      if (settled) return;
      settled = true;
      req.body.unpipe(parser);
      // Destroy with the error: a bare destroy() inside busboy's synchronous 'limit' emit
      // leaves stream.pipeline pending for ever.
      fileStream?.destroy(err);
      // Reject once the temp file is gone, so a refused upload leaves nothing behind.
      const written = fileDone ? fileDone.then(() => undefined, () => undefined) : Promise.resolve();
      void written
        .then(() => (tmpPath ? unlink(tmpPath).catch(() => undefined) : undefined))
        .then(() => reject(err));
    };

    parser.on("field", (name, value, info) => {
      if (info.nameTruncated) return fail(badRequest("a form field name is too long"));
      if (info.valueTruncated) return fail(badRequest(`the form field ${name} is longer than ${maxFieldBytes} bytes`));
      const prior = fields[name];
      fields[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
    });

    parser.on("file", (name, stream, info) => {
      if (name !== "content") {
        // gpg_signature and the like: accepted by twine's protocol, not kept here.
        stream.resume();
        return;
      }
      if (fileDone) {
        stream.resume();
        return fail(badRequest("the upload has more than one content file; send one file per request"));
      }
      const filename = info.filename;
      if (!filename) {
        stream.resume();
        return fail(badRequest("the content part has no file name"));
      }
      fileStream = stream;
      stream.once("limit", () =>
        fail(new GateError("payload_too_large", `${filename} is larger than the ${limits.maxFileBytes} bytes this index accepts`)),
      );
      const path = join(limits.tmpDir ?? tmpdir(), `pkgate-upload-${randomUUID()}.part`);
      tmpPath = path;
      fileDone = writeHashed(stream, path).then((digests) => {
        // Busboy ends a file cut at the size limit like a whole one; never take it as whole.
        if (stream.truncated) throw new GateError("payload_too_large", `${filename} is larger than the ${limits.maxFileBytes} bytes this index accepts`);
        return { filename, tmpPath: path, ...digests };
      });
      // A write failure (disk full) is ours, not the client's.
      fileDone.catch((err: unknown) => {
        if (!settled) fail(err instanceof GateError ? err : new GateError("unavailable", "the upload could not be stored, retry later"));
      });
    });

    parser.on("partsLimit", () => fail(badRequest("the form has too many parts")));
    parser.on("filesLimit", () => fail(badRequest("the form has too many files")));
    parser.on("fieldsLimit", () => fail(badRequest("the form has too many fields")));
    parser.on("error", (err: unknown) => {
      const detail = err instanceof Error ? `: ${err.message}` : "";
      fail(badRequest(`the upload is not a well-formed multipart body${detail}`));
    });
    parser.on("close", () => {
      if (settled) return;
      if (!fileDone) return fail(badRequest("the upload has no file: send the distribution as the `content` part"));
      fileDone.then(withBlake2IfChecked(fields)).then(
        (file) => {
          if (settled) return;
          settled = true;
          resolve({ fields, file });
        },
        () => undefined,
      );
    });
    req.body.once("error", () => fail(badRequest("the upload was interrupted")));
    req.body.pipe(parser);
  });
}

async function writeHashed(source: Readable, path: string): Promise<{ size: number; sha256: string; md5: string }> {
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sha256.update(chunk);
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(source, hashing, createWriteStream(path, { flags: "wx", mode: 0o600 }));
  return { size, sha256: sha256.digest("hex"), md5: md5.digest("hex") };
}

/** The form's blake2_256_digest is checked only when no sha256_digest came with it: then the
 * file's BLAKE2b-256 is computed, from the temp file, once the whole form is in. */
function withBlake2IfChecked(fields: Record<string, string | string[]>): (file: UploadedFile) => Promise<UploadedFile> {
  return async (file) => {
    if (fields["blake2_256_digest"] === undefined || fields["sha256_digest"] !== undefined) return file;
    const blake = new Blake2b(32);
    for await (const chunk of createReadStream(file.tmpPath, { highWaterMark: 1024 * 1024 })) blake.update(chunk as Buffer);
    return { ...file, blake2b_256: blake.digest("hex") };
  };
}

/** Removes the temp file of an upload (after it was stored, or when it was refused). */
export async function discardUpload(file: UploadedFile): Promise<void> {
  await unlink(file.tmpPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

function isAttestationList(value: string | string[]): boolean {
  if (Array.isArray(value)) return false;
  try {
    const list: unknown = JSON.parse(value);
    return Array.isArray(list) && list.every((a) => typeof a === "object" && a !== null && !Array.isArray(a));
  } catch {
    return false;
  }
}

export type UploadVerdict = { ok: true } | { ok: false; error: string };

/**
 * Checks a parsed upload against its own file and the file's core metadata: the action and
 * protocol twine speaks, the digests it computed, and that the file name, the form and the
 * metadata name the same project and version.
 */
export function validateUpload(parsed: ParsedUpload, metadata: CoreMetadata): UploadVerdict {
  const field = (name: string): string | undefined => {
    const v = parsed.fields[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const refuse = (error: string): UploadVerdict => ({ ok: false, error });
  const { file } = parsed;

  const action = field(":action");
  if (action === undefined) return refuse("the form has no :action field; upload with `twine upload`");
  if (action !== "file_upload") return refuse(`unsupported :action ${JSON.stringify(action)}: this index only accepts file_upload`);
  const protocol = field("protocol_version");
  if (protocol !== "1") return refuse(`unsupported protocol_version ${JSON.stringify(protocol ?? "")}: this index speaks version 1`);

  const name = field("name");
  const version = field("version");
  if (!name) return refuse("the form has no name field");
  if (!isValidProjectName(name)) return refuse(`${JSON.stringify(name.slice(0, 100))} is not a valid project name`);
  if (!version) return refuse("the form has no version field");

  const dist = parseDistFilename(file.filename);
  if (!dist) {
    return refuse(
      `${JSON.stringify(file.filename.slice(0, 255))} is not a wheel or sdist file name ` +
        "(name-version[-build]-python-abi-platform.whl, name-version.tar.gz or name-version.zip)",
    );
  }
  if (file.size === 0) return refuse(`${file.filename} is empty`);

  const filetype = field("filetype");
  const expectedType = dist.kind === "wheel" ? "bdist_wheel" : "sdist";
  if (filetype !== undefined && filetype !== expectedType) {
    return refuse(`filetype ${JSON.stringify(filetype)} does not match ${file.filename}, which is a ${expectedType}`);
  }

  if (normalizeProjectName(name) !== dist.name) {
    return refuse(`the file name ${file.filename} is for project ${dist.name}, but the form says ${name}`);
  }
  if (!sameVersion(dist.version, version)) {
    return refuse(`the file name ${file.filename} is for version ${dist.version}, but the form says ${version}`);
  }
  if (normalizeProjectName(metadata.name) !== dist.name) {
    return refuse(`the file's metadata names project ${metadata.name}, but the file name says ${dist.name}`);
  }
  if (!sameVersion(metadata.version, dist.version)) {
    return refuse(`the file's metadata says version ${metadata.version}, but the file name says ${dist.version}`);
  }

  const digests: Array<[string, string | undefined]> = [
    ["sha256_digest", file.sha256],
    ["md5_digest", file.md5],
    ["blake2_256_digest", file.blake2b_256],
  ];
  for (const [key, actual] of digests) {
    const sent = field(key);
    // actual is undefined for a BLAKE2b-256 not computed: sha256_digest was sent and decides
    if (sent !== undefined && actual !== undefined && sent.trim().toLowerCase() !== actual) {
      return refuse(`the ${key} sent does not match the uploaded file: the upload was corrupted, retry it`);
    }
  }
  // PEP 740: uv publish and twine --attestations send a JSON array of attestation objects.
  // They are neither verified nor kept (README: PyPI, attestations); only their form is
  // checked, so a client that sends something else hears it.
  const attestations = parsed.fields["attestations"];
  if (attestations !== undefined && !isAttestationList(attestations)) {
    return refuse("the attestations field must be one JSON array of attestation objects (PEP 740)");
  }
  return { ok: true };
}
