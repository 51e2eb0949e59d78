// Which peers may speak for a client through X-Forwarded-*: only the configured proxies
// (TRUST_PROXY: addresses or IPv4/IPv6 CIDRs). Everyone else could forge the header.
import { BlockList, isIP } from "node:net";

const lists = new Map<string, BlockList>();

function blockListOf(trusted: string[]): BlockList {
  const key = trusted.join(",");
  let list = lists.get(key);
  if (list) return list;
  list = new BlockList();
  for (const entry of trusted) {
    const [addr, bits] = entry.split("/");
    const family = isIP(addr ?? "") === 6 ? "ipv6" : "ipv4";
    if (!addr || !isIP(addr)) continue;
    if (bits !== undefined) list.addSubnet(addr, Number(bits), family);
    else list.addAddress(addr, family);
  }
  lists.set(key, list);
  return list;
}

export function isTrustedProxy(peer: string, trusted: string[]): boolean {
  if (trusted.length === 0 || !isIP(peer)) return false;
  const mapped = peer.startsWith("::ffff:") && isIP(peer.slice(7)) === 4 ? peer.slice(7) : peer;
  const family = isIP(mapped) === 6 ? "ipv6" : "ipv4";
  return blockListOf(trusted).check(mapped, family);
}

/** The client behind a chain of proxies: walking X-Forwarded-For from the right, the first
 * address that is not a trusted proxy. Entries left of it could have been written by the
 * client itself, so they are never believed. */
export function clientOf(peer: string, forwardedFor: string | undefined, trusted: string[]): string {
  if (!forwardedFor || !isTrustedProxy(peer, trusted)) return peer;
  const hops = forwardedFor.split(",").map((s) => hostOf(s.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return peer;
    if (!isTrustedProxy(hop, trusted)) return hop;
  }
  return hops[0] ?? peer;
}

/** A hop as some proxies write it, with a port (`203.0.113.7:51234`, Azure's) or brackets
 * (`[2001:db8::1]:443`), → the address; anything else as it is. Without this every client
 * behind such a proxy was the proxy itself: one budget for all of them. */
function hostOf(hop: string): string {
  const v6 = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(hop);
  if (v6 && isIP(v6[1]!) === 6) return v6[1]!;
  const v4 = /^([\d.]+):\d{1,5}$/.exec(hop);
  if (v4 && isIP(v4[1]!) === 4) return v4[1]!;
  return hop;
}
