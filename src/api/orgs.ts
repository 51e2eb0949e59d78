// Organizations: creation, admins (the last one cannot leave), groups and their members.
// Each change is one locked read-modify-write of the organization's document in the
// catalog, announced to every replica (a removed member loses access everywhere at once).
// Each operation is a function of its own (who acts, on which catalog), exported: the API's
// handlers, the web's organization pages and the CLI on the store (as the operator) call the
// same ones, so every rule is here once.
import { GateError } from "../errors.js";
import type { Account, Group, Principal } from "../access/model.js";
import { authorize, enforce } from "../access/authorize.js";
import { permissionOn, roleOn, atLeast } from "../access/policy.js";
import * as v from "./validate.js";
import { accountFor, acting, arrayOf, groupView, me, orgView, param, ref, type Acting, type ApiRoute, type OrgView } from "./route.js";

// the web pages take Acting from here, beside the operations
export type { Acting };

/** The organization named `name` (checked as the API checks its path), with the principal
 * authorized for `action` on it; to anyone who may not see it (and for a user's name), it
 * does not exist. */
export function organization(a: Acting, name: string, action: "org:read" | "org:modify-group"): Promise<Account> {
  return accountFor(a, "org", name, action);
}

/** What a principal sees of an organization's groups: admins every group; members only the
 * groups they belong to, each with only the package names they may see. */
export function groupsFor(principal: Principal, acc: Account): Group[] {
  const groups = acc.groups ?? [];
  if (roleOn(principal, acc, null) === "admin") return groups.map(groupView);
  const user = principal.account;
  return groups
    .filter((g) => user !== null && g.members.includes(user))
    .map((g) => groupView({ ...g, packages: g.packages === "*" ? "*" : g.packages.filter((name) => atLeast(permissionOn(principal, acc, name), "read")) }));
}

/** An organization as the principal sees it: its groups as groupsFor() shows them. */
export function orgViewFor(principal: Principal, acc: Account): OrgView {
  return { ...orgView(acc), groups: groupsFor(principal, acc) };
}

function groupOf(groups: Group[], org: string, name: string): Group {
  const g = groups.find((x) => x.name === name);
  if (!g) throw new GateError("not_found", `no group "${name}" in ${org}`);
  return groupView(g);
}

/** One group of the organization, as the principal sees it (groupsFor); one it may not see
 * does not exist. */
export async function group(a: Acting, org: string, name: string): Promise<Group> {
  const valid = v.groupName(name, "group");
  const acc = await organization(a, org, "org:read");
  return groupOf(groupsFor(a.principal, acc), acc.name, valid);
}

/** A new organization (`input` as v.orgCreate gives it); its first admins are `admins`: the
 * creating user unless told otherwise (the store's operator is no account, and names none).
 * A store folder that has content but no account is adopted on purpose only, by a server
 * admin (the catalog refuses it otherwise). */
export async function createOrganization(a: Acting, input: { name: string; adopt: boolean }, admins: string[] = [a.principal.account!]): Promise<Account> {
  enforce(authorize(a.principal, "org:create", { account: null }));
  if (input.adopt) enforce(authorize(a.principal, "server:admin", { account: null }));
  return a.catalog.createAccount({ name: input.name, kind: "org", admins, adopt: input.adopt });
}

/** Make `user` an admin of the organization (idempotent). */
export async function addOrgAdmin(a: Acting, org: string, user: string): Promise<Account> {
  const acc = await organization(a, org, "org:modify-group");
  return a.catalog.addOrgAdmin(acc.name, v.accountName(user, "user"));
}

/** Remove an admin (an admin may remove themselves); never the last one (409). */
export async function removeOrgAdmin(a: Acting, org: string, user: string): Promise<Account> {
  const acc = await organization(a, org, "org:modify-group");
  return a.catalog.removeOrgAdmin(acc.name, v.accountName(user, "user"));
}

/** A new group; `body` is the API's GroupCreate (name, permission, packages). */
export async function createGroup(a: Acting, org: string, body: unknown): Promise<Group> {
  const acc = await organization(a, org, "org:modify-group");
  const input = v.groupCreate(body);
  return groupOf((await a.catalog.createGroup(acc.name, input)).groups ?? [], acc.name, input.name);
}

/** Change a group's permission and/or packages; `body` is the API's GroupPatch. */
export async function updateGroup(a: Acting, org: string, group: string, body: unknown): Promise<Group> {
  const acc = await organization(a, org, "org:modify-group");
  const name = v.groupName(group, "group");
  return groupOf((await a.catalog.updateGroup(acc.name, name, v.groupPatch(body))).groups ?? [], acc.name, name);
}

/** Delete a group: its members lose what it gave them. */
export async function deleteGroup(a: Acting, org: string, group: string): Promise<void> {
  const acc = await organization(a, org, "org:modify-group");
  await a.catalog.deleteGroup(acc.name, v.groupName(group, "group"));
}

