/**
 * Header rewriting for the balancer: what goes to an instance and what comes back to the client.
 *
 * Both directions work on flat `[name, value, name, value, …]` arrays (Node's `rawHeaders`, and
 * what the balancer's instance connections in upstream.ts read) so that repeated headers such as
 * `Set-Cookie` survive untouched and no per-request object is built.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { isIPv6 } from 'node:net';

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * Headers some frameworks read as "the client's address", set by a CDN or proxy. A client can send
 * them itself, so they are dropped unless `trustProxy` (like `X-Forwarded-*` and `Forwarded`).
 */
export const CLIENT_ADDRESS_HEADERS: ReadonlySet<string> = new Set([
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
]);

/** RFC 3986 reg-name (unreserved, pct-encoded, sub-delims) or IPv4address: never empty here. */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;

/**
 * Whether `value` is an RFC 3986 `host [ ":" port ]`: a reg-name or IPv4 address, or an IPv6
 * literal in brackets, and a port of 1 to 5 digits up to 65535. IPvFuture, zone ids, an empty
 * host or port, userinfo (`x@evil.example`) and paths (`evil/../x`) are refused.
 */
export function isValidHost(value: string): boolean {
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return false;
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return false;
      port = rest.slice(1);
    }
    if (!isIPv6(host) || host.includes('%')) return false;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!REG_NAME.test(host)) return false;
  }
  return port === undefined || (/^\d{1,5}$/.test(port) && Number(port) <= 65_535);
}

/**
 * The request's one well-formed Host (RFC 9112 §3.2), or why it has none: HTTP/1.1 needs exactly
 * one; HTTP/1.0 may have none (then '' is returned).
 */
export function requestHost(
  raw: readonly string[],
  httpVersion: string,
): { host: string } | { refused: string } {
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue;
    if (host !== undefined) return { refused: 'more than one Host header' };
    host = raw[i + 1] as string;
  }
  if (host === undefined) {
    return httpVersion === '1.0' ? { host: '' } : { refused: 'no Host header' };
  }
  if (!isValidHost(host)) return { refused: 'the Host header is not a valid host[:port]' };
  return { host };
}

/** A request id we accept from a client: Heroku's rule, 20 to 200 safe characters. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9+/=_.:-]{20,200}$/;

/** What the balancer knows about the client connection a request came in on. */
export interface ForwardContext {
  /** Peer address of the client connection. */
  remoteAddress: string;
  /** `http` (the balancer has no TLS of its own). */
  proto: string;
  /** Keep the client's `X-Forwarded-*`/`Forwarded` headers and append to them. */
  trustProxy: boolean;
  /** Keep `Connection: upgrade` and `Upgrade` (WebSocket hand-off). */
  upgrade: boolean;
}

/**
 * Build the header list sent to an instance from the client's `rawHeaders`.
 *
 * Drops hop-by-hop headers (and those named in `Connection`), drops client-supplied
 * `X-Forwarded-*`, `Forwarded` and {@link CLIENT_ADDRESS_HEADERS} unless `trustProxy`, then sets
 * `X-Forwarded-For`, `-Proto`, `-Host` (from a valid Host only) and `X-Request-Id` (a client's id
 * is kept when it looks like one: 20–200 safe chars). The Host was checked by requestHost().
 *
 * @example
 * ```ts
 * forwardRequestHeaders(req.rawHeaders, { remoteAddress: '127.0.0.1', proto: 'http',
 *   trustProxy: false, upgrade: false });
 * // ['host', 'example.test', …, 'x-forwarded-for', '127.0.0.1', 'x-request-id', '…']
 * ```
 */
