// Channels and package privacy: a channel's default privacy and each package's own
// setting (conda and PyPI names alike, normalized). Reading a package that the caller may
// not see answers 404, exactly as for one that does not exist. The operations are functions
// of their own: the API's handlers, the web's pages and the CLI on the store call them.
import type { Account, Privacy } from "../access/model.js";
import { privacyOf } from "../access/policy.js";
import * as v from "./validate.js";
import { accountFor, acting, ref, type Acting, type ApiRoute } from "./route.js";

/** A channel's default privacy, and each package's own setting (the others follow the default). */
export type ChannelView = Pick<Account, "name" | "kind" | "defaultPrivacy" | "packages">;

/** A package's privacy, and its own setting (null: it follows the channel's default). */
export interface PackageView {
  channel: string;
  package: string;
  privacy: Privacy;
  own: Privacy | null;
}

export function channelView(acc: Account): ChannelView {
  return { name: acc.name, kind: acc.kind, defaultPrivacy: acc.defaultPrivacy, packages: acc.packages };
}

export function packageView(acc: Account, pkg: string): PackageView {
  const own = Object.hasOwn(acc.packages, pkg) ? acc.packages[pkg] : undefined;
  return { channel: acc.name, package: pkg, privacy: privacyOf(acc, pkg), own: own ?? null };
}

/** The channel named `name`, with the principal authorized for `action` on it (admins of
 * the whole channel); to anyone who may not see it, it does not exist. */
export function channelFor(a: Acting, name: string, action: "channel:read" | "channel:write"): Promise<Account> {
  return accountFor(a, "channel", name, action);
}

/** Set the channel's default privacy (packages without their own setting follow it);
 * `body` is the API's ChannelPatch. */
export async function setDefaultPrivacy(a: Acting, name: string, body: unknown): Promise<Account> {
  const privacy = v.privacy(body, "defaultPrivacy");
  const acc = await channelFor(a, name, "channel:write");
  return a.catalog.setChannelPrivacy(acc.name, privacy);
}

/** The channel and the package (normalized), with the principal authorized for `action` on
 * the package. A caller that may not manage it gets the same answer whether the package
 * exists, is hidden from it, or is public: rights never depend on what exists. */
async function channelPackage(a: Acting, channel: string, pkgName: string, action: "package:read" | "package:write"): Promise<[Account, string]> {
  const pkg = v.packageName(pkgName);
  return [await accountFor(a, "channel", channel, action, pkg), pkg];
}

/** Set one package's own privacy, or (privacy null) drop it so that the package follows the
 * channel's default again: the API's PUT and DELETE and the web's package page call it. */
export async function setPackagePrivacy(a: Acting, channel: string, pkgName: string, privacy: Privacy | null): Promise<[Account, string]> {
  const [acc, pkg] = await channelPackage(a, channel, pkgName, "package:write");
  return [privacy === null ? await a.catalog.clearPackagePrivacy(acc.name, pkg) : await a.catalog.setPackagePrivacy(acc.name, pkg, privacy), pkg];
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
    action: "channel:read",
    response: { status: 200, description: "the channel", schema: channelSchema },
    errors: [404],
    async handle(call) {
      return channelView(await channelFor(acting(call), call.params.channel ?? "", "channel:read"));
    },
  },
  {
    method: "PATCH",
    path: "/channels/{channel}",
    operationId: "setChannelPrivacy",
    summary: "Set the channel's default privacy (packages without their own setting follow it).",
    tag: "channels",
    auth: "token",
    action: "channel:write",
    request: ref("ChannelPatch"),
    response: { status: 200, description: "the channel", schema: channelSchema },
    errors: [404],
    async handle(call) {
      return channelView(await setDefaultPrivacy(acting(call), call.params.channel ?? "", call.body));
    },
  },
  {
    method: "GET",
    path: "/channels/{channel}/packages/{package}",
    operationId: "getPackage",
    summary: "A package's privacy (its own setting, or the channel's default); admins of the package only.",
    tag: "channels",
    auth: "token",
    action: "package:read",
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      return packageView(...(await channelPackage(acting(call), call.params.channel ?? "", call.params.package ?? "", "package:read")));
    },
  },
  {
    method: "PUT",
    path: "/channels/{channel}/packages/{package}",
    operationId: "setPackagePrivacy",
    summary: "Make one package public or private (admin on the package).",
    tag: "channels",
    auth: "token",
    action: "package:write",
    request: ref("PackagePrivacy"),
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      const privacy = v.privacy(call.body, "privacy");
      return packageView(...(await setPackagePrivacy(acting(call), call.params.channel ?? "", call.params.package ?? "", privacy)));
    },
  },
  {
    method: "DELETE",
    path: "/channels/{channel}/packages/{package}",
    operationId: "clearPackagePrivacy",
    summary: "Drop the package's own setting: it follows the channel's default again.",
    tag: "channels",
    auth: "token",
    action: "package:write",
    response: { status: 200, description: "the package's privacy", schema: packageSchema },
    errors: [404],
    async handle(call) {
      return packageView(...(await setPackagePrivacy(acting(call), call.params.channel ?? "", call.params.package ?? "", null)));
    },
  },
];
