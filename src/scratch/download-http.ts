/**
 * One hop of a download on node:http/https: a fresh connection (no pool, so no socket skips the
 * guard), a `lookup` that asks the guard about every address DNS returned, and the decoders for
 * the body's Content-Encoding.
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DownloadError, DownloadRefusedError, type DroveError } from '../errors.js';
import type { DownloadGuard } from './download.js';

export function fail(url: URL, reason: string): DroveError {
  return new DownloadError({ url: url.href, reason });
}

/** Checks that need no network: the scheme, and hosts that are IP literals (never looked up). */
export function checkTarget(url: URL, guard: DownloadGuard | undefined): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(url, `unsupported protocol ${url.protocol}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  if (family !== 0 && guard?.(host, family, url) === false) {
    throw new DownloadRefusedError({
      url: url.href,
      reason: `address ${host} refused by the guard`,
    });
  }
}

/**
 * Send a GET for `url` and settle with its response head. Every emitter involved has an error
 * listener from the start, so nothing a server does can raise an uncaught 'error'.
 */
export function get(
  url: URL,
  opts: {
    headers: Record<string, string>;
    signal: AbortSignal;
    guard: DownloadGuard | undefined;
    lookup: LookupFunction | undefined;
  },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      agent: false,
      headers: opts.headers,
      signal: opts.signal,
      lookup: guardedLookup(url, opts.guard, opts.lookup),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      // The body's errors reach the caller through pipeline(); this listener only keeps an
      // error on a body nobody reads (a redirect, a refused status) from being uncaught.
      res.on('error', () => {});
      resolve(res);
    });
    req.end();
  });
}

/**
 * A `lookup` for the socket that resolves every address and keeps only those the guard allows,
 * so the addresses the socket may connect to are exactly the ones classified (no second DNS
 * answer in between: rebinding cannot slip past it).
 */
function guardedLookup(
  url: URL,
  guard: DownloadGuard | undefined,
  resolve: LookupFunction | undefined,
): LookupFunction {
  const resolveAll = resolve ?? dnsLookup;
  return (hostname, lookupOptions, callback) => {
    resolveAll(hostname, { ...lookupOptions, all: true }, (err, result, resultFamily) => {
      if (err) return callback(err, '', 0);
      const found: LookupAddress[] =
        typeof result === 'string' ? [{ address: result, family: resultFamily ?? 4 }] : result;
      const allowed = guard
        ? found.filter((a) => guard(a.address, a.family, url) !== false)
        : found;
      if (allowed.length === 0) {
        const list = found.map((a) => a.address).join(', ') || 'nothing';
        const reason = `${hostname} resolves to refused address ${list}`;
        return callback(new DownloadRefusedError({ url: url.href, reason }), '', 0);
      }
      if (lookupOptions.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/**
 * The decoders for a Content-Encoding list, in the order to apply them (the last coding applied
 * by the server comes off first). The file holds the decoded bytes, as a browser would save them.
 */
export function decoders(url: URL, header: string | undefined): Transform[] {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.reverse().map((coding) => {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return createGunzip();
      case 'deflate':
        return createInflate();
      case 'br':
        return createBrotliDecompress();
      default:
        throw fail(url, `unsupported Content-Encoding ${coding}`);
    }
  });
}
