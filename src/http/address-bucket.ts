// The address a per-address limit counts a client under. An IPv4 client is its address; an
// IPv6 client is its /64 (the least a provider hands one host or one home: a host with a /64
// picks any of its 2^64 addresses at will, so counting full addresses would give it as many
// budgets); an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for
// an IPv4 peer) is the IPv4 client it maps. So is every other IPv6 address that carries an IPv4
// client's address (embeddedIPv4): NAT64's 64:ff9b::a.b.c.d (in front of an IPv6-only
// gateway every IPv4 client has one, and a /64 would make them all one client), IPv4-compatible
// and IPv4-translated addresses, 6to4's 2002:AABB:CCDD::/48 (a whole /48 made from one IPv4
// address: 65536 /64s for one host) and Teredo's client (all the clients of a Teredo server
// share its /64). Anything else ("unknown", "local") is itself.
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
  const v4 = embeddedIPv4(g);
  if (v4 !== null) return `${v4[0] >> 8}.${v4[0] & 255}.${v4[1] >> 8}.${v4[1] & 255}`;
  return `${g.slice(0, 4).map((n) => n.toString(16)).join(":")}::/64`;
}

/** The IPv4 client address (two 16-bit groups) an IPv6 address stands for, or null. */
function embeddedIPv4(g: number[]): [number, number] | null {
  const zero = (from: number, to: number) => g.slice(from, to).every((n) => n === 0);
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible; not ::1)
  if (zero(0, 4) && ((g[4] === 0 && g[5] === 0xffff) || (g[4] === 0xffff && g[5] === 0) || (g[4] === 0 && g[5] === 0 && g[6]! >= 0x100))) return [g[6]!, g[7]!];
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return [g[6]!, g[7]!]; // NAT64, RFC 6052
  if (g[0] === 0x2002) return [g[1]!, g[2]!]; // 6to4, RFC 3056
  if (g[0] === 0x2001 && g[1] === 0) return [g[6]! ^ 0xffff, g[7]! ^ 0xffff]; // Teredo, RFC 4380: the client's, inverted
  return null;
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
