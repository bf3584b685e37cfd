import ipaddr from "ipaddr.js";

/** Who may read /metrics: address ranges, as parsed CIDRs. */
export type AllowList = ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

/** The default: loopback only, like GitLab's monitoring whitelist. */
export const DEFAULT_METRICS_ALLOW = "127.0.0.0/8,::1/128";

/**
 * Parses `10.0.0.0/8, ::1/128, 192.0.2.7` (a bare address is one host).
 * Throws naming the first entry that is not an address or CIDR.
 */
export function parseAllowList(text: string): AllowList {
  const out: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    try {
      if (entry.includes("/")) out.push(ipaddr.parseCIDR(entry));
      else {
        const addr = ipaddr.parse(entry);
        out.push([addr, addr.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      throw new Error(`${entry} is not an IP address or CIDR range`);
    }
  }
  return out;
}

/** True when `address` (v4, v6 or v4-mapped v6 as sockets report it) is in one of the ranges. */
export function isAllowed(list: AllowList, address: string | undefined): boolean {
  if (!address || !ipaddr.isValid(address)) return false;
  const addr = ipaddr.process(address);
  return list.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits));
}
