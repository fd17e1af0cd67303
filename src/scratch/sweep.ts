/**
 * Crash safety: remove scratch directories whose owner is gone. A process killed with SIGKILL
 * cannot clean up after itself, so the next process to use the same root does it. Runs once per
 * root and process before the first transaction, or on demand through `sweepScratch()`.
 * @module
 */
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { resolveOptions, type ScratchOptions } from './options.js';
import { ownerMayBeAlive, parseDirName } from './owner.js';

/** What a sweep did. */
export interface SweepReport {
  /** Directories removed (full paths). */
  removed: string[];
  /** Scratch directories left in place because their owner may still be running. */
  kept: number;
}

/** Directories of transactions that are live in this process; a sweep never touches them. */
export const liveDirs: Set<string> = new Set();

/**
 * Remove scratch directories under the root whose owning process is dead (or is a different
 * process that reused the pid), and any older than `maxAgeMs` whoever owns them. Entries that
 * drove did not name are never touched. drove sweeps each root once per process on its own before
 * the first transaction; call this at boot to do it eagerly.
 *
 * @example
 * ```ts
 * import { sweepScratch } from 'drovejs/scratch';
 * const { removed } = await sweepScratch({ maxAgeMs: 3_600_000 });
 * console.log(`removed ${removed.length} abandoned scratch directories`);
 * ```
 */
export async function sweepScratch(
  options: Pick<ScratchOptions, 'dir' | 'maxAgeMs'> = {},
): Promise<SweepReport> {
  const { dir, maxAgeMs } = resolveOptions(options);
  const report: SweepReport = { removed: [], kept: 0 };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return report;
    throw err;
  }
  const now = Date.now();
  await Promise.all(
    names.map(async (name) => {
      const owner = parseDirName(name);
      if (owner === undefined) return;
      const path = join(dir, name);
      if (liveDirs.has(path)) return void report.kept++;
      if (now - owner.created <= maxAgeMs && ownerMayBeAlive(owner)) return void report.kept++;
      await rm(path, { recursive: true, force: true, maxRetries: 2 });
      report.removed.push(path);
    }),
  );
  return report;
}

const prepared = new Map<string, Promise<void>>();
const ready = new Set<string>();

/**
 * Make sure the root exists and is a real directory (not a symlink planted in a shared /tmp), and
 * sweep it once per process. Settles once; later calls for the same root are free.
 */
export function prepareRoot(dir: string, maxAgeMs: number): Promise<void> {
  let done = prepared.get(dir);
  if (done === undefined) {
    done = (async () => {
      await mkdir(dir, { recursive: true });
      const st = await lstat(dir);
      if (!st.isDirectory()) {
        throw new InvalidOptionError({ option: 'dir', reason: `${dir} is not a directory` });
      }
      try {
        await sweepScratch({ dir, maxAgeMs });
      } catch (err) {
        // A failed sweep must not fail the transaction that triggered it; say so and move on.
        process.emitWarning(`scratch sweep of ${dir} failed: ${String(err)}`, {
          code: 'DROVE_SCRATCH_SWEEP',
        });
      }
      ready.add(dir);
    })();
    prepared.set(dir, done);
    // A failed preparation (e.g. unwritable root) is retried by the next transaction.
    done.catch(() => prepared.delete(dir));
  }
  return done;
}

/** Whether `prepareRoot` already succeeded for this root (lets adapters skip an await). */
export function isPrepared(dir: string): boolean {
  return ready.has(dir);
}
