// Benchmark 8, uploads: a 1 GiB wheel uploaded by twine (the legacy upload API, multipart)
// and a 1 GiB .conda posted raw to `POST /api/channels/acme/conda`, against the gateway as
// deployed (`src/main.ts` child, directory store). Figures: the time of each upload (the
// baseline: copying the same file with `cp`, the least a disk lets any upload cost), and the
// gateway's peak RSS above its idle RSS, which must stay ≤ 100 MB: a body is streamed to a
// temp file while hashed and checked, never held in memory.
//
//   node --import tsx test/bench/run.ts --only uploads [--quick]
import { execFile } from "node:child_process";
import { copyFile, mkdir, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { figure, MiB, type BenchOptions, type Figure } from "./figures.js";
import { rssOf, spawnGateway } from "./stack.js";
import { runProcess, sleep } from "./clients.js";
import { FsStore } from "../../src/store/fs.js";
import { MemoryCache } from "../../src/cache/memory.js";
import { Catalog } from "../../src/access/catalog.js";
import { buildCondaChannel } from "../fixtures/conda-channel.js";
import { tempDir } from "../harness/services.js";

const exec = promisify(execFile);
/** Both doors accept 1 GiB at most (MAX_UPLOAD_BYTES, MAX_CONDA_UPLOAD): stay just under. */
const LIMIT = 1024 * MiB;

/** A wheel of about `bytes` (one random payload member, stored), made once and reused. */
async function bigWheel(bytes: number): Promise<string> {
  const dir = join(tmpdir(), "pkgate-bench-cache");
  const path = join(dir, `bigwheel-${bytes}`, "bigwheel-1.0-py3-none-any.whl");
  try {
    await stat(path);
    return path;
  } catch {
    // not made yet
  }
  await mkdir(join(dir, `bigwheel-${bytes}`), { recursive: true });
  const script = `
import os, sys, zipfile, hashlib, base64
path, size = sys.argv[1], int(sys.argv[2])
tmp = path + ".part"
def rec(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
meta = b"Metadata-Version: 2.1\\nName: bigwheel\\nVersion: 1.0\\nSummary: a large wheel for the upload benchmark\\n"
wheel = b"Wheel-Version: 1.0\\nGenerator: pkgate-bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
records = []
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
    h = hashlib.sha256(); n = 0
    with z.open("bigwheel/payload.bin", "w", force_zip64=True) as f:
        chunk = 8 << 20
        while n < size:
            b = os.urandom(min(chunk, size - n)); f.write(b); h.update(b); n += len(b)
    records.append("bigwheel/payload.bin,sha256=%s,%d" % (base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode(), n))
    for name, data in (("bigwheel-1.0.dist-info/METADATA", meta), ("bigwheel-1.0.dist-info/WHEEL", wheel)):
        z.writestr(name, data); records.append("%s,%s,%d" % (name, rec(data), len(data)))
    records.append("bigwheel-1.0.dist-info/RECORD,,")
    z.writestr("bigwheel-1.0.dist-info/RECORD", "\\n".join(records) + "\\n")
os.rename(tmp, path)
`;
  await exec("python3", ["-c", script, path, String(bytes)], { maxBuffer: 1 << 20 });
  return path;
}

/** A .conda of about `bytes`: a real small package (fixture builder) whose pkg-*.tar.zst is
 * replaced by the zstd of a tar of `bytes` random bytes. Made once and reused. */
async function bigConda(bytes: number): Promise<string> {
  const dir = join(tmpdir(), "pkgate-bench-cache", `bigconda-${bytes}`);
  const file = "bigcpkg-1.0-0.conda";
  const path = join(dir, file);
  try {
    await stat(path);
    return path;
  } catch {
    // not made yet
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const built = await buildCondaChannel(join(dir, "fixture"), { channel: "c", packages: [{ name: "bigcpkg", version: "1.0", subdir: "noarch" }] });
  const small = built.packages.find((p) => p.filename === file)!.path;
  const parts = join(dir, "parts");
  await exec("unzip", ["-q", small, "-d", parts]);
  const members = (await exec("unzip", ["-Z1", small])).stdout.trim().split("\n");
  // the payload: random bytes, tarred and zstd-compressed (incompressible: zstd stores them)
  const payload = join(dir, "payload");
  await mkdir(join(payload, "share", "bigcpkg"), { recursive: true });
  await exec("sh", ["-c", `head -c ${bytes} /dev/urandom > share/bigcpkg/payload.bin && tar -cf - share | zstd -q -1 -T2 -f -o ${join(parts, "pkg-bigcpkg-1.0-0.tar.zst")}`], { cwd: payload });
  await rm(payload, { recursive: true });
  await exec("zip", ["-q", "-0", "-X", join(dir, `${file}.part`), ...members], { cwd: parts });
  await exec("mv", [join(dir, `${file}.part`), path]);
  await rm(parts, { recursive: true });
  await rm(join(dir, "fixture"), { recursive: true });
  return path;
}

/** The `acme` organization and a token that uploads to it, written before the gateway starts. */
async function seedUploader(dataDir: string): Promise<string> {
  const catalog = new Catalog(new FsStore(dataDir), new MemoryCache(), { localTtlSeconds: 0 });
  try {
    await catalog.createAccount({ name: "acme", kind: "org", adopt: true });
    const { token } = await catalog.createToken({ account: "acme", name: "bench-upload", scopes: ["pypi:upload", "pypi:download", "conda", "conda:download"] });
    return token;
  } finally {
    await catalog.close();
  }
}

interface Sampled<T> {
  result: T;
  seconds: number;
  peakRssMb: number;
}

/** Runs `work` while sampling the RSS of `pid` every 50 ms. */
async function sampling<T>(pid: number, work: () => Promise<T>): Promise<Sampled<T>> {
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const r = await rssOf(pid);
      if (r) peak = Math.max(peak, r.rssMb);
      await sleep(50);
    }
  })();
  const t0 = process.hrtime.bigint();
  try {
    const result = await work();
    return { result, seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakRssMb: peak };
  } finally {
    done = true;
    await sampler;
  }
}

