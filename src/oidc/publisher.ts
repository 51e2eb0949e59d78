// Trusted publishers as data: what a registration must name for each kind of CI, how an ID
// token's claims are matched against it, the identity under which it is indexed, and the name
// of the tokens it mints. Pure: no I/O.
//
//   github  repository (owner/name, any case), workflow (the file under .github/workflows/,
//           found in job_workflow_ref or workflow_ref), optionally environment (any case),
//           ref (exact, or a prefix ending in '*': refs/tags/*), and repository_owner_id /
//           repository_id (exact: a repository deleted and made again under the same name by
//           someone else has other ids). Ids not given at registration are recorded from the
//           first ID token exchanged (idsToRecord; registry.ts writes them), as PyPI does.
//   gitlab  project_path (any case), ci_config_path (the CI file, found in
//           ci_config_ref_uri), optionally environment and ref
//   oidc    sub and any other claims, each compared exactly
import { GateError, badRequest } from "../errors.js";
import type { TrustedPublisher } from "../access/model.js";
import { GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER } from "../config.js";
import { PUBLISHER_NAME, TOKEN_NAME, requireName } from "../access/names.js";
import { CLOCK_TOLERANCE } from "./verify.js";

export type PublisherKind = TrustedPublisher["kind"];
export type Claims = Record<string, unknown>;

/** What a publisher's token may do: PyPI uploads, conda uploads (and removals). */
export const PUBLISHER_SCOPES = ["pypi:upload", "conda"] as const;
export const MAX_PUBLISHERS_PER_ACCOUNT = 50;
const MAX_CLAIMS = 16;
const MAX_CLAIM_LENGTH = 512;

interface KindSpec {
  /** Claims a registration must give, and may give besides. */
  required: readonly string[];
  optional: readonly string[];
  /** The claim that identifies the CI project, in the ID token (the index key). */
  identity: string;
}

const KINDS: Record<PublisherKind, KindSpec> = {
  github: { required: ["repository", "workflow"], optional: ["environment", "ref", "repository_owner_id", "repository_id"], identity: "repository" },
  gitlab: { required: ["project_path", "ci_config_path"], optional: ["environment", "ref"], identity: "project_path" },
  oidc: { required: ["sub"], optional: [], identity: "sub" },
};

/** The kind an issuer implies: GitHub Actions' and gitlab.com's are known; any other issuer
 * is `oidc` unless the registration says it is a GitHub Enterprise or GitLab server. */
export function kindOf(issuer: string, asked: unknown): PublisherKind {
  const implied: PublisherKind | null = issuer === GITHUB_ACTIONS_ISSUER ? "github" : issuer === GITLAB_ISSUER ? "gitlab" : null;
  if (asked === undefined) return implied ?? "oidc";
  if (asked !== "github" && asked !== "gitlab" && asked !== "oidc") throw badRequest(`invalid kind: github, gitlab or oidc`);
  if (implied !== null && asked !== implied) throw badRequest(`invalid kind: the issuer ${issuer} is ${implied}'s`);
  return asked;
}

export interface PublisherInput {
  name: string;
  kind: PublisherKind;
  issuer: string;
  claims: Record<string, string>;
  scopes: string[];
  packages: string[] | "*";
}

/** A registration as the API takes it: { name, issuer, kind?, claims, scopes, packages }.
 * `allowed`: the server's OIDC_ISSUERS; `packageList` validates and normalizes names. */
export function publisherInput(body: unknown, allowed: readonly string[], packageList: (v: unknown) => string[] | "*"): PublisherInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the body must be a JSON object: {name, issuer, claims, scopes, packages}");
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!["name", "issuer", "kind", "claims", "scopes", "packages"].includes(k)) throw badRequest(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
  const name = publisherName(b.name);
  if (typeof b.issuer !== "string") throw badRequest(`invalid issuer: one of ${allowed.join(", ")} (OIDC_ISSUERS)`);
  const issuer = b.issuer.replace(/\/+$/, "");
  if (!allowed.includes(issuer)) throw badRequest(`invalid issuer: ${JSON.stringify(issuer.slice(0, 200))} is not allowed on this server; OIDC_ISSUERS allows ${allowed.join(", ")}`);
  const kind = kindOf(issuer, b.kind);
  const claims = claimsOf(kind, b.claims);
  if (!Array.isArray(b.scopes) || b.scopes.length === 0 || b.scopes.some((s) => !(PUBLISHER_SCOPES as readonly unknown[]).includes(s))) {
    throw badRequest(`invalid scopes: a list of ${PUBLISHER_SCOPES.join(" and/or ")}`);
  }
  const scopes = PUBLISHER_SCOPES.filter((s) => (b.scopes as unknown[]).includes(s));
  if (b.packages === undefined) throw badRequest(`invalid packages: "*" or a list of the package names its tokens may upload`);
  return { name, kind, issuer, claims, scopes, packages: packageList(b.packages) };
}

