// anaconda-client's removals, labels and copies (issue #12) onto pkgate's conda publishing: the
// verbs are pkgate's own (api/conda.ts removeCondaPackages, listCondaLabels, copyCondaLabel,
// each authorised as conda:upload through authorize()); this file only speaks the client's
// shapes, as read in anaconda-client (binstar_client/__init__.py, mixins/channels.py,
// mixins/package.py, commands/remove.py, channel.py (`anaconda label`), copy.py, move.py):
//   - `anaconda remove OWNER/PKG[/VER[/SUBDIR/FILE]]`: DELETE /dist/… (200, anaconda-upload.ts),
//     DELETE /release/{owner}/{pkg}/{ver} and DELETE /package/{owner}/{pkg}, each answering 201;
//   - `anaconda label --list | --show L | --copy A B | --remove L | --lock L | --unlock L [-o ORG]`:
//     GET /channels/{owner} → `{label: {is_locked, …}}`; GET /channels/{owner}/{label} →
//     `{is_locked, files: [{full_name}]}`; POST /channels/{owner}/{label}/copy/{to} (201);
//     DELETE /channels/{owner}/{label} (201); POST|DELETE /channels/{owner}/{label}/lock (201);
//   - `anaconda move --from-label A --to-label B SPEC`: POST /channels/{owner}/{B} then DELETE
//     /channels/{owner}/{A}, each with `{package, version, basename}` (201);
//   - `anaconda copy SPEC [--to-owner O] [--from-label A] [--to-label B] [--replace | --update]`: POST (PUT with
//     --replace, PATCH with --update) /copy/package/{owner}/{pkg}/{ver}/[{basename}] with
//     `{to_owner, from_channel, to_channel}` → 200, a list of `{basename}`.
// The /channels routes share their paths with pkgate's own (GET /channels/{channel} is a
// channel's privacy): they answer anaconda-client only (`client`, api/index.ts), so both work.
// On anaconda.org a file is one object carrying labels; in pkgate each label holds its own copy
// (publish.ts). Adding a label to files therefore copies them from the labels that hold them.
import { GateError } from "../errors.js";
import { MAIN_LABEL, type CopyResult, type OnExisting, type PackageSelector } from "../conda/publish.js";
import { checkLabel, checkSelector, copyCondaAcross, copyCondaLabel, listCondaLabels, removeCondaPackages } from "./conda.js";
import { acting, param, type ApiCall, type ApiDeps, type ApiRoute, type Schema } from "./route.js";
import * as v from "./validate.js";

function publishing(call: ApiCall): NonNullable<ApiDeps["conda"]> {
  if (!call.deps.conda) throw new GateError("unavailable", "this gateway does not publish conda packages");
  return call.deps.conda;
}

/** `{package, version, basename}` of add_channel / remove_channel (nulls: not given); no
 * package: null, the whole label. */
function bodySelector(body: unknown): PackageSelector | null {
  const b = v.objectBody(body ?? {}, ["package", "version", "basename"]);
  const given = (x: unknown) => (x === null || x === undefined ? undefined : x);
  if (given(b.package) === undefined) {
    if (given(b.version) !== undefined || given(b.basename) !== undefined) throw new GateError("bad_request", "a version or a file needs its package");
    return null;
  }
  return checkSelector(b.package, given(b.version), given(b.basename));
}

/** A file as anaconda-client prints it (`full_name`: owner/package/version/basename). */
const fileView = (channel: string, f: { path: string; name: string; version: string }) => ({
  basename: f.path,
  full_name: `${channel}/${f.name}/${f.version}/${f.path}`,
  package: f.name,
  version: f.version,
});

/** `anaconda remove OWNER/NAME[/VERSION]`: pkgate remove's verb (the conda files of every
 * label, and the environments and notebooks of that name); nothing of either: 404. */
async function removeEverywhere(call: ApiCall, name: string, version?: string) {
  const r = await removeCondaPackages(acting(call), publishing(call), param(call, "owner"), checkSelector(name, version, undefined), null, call.deps.kinds);
  return { channel: r.channel, labels: r.labels, removed: r.removed ?? [] };
}

async function listLabels(call: ApiCall) {
  const { labels } = await listCondaLabels(acting(call), publishing(call), param(call, "channel"));
  // is_locked: pkgate has no locked labels
  return Object.fromEntries(labels.map((l) => [l.label, { is_locked: false, num_files: l.files }]));
}

async function showLabel(call: ApiCall) {
  const conda = publishing(call);
  const label = checkLabel(param(call, "label"));
  const { channel } = await listCondaLabels(acting(call), conda, param(call, "channel"));
  const files = await conda.publisher.files(channel, label);
  if (files.length === 0) throw new GateError("not_found", `${channel} has no label ${label}`);
  return { name: label, is_locked: false, files: files.map((f) => fileView(channel, f)) };
}

