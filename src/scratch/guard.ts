/**
 * A ready-made download guard that refuses every address that is not on the public internet:
 * loopback, private ranges, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT,
 * multicast, documentation and reserved ranges, for IPv4 and IPv6, in every IPv6 spelling that
 * embeds an IPv4 address (mapped, translated, NAT64, 6to4) or tunnels to one (Teredo).
 * @module
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type IPv6 = ipaddr.IPv6;

/**
 * IPv6 ranges whose last 32 bits (or, for 6to4, bits 16..47) are an IPv4 address that a router
 * on the way will connect to: such an address is exactly as public as the IPv4 address inside.
 */
const embedsIPv4: Record<string, (parts: number[]) => [number, number]> = {
  ipv4Mapped: (p) => [p[6]!, p[7]!], // ::ffff:a.b.c.d
  rfc6145: (p) => [p[6]!, p[7]!], // ::ffff:0:a.b.c.d (IPv4-translated)
  '6to4': (p) => [p[1]!, p[2]!], // 2002:aabb:ccdd::/48
};

/**
 * Whether `address` (an IP literal) is a public unicast address. Anything that is not an IP
 * address at all is not public.
 *
 * @example
 * ```ts
 * isPublicAddress('93.184.216.34'); // true
 * isPublicAddress('169.254.169.254'); // false (cloud metadata)
 * isPublicAddress('64:ff9b::a9fe:a9fe'); // false (the same, through NAT64)
 * ```
 */
export function isPublicAddress(address: string): boolean {
  // node:net's parser is strict (no '0x7f.1' or '127.1'); ipaddr.js only classifies what it accepts.
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return ipaddr.IPv4.parse(address).range() === 'unicast';
  return isPublicIPv6(ipaddr.IPv6.parse(dottedTailToHex(address)));
}

/**
 * `::a.b.c.d` as `::xxxx:yyyy`. ipaddr.js reads any dotted tail as IPv4-mapped (`::127.0.0.1`
 * comes back as `::ffff:7f00:1`), while the address really is the IPv4-compatible `::7f00:1`.
 */
function dottedTailToHex(address: string): string {
  return address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_all, a, b, c, d) => {
    const hex = (high: string, low: string) => ((Number(high) << 8) | Number(low)).toString(16);
    return `${hex(a, b)}:${hex(c, d)}`;
  });
}

function isPublicIPv6(address: IPv6): boolean {
  const range = address.range();
  const embedded = embedsIPv4[range];
  if (embedded) return isPublicIPv4Parts(embedded(address.parts));
  // NAT64 well-known prefix 64:ff9b::/96 carries the IPv4 address in its last 32 bits; the
  // local-use prefix 64:ff9b:1::/48 (RFC 8215) may put it anywhere, so it is refused whole.
  if (range === 'rfc6052') {
    const p = address.parts;
    const wellKnown = p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0);
    return wellKnown && isPublicIPv4Parts([p[6]!, p[7]!]);
  }
  // ipaddr.js calls ::a.b.c.d (IPv4-compatible, deprecated since RFC 4291) plain unicast; no
  // host on the internet has such an address, and some stacks still route it to IPv4.
  if (address.parts.slice(0, 6).every((x) => x === 0)) return false;
  // Teredo (2001::/32) tunnels through an IPv4 relay and client: refused along with every other
  // special range (ULA, link-local, multicast, documentation, discard, ORCHIDv2, ...).
  return range === 'unicast';
}

function isPublicIPv4Parts([high, low]: [number, number]): boolean {
  const v4 = new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  return v4.range() === 'unicast';
}

/**
 * A `guard` for `scratch.download` that only lets it connect to public addresses. It is asked at
 * connect time with the resolved address, on every redirect, so DNS names that point inwards and
 * redirects to internal hosts are both refused (DROVE_ERR_DOWNLOAD_REFUSED).
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
