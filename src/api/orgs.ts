// Organizations: creation, admins (the last one cannot leave), groups and their members.
// Each change is one locked read-modify-write of the organization's document in the
// catalog, announced to every replica (a removed member loses access everywhere at once).
import { GateError } from "../errors.js";
import type { Account, Group, Principal } from "../access/model.js";
import { permissionOn, roleOn, atLeast } from "../access/policy.js";
import * as v from "./validate.js";
import { allow, arrayOf, groupView, me, named, orgView, param, ref, type ApiCall, type ApiRoute } from "./route.js";

/** The organization of the path, with the caller authorized for `action` on it; to anyone
 * who may not see it, it does not exist. */
async function org(call: ApiCall, action: "org:read" | "org:modify-group"): Promise<Account> {
  const r = await named(call, "org", v.accountName(param(call, "org"), "org"));
  allow(call, action, r);
  return r.account!;
}

/** What a caller sees of an organization's groups: admins every group; members only the
 * groups they belong to, each with only the package names they may see. */
function groupsFor(principal: Principal, acc: Account): Group[] {
  const groups = acc.groups ?? [];
  if (roleOn(principal, acc, null) === "admin") return groups.map(groupView);
  const user = principal.account;
  return groups
    .filter((g) => user !== null && g.members.includes(user))
    .map((g) => groupView({ ...g, packages: g.packages === "*" ? "*" : g.packages.filter((name) => atLeast(permissionOn(principal, acc, name), "read")) }));
}

function orgViewFor(principal: Principal, acc: Account): Record<string, unknown> {
  return { ...orgView(acc), groups: groupsFor(principal, acc) };
}

function groupOf(groups: Group[], org: string, name: string): Group {
  const g = groups.find((x) => x.name === name);
  if (!g) throw new GateError("not_found", `no group "${name}" in ${org}`);
  return groupView(g);
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
      const caller = me(call);
      const { name, adopt } = v.orgCreate(call.body);
      allow(call, "org:create", { account: null });
      // a folder of the store that has content but no account is adopted on purpose only
      if (adopt) allow(call, "server:admin", { account: null });
      return orgView(await call.deps.catalog.createAccount({ name, kind: "org", admins: [caller.account.name], adopt }));
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
      return orgViewFor(call.principal, await org(call, "org:read"));
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
      const acc = await org(call, "org:modify-group");
      return orgView(await call.deps.catalog.addOrgAdmin(acc.name, v.accountName(param(call, "user"), "user")));
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
      const acc = await org(call, "org:modify-group");
      return orgView(await call.deps.catalog.removeOrgAdmin(acc.name, v.accountName(param(call, "user"), "user")));
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
      return groupsFor(call.principal, await org(call, "org:read"));
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
      const acc = await org(call, "org:modify-group");
      const input = v.groupCreate(call.body);
      return groupOf((await call.deps.catalog.createGroup(acc.name, input)).groups ?? [], acc.name, input.name);
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
      const name = v.groupName(param(call, "group"), "group");
      const acc = await org(call, "org:read");
      return groupOf(groupsFor(call.principal, acc), acc.name, name);
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
      const acc = await org(call, "org:modify-group");
      const name = v.groupName(param(call, "group"), "group");
      return groupOf((await call.deps.catalog.updateGroup(acc.name, name, v.groupPatch(call.body))).groups ?? [], acc.name, name);
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
      const acc = await org(call, "org:modify-group");
      await call.deps.catalog.deleteGroup(acc.name, v.groupName(param(call, "group"), "group"));
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
      const acc = await org(call, "org:modify-group");
      const name = v.groupName(param(call, "group"), "group");
      return groupOf((await call.deps.catalog.addGroupMember(acc.name, name, v.accountName(param(call, "user"), "user"))).groups ?? [], acc.name, name);
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
      const acc = await org(call, "org:modify-group");
      const name = v.groupName(param(call, "group"), "group");
      return groupOf((await call.deps.catalog.removeGroupMember(acc.name, name, v.accountName(param(call, "user"), "user"))).groups ?? [], acc.name, name);
    },
  },
];
