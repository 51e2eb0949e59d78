// `pkgate doctor`: what an operator checks before (and after) pointing pkgate at a store.
// Each check prints one line, `ok`, `warn` or `fail`, and for anything but ok what to do:
//   config    the effective configuration, secrets masked
//   store     reachable and writable
//   cache     Redis answers, when configured
//   locks     whether catalog writes can be serialized (S3 without conditional PUT needs Redis)
//   admins    a server admin exists
//   survey    how much of the store was looked at (one bounded listing)
//   folders   store folders no account owns (copied in before the account existed)
//   indexes   conda index files that disagree with their compressed twins or shard index
//   pypi      PyPI index documents behind their files, and files the gateway never serves
// The exit code is 0 when every check is ok, 1 otherwise. Nothing is changed in the store
// but one scratch object written and removed (and S3's conditional-PUT probe).
import { randomUUID } from "node:crypto";
import type { Config } from "../config.js";
import { createRuntime, type Runtime } from "../runtime.js";
import { DocumentUnreadable } from "../store/store.js";
import { CATALOG_PREFIX, catalogAccountNames } from "../access/catalog.js";
import { ACCOUNT_NAME, isAccountName } from "../access/names.js";
import { storeKeepsLocks } from "../cache/lock.js";
import { parseProjectIndex } from "../pypi/project.js";
import { parseDistFilename } from "../pypi/names.js";
import { surveyStore, type FolderSurvey, type PypiProjectSurvey, type StoreSurvey } from "./survey.js";
import { compareIndexTwins } from "./index-twins.js";
import { unownedFolderHint } from "./unowned-folders.js";
import { count, quote, reason } from "./words.js";

export type Status = "ok" | "warn" | "fail";

export interface Check {
  check: "config" | "store" | "locks" | "cache" | "admins" | "survey" | "folders" | "indexes" | "pypi";
  status: Status;
  message: string;
  /** What to do; present unless the status is ok. */
  action?: string;
  /** What the line is about, for scripts: a folder (`acme/`), an index directory, a channel. */
  subject?: string;
}

/** How much of a large store doctor looks at. */
export interface DoctorLimits {
  /** Objects listed to find folders, index files and PyPI projects. */
  objects: number;
  /** Top-level folders whose account is looked up. */
  folders: number;
  /** Directories whose index files are compared. */
  indexDirs: number;
  /** Stored size above which an index file is not read. */
  indexBytes: number;
  /** PyPI projects whose index document is read. */
  projects: number;
  /** Accounts read to find the server admins. */
  accounts: number;
}

export const DEFAULT_LIMITS: DoctorLimits = {
  objects: 200_000,
  folders: 1000,
  indexDirs: 500,
  indexBytes: 512 * 1024 * 1024,
  projects: 2000,
  accounts: 10_000,
};

export async function runDoctor(
  config: Config,
  out: { write(s: string): void },
  opts: { json: boolean; limits?: Partial<DoctorLimits> },
): Promise<number> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const checks: Check[] = [];
  const report = (c: Check) => {
    checks.push(c);
    if (!opts.json) out.write(line(c));
  };

  report({ check: "config", status: "ok", message: describeConfig(config) });
  let rt: Runtime | null = null;
  try {
    rt = await createRuntime(config);
  } catch (err) {
    report({ check: "store", status: "fail", message: `cannot open the store: ${reason(err)}`, action: storeWords(config).fix });
  }
  try {
    if (rt) await checkAll(rt, limits, report);
  } finally {
    await rt?.close();
  }

  const ok = checks.every((c) => c.status === "ok");
  if (opts.json) out.write(JSON.stringify({ ok, checks }) + "\n");
  return ok ? 0 : 1;
}

async function checkAll(rt: Runtime, limits: DoctorLimits, report: (c: Check) => void): Promise<void> {
  const storeOk = await checkStore(rt, report);
  await checkCache(rt, report);
  if (!storeOk) return;
  await guarded("locks", report, () => checkLocks(rt, report));
  await guarded("admins", report, () => checkAdmins(rt, limits, report));
  await guarded("survey", report, async () => {
    const survey = await surveyStore(rt.store, limits.objects);
    reportSurvey(survey, limits, report);
    await guarded("folders", report, () => checkFolders(rt, survey, limits, report));
    await guarded("indexes", report, () => checkIndexes(rt, survey, limits, report));
    await guarded("pypi", report, () => checkPypi(rt, survey, limits, report));
  });
}

function line(c: Check): string {
  return `${c.status.padEnd(4)}  ${c.check.padEnd(7)}  ${c.message}${c.action ? ` → ${c.action}` : ""}\n`;
}

