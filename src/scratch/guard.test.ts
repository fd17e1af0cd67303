import { describe, expect, it } from 'vitest';
import { isPublicAddress, publicAddressesOnly } from './guard.js';

describe('isPublicAddress()', () => {
  it('accepts public unicast addresses, and embedded spellings of public IPv4 addresses', () => {
    for (const a of [
      '93.184.216.34',
      '8.8.8.8',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001:80b::200e',
      '::ffff:8.8.8.8', // IPv4-mapped
      '::ffff:808:808', // the same, hex
      '::ffff:0:8.8.8.8', // IPv4-translated (RFC 6145)
      '64:ff9b::8.8.8.8', // NAT64 well-known prefix (RFC 6052)
      '64:ff9b::808:808',
      '2002:808:808::1', // 6to4 of 8.8.8.8
    ]) {
      expect(isPublicAddress(a), a).toBe(true);
    }
  });

  it('refuses loopback, private, link-local, CGNAT, multicast, reserved and non-addresses', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.9.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '192.0.2.1',
      '198.18.0.1',
      '224.0.0.1',
      '240.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fe80::1%eth0',
      'fec0::1',
      'fd00::1',
      'fc00::1',
      'ff02::1',
      '100::1', // discard
      '2001:db8::1', // documentation
      '3fff::1', // documentation (RFC 9637)
      '2001:20::1', // ORCHIDv2
      'localhost',
      '127.1', // not a strict literal: never classified, never public
      '0x7f.0.0.1',
      '',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('refuses every IPv6 spelling that embeds or tunnels to a non-public IPv4 address', () => {
    for (const a of [
      // IPv4-mapped
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:169.254.169.254',
      '::ffff:10.0.0.1',
      '0:0:0:0:0:ffff:c0a8:101',
      // IPv4-translated ::ffff:0:0:0/96
      '::ffff:0:127.0.0.1',
      '::ffff:0:a9fe:a9fe',
      '::ffff:0:0a00:1',
      // IPv4-compatible (deprecated), whatever is inside
      '::127.0.0.1',
      '::7f00:1',
      '::169.254.169.254',
      '::8.8.8.8',
      // NAT64 well-known prefix 64:ff9b::/96: the cloud metadata address and loopback
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::169.254.169.254',
      '64:ff9b::7f00:1',
      '64:ff9b::10.0.0.1',
      // NAT64 local-use prefix 64:ff9b:1::/48, refused whole
      '64:ff9b:1::a9fe:a9fe',
      '64:ff9b:1::808:808',
      // 6to4 2002::/16 with a non-public IPv4 in bits 16..47
      '2002:7f00:1::',
      '2002:a9fe:a9fe::1',
      '2002:c0a8:101::1',
      '2002:a00:1::1',
      // Teredo 2001::/32, refused whole
      '2001::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('is what publicAddressesOnly() answers', () => {
    expect(publicAddressesOnly('64:ff9b::a9fe:a9fe')).toBe(false);
    expect(publicAddressesOnly('8.8.8.8')).toBe(true);
  });
});
