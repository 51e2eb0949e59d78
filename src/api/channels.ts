// Channels and package privacy: a channel's default privacy and each package's own
// setting (conda and PyPI names alike, normalized). Reading a package that the caller may
// not see answers 404, exactly as for one that does not exist.
import { GateError } from "../errors.js";
import type { Account } from "../access/model.js";
import { privacyOf } from "../access/policy.js";
import * as v from "./validate.js";
import { levelOn, requireManage } from "./rights.js";
import { atLeast } from "../access/policy.js";
import { me, param, ref, type ApiCall, type ApiRoute } from "./route.js";

async function channel(call: ApiCall): Promise<Account> {
  const name = v.accountName(param(call, "channel"), "channel");
  const acc = await call.deps.catalog.getAccount(name);
  if (!acc) throw new GateError("not_found", `no such channel: ${name}`);
  return acc;
}

function channelView(acc: Account): Record<string, unknown> {
  return { name: acc.name, kind: acc.kind, defaultPrivacy: acc.defaultPrivacy, packages: acc.packages };
}

function packageView(acc: Account, pkg: string): Record<string, unknown> {
  const own = Object.hasOwn(acc.packages, pkg) ? acc.packages[pkg] : undefined;
  return { channel: acc.name, package: pkg, privacy: privacyOf(acc, pkg), own: own ?? null };
}

/** Changing a package's privacy needs admin on it; a caller that cannot even read it gets
 * the 404 of a package that does not exist. */
function requirePackageAdmin(call: ApiCall, acc: Account, pkg: string): void {
  const level = levelOn(me(call), acc, pkg);
  if (level === "admin") return;
  if (!atLeast(level, "read")) throw new GateError("not_found", `package "${pkg}" was not found in this channel`);
  throw new GateError("forbidden", `${me(call).principal.account} may not change the privacy of ${acc.name}/${pkg}`);
}

const channelSchema = ref("Channel");
const packageSchema = ref("Package");

export const channelRoutes: ApiRoute[] = [
  {
    method: "GET",
    path: "/channels/{channel}",
    operationId: "getChannel",
    summary: "A channel's default privacy and every package's own setting (channel admins only).",
    tag: "channels",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the channel", schema: channelSchema },
    errors: [404],
    async handle(call) {
      const acc = await channel(call);
      requireManage(me(call), acc);
      return channelView(acc);
    },
  },
  {
    method: "PATCH",
    path: "/channels/{channel}",
    operationId: "setChannelPrivacy",
    summary: "Set the channel's default privacy (packages without their own setting follow it).",
    tag: "channels",
    auth: "token",
    need: "api:write",
    request: ref("ChannelPatch"),
    response: { status: 200, description: "the channel", schema: channelSchema },
    errors: [404],
    async handle(call) {
      const acc = await channel(call);
      requireManage(me(call), acc);
      const privacy = v.privacy(call.body, "defaultPrivacy");
      return channelView(await call.deps.catalog.setChannelPrivacy(acc.name, privacy));
    },
  },
  {
    method: "GET",
    path: "/channels/{channel}/packages/{package}",
    operationId: "getPackage",
    summary: "A package's privacy (its own setting, or the channel's default).",
    tag: "channels",
    auth: "token",
    need: "api:read",
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      const acc = await channel(call);
      const pkg = v.packageName(param(call, "package"));
      if (!atLeast(levelOn(me(call), acc, pkg), "read")) throw new GateError("not_found", `package "${pkg}" was not found in this channel`);
      return packageView(acc, pkg);
    },
  },
  {
    method: "PUT",
    path: "/channels/{channel}/packages/{package}",
    operationId: "setPackagePrivacy",
    summary: "Make one package public or private (admin on the package).",
    tag: "channels",
    auth: "token",
    need: "api:write",
    request: ref("PackagePrivacy"),
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      const acc = await channel(call);
      const pkg = v.packageName(param(call, "package"));
      requirePackageAdmin(call, acc, pkg);
      const privacy = v.privacy(call.body, "privacy");
      return packageView(await call.deps.catalog.setPackagePrivacy(acc.name, pkg, privacy), pkg);
    },
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/packages/{package}",
    operationId: "clearPackagePrivacy",
    summary: "Drop the package's own setting: it follows the channel's default again.",
    tag: "channels",
    auth: "token",
    need: "api:write",
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      const acc = await channel(call);
      const pkg = v.packageName(param(call, "package"));
      requirePackageAdmin(call, acc, pkg);
      return packageView(await call.deps.catalog.clearPackagePrivacy(acc.name, pkg), pkg);
    },
  },
];