export function publisherName(v: unknown): string {
  return requireName(PUBLISHER_NAME, v, "name");
}

function claimsOf(kind: PublisherKind, v: unknown): Record<string, string> {
  const spec = KINDS[kind];
  const shape = [...spec.required, ...spec.optional.map((c) => `${c}?`)].join(", ");
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest(`invalid claims: an object {${shape}}`);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_CLAIMS) throw badRequest(`invalid claims: at most ${MAX_CLAIMS}`);
  const out: Record<string, string> = {};
  for (const [k, val] of entries) {
    if (kind !== "oidc" && !spec.required.includes(k) && !spec.optional.includes(k)) throw badRequest(`invalid claims: ${JSON.stringify(k.slice(0, 40))} is not one of ${kind}'s (${shape})`);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(k)) throw badRequest(`invalid claims: ${JSON.stringify(k.slice(0, 40))} is not a claim name`);
    if (typeof val !== "string" || val === "" || val.length > MAX_CLAIM_LENGTH || /[\u0000-\u001f]/.test(val)) throw badRequest(`invalid claims.${k}: a non-empty string of at most ${MAX_CLAIM_LENGTH} characters`);
    out[k] = val;
  }
  for (const k of spec.required) {
    if (out[k] !== undefined) continue;
    // claims that are another kind's: say which kind they look like (--kind)
    const like = (Object.keys(KINDS) as PublisherKind[]).find((other) => other !== kind && other !== "oidc" && KINDS[other].required.every((c) => out[c] !== undefined));
    const hint = like ? `; these are ${like}'s claims: register it with kind ${like} (pkgate publisher add ... --kind ${like})` : "";
    throw badRequest(`invalid claims: ${kind} needs ${spec.required.join(" and ")} (given: ${Object.keys(out).join(", ") || "none"})${hint}`);
  }
  if (kind === "github") {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(out.repository!)) throw badRequest("invalid claims.repository: owner/name");
    for (const id of GITHUB_IDS) {
      if (out[id] !== undefined && !/^\d{1,20}$/.test(out[id]!)) throw badRequest(`invalid claims.${id}: GitHub's number for the ${id === "repository_id" ? "repository" : "repository's owner"} (gh api repos/OWNER/NAME --jq ${id === "repository_id" ? ".id" : ".owner.id"})`);
    }
    if (!/^[^/@]+\.ya?ml$/.test(out.workflow!)) throw badRequest("invalid claims.workflow: the workflow's file name under .github/workflows/, e.g. release.yml");
  }
  if (kind === "gitlab" && out.ci_config_path!.includes("@")) throw badRequest("invalid claims.ci_config_path: the CI file's path in the project, e.g. .gitlab-ci.yml");
  return out;
}

/** The claim value an ID token is indexed under for a publisher of `kind` (lower case where
 * the platform compares without case), or null when the token has none. */
export function identityOf(kind: PublisherKind, claims: Claims): string | null {
  const v = claims[KINDS[kind].identity];
  if (typeof v !== "string" || v === "") return null;
  return kind === "oidc" ? v : v.toLowerCase();
}

/** The identity a publisher is registered for (what identityOf gives for its tokens). */
export function registeredIdentity(p: Pick<TrustedPublisher, "kind" | "claims">): string {
  return identityOf(p.kind, { [KINDS[p.kind].identity]: p.claims[KINDS[p.kind].identity] })!;
}

export const PUBLISHER_KINDS = Object.keys(KINDS) as PublisherKind[];

/** The ids of a GitHub repository and of its owner: a repository deleted and made again under
 * the same name, or an owner renamed and its name taken by someone else, has other ones. */
const GITHUB_IDS = ["repository_owner_id", "repository_id"] as const;

