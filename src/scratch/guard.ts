/**
 * A ready-made download guard that refuses every address that is not on the public internet:
 * loopback, private ranges, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT,
 * multicast, documentation and reserved ranges, for IPv4 and IPv6.
 * @module
 */
import { BlockList, isIP } from 'node:net';

// Two lists: a BlockList also matches IPv4 addresses against IPv6 rules via their mapped form.
const nonPublic4 = new BlockList();
const nonPublic6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  // IPv4-mapped addresses in dotted form are checked as IPv4 below; any other spelling is refused.
  ['::ffff:0:0', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic6.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether `address` (an IP literal) is a public unicast address. Anything that is not an IP
 * address at all is not public.
 *
 * @example
 * ```ts
 * isPublicAddress('93.184.216.34'); // true
 * isPublicAddress('169.254.169.254'); // false (cloud metadata)
 * isPublicAddress('::ffff:10.0.0.1'); // false
 * ```
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return !nonPublic4.check(mapped[1]!, 'ipv4');
  return family === 4 ? !nonPublic4.check(address, 'ipv4') : !nonPublic6.check(address, 'ipv6');
}

/**
 * A `guard` for `scratch.download` that only lets it connect to public addresses. It is asked at
 * connect time with the resolved address, on every redirect, so DNS names that point inwards and
 * redirects to internal hosts are both refused (DROVE_ERR_DOWNLOAD).
 *
 * @example
 * ```ts
 * import { publicAddressesOnly, useScratch } from 'drovejs/scratch';
 * await useScratch().download(userSuppliedUrl, { maxBytes: 50e6, guard: publicAddressesOnly });
 * ```
 */
export function publicAddressesOnly(address: string): boolean {
  return isPublicAddress(address);
}
