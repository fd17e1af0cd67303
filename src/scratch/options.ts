/**
 * Options shared by `withScratch`, every adapter and `scratchJob`, and how their defaults are
 * read. Defaults come from the environment at the time a transaction opens (not at import), so a
 * process configured through its environment needs no code.
 * @module
 */
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { positive } from '../internal/options.js';

/** Options for one scratch transaction (or, on a middleware, for each of its transactions). */
export interface ScratchOptions {
  /**
   * Root under which each transaction gets its own directory.
   * Default: `$DROVE_SCRATCH_DIR`, else `<os.tmpdir()>/drove-scratch`.
   */
  dir?: string;
  /**
   * Bytes one transaction may write through `write`, `createWriteStream` and `download`.
   * Default: `$DROVE_SCRATCH_MAX_BYTES`, else 1 GiB.
   */
  maxBytes?: number;
  /**
   * Bytes all live transactions of this process may hold together.
   * Default: `$DROVE_SCRATCH_PROCESS_MAX_BYTES`, else 4 GiB.
   */
  processMaxBytes?: number;
  /** Abort the transaction after this many milliseconds (DROVE_ERR_SCRATCH_ABORTED). */
  timeoutMs?: number;
  /** Abort the transaction when this signal aborts (DROVE_ERR_SCRATCH_ABORTED). */
  signal?: AbortSignal;
  /**
   * Directories left by dead processes are swept on first use; directories older than this are
   * swept whoever owns them. Default: `$DROVE_SCRATCH_MAX_AGE_MS`, else 24 hours.
   */
  maxAgeMs?: number;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  dir: string;
  maxBytes: number;
  processMaxBytes: number;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  maxAgeMs: number;
}

const GiB = 1024 ** 3;

/** Fill in defaults and validate; throws DROVE_ERR_INVALID_OPTION for nonsense values. */
export function resolveOptions(options: ScratchOptions = {}): ResolvedOptions {
  const env = process.env;
  const dir = options.dir ?? env.DROVE_SCRATCH_DIR ?? join(tmpdir(), 'drove-scratch');
  if (dir === '' || dir.includes('\0')) {
    throw new InvalidOptionError({ option: 'dir', reason: 'must be a non-empty path' });
  }
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined) positive('timeoutMs', timeoutMs);
  return {
    dir: isAbsolute(dir) ? dir : resolve(dir),
    maxBytes: positive('maxBytes', options.maxBytes ?? envNumber('DROVE_SCRATCH_MAX_BYTES', GiB)),
    processMaxBytes: positive(
      'processMaxBytes',
      options.processMaxBytes ?? envNumber('DROVE_SCRATCH_PROCESS_MAX_BYTES', 4 * GiB),
    ),
    timeoutMs,
    signal: options.signal,
    maxAgeMs: positive(
      'maxAgeMs',
      options.maxAgeMs ?? envNumber('DROVE_SCRATCH_MAX_AGE_MS', 24 * 3600_000),
    ),
  };
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new InvalidOptionError({
      option: name,
      reason: `${JSON.stringify(raw)} is not a number`,
    });
  }
  return value;
}