export function forwardRequestHeaders(raw: readonly string[], ctx: ForwardContext): string[] {
  const out: string[] = [];
  let host = '';
  let requestId = '';
  let forwardedFor = '';
  let forwardedProto = '';
  let forwardedHost = '';
  let connectionTokens: Set<string> | undefined;
  let upgradeValue = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.length > 0 ? name.toLowerCase() : name;
    if (lower === 'host') {
      // requestHost() refuses a second one before a request gets here; a second is still never
      // forwarded (defence in depth for other callers).
      if (host) continue;
      host = value;
      out.push(name, value);
    } else if (lower === 'expect') {
      // Node already answered `100-continue` to the client; the body follows as usual.
    } else if (lower === 'connection') {
      connectionTokens = addTokens(connectionTokens, value);
    } else if (lower === 'upgrade') {
      upgradeValue = value;
    } else if (HOP_BY_HOP.has(lower)) {
      // dropped: framing is re-done on each hop
    } else if (lower === 'x-request-id') {
      requestId = value;
    } else if (CLIENT_ADDRESS_HEADERS.has(lower)) {
      if (ctx.trustProxy) out.push(name, value);
    } else if (lower.startsWith('x-forwarded-') || lower === 'forwarded') {
      if (!ctx.trustProxy) continue;
      if (lower === 'x-forwarded-for')
        forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
      else if (lower === 'x-forwarded-proto') forwardedProto ||= value;
      else if (lower === 'x-forwarded-host') {
        if (!forwardedHost && isValidHost(value)) forwardedHost = value;
      } else out.push(name, value);
    } else {
      out.push(name, value);
    }
  }
  if (connectionTokens) dropNamed(out, connectionTokens);
  if (ctx.upgrade && upgradeValue) out.push('connection', 'upgrade', 'upgrade', upgradeValue);
  out.push(
    'x-forwarded-for',
    forwardedFor ? `${forwardedFor}, ${ctx.remoteAddress}` : ctx.remoteAddress,
    'x-forwarded-proto',
    forwardedProto || ctx.proto,
    'x-request-id',
    CLIENT_REQUEST_ID.test(requestId) ? requestId : randomUUID(),
  );
  if (forwardedHost || host) out.push('x-forwarded-host', forwardedHost || host);
  return out;
}

/** An instance's response headers, ready for `res.writeHead`. */
export interface BackHeaders {
  /** Flat `[name, value, …]` list without hop-by-hop headers. */
  headers: string[];
  /** The `Content-Length` the instance announced, or -1. */
  contentLength: number;
}

/**
 * Turn an instance's raw response headers (strings, or Buffers) into the flat string list for
 * `res.writeHead`, without hop-by-hop headers: Node frames the response to the client itself.
 * Header bytes are Latin-1 on the wire, as Node's own parser reads them.
 */
export function backResponseHeaders(raw: readonly (Buffer | string)[]): BackHeaders {
  const headers: string[] = [];
  let contentLength = -1;
  let connectionTokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i] as Buffer | string);
    const value = latin1(raw[i + 1] as Buffer | string);
    // Only names as long as a hop-by-hop one (or content-length) need a closer look.
    const len = name.length;
    if (len === 2 || len === 7 || len === 10 || len === 14 || len === 16 || len === 17) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        if (value !== 'keep-alive' && value !== 'close') {
          connectionTokens = addTokens(connectionTokens, value);
        }
        continue;
      }
      if (HOP_BY_HOP.has(lower)) continue;
      if (lower === 'content-length') contentLength = Number(value);
    }
    headers.push(name, value);
  }
  if (connectionTokens) dropNamed(headers, connectionTokens);
  return { headers, contentLength };
}

function latin1(bytes: Buffer | string): string {
  return typeof bytes === 'string' ? bytes : bytes.toString('latin1');
}

function addTokens(set: Set<string> | undefined, value: string): Set<string> {
  const tokens = set ?? new Set<string>();
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') tokens.add(t);
  }
  return tokens;
}

/** Remove, in place, the headers a `Connection` header named as hop-by-hop. */
function dropNamed(list: string[], names: Set<string>): void {
  if (names.size === 0) return;
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (names.has((list[r] as string).toLowerCase())) continue;
    list[w++] = list[r] as string;
    list[w++] = list[r + 1] as string;
  }
  list.length = w;
}