/** A check that throws (the store went away halfway) is reported, and the others still run. */
async function guarded(check: Check["check"], report: (c: Check) => void, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    report({ check, status: "fail", message: `could not be checked: ${reason(err)}`, action: "fix what the other lines say, then run pkgate doctor again" });
  }
}

// ---- configuration -------------------------------------------------------------------------

function describeConfig(config: Config): string {
  const store = config.s3
    ? `S3 bucket ${config.s3.bucket} at ${maskUrl(config.s3.endpoint)} (region ${config.s3.region}, access key ${maskKey(config.s3.accessKey)}, secret key set)`
    : `directory ${config.dataDir}`;
  const sentinels = config.redisSentinels
    ? ` through Sentinel ${config.redisSentinels.map((s) => `${s.host}:${s.port}`).join(",")} (master ${config.redisSentinelName})`
    : "";
  const cache = config.redisUrl ? `Redis ${maskUrl(config.redisUrl)}${sentinels}` : "in-process";
  return [
    `store ${store}`,
    `cache ${cache}`,
    `base path ${config.basePath || "/"}`,
    `sign-up ${config.signup === "open" ? "open (anyone may create a user)" : "by server admins only"}`,
    `token cache ${config.tokenCacheTtl} s`,
    `longest token life ${Math.round(config.tokenMaxAge / 86400)} days`,
    `downloads ${describeDownloads(config)}`,
  ].join("; ");
}

/** DOWNLOAD_MODE in words: who sends an artifact's bytes. */
function describeDownloads(config: Config): string {
  const d = config.downloads;
  if (d.mode === "redirect") return `redirect (302 to S3 URLs presigned for ${d.presignTtl} s at ${maskUrl(d.s3PublicEndpoint ?? config.s3!.endpoint)})`;
  if (d.mode === "accel") return `accel (X-Accel-Redirect to ${d.accelLocation}: nginx in front must serve it, deploy/nginx/pkgate-accel.conf)`;
  return "stream (through the gateway)";
}

/** The URL with its password replaced by `***`. */
function maskUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "***";
  }
}

function maskKey(key: string): string {
  return key.length >= 12 ? `${key.slice(0, 4)}…` : "***";
}

// ---- store, locks, cache -----------------------------------------------------------------

function storeWords(config: Config): { where: string; fix: string } {
  return config.s3
    ? { where: `S3 bucket ${config.s3.bucket}`, fix: "check S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY, and that the server is up" }
    : { where: `directory ${config.dataDir}`, fix: `check that DATA_DIR (${config.dataDir}) can be created, read and written by this user` };
}

async function checkStore(rt: Runtime, report: (c: Check) => void): Promise<boolean> {
  const { config, store } = rt;
  const { where, fix } = storeWords(config);
  const after = "; the checks of accounts, folders and indexes need it";
  try {
    await store.ping();
  } catch (err) {
    report({ check: "store", status: "fail", message: `cannot reach the ${where}: ${reason(err)}${after}`, action: fix });
    return false;
  }
  const scratch = `${CATALOG_PREFIX}locks/probe-${randomUUID()}`;
  try {
    await store.put(scratch, Buffer.from("pkgate doctor\n"), { contentType: "text/plain" });
    await store.delete(scratch);
  } catch (err) {
    report({
      check: "store",
      status: "fail",
      message: `the ${where} answers but refuses writes: ${reason(err)}${after}`,
      action: `give these credentials write access: the gateway writes the catalog (accounts, tokens) and PyPI uploads there`,
    });
    return false;
  }
  report({ check: "store", status: "ok", message: `the ${where} is reachable and writable` });
  return true;
}

async function checkLocks(rt: Runtime, report: (c: Check) => void): Promise<void> {
  if (await storeKeepsLocks(rt.store, `${CATALOG_PREFIX}locks/probe-${randomUUID()}`)) {
    report({ check: "locks", status: "ok", message: "the store keeps the locks around catalog writes (its create-only write is atomic)" });
  } else if (rt.config.redisUrl) {
    report({
      check: "locks",
      status: "ok",
      message: "the S3 server ignores conditional writes (If-None-Match), so only the lock in Redis keeps catalog writers apart: every gateway and every pkgate CLI run needs this REDIS_URL",
    });
  } else {
    report({
      check: "locks",
      status: "fail",
      message: "the S3 server ignores conditional writes (If-None-Match) and REDIS_URL is not set: every catalog change (accounts, tokens, privacy) is refused",
      action: "set REDIS_URL to the deployment's Redis, for the gateways and the pkgate CLI alike",
    });
  }
}

