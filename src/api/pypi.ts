// What owners decide about a PyPI project beyond its files: its PEP 792 status (active,
// archived, quarantined, deprecated, with an optional reason) and PEP 592 yanks of one file
// or one release, with a reason, and their undoing. Each is a write on the package, judged as
// an upload is (pypi:upload: the pypi:upload scope, write on the package), and one change
// of the project's state document under its lock (pypi/registry.ts updateState). The Simple
// API shows the result on its next request.
import { authorize, enforce } from "../access/authorize.js";
import { GateError } from "../errors.js";
import type { PypiRegistry } from "../pypi/registry.js";
import { checkReason, isProjectStatus, PROJECT_STATUSES, selectFiles, yankFiles, type ProjectStatus } from "../pypi/project.js";
import { isValidProjectName, normalizeProjectName, parseDistFilename } from "../pypi/names.js";
import { isValidVersion } from "../pypi/version.js";
import { acting, named, param, type Acting, type ApiCall, type ApiRoute } from "./route.js";
import * as v from "./validate.js";

export interface ProjectStatusView {
  channel: string;
  project: string;
  status: ProjectStatus;
  reason?: string;
}

export interface YankView {
  channel: string;
  project: string;
  /** The files whose mark changed or was set again. */
  files: string[];
  /** The reason given ("" for none); absent when un-yanked. */
  reason?: string;
  yanked: boolean;
}

/** Which files a yank names: a release (`version`), a file, or both (the file must be of it). */
export interface YankSelector {
  version?: string;
  file?: string;
}

function registryOf(call: ApiCall): PypiRegistry {
  if (!call.deps.pypiProjects) throw new GateError("unavailable", "this gateway does not manage PyPI projects");
  return call.deps.pypiProjects;
}

function projectName(value: string): string {
  if (!isValidProjectName(value)) throw new GateError("bad_request", `${JSON.stringify(value.slice(0, 100))} is not a PyPI project name`);
  return normalizeProjectName(value);
}

/** The channel and normalized project, with `a.principal` allowed to write on it. */
async function writable(a: Acting, channel: string, project: string): Promise<{ channel: string; project: string }> {
  const normalized = projectName(project);
  const resource = await named(a.catalog, "channel", v.accountName(channel, "channel"));
  enforce(authorize(a.principal, "pypi:upload", { ...resource, package: normalized }));
  return { channel: resource.account!.name, project: normalized };
}

/** Sets a project's PEP 792 status (with a reason, or none). */
export async function setProjectStatus(a: Acting, registry: PypiRegistry, channel: string, project: string, status: unknown, reason: unknown): Promise<ProjectStatusView> {
  if (!isProjectStatus(status)) throw new GateError("bad_request", `status must be one of ${PROJECT_STATUSES.join(", ")}`);
  const why = checkReason(reason);
  const at = await writable(a, channel, project);
  const { state } = await registry.updateState(at.channel, at.project, (_index, before) => ({ ...before, status: why ? { status, reason: why } : { status } }));
  return { ...at, ...state.status };
}

/** Yanks (reason a string, "" for none) or un-yanks (false) one file or one release. */
export async function yankPypi(a: Acting, registry: PypiRegistry, channel: string, project: string, sel: YankSelector, reason: string | false): Promise<YankView> {
  const at = await writable(a, channel, project);
  let files: string[] = [];
  await registry.updateState(at.channel, at.project, (index, before) => {
    files = selectFiles(index, sel);
    return yankFiles(before, files, reason);
  });
  return reason === false ? { ...at, files, yanked: false } : { ...at, files, reason, yanked: true };
}

/** A selector as a request gives it, checked. */
export function checkYankSelector(version: unknown, file: unknown): YankSelector {
  const sel: YankSelector = {};
  if (version !== undefined && version !== "") {
    if (typeof version !== "string" || !isValidVersion(version)) throw new GateError("bad_request", `${JSON.stringify(String(version).slice(0, 80))} is not a PEP 440 version`);
    sel.version = version;
  }
  if (file !== undefined && file !== "") {
    if (typeof file !== "string" || !parseDistFilename(file)) throw new GateError("bad_request", `${JSON.stringify(String(file).slice(0, 200))} is not a wheel or sdist file name`);
    sel.file = file;
  }
  if (!sel.version && !sel.file) throw new GateError("bad_request", "name the release (version) or the file (file)");
  return sel;
}

function bodyOf(call: ApiCall): Record<string, unknown> {
  const body = call.body ?? {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new GateError("bad_request", "the body is a JSON object");
  return body as Record<string, unknown>;
}

function yankRoute(yank: boolean) {
  return (call: ApiCall): Promise<unknown> => {
    const body = bodyOf(call);
    const sel = checkYankSelector(body["version"], body["file"]);
    return yankPypi(acting(call), registryOf(call), param(call, "channel"), param(call, "project"), sel, yank ? checkReason(body["reason"]) : false);
  };
}

const statusSchema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    project: { type: "string", description: "the normalized project name" },
    status: { type: "string", enum: [...PROJECT_STATUSES] },
    reason: { type: "string" },
  },
  required: ["channel", "project", "status"],
};

const yankRequest = (yank: boolean) => ({
  type: "object",
  properties: {
    version: { type: "string", description: "a release: every file of that version" },
    file: { type: "string", description: "one file (with version: it must be of that release)" },
    ...(yank ? { reason: { type: "string", description: "shown by installers (PEP 592); one line" } } : {}),
  },
});

const yankSchema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    project: { type: "string" },
    files: { type: "array", items: { type: "string" } },
    yanked: { type: "boolean" },
    reason: { type: "string" },
  },
  required: ["channel", "project", "files", "yanked"],
};

export const pypiRoutes: ApiRoute[] = [
  {
    method: "PUT",
    path: "/channels/{channel}/pypi/{project}/status",
    operationId: "setPypiProjectStatus",
    summary:
      "Set a PyPI project's status (PEP 792): active, deprecated (served, marked), archived (served, no new uploads) or quarantined (no file offered for download, no uploads). Served as project-status in the Simple API. Write on the package (as an upload).",
    tag: "pypi",
    auth: "token",
    action: "pypi:upload",
    request: { type: "object", properties: { status: { type: "string", enum: [...PROJECT_STATUSES] }, reason: { type: "string", description: "one line, shown by installers" } }, required: ["status"] },
    response: { status: 200, description: "the status now", schema: statusSchema },
    errors: [404],
    handle: (call) => {
      const body = bodyOf(call);
      return setProjectStatus(acting(call), registryOf(call), param(call, "channel"), param(call, "project"), body["status"], body["reason"]);
    },
  },
  {
    method: "POST",
    path: "/channels/{channel}/pypi/{project}/yank",
    operationId: "yankPypi",
    summary: "Yank a release (version) or one file (PEP 592), with an optional reason: installers skip it unless pinned with ==. Yanking again replaces the reason. Write on the package.",
    tag: "pypi",
    auth: "token",
    action: "pypi:upload",
    request: yankRequest(true),
    response: { status: 200, description: "yanked", schema: yankSchema },
    errors: [404],
    handle: yankRoute(true),
  },
  {
    method: "POST",
    path: "/channels/{channel}/pypi/{project}/unyank",
    operationId: "unyankPypi",
    summary: "Undo the yank of a release (version) or one file. Write on the package.",
    tag: "pypi",
    auth: "token",
    action: "pypi:upload",
    request: yankRequest(false),
    response: { status: 200, description: "un-yanked", schema: yankSchema },
    errors: [404],
    handle: yankRoute(false),
  },
];
