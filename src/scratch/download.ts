/**
 * `scratch.download`: stream a URL into the scratch directory with a size cap, a deadline, an
 * optional checksum, progress reports, and a guard asked for every address actually connected to
 * (after DNS, on every redirect), so user-supplied URLs cannot reach internal services.
 * @module
 */
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DownloadChecksumError,
  DownloadError,
  DownloadTimeoutError,
  DownloadTooLargeError,
  DroveError,
} from '../errors.js';

/**
 * Decide whether a download may connect to `address` (an IP literal, already resolved) for `url`.
 * Return `false` to refuse; anything else allows. Called for every hop of a redirect chain.
 */
export type DownloadGuard = (address: string, family: number, url: URL) => boolean | undefined;

/** Progress of a download, reported after each chunk is received. */
export interface DownloadProgress {
  /** Bytes received so far. */
  bytes: number;
  /** From Content-Length, when the server sent one. */
  total: number | undefined;
}

/** Options of `scratch.download`. */
export interface DownloadOptions {
  /** File name inside the scratch directory. Default: `download-<n>`. */
  name?: string;
  /** Refuse bodies larger than this (DROVE_ERR_DOWNLOAD_TOO_LARGE). The quotas apply as well. */
  maxBytes?: number;
  /** Deadline for the whole download, redirects included (DROVE_ERR_DOWNLOAD_TIMEOUT). Default 60 s. */
  timeoutMs?: number;
  /** Expected SHA-256 of the body in hex (DROVE_ERR_DOWNLOAD_CHECKSUM on mismatch). */
  sha256?: string;
  /** Called after every chunk. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Abort the download (DROVE_ERR_DOWNLOAD); the transaction's own signal always applies. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /** Refuse addresses at connect time; see `publicAddressesOnly`. */
  guard?: DownloadGuard;
  /** DNS resolution to use instead of `dns.lookup` (it is asked with `all: true`). */
  lookup?: LookupFunction;
}

/** What a finished download produced. */
export interface DownloadResult {
  /** Absolute path of the file inside the scratch directory. */
  path: string;
  bytes: number;
  /** SHA-256 of the body, hex. */
  sha256: string;
  /** The URL finally read, after redirects. */
  url: string;
  contentType: string | undefined;
}

/** The part of a scratch space a download writes through. */
export interface DownloadTarget {
  readonly signal: AbortSignal;
  file(name: string): string;
  createWriteStream(name: string): Writable;
  remove(name: string): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
let downloads = 0;

/** Stream `input` into `target`; see `DownloadOptions`. */
export async function download(
  target: DownloadTarget,
  input: string | URL,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const first = parseUrl(input);
  const { maxBytes = Number.POSITIVE_INFINITY, timeoutMs = 60_000, maxRedirects = 5 } = options;
  const name = options.name ?? `download-${++downloads}`;
  const path = target.file(name);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signals = [deadline.signal, target.signal];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let url = first;
  let sink: Writable | undefined;
  const { Agent, request } = await import('undici');
  // A fresh agent per download: no pooled connection can skip the guard.
  const agent = new Agent({
    connect: { lookup: guardedLookup(options, () => url) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  try {
    for (let hop = 0; ; hop++) {
      checkTarget(url, options.guard);
      const res = await request(url, { dispatcher: agent, signal, headers: options.headers });
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
        await res.body.dump();
        if (hop >= maxRedirects) throw fail(url, `more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        await res.body.dump();
        throw fail(url, `HTTP ${res.statusCode}`);
      }
      const length = Number(res.headers['content-length']);
      const total = Number.isSafeInteger(length) ? length : undefined;
      if (total !== undefined && total > maxBytes) {
        res.body.on('error', () => {}).destroy();
        throw new DownloadTooLargeError({ url: url.href, limit: maxBytes });
      }
      const hash = createHash('sha256');
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) {
            return callback(new DownloadTooLargeError({ url: url.href, limit: maxBytes }));
          }
          hash.update(chunk);
          try {
            options.onProgress?.({ bytes, total });
          } catch (err) {
            return callback(err as Error);
          }
          callback(null, chunk);
        },
      });
      sink = target.createWriteStream(name);
      await pipeline(res.body, meter, sink, { signal });
      const sha256 = hash.digest('hex');
      if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256) {
        throw new DownloadChecksumError({
          url: url.href,
          expected: options.sha256,
          actual: sha256,
        });
      }
      const type = res.headers['content-type'];
      return {
        path,
        bytes,
        sha256,
        url: url.href,
        contentType: typeof type === 'string' ? type : undefined,
      };
    }
  } catch (err) {
    // Let the file stream finish closing first, or it could recreate the file after the removal.
    if (sink !== undefined && !sink.closed) await once(sink.destroy(), 'close').catch(() => {});
    await target.remove(name).catch(() => {});
    throw explain(err, url, { deadline, target, timeoutMs, signal: options.signal });
  } finally {
    clearTimeout(timer);
    agent.destroy().catch(() => {});
  }
}

function parseUrl(input: string | URL): URL {
  try {
    return new URL(input);
  } catch {
    throw new DownloadError({ url: String(input), reason: 'not a valid absolute URL' });
  }
}

function fail(url: URL, reason: string): DroveError {
  return new DownloadError({ url: url.href, reason });
}

/** Checks that need no network: the scheme, and hosts that are IP literals (never looked up). */
function checkTarget(url: URL, guard: DownloadGuard | undefined): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(url, `unsupported protocol ${url.protocol}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  if (family !== 0 && guard?.(host, family, url) === false) {
    throw fail(url, `address ${host} refused by the guard`);
  }
}

/** A `lookup` for the socket that resolves every address and keeps only those the guard allows. */
function guardedLookup(options: DownloadOptions, current: () => URL): LookupFunction {
  const resolveAll = options.lookup ?? dnsLookup;
  const guard = options.guard;
  return (hostname, lookupOptions, callback) => {
    resolveAll(hostname, { ...lookupOptions, all: true }, (err, result, resultFamily) => {
      if (err) return callback(err, '', 0);
      const found: LookupAddress[] =
        typeof result === 'string' ? [{ address: result, family: resultFamily ?? 4 }] : result;
      const url = current();
      const allowed = guard
        ? found.filter((a) => guard(a.address, a.family, url) !== false)
        : found;
      if (allowed.length === 0) {
        const list = found.map((a) => a.address).join(', ');
        return callback(fail(url, `${hostname} resolves to refused address ${list}`), '', 0);
      }
      if (lookupOptions.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** Turn whatever went wrong into the one coded error that says why. */
function explain(
  err: unknown,
  url: URL,
  ctx: {
    deadline: AbortController;
    target: DownloadTarget;
    timeoutMs: number;
    signal: AbortSignal | undefined;
  },
): Error {
  const coded = findCoded(err);
  if (coded) return coded;
  if (ctx.target.signal.aborted) return ctx.target.signal.reason as Error;
  const name = (err as { name?: string; code?: string })?.code ?? '';
  if (
    ctx.deadline.signal.aborted ||
    name === 'UND_ERR_HEADERS_TIMEOUT' ||
    name === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new DownloadTimeoutError({ url: url.href, timeoutMs: ctx.timeoutMs }, { cause: err });
  }
  if (ctx.signal?.aborted) {
    return new DownloadError({ url: url.href, reason: 'aborted by the caller' }, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new DownloadError({ url: url.href, reason }, { cause: err });
}

/** A DroveError anywhere in the cause chain (undici and streams wrap socket errors). */
function findCoded(err: unknown): DroveError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof DroveError) return e;
  }
  return undefined;
}