async function checkCache(rt: Runtime, report: (c: Check) => void): Promise<void> {
  const { config, cache } = rt;
  if (!config.redisUrl) {
    report({ check: "cache", status: "ok", message: "in-process: right for one gateway; several replicas need REDIS_URL (one token cache, revocations heard at once)" });
    return;
  }
  const where = maskUrl(config.redisUrl);
  try {
    await cache.ping();
    report({ check: "cache", status: "ok", message: `Redis answers at ${where}` });
  } catch (err) {
    report({
      check: "cache",
      status: "fail",
      message: `cannot reach Redis at ${where}: ${reason(err)}; meanwhile every catalog change is refused and gateways read every token and account from the store`,
      action: "start Redis, or correct REDIS_URL (and REDIS_SENTINELS)",
    });
  }
}

// ---- the catalog -------------------------------------------------------------------------

async function checkAdmins(rt: Runtime, limits: DoctorLimits, report: (c: Check) => void): Promise<void> {
  const names = await catalogAccountNames(rt.store, limits.accounts + 1);
  const partial = names.length > limits.accounts ? ` among the first ${limits.accounts} accounts` : "";
  const admins: string[] = [];
  let users = 0;
  let orgs = 0;
  for (const name of names.slice(0, limits.accounts)) {
    let account;
    try {
      account = await rt.catalog.getAccount(name);
    } catch (err) {
      if (!(err instanceof DocumentUnreadable)) throw err;
      report({
        check: "admins",
        status: "fail",
        message: `the account ${name} cannot be read: ${err.problem}; its channel and tokens answer 503 until it is mended`,
        action: "restore the document from a backup or an earlier version of the object (S3 versioning); until then pkgate answers 503 for it and changes nothing in it",
        subject: `${name}/`,
      });
      continue;
    }
    if (!account) continue;
    if (account.kind === "org") orgs++;
    else {
      users++;
      if (account.serverAdmin) admins.push(name);
    }
  }
  const counted = `${count(users, "user")}, ${count(orgs, "organization")}${partial}`;
  if (admins.length > 0) {
    report({ check: "admins", status: "ok", message: `server admins: ${quote(admins)} (${counted})` });
    return;
  }
  report({
    check: "admins",
    status: "warn",
    message: `no server admin (${counted}): through the API no one can adopt store folders, create users while sign-up is closed, or manage other accounts (the local pkgate CLI still can)`,
    action: "create one where the store is configured: pkgate user --create NAME --email EMAIL --admin (the password is read from standard input)",
  });
}

// ---- what the store holds ----------------------------------------------------------------

function reportSurvey(survey: StoreSurvey, limits: DoctorLimits, report: (c: Check) => void): void {
  const found = `${count(survey.folders.size, "folder")}, ${count(survey.indexDirs.size, "conda index directory", "conda index directories")}, ${count(survey.pypi.size, "PyPI project")}`;
  const bound = survey.complete
    ? ""
    : `; stopped at the bound of ${limits.objects} objects, at ${survey.lastKey}: what sorts after it was not checked`;
  report({ check: "survey", status: "ok", message: `looked at ${count(survey.examined, "object")} in the store: ${found}${bound}` });
}

async function checkFolders(rt: Runtime, survey: StoreSurvey, limits: DoctorLimits, report: (c: Check) => void): Promise<void> {
  const names = [...survey.folders.keys()].sort();
  let problems = 0;
  for (const name of names.slice(0, limits.folders)) {
    const folder = survey.folders.get(name)!;
    const subject = `${name}/`;
    if (!isAccountName(name)) {
      problems++;
      report({
        check: "folders",
        status: "warn",
        subject,
        message: `store folder "${subject}" (${holds(folder)}) can never be served: "${name}" is not a valid channel name (${ACCOUNT_NAME.describe})`,
        action: "move it to a folder with a valid name, then adopt that: pkgate org --create NAME --adopt",
      });
      continue;
    }
    if (await rt.catalog.getAccount(name)) continue;
    problems++;
    report({ check: "folders", status: "warn", subject, ...unownedFolderHint(name, holds(folder)) });
  }
  const beyond = names.length > limits.folders ? `; ${names.length - limits.folders} more not looked up (bound ${limits.folders})` : "";
  if (problems === 0) report({ check: "folders", status: "ok", message: `every store folder has an account (${count(Math.min(names.length, limits.folders), "folder")})${beyond}` });
  else if (beyond) report({ check: "folders", status: "ok", message: beyond.slice(2) });
}

