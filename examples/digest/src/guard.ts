/**
 * Which addresses a download may connect to. Checked on the resolved IP at connect time and on
 * every redirect, so DNS tricks and redirects to internal hosts are caught, not just the URL text.
 */
import ipaddr from 'ipaddr.js';

export class ForbiddenTargetError extends Error {
  constructor(readonly address: string) {
    super(`downloads from ${address} are not allowed (private, loopback or reserved address)`);
  }
}

/** True when `address` is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

/** A connect-time check: throws unless the address is public or private targets are allowed. */
export function addressGuard(allowPrivate: boolean): (address: string) => void {
  return (address) => {
    if (!allowPrivate && !isPublicAddress(address)) throw new ForbiddenTargetError(address);
  };
}

/** The URL as submitted by a user: http(s) only, no credentials. */
export function parseSubmittedUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UserError('That is not a URL. Enter an address starting with http:// or https://.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`Only http:// and https:// URLs can be digested, not ${url.protocol}`);
  }
  if (url.username || url.password)
    throw new UserError('URLs with a user name or password are not accepted.');
  return url;
}

/** An error whose message is meant for the user as it is. */
export class UserError extends Error {}
