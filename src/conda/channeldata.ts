// Hiding private packages from channeldata.json, the channel-root summary conda search and
// anaconda-style front ends read: `{channeldata_version, packages: {<name>: {...}}, subdirs: [...]}`.
// Only the hidden names' entries in `packages` go; everything else is copied byte for byte.

import { filterIndexMembers, MemberKind, type Visible } from "./repodata.js";

/** channeldata.json without the hidden packages, or null when nothing is hidden. */
export function filterChanneldata(json: Uint8Array, visible: Visible): Buffer | null {
  return filterIndexMembers(json, { packages: MemberKind.Names }, visible);
}
