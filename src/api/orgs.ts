// Organizations: creation, admins (the last one cannot leave), groups and their members.
// Each change is one locked read-modify-write of the organization's document in the
// catalog, announced to every replica (a removed member loses access everywhere at once).
import { GateError } from "../errors.js";
import type { Account } from "../access/model.js";
import * as v from "./validate.js";
import { isMemberOf, requireManage, type Actor } from "./rights.js";
import { arrayOf, groupView, me, orgView, param, ref, type ApiCall, type ApiRoute } from "./route.js";

async function org(call: ApiCall): Promise<Account> {
  return call.deps.catalog.requireAccount(v.accountName(param(call, "org"), "org"), "org");
}

/** Reading an organization: its members and admins; to others it does not exist here. */
function requireMember(actor: Actor, acc: Account): void {
  if (!isMemberOf(actor, acc)) throw new GateError("not_found", `no such organization: ${acc.name}`);
}

function groupOf(acc: Account, name: string) {
  const g = (acc.groups ?? []).find((x) => x.name === name);
  if (!g) throw new GateError("not_found", `no group "${name}" in ${acc.name}`);
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
    need: "api:write",
    request: ref("OrgCreate"),
    response: { status: 201, description: "the new organization", schema: orgSchema },
    errors: [409],
    async handle(call) {
      const actor = me(call);
      if (actor.account.kind !== "user") throw new GateError("forbidden", "organizations are created by users, not with an organization's token");
      const { name } = v.orgCreate(call.body);
      return orgView(await call.deps.catalog.createAccount({ name, kind: "org", admins: [actor.account.name] }));
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}",
    operationId: "getOrg",
    summary: "An organization: admins, groups, default privacy (members and admins only).",
    tag: "orgs",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireMember(me(call), acc);
      return orgView(acc);
    },
  },
  {
    method: "PUT",
    path: "/orgs/{org}/admins/{user}",
    operationId: "addOrgAdmin",
    summary: "Make a user an admin of the organization (idempotent).",
    tag: "orgs",
    auth: "token",
    need: "api:modify-group",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
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
    need: "api:modify-group",
    response: { status: 200, description: "the organization", schema: orgSchema },
    errors: [404, 409],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
      return orgView(await call.deps.catalog.removeOrgAdmin(acc.name, v.accountName(param(call, "user"), "user")));
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}/groups",
    operationId: "listGroups",
    summary: "The organization's groups (members and admins only).",
    tag: "groups",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the groups", schema: arrayOf(groupSchema) },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireMember(me(call), acc);
      return (acc.groups ?? []).map(groupView);
    },
  },
  {
    method: "POST",
    path: "/orgs/{org}/groups",
    operationId: "createGroup",
    summary: "Create a group with a permission (read, write, admin) on all (\"*\") or listed packages.",
    tag: "groups",
    auth: "token",
    need: "api:modify-group",
    request: ref("GroupCreate"),
    response: { status: 201, description: "the new group", schema: groupSchema },
    errors: [404, 409],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
      const input = v.groupCreate(call.body);
      return groupOf(await call.deps.catalog.createGroup(acc.name, input), input.name);
    },
  },
  {
    method: "GET",
    path: "/orgs/{org}/groups/{group}",
    operationId: "getGroup",
    summary: "One group (members and admins of the organization only).",
    tag: "groups",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireMember(me(call), acc);
      return groupOf(acc, v.groupName(param(call, "group"), "group"));
    },
  },
  {
    method: "PATCH",
    path: "/orgs/{org}/groups/{group}",
    operationId: "updateGroup",
    summary: "Change a group's permission and/or packages.",
    tag: "groups",
    auth: "token",
    need: "api:modify-group",
    request: ref("GroupPatch"),
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
      const name = v.groupName(param(call, "group"), "group");
      return groupOf(await call.deps.catalog.updateGroup(acc.name, name, v.groupPatch(call.body)), name);
    },
  },
  {
    method: "DELETE",
    path: "/orgs/{org}/groups/{group}",
    operationId: "deleteGroup",
    summary: "Delete a group; its members lose what it gave them.",
    tag: "groups",
    auth: "token",
    need: "api:modify-group",
    response: { status: 204, description: "the group is deleted" },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
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
    need: "api:modify-group",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
      const name = v.groupName(param(call, "group"), "group");
      return groupOf(await call.deps.catalog.addGroupMember(acc.name, name, v.accountName(param(call, "user"), "user")), name);
    },
  },
  {
    method: "DELETE",
    path: "/orgs/{org}/groups/{group}/members/{user}",
    operationId: "removeGroupMember",
    summary: "Remove a user from a group; every replica enforces it within a second.",
    tag: "groups",
    auth: "token",
    need: "api:modify-group",
    response: { status: 200, description: "the group", schema: groupSchema },
    errors: [404],
    async handle(call) {
      const acc = await org(call);
      requireManage(me(call), acc);
      const name = v.groupName(param(call, "group"), "group");
      return groupOf(await call.deps.catalog.removeGroupMember(acc.name, name, v.accountName(param(call, "user"), "user")), name);
    },
  },
];