/** A GitHub ID token's id claim as text, or null when it has none. */
const idClaim = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : typeof v === "number" && Number.isSafeInteger(v) ? String(v) : null);

/** The ids a publisher does not hold yet that this (matching) ID token carries: recorded at
 * its first exchange, and required of every later token. Empty for other kinds, and for a
 * token issued before the publisher was added (clock skew aside): that is no first exchange
 * but an older token, perhaps one already spent and now replayed (ids are recorded before the
 * token is spent), perhaps the repository's from before it moved and its publisher was added
 * again; it records nothing (it may still be exchanged once). */
export function idsToRecord(p: Pick<TrustedPublisher, "kind" | "claims"> & Partial<Pick<TrustedPublisher, "createdAt">>, claims: Claims): Record<string, string> {
  if (p.kind !== "github") return {};
  if (p.createdAt !== undefined && typeof claims.iat === "number" && claims.iat + CLOCK_TOLERANCE < Date.parse(p.createdAt) / 1000) return {};
  const out: Record<string, string> = {};
  for (const id of GITHUB_IDS) {
    const v = idClaim(claims[id]);
    if (p.claims[id] === undefined && v !== null) out[id] = v;
  }
  return out;
}

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : undefined);
const shown = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : "missing");

/** Why the claims do not match the publisher (one sentence), or null when they do. The
 * issuer is compared by the caller (it chose the publisher by it). */
export function mismatch(p: Pick<TrustedPublisher, "kind" | "claims" | "idsRecordedAt">, claims: Claims): string | null {
  const want = p.claims;
  switch (p.kind) {
    case "github": {
      if (lower(claims.repository) !== want.repository!.toLowerCase()) return `repository is ${shown(claims.repository)}, the publisher's is "${want.repository}"`;
      const prefix = `${want.repository!.toLowerCase()}/.github/workflows/`;
      const runs = [claims.job_workflow_ref, claims.workflow_ref].filter((r): r is string => typeof r === "string");
      const ok = runs.some((r) => {
        const path = r.slice(0, r.indexOf("@") === -1 ? r.length : r.indexOf("@"));
        return path.toLowerCase().startsWith(prefix) && path.slice(prefix.length) === want.workflow;
      });
      if (!ok) return `the workflow is ${runs.length ? runs.map((r) => JSON.stringify(r)).join(" / ") : "missing (no job_workflow_ref or workflow_ref)"}, the publisher's is ".github/workflows/${want.workflow}"`;
      for (const id of GITHUB_IDS) {
        if (want[id] !== undefined && idClaim(claims[id]) !== want[id]) {
          const origin = p.idsRecordedAt !== undefined ? ` (recorded at its first exchange, ${p.idsRecordedAt.slice(0, 10)})` : "";
          return `${id} is ${shown(idClaim(claims[id]) ?? undefined)}, the publisher's is "${want[id]}"${origin}: another repository of that name (deleted and made again, or its owner renamed); if the repository really moved, remove the publisher and add it again`;
        }
      }
      return common(want, claims);
    }
    case "gitlab": {
      if (lower(claims.project_path) !== want.project_path!.toLowerCase()) return `project_path is ${shown(claims.project_path)}, the publisher's is "${want.project_path}"`;
      const uri = typeof claims.ci_config_ref_uri === "string" ? claims.ci_config_ref_uri : "";
      const at = uri.indexOf("@");
      const sep = uri.indexOf("//");
      const project = sep === -1 ? "" : uri.slice(0, sep);
      const path = sep === -1 ? "" : uri.slice(sep + 2, at === -1 ? uri.length : at);
      if (!project.toLowerCase().endsWith(`/${want.project_path!.toLowerCase()}`) || path !== want.ci_config_path) {
        return `ci_config_ref_uri is ${shown(claims.ci_config_ref_uri)}, the publisher's CI file is "${want.ci_config_path}"`;
      }
      return common(want, claims);
    }
    case "oidc":
      for (const [k, v] of Object.entries(want)) if (claims[k] !== v) return `${k} is ${shown(claims[k])}, the publisher's is "${v}"`;
      return null;
  }
}