/** Add `user` to a group (idempotent). */
export async function addGroupMember(a: Acting, org: string, group: string, user: string): Promise<Group> {
  const acc = await organization(a, org, "org:modify-group");
  const name = v.groupName(group, "group");
  return groupOf((await a.catalog.addGroupMember(acc.name, name, v.accountName(user, "user"))).groups ?? [], acc.name, name);
}

/** Remove `user` from a group; every replica enforces it within a second. */
export async function removeGroupMember(a: Acting, org: string, group: string, user: string): Promise<Group> {
  const acc = await organization(a, org, "org:modify-group");
  const name = v.groupName(group, "group");
  return groupOf((await a.catalog.removeGroupMember(acc.name, name, v.accountName(user, "user"))).groups ?? [], acc.name, name);
}

const orgSchema = ref("Org");
const groupSchema = ref("Group");

export const orgRoutes: ApiRoute[] = [
  {
    method: "POST",
    path: "/orgs",
    operationId: "createOrg",
    summary: "Create an organization (its channel has the same name); the creating user is its first admin.",
    tag: "orgs",
    auth: "token",
    action: "org:create",
    request: ref("OrgCreate"),
    response: { status: 201, description: "the new organization", schema: orgSchema },
    errors: [409],
    async handle(call) {
      me(call);
      return orgView(await createOrganization(acting(call), v.orgCreate(call.body)));
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}",
    operationId: "getOrg",
    summary: "An organization: admins, groups, default privacy (members and admins only).",
    tag: "orgs",
    auth: "token",
    action: "org:read",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404],
    async handle(call) {
      return orgViewFor(call.principal, await organization(acting(call), param(call, "org"), "org:read"));
    },
  },
  {
    method: "PUT",
    path: "/orgs/{org}/admins/{user}",
    operationId: "addOrgAdmin",
    summary: "Make a user an admin of the organization (idempotent).",
    tag: "orgs",
    auth: "token",
    action: "org:modify-group",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404],
    async handle(call) {
      return orgView(await addOrgAdmin(acting(call), param(call, "org"), param(call, "user")));
    },
  },
  {
    method: "DELETE",
    path: "/orgs/{org}/admins/{user}",
    operationId: "removeOrgAdmin",
    summary: "Remove an admin (an admin may remove themselves); the last admin cannot leave (409).",
    tag: "orgs",
    auth: "token",
    action: "org:modify-group",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404, 409],
    async handle(call) {
      return orgView(await removeOrgAdmin(acting(call), param(call, "org"), param(call, "user")));
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}/groups",
    operationId: "listGroups",
    summary: "The organization's groups: every group for admins, a member's own groups for members.",
    tag: "groups",
    auth: "token",
    action: "org:read",
    response: { status: 200, description: "the groups", schema: arrayOf(groupSchema) },
    errors: [404],
    async handle(call) {
      return groupsFor(call.principal, await organization(acting(call), param(call, "org"), "org:read"));
    },
  },
  {
    method: "POST",
    path: "/orgs/{org}/groups",
    operationId: "createGroup",
    summary: "Create a group with a permission (read, write, admin) on all (\"*\") or listed packages.",
    tag: "groups",
    auth: "token",
    action: "org:modify-group",
    request: ref("GroupCreate"),
    response: { status: 201, description: "the new group", schema: groupSchema },
    errors: [404, 409],
    async handle(call) {
      return createGroup(acting(call), param(call, "org"), call.body);
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}/groups/{group}",
    operationId: "getGroup",
    summary: "One group (members and admins of the organization only).",
    tag: "groups",
    auth: "token",
    action: "org:read",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      return group(acting(call), param(call, "org"), param(call, "group"));
    },
  },
  {
    method: "PATCH",
    path: "/orgs/{org}/groups/{group}",
    operationId: "updateGroup",
    summary: "Change a group's permission and/or packages.",
    tag: "groups",
    auth: "token",
    action: "org:modify-group",
    request: ref("GroupPatch"),
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      return updateGroup(acting(call), param(call, "org"), param(call, "group"), call.body);
    },
  },
  {
    method: "DELETE",
    path: "/orgs/{org}/groups/{group}",
    operationId: "deleteGroup",
    summary: "Delete a group; its members lose what it gave them.",
    tag: "groups",
    auth: "token",
    action: "org:modify-group",
    response: { status: 204, description: "the group is deleted" },
    errors: [404],
    async handle(call) {
      await deleteGroup(acting(call), param(call, "org"), param(call, "group"));
      return null;
    },
  },
  {
    method: "PUT",
    path: "/orgs/{org}/groups/{group}/members/{user}",
    operationId: "addGroupMember",
    summary: "Add a user to a group (idempotent).",
    tag: "groups",
    auth: "token",
    action: "org:modify-group",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      return addGroupMember(acting(call), param(call, "org"), param(call, "group"), param(call, "user"));
    },
  },
  {
    method: "DELETE",
    path: "/orgs/{org}/groups/{group}/members/{user}",
    operationId: "removeGroupMember",
    summary: "Remove a user from a group; every replica enforces it within a second.",
    tag: "groups",
    auth: "token",
    action: "org:modify-group",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      return removeGroupMember(acting(call), param(call, "org"), param(call, "group"), param(call, "user"));
    },
  },
];
