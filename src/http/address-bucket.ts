// The address a per-address limit counts a client under. An IPv4 client is its address; an
// IPv6 client is its /64 (the least a provider hands one host or one home: a host with a /64
// picks any of its 2^64 addresses at will, so counting full addresses would give it as many
// budgets); an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for
// an IPv4 peer) is the IPv4 client it maps. Anything else ("unknown", "local") is itself.
// Every per-address limit gets its key from here, through http/identify.ts clientAddress:
// the password throttle, the budget of unknown tokens, sign-up and recovery.
import { isIP } from "node:net";

/** `203.0.113.7` → itself; `2001:db8:1:2:aaaa::1` → `2001:db8:1:2::/64`; `::ffff:203.0.113.7`
 * → `203.0.113.7`. A /64 is written in the shortest form of its first four groups. */
export function addressBucket(address: string): string {
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return address;
  const g = groupsOf(bare);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  return `${g.slice(0, 4).map((n) => n.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (isIP said so): `::` filled in, a dotted
 * IPv4 tail made two groups. */
function groupsOf(ip: string): number[] {
  const half = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    for (const part of s.split(":")) {
      if (part.includes(".")) {
        const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(part, 16));
    }
    return out;
  };
  const gap = ip.indexOf("::");
  if (gap === -1) return half(ip);
  const head = half(ip.slice(0, gap));
  const tail = half(ip.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
