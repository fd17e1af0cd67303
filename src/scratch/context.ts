/**
 * Where a transaction's scratch space is found: passed to `withScratch`'s callback, and in the
 * AsyncLocalStorage for everything that runs inside it (`useScratch()`, `tryUseScratch()`).
 * Adapters open and close transactions through `openTransaction`; they add no behaviour of their own.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ScratchAbortedError, ScratchOutsideError } from '../errors.js';
import { type ResolvedOptions, resolveOptions, type ScratchOptions } from './options.js';
import { type Scratch, ScratchSpace } from './scratch.js';
import { isPrepared, prepareRoot } from './sweep.js';

const storage = new AsyncLocalStorage<ScratchSpace>();

/**
 * The scratch space of the current transaction. Throws DROVE_ERR_SCRATCH_OUTSIDE when called
 * outside one (no middleware, `withScratch` or `scratchJob` around the call).
 *
 * @example
 * ```ts
 * import { useScratch } from 'drovejs/scratch';
 * async function thumbnail(url: string) {
 *   const { path } = await useScratch().download(url, { maxBytes: 20e6 });
 *   return makeThumbnail(path); // the file is gone when the request ends
 * }
 * ```
 */
export function useScratch(): Scratch {
  const space = storage.getStore();
  if (space === undefined) throw new ScratchOutsideError({ call: 'useScratch()' });
  return space;
}

/** Like `useScratch()`, but returns undefined outside a transaction. */
export function tryUseScratch(): Scratch | undefined {
  return storage.getStore();
}

/**
 * Run `fn` with a fresh scratch space that is removed, directory and maps, when `fn` settles:
 * on success, on throw, and on abort (its `signal`, or `timeoutMs`). An aborted transaction
 * rejects at once with DROVE_ERR_SCRATCH_ABORTED; `scratch.signal` tells `fn` to stop, and every
 * later use of the scratch space throws.
 *
 * @example
 * ```ts
 * import { withScratch } from 'drovejs/scratch';
 * const report = await withScratch(async (scratch) => {
 *   const { path } = await scratch.download(csvUrl, { maxBytes: 100e6 });
 *   return summarise(path);
 * }, { timeoutMs: 60_000 });
 * ```
 */
export async function withScratch<T>(
  fn: (scratch: Scratch) => T | Promise<T>,
  options?: ScratchOptions,
): Promise<T> {
  const resolved = resolveOptions(options);
  rejectIfAborted(resolved.signal);
  await prepareRoot(resolved.dir, resolved.maxAgeMs);
  rejectIfAborted(resolved.signal);
  const { space, end } = openTransaction(resolved);
  try {
    const result = new Promise<T>((resolve, reject) => {
      storage.run(space, () => {
        Promise.resolve()
          .then(() => fn(space))
          .then(resolve, reject);
      });
    });
    return await untilAborted(result, space);
  } finally {
    await end();
  }
}

/** One open transaction: its space, and `end()` which is safe to call more than once. */
export interface Transaction {
  space: ScratchSpace;
  end(): Promise<void>;
}

/**
 * Open a transaction without running anything in it yet: arms its timeout and signal. The root
 * should have been prepared (`whenReady`) before it is used.
 */
export function openTransaction(options: ResolvedOptions): Transaction {
  const space = new ScratchSpace(options);
  const onAbort = () => space.abort(describe(options.signal?.reason));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => space.abort(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);
  return {
    space,
    end() {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      return space.close();
    },
  };
}

/** Run `fn` inside the transaction's async context. */
export function runIn<T>(space: ScratchSpace, fn: () => T): T {
  return storage.run(space, fn);
}

/**
 * Call `then` once the root is prepared (created and swept once per process); synchronously when
 * it already is, so adapters cost nothing extra after the first request. A root that cannot be
 * prepared does not block requests: the error shows where the scratch space is used.
 */
export function whenReady(options: ResolvedOptions, then: () => void): void {
  if (isPrepared(options.dir)) {
    then();
    return;
  }
  prepareRoot(options.dir, options.maxAgeMs).then(then, then);
}

/** Adapters resolve options once, when they are created. */
export { resolveOptions };

function rejectIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ScratchAbortedError({ reason: describe(signal.reason) });
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}

/** Settle with `work`, or reject with the abort reason as soon as the transaction is aborted. */
function untilAborted<T>(work: Promise<T>, space: ScratchSpace): Promise<T> {
  if (space.signal.aborted) return Promise.reject(space.signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(space.signal.reason);
    space.signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => space.signal.removeEventListener('abort', onAbort));
  });
}