/** What a folder holds, in a few words. */
function holds(folder: FolderSurvey): string {
  const parts = [];
  if (folder.conda.size > 0) parts.push(`conda ${quote([...folder.conda].sort())}`);
  if (folder.pypi.size > 0) parts.push(count(folder.pypi.size, "PyPI project"));
  if (parts.length === 0) parts.push(count(folder.objects, "object"));
  return parts.join("; ");
}

async function checkIndexes(rt: Runtime, survey: StoreSurvey, limits: DoctorLimits, report: (c: Check) => void): Promise<void> {
  const dirs = [...survey.indexDirs.keys()].sort();
  let compared = 0;
  let disagreements = 0;
  const skipped: string[] = [];
  for (const dir of dirs.slice(0, limits.indexDirs)) {
    const r = await compareIndexTwins(rt.store, dir, survey.indexDirs.get(dir)!, limits.indexBytes);
    compared += r.compared;
    skipped.push(...r.skipped);
    for (const d of r.disagreements) {
      disagreements++;
      report({ check: "indexes", status: "warn", subject: dir, ...d });
    }
  }
  const notes = [];
  if (dirs.length > limits.indexDirs) notes.push(`${dirs.length - limits.indexDirs} more directories not compared (bound ${limits.indexDirs})`);
  if (skipped.length > 0) notes.push(`not read: ${quote(skipped)}`);
  const tail = notes.length ? `; ${notes.join("; ")}` : "";
  if (disagreements === 0) {
    report({ check: "indexes", status: "ok", message: `${count(compared, "pair")} of index files compared in ${count(Math.min(dirs.length, limits.indexDirs), "directory", "directories")}: they agree${tail}` });
  } else if (tail) report({ check: "indexes", status: "ok", message: tail.slice(2) });
}

async function checkPypi(rt: Runtime, survey: StoreSurvey, limits: DoctorLimits, report: (c: Check) => void): Promise<void> {
  let problems = 0;
  // index documents behind their files, by channel
  const behind = new Map<string, string[]>();
  const projects = [...survey.pypi.values()].filter((p) => p.files.size > 0).sort((a, b) => (a.channel + a.normalized).localeCompare(b.channel + b.normalized));
  for (const p of projects.slice(0, limits.projects)) {
    if (await documentIsBehind(rt, p)) behind.set(p.channel, [...(behind.get(p.channel) ?? []), p.normalized]);
  }
  for (const [channel, names] of [...behind].sort(([a], [b]) => a.localeCompare(b))) {
    problems++;
    report({
      check: "pypi",
      status: "warn",
      subject: channel,
      message: `${count(names.length, "PyPI project")} of ${channel} (${quote(names)}) have files their index document does not list as they are: the first request for each page reads and hashes them`,
      action: `pkgate index --pypi ${channel}`,
    });
  }
  for (const [channel, keys] of [...survey.misplaced].sort(([a], [b]) => a.localeCompare(b))) {
    problems++;
    const first = keys[0]!;
    const file = first.slice(first.lastIndexOf("/") + 1);
    report({
      check: "pypi",
      status: "warn",
      subject: channel,
      message: `${count(keys.length, "wheel or sdist", "wheels or sdists")} under ${channel}/ (${quote(keys)}) are never served: PyPI files are served only from ${channel}/pypi/<normalized project name>/`,
      action: `move each there (${first} → ${channel}/pypi/${parseDistFilename(file)!.name}/${file}), then pkgate index --pypi ${channel}`,
    });
  }
  if (problems > 0) return;
  const beyond = projects.length > limits.projects ? `; ${projects.length - limits.projects} more not read (bound ${limits.projects})` : "";
  report({
    check: "pypi",
    status: "ok",
    message: projects.length === 0 ? "no PyPI projects" : `the index documents of ${count(Math.min(projects.length, limits.projects), "PyPI project")} list their files${beyond}`,
  });
}

/** Whether a project's index document lacks a file, lists one that is gone or changed in
 * size, or names core metadata that is not there: what the gateway reconciles on the first
 * request for the page (pypi/registry.ts), reading and hashing every file it lacks. */
async function documentIsBehind(rt: Runtime, p: PypiProjectSurvey): Promise<boolean> {
  if (!p.document) return true;
  const got = await rt.store.get(p.document.key);
  if (!got) return true;
  let listed;
  try {
    listed = parseProjectIndex(got.body).files;
  } catch {
    return true;
  }
  const fits = listed.filter((f) => p.files.get(f.filename)?.size === f.size && (!f.coreMetadata || p.metadata.has(f.filename)));
  return fits.length !== listed.length || fits.length !== p.files.size;
}
