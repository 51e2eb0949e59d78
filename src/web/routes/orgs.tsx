// The organization pages: Organizations (the user's, and a form to create one), an
// organization's page (its admins, its groups and their members, the channel's default
// privacy) and Group Membership. Every change calls the API's own operation (api/orgs.ts,
// api/channels.ts), which authorizes it and keeps every rule (names, the last admin, a store
// folder's content); a page shows only the forms authorize() allows, and to anyone who may
// not see an organization it is exactly what a missing one is.
import type { Context } from "hono";
import { GateError } from "../../errors.js";
import type { Account } from "../../access/model.js";
import { authorize } from "../../access/authorize.js";
import { GROUP_NAME, isAccountName } from "../../access/names.js";
import { normalizeProjectName } from "../../pypi/names.js";
import * as v from "../../api/validate.js";
import {
  addGroupMember,
  addOrgAdmin,
  createGroup,
  createOrganization,
  deleteGroup,
  groupsFor,
  organization,
  removeGroupMember,
  removeOrgAdmin,
  updateGroup,
  type Acting,
} from "../../api/orgs.js";
import { setDefaultPrivacy } from "../../api/channels.js";
import { channelContents } from "../channel.js";
import { field, fields, type Form } from "../forms.js";
import { frameFor, render, sentence } from "../render.js";
import { EMPTY_GROUP_FORM, MembershipsView, OrganizationsView, OrgView, type GroupForm, type OrgListState, type OrgState } from "../views/orgs.js";
import type { Area, Page } from "../routing.js";
import { href, type Web } from "../web.js";

export const orgPages: Area = (on, { user, form, run }) => {
  const change = [...user, form];
  on("GET", "/organizations", user, run(organizationsPage));
  on("POST", "/organizations", change, run(createOrg));
  on("GET", "/organizations/:org", user, run(orgPage));
  on("POST", "/organizations/:org/admins", change, run(addAdmin));
  on("POST", "/organizations/:org/admins/remove", change, run(removeAdmin));
  on("POST", "/organizations/:org/privacy", change, run(setPrivacy));
  on("POST", "/organizations/:org/groups", change, run(newGroup));
  on("POST", "/organizations/:org/groups/:group", change, run(changeGroup));
  on("POST", "/organizations/:org/groups/:group/delete", change, run(dropGroup));
  on("POST", "/organizations/:org/groups/:group/members", change, run(addMember));
  on("POST", "/organizations/:org/groups/:group/members/remove", change, run(removeMember));
  on("GET", "/memberships", user, run(membershipsPage));
};

/** The visitor acting on the catalog: a session's principal (its account's rights). */
const actingOf = (c: Context, web: Web): Acting => ({ catalog: web.deps.catalog, principal: c.get("visitor").principal });

const userField = (f: Form): string => field(f, "user").trim();

/** A group's permission and packages from its form, as the API's GroupCreate / GroupPatch
 * has them: "*", or the checked names and those typed. The API's validation judges them;
 * a typed name is checked by the same rule first only to name it in the refusal. */
function groupFields(f: Form): { permission: string; packages: string[] | "*" } {
  if (field(f, "scope") === "all") return { permission: field(f, "permission"), packages: "*" };
  const typed = splitNames(field(f, "other"));
  for (const name of typed) v.packageName(name, `package name "${name}"`);
  return { permission: field(f, "permission"), packages: [...fields(f, "packages"), ...typed] };
}

const splitNames = (text: string): string[] => text.split(/[\s,]+/).filter((s) => s !== "");

function typedGroup(f: Form): Partial<OrgState> {
  const scope = field(f, "scope") === "all" ? "all" : "listed";
  return { groupForm: { name: field(f, "name").trim(), permission: field(f, "permission"), scope, packages: fields(f, "packages"), other: field(f, "other") } satisfies GroupForm };
}

/** Refusals a page shows beside its form (the rest are the error page's). */
function shown(err: unknown): err is GateError {
  return err instanceof GateError && (err.status === 400 || err.status === 403 || err.status === 404 || err.status === 409);
}

// ---- Organizations ------------------------------------------------------------------------

async function listPage(c: Context, web: Web, extra: Partial<OrgListState>, status = 200): Promise<Response> {
  const visitor = c.get("visitor");
  const state: OrgListState = { standings: await web.directory.standingsOf(visitor.user!.name), name: "", ...extra };
  return render(c, await frameFor(c, web, "Organizations"), <OrganizationsView web={web} visitor={visitor} state={state} />, status);
}

async function organizationsPage(c: Context, web: Web): Promise<Response> {
  const left = c.req.query("left");
  return listPage(c, web, left && isAccountName(left) ? { info: `You are no longer an admin of ${left}.` } : {});
}

async function createOrg(c: Context, web: Web): Promise<Response> {
  const name = field(c.get("form"), "name").trim();
  try {
    // the API's own validation and operation: name rules, a taken name, a store folder with content
    const org = await createOrganization(actingOf(c, web), v.orgCreate({ name }));
    return c.redirect(href(web, `/organizations/${org.name}?done=created`), 303);
  } catch (err) {
    if (!shown(err)) throw err;
    return listPage(c, web, { name, error: sentence(err.message) }, err.status);
  }
}

// ---- an organization's page -----------------------------------------------------------------