async function idleRss(pid: number): Promise<number> {
  let max = 0;
  for (let i = 0; i < 10; i++) {
    max = Math.max(max, (await rssOf(pid))?.rssMb ?? 0);
    await sleep(100);
  }
  return max;
}

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const payload = opts.quick ? 4 * MiB : LIMIT - 4 * MiB;
  const work = await tempDir("pkgate-bench-uploads-");
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  try {
    const wheel = await bigWheel(payload);
    const conda = await bigConda(payload);
    const wheelBytes = (await stat(wheel)).size;
    const condaBytes = (await stat(conda)).size;
    if (wheelBytes > LIMIT || condaBytes > LIMIT) throw new Error(`bench files over the 1 GiB limit: ${wheelBytes}, ${condaBytes}`);
    log(`uploads: wheel ${(wheelBytes / MiB).toFixed(0)} MiB, conda ${(condaBytes / MiB).toFixed(0)} MiB`);

    const dataDir = join(work.path, "data");
    const uploadTmp = join(work.path, "tmp");
    await mkdir(uploadTmp, { recursive: true });
    const token = await seedUploader(dataDir);
    // the temp files of uploads go beside the store (same file system as a deployment would)
    const gw = await spawnGateway({ DATA_DIR: dataDir, TMPDIR: uploadTmp });
    stops.push(() => gw.stop());
    const pid = gw.pid!;

    // the baseline: the same bytes copied on the same disk (write + fsync is what a store does)
    const cp = async (file: string) => {
      const dest = join(work.path, "copy.bin");
      const t0 = process.hrtime.bigint();
      await copyFile(file, dest);
      await exec("sync", [dest]).catch(() => exec("sync", []));
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      await rm(dest);
      return s;
    };

    const idle = await idleRss(pid);
    log(`  idle RSS ${idle.toFixed(0)} MB`);
    const tw = await sampling(pid, () =>
      runProcess("twine", ["upload", "--disable-progress-bar", "--non-interactive", "--repository-url", `${gw.url}/acme/`, "-u", "__token__", "-p", token, wheel], 600_000),
    );
    if (tw.result.code !== 0) throw new Error(`twine failed: ${tw.result.stdout} ${tw.result.stderr}`.slice(0, 2000));
    const cpWheel = await cp(wheel);
    log(`  twine: ${tw.seconds.toFixed(1)} s, peak RSS ${tw.peakRssMb.toFixed(0)} MB (cp + sync: ${cpWheel.toFixed(1)} s)`);

    const idle2 = await idleRss(pid);
    const cu = await sampling(pid, () =>
      runProcess(
        "curl",
        ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", `authorization: Bearer ${token}`, "-H", "content-type: application/octet-stream", "--data-binary", `@${conda}`, `${gw.url}/api/channels/acme/conda?filename=bigcpkg-1.0-0.conda`],
        600_000,
      ),
    );
    if (cu.result.stdout !== "200" && cu.result.stdout !== "201") throw new Error(`conda upload failed: ${cu.result.stdout} ${cu.result.stderr}`);
    const cpConda = await cp(conda);
    log(`  conda: ${cu.seconds.toFixed(1)} s, peak RSS ${cu.peakRssMb.toFixed(0)} MB (cp + sync: ${cpConda.toFixed(1)} s)`);
    const left = (await readdir(uploadTmp)).filter((n) => n.startsWith("pkgate-"));
    if (left.length) throw new Error(`upload temp files left behind: ${left.join(", ")}`);

    const hwm = (await rssOf(pid))?.hwmMb ?? NaN;
    const cmdTwine = `twine upload --repository-url <gateway>/acme/ -u __token__ -p $TOKEN bigwheel-1.0-py3-none-any.whl (${(wheelBytes / MiB).toFixed(0)} MiB); pkgate = node --import tsx src/main.ts (fs store), VmRSS from /proc every 50 ms; baseline: cp + sync of the same file`;
    const cmdConda = `curl -X POST -H 'authorization: Bearer $TOKEN' -H 'content-type: application/octet-stream' --data-binary @bigcpkg-1.0-0.conda <gateway>/api/channels/acme/conda?filename=bigcpkg-1.0-0.conda (${(condaBytes / MiB).toFixed(0)} MiB); as above`;
    return [
      figure({ bench: "uploads", name: "twine upload of a 1 GiB wheel: time", value: tw.seconds, unit: "s", baseline: { name: "cp + sync", value: cpWheel }, command: cmdTwine, detail: { bytes: wheelBytes } }),
      figure({ bench: "uploads", name: "twine upload of a 1 GiB wheel: peak RSS above idle", value: tw.peakRssMb - idle, unit: "MB", target: { op: "<=", of: "value", limit: 100 }, detail: { idleMb: idle, peakMb: tw.peakRssMb }, command: cmdTwine }),
      figure({ bench: "uploads", name: "conda upload of a 1 GiB .conda: time", value: cu.seconds, unit: "s", baseline: { name: "cp + sync", value: cpConda }, command: cmdConda, detail: { bytes: condaBytes } }),
      figure({ bench: "uploads", name: "conda upload of a 1 GiB .conda: peak RSS above idle", value: cu.peakRssMb - idle2, unit: "MB", target: { op: "<=", of: "value", limit: 100 }, detail: { idleMb: idle2, peakMb: cu.peakRssMb, vmHwmMb: hwm }, command: cmdConda }),
    ];
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
}
