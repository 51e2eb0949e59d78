// Benchmark: bytes that skip Node (DOWNLOAD_MODE). A 1 GiB `.conda` of a private package,
// downloaded with a token by 1 curl and by 8 at once:
//   - accel, directory store: nginx (deploy/nginx/pkgate.conf's proxy location and
//     pkgate-accel.conf) in front of a gateway with DOWNLOAD_MODE=accel, against nginx serving
//     the same file directly with sendfile (one worker each). Target ≥ 0.9×.
//   - accel and redirect on S3 (reported): nginx + gateway on s3rver, and curl -L through the
//     gateway's 302, against fetching the object from s3rver directly.
//
//   node --import tsx test/bench/run.ts --only accel [--quick]
import { join } from "node:path";
import { download, redact, curlArgs, median, interleavedRounds as rounds, type Contender } from "./clients.js";
import { figure, MiB, type BenchOptions, type Figure } from "./figures.js";
import { startNginx } from "./origins.js";
import { artifactInStore, s3WithArtifact, seedAcme, startBenchGateway } from "./stack.js";
import { tempDir } from "../harness/services.js";
import { startNginxFront } from "../harness/nginx.js";

const KEY = "acme/linux-64/bigpkg-1.0-0.conda";

export default async function run(opts: BenchOptions): Promise<Figure[]> {
  const { log } = opts;
  const size = opts.quick ? 4 * MiB : 1024 * MiB;
  // one client's rate moves most on a shared 2-core machine: more rounds for it
  const roundsOf = (clients: number) => (opts.quick ? 1 : clients === 1 ? 7 : 3);
  const figures: Figure[] = [];
  const stops: (() => Promise<void>)[] = [];
  const work = await tempDir("pkgate-bench-accel-");
  stops.push(() => work.remove());
  try {
    const dataDir = join(work.path, "data");
    const file = await artifactInStore(size, dataDir, KEY);
    log(`accel: ${size / MiB} MiB artifact ${KEY} (private), rounds interleaved, median reported`);

    // ---- directory store: nginx + pkgate (accel) vs nginx sendfile
    const gw = await startBenchGateway({ DATA_DIR: dataDir, DOWNLOAD_MODE: "accel" });
    stops.push(() => gw.stop());
    const { token } = await seedAcme(gw.rt.catalog, ["bigpkg"]);
    const front = await startNginxFront({ gateway: gw.url, dataDir });
    stops.push(() => front.stop());
    const direct = await startNginx(dataDir);
    stops.push(() => direct.stop());
    const fs: Contender[] = [
      { name: "nginx + pkgate accel (fs store)", url: `${front.url}/t/${token}/${KEY}` },
      { name: "nginx sendfile", url: `${direct.url}/${KEY}` },
    ];
    for (const c of fs) await download(c.url, 1, { expectBytes: size }); // warm-up, and proof of access
    // a hidden package is refused before nginx touches the file
    const refused = await download(`${front.url}/${KEY}`, 1, { expectStatus: 404, expectBytes: undefined });
    if (refused.perClient[0]!.bytes > 1000) throw new Error("the private package was served without a token");
    for (const n of [1, 8]) {
      const s = await rounds(fs, n, roundsOf(n), size, log);
      const [pk, ng] = fs.map((c) => median(s.get(c.name)!)) as [number, number];
      figures.push(
        figure({
          bench: "accel",
          name: `fs, ${n} client${n > 1 ? "s" : ""}: nginx + pkgate (DOWNLOAD_MODE=accel)`,
          value: pk,
          unit: "GB/s",
          baseline: { name: "nginx sendfile", value: ng },
          target: { op: ">=", of: "ratio", limit: 0.9 },
          detail: { samplesGBps: Object.fromEntries(s), bestGBps: fs.map((c) => Math.max(...s.get(c.name)!)), sizeBytes: size, clients: n },
          command: `${n} × curl ${curlArgs("<url>", 300).join(" ")} (at once; GB/s = all bytes / wall time) against ${fs.map((c) => redact(c.url)).join(" , ")}`,
        }),
      );
    }
    await direct.stop();
    await front.stop();
    await gw.stop();
    stops.length = 1;

    // ---- S3 store (s3rver in its own process): accel and redirect vs s3rver directly
    const { s3, env: s3env } = await s3WithArtifact(file, KEY, dataDir, stops, log);
    const gwA = await startBenchGateway({ ...s3env, DOWNLOAD_MODE: "accel" });
    stops.push(() => gwA.stop());
    const gwR = await startBenchGateway({ ...s3env, DOWNLOAD_MODE: "redirect" });
    stops.push(() => gwR.stop());
    const acme = await seedAcme(gwA.rt.catalog, ["bigpkg"]);
    const frontS3 = await startNginxFront({ gateway: gwA.url, dataDir });
    stops.push(() => frontS3.stop());
    const s3c: Contender[] = [
      { name: "nginx + pkgate accel (s3 store)", url: `${frontS3.url}/t/${acme.token}/${KEY}` },
      { name: "curl -L + pkgate redirect (s3 store)", url: `${gwR.url}/t/${acme.token}/${KEY}`, extra: ["-L"] },
      { name: "s3rver direct", url: `${s3.endpoint}/${s3.bucket}/${KEY}` },
    ];
    for (const c of s3c) await download(c.url, 1, { expectBytes: size, extra: c.extra });
    for (const n of [1, 8]) {
      const s = await rounds(s3c, n, opts.quick ? 1 : n === 1 ? 3 : 1, size, log);
      const [accel, redirect, plain] = s3c.map((c) => median(s.get(c.name)!)) as [number, number, number];
      const command = `${n} × curl ${curlArgs("<url>", 300).join(" ")} (-L for the redirect) against ${s3c.map((c) => redact(c.url)).join(" , ")}`;
      const detail = { samplesGBps: Object.fromEntries(s), sizeBytes: size, clients: n };
      const who = `s3, ${n} client${n > 1 ? "s" : ""}`;
      figures.push(
        figure({ bench: "accel", name: `${who}: nginx + pkgate (DOWNLOAD_MODE=accel)`, value: accel, unit: "GB/s", baseline: { name: "s3rver direct", value: plain }, detail, command }),
        figure({ bench: "accel", name: `${who}: curl -L through pkgate (DOWNLOAD_MODE=redirect)`, value: redirect, unit: "GB/s", baseline: { name: "s3rver direct", value: plain }, detail, command }),
      );
    }
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
  return figures;
}