/** add_channel: the selected files, from every other label that holds them, into `label`. */
async function addLabel(call: ApiCall) {
  const conda = publishing(call);
  const to = checkLabel(param(call, "label"));
  const sel = bodySelector(call.body);
  if (sel === null) throw new GateError("bad_request", "name the package (and version or file) to put into the label; `anaconda label --copy FROM TO` copies a whole label");
  const channel = param(call, "channel");
  const done: CopyResult[] = [];
  for (const from of (await listCondaLabels(acting(call), conda, channel)).labels.map((l) => l.label)) {
    if (from === to) continue;
    try {
      done.push(await copyCondaLabel(acting(call), conda, channel, from, to, sel, false));
    } catch (e) {
      if (!(e instanceof GateError && e.code === "not_found")) throw e;
    }
  }
  if (done.length === 0) throw new GateError("not_found", `${channel}/${sel.file ?? `${sel.name}${sel.version ? `/${sel.version}` : ""}`} is in no other label of ${channel}`);
  return { label: to, copied: [...new Set(done.flatMap((d) => d.copied))].sort(), skipped: [...new Set(done.flatMap((d) => d.skipped))].sort() };
}

/** remove_channel: the selected files (or, with no package, every file) out of `label`. */
async function removeLabel(call: ApiCall) {
  const label = checkLabel(param(call, "label"));
  const sel = bodySelector(call.body);
  if (sel === null && label === MAIN_LABEL) throw new GateError("bad_request", "main is the channel's root and cannot be removed; remove its packages with `anaconda remove OWNER/PACKAGE`");
  return removeCondaPackages(acting(call), publishing(call), param(call, "channel"), sel, label);
}

async function copyLabel(call: ApiCall) {
  const r = await copyCondaLabel(acting(call), publishing(call), param(call, "channel"), param(call, "label"), param(call, "to"), null, false);
  return r;
}

async function lockLabel(): Promise<never> {
  throw new GateError("method_not_allowed", "pkgate does not lock labels: who may change a label is who may write its packages (the organization's groups)");
}

/** `anaconda copy`: POST refuses a file the target holds with other bytes, PUT (--replace)
 * overwrites it, PATCH (--update) leaves it. */
function copyPackage(existing: OnExisting) {
  return async (call: ApiCall) => {
    const b = v.objectBody(call.body ?? {}, ["to_owner", "from_channel", "to_channel"]);
    const owner = param(call, "owner");
    const text = (x: unknown, field: string): string | undefined => {
      if (x === null || x === undefined) return undefined;
      if (typeof x !== "string") throw new GateError("bad_request", `the field "${field}" must be a string`);
      return x;
    };
    // no --to-owner: the caller's own account, as anaconda.org has it
    const toOwner = text(b.to_owner, "to_owner") ?? call.me?.name ?? owner;
    const file = call.params["subdir"] === undefined ? undefined : `${param(call, "subdir")}/${param(call, "file")}`;
    const sel = checkSelector(param(call, "pkg"), param(call, "ver"), file);
    const from = text(b.from_channel, "from_channel") ?? MAIN_LABEL;
    const to = text(b.to_channel, "to_channel") ?? MAIN_LABEL;
    // another account: read there, write here
    const r =
      toOwner.toLowerCase() !== owner.toLowerCase()
        ? await copyCondaAcross(acting(call), publishing(call), owner, from, toOwner, to, sel, existing)
        : await copyCondaLabel(acting(call), publishing(call), owner, from, to, sel, false, existing);
    const into = r.toChannel ?? r.channel;
    return r.copied.map((path) => ({ basename: path, full_name: `${into}/${sel.name}/${sel.version}/${path}`, owner: into, from_label: r.from, to_label: r.to }));
  };
}

const tag = "anaconda-client";
const client = "anaconda-client" as const;
const selectorRequest: Schema = {
  type: "object",
  properties: {
    package: { type: ["string", "null"] },
    version: { type: ["string", "null"] },
    basename: { type: ["string", "null"], description: "<subdir>/<package file name>" },
  },
  additionalProperties: false,
};
const copyRequest: Schema = {
  type: "object",
  properties: { to_owner: { type: ["string", "null"], description: "the account to copy into (default: the caller's own); read on the package in the owner's channel, write in this one" }, from_channel: { type: ["string", "null"], description: "label (default main)" }, to_channel: { type: ["string", "null"], description: "label (default main)" } },
  additionalProperties: false,
};
const copiedFiles: Schema = { type: "array", items: { type: "object", properties: { basename: { type: "string" }, full_name: { type: "string" } }, required: ["basename"] } };
const COPY = "/copy/package/{owner}/{pkg}/{ver}";

