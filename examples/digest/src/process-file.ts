/**
 * One digest, inside one scratch transaction: fetch (or receive) the file into the scratch
 * directory, digest it, and hand back the result. The file is gone when the transaction ends.
 */
import { DroveError } from 'drovejs/errors';
import { type DownloadGuard, publicAddressesOnly, useScratch } from 'drovejs/scratch';
import type { Config } from './config.js';
import { type DigestResult, digestFile, isCsv } from './digest.js';
import { parseSubmittedUrl, UserError } from './guard.js';

export interface Progress {
  phase: string;
  bytes: number;
  total: number | undefined;
}

/** Download `text` (a URL a user submitted) into scratch space and digest it. */
export async function digestUrl(
  text: string,
  config: Config,
  report: (progress: Progress) => void,
  signal: AbortSignal,
  /** Replaces the address policy (tests use it to allow one loopback server and refuse others). */
  guard?: DownloadGuard,
): Promise<DigestResult> {
  const url = parseSubmittedUrl(text);
  const scratch = useScratch();
  const fetched = await scratch.download(url, {
    name: 'input',
    maxBytes: config.maxBytes,
    timeoutMs: config.downloadTimeoutMs,
    signal,
    ...(guard ? { guard } : config.allowPrivateTargets ? {} : { guard: publicAddressesOnly }),
    onProgress: ({ bytes, total }) => report({ phase: 'downloading', bytes, total }),
  });
  const csv = isCsv(url.pathname) || /\bcsv\b/i.test(fetched.contentType ?? '');
  return digestFile(fetched.path, {
    csv,
    signal,
    onProgress: (bytes, total) => report({ phase: 'digesting', bytes, total }),
  });
}

/**
 * A message for the user, and whether retrying could help. Bad input and refused targets are
 * permanent; anything unexpected (a database hiccup) is worth another attempt.
 */
export function explain(err: unknown, config: Config): { message: string; permanent: boolean } {
  if (err instanceof UserError) return { message: err.message, permanent: true };
  if (err instanceof DroveError) {
    switch (err.code) {
      case 'DROVE_ERR_DOWNLOAD_TOO_LARGE':
      case 'DROVE_ERR_SCRATCH_QUOTA':
        return {
          message: `The file is larger than the limit of ${formatMiB(config.maxBytes)}.`,
          permanent: true,
        };
      case 'DROVE_ERR_DOWNLOAD_TIMEOUT':
        return {
          message: `The download stalled: it did not finish within ${config.downloadTimeoutMs / 1000} s.`,
          permanent: true,
        };
      case 'DROVE_ERR_DOWNLOAD_TRUNCATED':
        // The connection dropped mid-body: another attempt may well get all of it.
        return { message: `The download was cut off: ${reason(err)}`, permanent: false };
      case 'DROVE_ERR_DOWNLOAD_REFUSED':
      case 'DROVE_ERR_DOWNLOAD':
        return { message: `The download failed: ${reason(err)}`, permanent: true };
    }
  }
  return {
    message: `Processing failed: ${(err as Error)?.message ?? String(err)}`,
    permanent: false,
  };
}

/** The error's own reason if it has one, else its message without the `[drove] ` prefix. */
function reason(err: DroveError): string {
  const details = (err as DroveError & { details?: { reason?: unknown } }).details;
  if (typeof details?.reason === 'string') return details.reason;
  return err.message.replace(/^\[drove\] /, '');
}

function formatMiB(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}