function common(want: Record<string, string>, claims: Claims): string | null {
  if (want.environment !== undefined && lower(claims.environment) !== want.environment.toLowerCase()) return `environment is ${shown(claims.environment)}, the publisher's is "${want.environment}"`;
  if (want.ref !== undefined) {
    const ref = typeof claims.ref === "string" ? claims.ref : null;
    const ok = ref !== null && (want.ref.endsWith("*") ? ref.startsWith(want.ref.slice(0, -1)) : ref === want.ref);
    if (!ok) return `ref is ${shown(claims.ref)}, the publisher's is "${want.ref}"`;
  }
  return null;
}

/** How specific a publisher is (its claims): of several matching one account, the most
 * specific mints (an `environment: pypi` publisher before a catch-all one). */
export const specificity = (p: Pick<TrustedPublisher, "claims">): number => Object.keys(p.claims).length;

/** The run an ID token comes from, for its token's name: GitHub's run id and attempt,
 * GitLab's pipeline and job, else the token's jti. */
export function runOf(claims: Claims): string {
  const s = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v).replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 24) : "");
  if (s(claims.run_id)) return s(claims.run_attempt) ? `${s(claims.run_id)}.${s(claims.run_attempt)}` : s(claims.run_id);
  if (s(claims.pipeline_id)) return s(claims.job_id) ? `${s(claims.pipeline_id)}.${s(claims.job_id)}` : s(claims.pipeline_id);
  return s(claims.jti).slice(0, 16) || "run";
}

/** The minted token's name: oidc:<publisher>:<run>, with -2, -3... when a run mints again. */
export function mintedTokenName(publisher: string, run: string, attempt: number): string {
  const name = `oidc:${publisher}:${run}${attempt > 1 ? `-${attempt}` : ""}`;
  return requireName(TOKEN_NAME, name.slice(0, 64));
}

/** What an ID token says about where it comes from, for a refusal: its own claims only. */
export function tokenSays(claims: Claims): string {
  const s = (v: unknown) => (typeof v === "string" || typeof v === "number" ? JSON.stringify(String(v).slice(0, 200)) : "none");
  if (typeof claims.repository === "string") {
    const run = typeof claims.job_workflow_ref === "string" ? claims.job_workflow_ref : claims.workflow_ref;
    return `repository ${s(claims.repository)}, workflow ${s(run)}, environment ${s(claims.environment)}, ref ${s(claims.ref)}, repository_owner_id ${s(claims.repository_owner_id)}, repository_id ${s(claims.repository_id)}`;
  }
  if (typeof claims.project_path === "string") return `project_path ${s(claims.project_path)}, ci_config_ref_uri ${s(claims.ci_config_ref_uri)}, environment ${s(claims.environment)}, ref ${s(claims.ref)}`;
  return `sub ${s(claims.sub)}`;
}

/** How a publisher is matched, for the kind of CI the token comes from. */
function howMatched(claims: Claims): string {
  if (typeof claims.repository === "string") {
    return "a GitHub publisher matches when it names this repository and workflow file, and this environment, ref and ids if it names them (ids not given at registration are recorded from its first exchange: ids that differ mean another repository of that name, deleted and made again or under a renamed owner; if the repository really moved, the publisher is removed and added again)";
  }
  if (typeof claims.project_path === "string") return "a GitLab publisher matches when it names this project and CI file, and this environment and ref if it names them";
  return "a publisher matches when each of its claims is the token's";
}

/** The refusal when no publisher matches: 403 saying what the token says and how a publisher
 * would match it. It names no account and no publisher: the holder of a CI job's ID token may
 * be anyone who can run that job. `reasons`: why each publisher of the named channel does not
 * match, only for a caller who may see that channel's publishers (null otherwise). */
export function noPublisher(issuer: string, channel: string | null, claims: Claims, reasons: string[] | null): GateError {
  const where = `issuer ${issuer}${channel !== null ? `, channel ${channel}` : ""}`;
  let message = `no trusted publisher matches this ID token (${where}). The token says: ${tokenSays(claims)}; ${howMatched(claims)}.`;
  if (reasons === null) message += ` An account's admins list its publishers with 'pkgate publisher list ACCOUNT', and see why each does not match by sending {"token", "channel"} to POST /api/oidc/mint-token with their own token.`;
  else if (reasons.length === 0) message += ` ${channel} has no trusted publisher for this ${typeof claims.repository === "string" ? "repository" : typeof claims.project_path === "string" ? "project" : "subject"} and issuer.`;
  else message += ` The publishers of ${channel}: ${reasons.slice(0, 10).join("; ")}.`;
  return new GateError("forbidden", message);
}