function copyRoutes(): ApiRoute[] {
  const out: ApiRoute[] = [];
  for (const [method, existing, what] of [
    ["POST", "refuse", "a file the target label holds with other bytes: 409"],
    ["PUT", "replace", "(--replace) a file the target label holds with other bytes is overwritten"],
    ["PATCH", "skip", "(--update) a file the target label holds is left as it is"],
  ] as const) {
    for (const [path, one] of [
      [`${COPY}/`, false],
      [`${COPY}/{subdir}/{file}`, true],
    ] as const) {
      out.push({
        method,
        path,
        operationId: `anacondaCopy${method[0]}${method.slice(1).toLowerCase()}${one ? "File" : "Release"}`,
        summary: `anaconda copy: ${one ? "one file" : "every file of a version"} from label from_channel of the owner's channel into label to_channel of to_owner's (default: the caller's account); ${what}. Answers the files copied.`,
        tag,
        auth: "token",
        action: "conda:upload",
        request: copyRequest,
        response: { status: 200, description: "the files copied", schema: copiedFiles },
        errors: [404, 409, 503],
        handle: copyPackage(existing),
      });
    }
  }
  return out;
}

const removal = (status: 201, description: string) => ({ status, description, schema: { type: "object" } });

export const anacondaLabelRoutes: ApiRoute[] = [
  {
    method: "DELETE",
    path: "/package/{owner}/{pkg}",
    operationId: "anacondaRemovePackage",
    summary: "anaconda remove OWNER/PKG: every file of the conda package out of every label, and its environments or notebooks; 201 as the client expects.",
    tag,
    auth: "token",
    action: "conda:upload",
    response: removal(201, "removed, per label"),
    errors: [404, 503],
    handle: (call) => removeEverywhere(call, param(call, "pkg")),
  },
  {
    method: "DELETE",
    path: "/release/{owner}/{pkg}/{ver}",
    operationId: "anacondaRemoveRelease",
    summary: "anaconda remove OWNER/PKG/VER: every file of that version out of every label (an environment's or notebook's too); 201 as the client expects.",
    tag,
    auth: "token",
    action: "conda:upload",
    response: removal(201, "removed, per label"),
    errors: [404, 503],
    handle: (call) => removeEverywhere(call, param(call, "pkg"), param(call, "ver")),
  },
  {
    method: "GET",
    path: "/channels/{channel}",
    operationId: "anacondaListLabels",
    summary: "anaconda label --list: the channel's labels, {label: {is_locked, num_files}} (to anaconda-client; pkgate's own clients get the channel's privacy here).",
    tag,
    client,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "label → what it holds", schema: { type: "object", additionalProperties: { type: "object", properties: { is_locked: { type: "boolean" }, num_files: { type: "integer" } } } } },
    errors: [404, 503],
    handle: listLabels,
  },
  {
    method: "GET",
    path: "/channels/{channel}/{label}",
    operationId: "anacondaShowLabel",
    summary: "anaconda label --show LABEL: the files the label holds, each as owner/package/version/basename (full_name).",
    tag,
    client,
    auth: "token",
    action: "conda:upload",
    response: { status: 200, description: "the label", schema: { type: "object", properties: { name: { type: "string" }, is_locked: { type: "boolean" }, files: copiedFiles }, required: ["is_locked", "files"] } },
    errors: [404, 503],
    handle: showLabel,
  },
  {
    method: "POST",
    path: "/channels/{channel}/{label}",
    operationId: "anacondaAddLabel",
    summary: "anaconda move (its first step): put a package, a version or a file into the label, copied from the other labels holding it (same bytes: left; other bytes: 409); 201.",
    tag,
    client,
    auth: "token",
    action: "conda:upload",
    request: selectorRequest,
    response: { status: 201, description: "copied", schema: { type: "object" } },
    errors: [404, 409, 503],
    handle: addLabel,
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/{label}",
    operationId: "anacondaRemoveLabel",
    summary: "anaconda label --remove LABEL (no package: every file of the label; main cannot be emptied so) and anaconda move (its second step: the package, version or file out of the label); 201.",
    tag,
    client,
    auth: "token",
    action: "conda:upload",
    request: selectorRequest,
    response: removal(201, "removed"),
    errors: [404, 503],
    handle: removeLabel,
  },
  {
    method: "POST",
    path: "/channels/{channel}/{label}/copy/{to}",
    operationId: "anacondaCopyLabel",
    summary: "anaconda label --copy FROM TO: every file of the label into another (same bytes: left; other bytes: 409); 201.",
    tag,
    client,
    auth: "token",
    action: "conda:upload",
    response: { status: 201, description: "copied", schema: { type: "object" } },
    errors: [404, 409, 503],
    handle: copyLabel,
  },
  ...(["POST", "DELETE"] as const).map(
    (method): ApiRoute => ({
      method,
      path: "/channels/{channel}/{label}/lock",
      operationId: method === "POST" ? "anacondaLockLabel" : "anacondaUnlockLabel",
      summary: "anaconda label --lock / --unlock: pkgate has no label locks (who may change a label is who may write its packages); 405 saying so.",
      tag,
      client,
      auth: "token",
      action: "conda:upload",
      response: { status: 201, description: "never: labels are not locked" },
      errors: [405],
      handle: lockLabel,
    }),
  ),
  ...copyRoutes(),
];