async function orgView(c: Context, web: Web, org: Account, extra: Partial<OrgState>, status = 200): Promise<Response> {
  const visitor = c.get("visitor");
  const p = visitor.principal;
  const manage = authorize(p, "org:modify-group", { account: org }).allow;
  const packages = manage ? [...new Set((await channelContents(web.deps.store, org)).packages.map((row) => normalizeProjectName(row.name)))].sort() : [];
  const state: OrgState = {
    org,
    groups: groupsFor(p, org),
    manage,
    setPrivacy: authorize(p, "channel:write", { account: org }).allow,
    packages,
    groupForm: EMPTY_GROUP_FORM,
    ...extra,
  };
  const frame = await frameFor(c, web, org.name, manage ? { active: org.name } : {});
  return render(c, frame, <OrgView web={web} visitor={visitor} state={state} />, status);
}

async function orgPage(c: Context, web: Web): Promise<Response> {
  const org = await organization(actingOf(c, web), c.req.param("org") ?? "", "org:read");
  return orgView(c, web, org, { info: doneMessage(c) });
}

/** What a change did, for the notice after its redirect: the query says which change and
 * whom it named (names only: a link cannot put words of its own on the page). */
type Done = Record<string, string> & { done: string };

function doneMessage(c: Context): string | undefined {
  const q = (k: string) => c.req.query(k) ?? "";
  const user = isAccountName(q("user")) ? q("user") : null;
  const group = GROUP_NAME.test(q("group")) ? q("group") : null;
  const privacy = q("privacy") === "public" || q("privacy") === "private" ? q("privacy") : null;
  switch (q("done")) {
    case "created":
      return "The organization is created, with you as its admin. Add admins and groups below.";
    case "admin-added":
      return user ? `${user} is an admin now.` : undefined;
    case "admin-removed":
      return user ? `${user} is no longer an admin.` : undefined;
    case "privacy":
      return privacy ? `Packages without their own setting are ${privacy} now.` : undefined;
    case "group-created":
      return group ? `The group ${group} is created. Add its members below.` : undefined;
    case "group-changed":
      return group ? `The group ${group} is changed.` : undefined;
    case "group-deleted":
      return group ? `The group ${group} is deleted: its members lost what it gave them.` : undefined;
    case "member-added":
      return user && group ? `${user} is a member of ${group} now.` : undefined;
    case "member-removed":
      return user && group ? `${user} is no longer a member of ${group}.` : undefined;
    default:
      return undefined;
  }
}

/** A change to the organization of the path, through the API's own operation. Done: back to
 * the page, saying what happened (POST, 303, GET). Refused: the page again with the refusal
 * and its status (403 to a member who may not change it), or, to anyone who may not see the
 * organization, the missing answer. */
function changeOrg(act: (a: Acting, org: string, f: Form, group: string) => Promise<Done>, keep?: (f: Form) => Partial<OrgState>): Page {
  return async (c, web) => {
    const a = actingOf(c, web);
    const org = c.req.param("org") ?? "";
    const f = c.get("form");
    let done: Done;
    try {
      done = await act(a, org, f, c.req.param("group") ?? "");
    } catch (err) {
      if (!shown(err)) throw err;
      // the page again, to whoever may see it; anyone else gets the API's own answer
      const acc = await organization(a, org, "org:read").catch(() => {
        throw err;
      });
      return orgView(c, web, acc, { error: sentence(err.message), ...keep?.(f) }, err.status);
    }
    // an admin who removed themselves may see nothing of the organization any more
    if (done.done === "left") return c.redirect(href(web, `/organizations?left=${org}`), 303);
    return c.redirect(href(web, `/organizations/${org}?${new URLSearchParams(done)}`), 303);
  };
}

const addAdmin = changeOrg(async (a, org, f) => {
  await addOrgAdmin(a, org, userField(f));
  return { done: "admin-added", user: userField(f) };
});

const removeAdmin = changeOrg(async (a, org, f): Promise<Done> => {
  await removeOrgAdmin(a, org, userField(f));
  return userField(f) === a.principal.account ? { done: "left" } : { done: "admin-removed", user: userField(f) };
});

// these pages act on organizations only (a user's channel has its own settings)
const setPrivacy = changeOrg(async (a, org, f) => {
  await organization(a, org, "org:read");
  const acc = await setDefaultPrivacy(a, org, { defaultPrivacy: field(f, "defaultPrivacy") });
  return { done: "privacy", privacy: acc.defaultPrivacy };
});

// the refusals of the organization come before any judgement of the form, as in the API
const newGroup = changeOrg(async (a, org, f) => {
  await organization(a, org, "org:modify-group");
  const g = await createGroup(a, org, { name: field(f, "name").trim(), ...groupFields(f) });
  return { done: "group-created", group: g.name };
}, typedGroup);

const changeGroup = changeOrg(async (a, org, f, group) => {
  await organization(a, org, "org:modify-group");
  const g = await updateGroup(a, org, group, groupFields(f));
  return { done: "group-changed", group: g.name };
});

const dropGroup = changeOrg(async (a, org, _f, group) => {
  await deleteGroup(a, org, group);
  return { done: "group-deleted", group };
});

const addMember = changeOrg(async (a, org, f, group) => {
  const g = await addGroupMember(a, org, group, userField(f));
  return { done: "member-added", group: g.name, user: userField(f) };
});

const removeMember = changeOrg(async (a, org, f, group) => {
  const g = await removeGroupMember(a, org, group, userField(f));
  return { done: "member-removed", group: g.name, user: userField(f) };
});

// ---- Group Membership ---------------------------------------------------------------------

async function membershipsPage(c: Context, web: Web): Promise<Response> {
  const memberships = await web.directory.membershipsOf(c.get("visitor").user!.name);
  return render(c, await frameFor(c, web, "Group Membership"), <MembershipsView web={web} memberships={memberships} />);
}
