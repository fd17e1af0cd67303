/**
 * `scratch.download`: stream a URL into the scratch directory with a size cap, a deadline, an
 * optional checksum, progress reports, and a guard asked for every address actually connected to
 * (after DNS, on every redirect), so user-supplied URLs cannot reach internal services.
 *
 * Built on node:http/https rather than undici: undici 7 (the last major that runs on Node 20)
 * crashes the process on bodies delimited by connection close (HTTP/1.0 servers, undici issue
 * 5360), and node:http handles every framing: close-delimited, chunked and Content-Length.
 * @module
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DownloadChecksumError,
  DownloadError,
  DownloadTimeoutError,
  DownloadTooLargeError,
  DownloadTruncatedError,
  DroveError,
} from '../errors.js';
import { checkTarget, decoders, fail, get } from './download-http.js';

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
  /**
   * Extra request headers. `Authorization`, `Cookie` and `Proxy-Authorization` are dropped on a
   * redirect to another origin. Default `Accept-Encoding: gzip, deflate, br`; the body is decoded.
   */
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
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];
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
  let headers = requestHeaders(options.headers);
  let sink: Writable | undefined;
  let res: IncomingMessage | undefined;
  let received = 0;
  let firstError: { in: 'connection' | 'decoder'; error: Error } | undefined;
  try {
    for (let hop = 0; ; hop++) {
      checkTarget(url, options.guard);
      res = await get(url, { headers, signal, guard: options.guard, lookup: options.lookup });
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && typeof location === 'string') {
        res.resume();
        if (hop >= maxRedirects) throw fail(url, `more than ${maxRedirects} redirects`);
        const next = new URL(location, url);
        if (next.origin !== url.origin) headers = withoutCredentials(headers);
        url = next;
        continue;
      }
      if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
        res.destroy();
        throw fail(url, `HTTP ${res.statusCode}`);
      }
      const decode = decoders(url, res.headers['content-encoding']);
      const length = Number(res.headers['content-length'] ?? Number.NaN);
      const wireLength = Number.isSafeInteger(length) ? length : undefined;
      // Content-Length counts encoded bytes: it says nothing certain about the decoded size.
      const total = decode.length === 0 ? wireLength : undefined;
      if (total !== undefined && total > maxBytes) {
        res.destroy();
        throw new DownloadTooLargeError({ url: url.href, limit: maxBytes });
      }
      const wire = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.byteLength;
          callback(null, chunk);
        },
      });
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
      // The stream that fails first is where the trouble is: pipeline() then destroys the
      // others with the same error, which would make a corrupt gzip body look like a lost
      // connection and the other way round.
      res.once('error', (e) => {
        firstError ??= { in: 'connection', error: e };
      });
      for (const d of decode) {
        d.once('error', (e) => {
          firstError ??= { in: 'decoder', error: e };
        });
      }
      sink = target.createWriteStream(name);
      await pipeline([res, wire, ...decode, meter, sink], { signal });
      // `complete` is set only once the framing's own end was seen (for an unframed body, the
      // close). node:http reports a short body as an error; this catches any end without one.
      if (!res.complete) {
        throw new DownloadTruncatedError({ url: url.href, bytes: received, expected: wireLength });
      }
      const sha256 = hash.digest('hex');
      if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256) {
        throw new DownloadChecksumError({
          url: url.href,
          expected: options.sha256,
          actual: sha256,
        });
      }
      const type = res.headers['content-type'];
      return { path, bytes, sha256, url: url.href, contentType: type };
    }
  } catch (err) {
    res?.destroy();
    // Let the file stream finish closing first, or it could recreate the file after the removal.
    if (sink !== undefined && !sink.closed) await once(sink.destroy(), 'close').catch(() => {});
    await target.remove(name).catch(() => {});
    const wireLength = Number(res?.headers['content-length'] ?? Number.NaN);
    const cutOff =
      firstError?.in === 'decoder'
        ? (firstError.error as { code?: unknown }).code === 'Z_BUF_ERROR'
        : sink !== undefined && res !== undefined && !res.complete;
    throw explain(err, url, {
      deadline,
      target,
      timeoutMs,
      signal: options.signal,
      truncated: cutOff
        ? { bytes: received, expected: Number.isSafeInteger(wireLength) ? wireLength : undefined }
        : undefined,
      corrupt:
        firstError?.in === 'decoder' && !cutOff
          ? `corrupt ${res?.headers['content-encoding']} body (${firstError.error.message})`
          : undefined,
    });
  } finally {
    clearTimeout(timer);
  }
}

function parseUrl(input: string | URL): URL {
  try {
    return new URL(input);
  } catch {
    throw new DownloadError({ url: String(input), reason: 'not a valid absolute URL' });
  }
}

function requestHeaders(extra: Record<string, string> | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br' };
  for (const [key, value] of Object.entries(extra ?? {})) headers[key.toLowerCase()] = value;
  return headers;
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIALS.includes(k)));
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
    /** Set when the body had started and its framing (or compressed stream) never saw its end. */
    truncated: { bytes: number; expected: number | undefined } | undefined;
    /** Set when a decoder refused the body. */
    corrupt: string | undefined;
  },
): Error {
  const coded = findCoded(err);
  if (coded) return coded;
  if (ctx.target.signal.aborted) return ctx.target.signal.reason as Error;
  if (ctx.deadline.signal.aborted) {
    return new DownloadTimeoutError({ url: url.href, timeoutMs: ctx.timeoutMs }, { cause: err });
  }
  if (ctx.signal?.aborted) {
    return new DownloadError({ url: url.href, reason: 'aborted by the caller' }, { cause: err });
  }
  if (ctx.corrupt) return new DownloadError({ url: url.href, reason: ctx.corrupt }, { cause: err });
  if (ctx.truncated) {
    const { bytes, expected } = ctx.truncated;
    return new DownloadTruncatedError({ url: url.href, bytes, expected }, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new DownloadError({ url: url.href, reason }, { cause: err });
}

/** A DroveError anywhere in the cause chain (streams wrap socket errors). */
function findCoded(err: unknown): DroveError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof DroveError) return e;
  }
  return undefined;
}
