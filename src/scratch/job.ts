/**
 * Job adapter: the same transaction boundary for work that does not come from HTTP.
 * @module
 */
import { withScratch } from './context.js';
import type { ScratchOptions } from './options.js';

/**
 * Wrap a job handler (BullMQ processor, pg-boss worker, a queue consumer...) so every call runs
 * in its own scratch transaction, reachable through `useScratch()` and removed when the call
 * settles. With `timeoutMs`, a call that runs too long rejects with DROVE_ERR_SCRATCH_ABORTED.
 *
 * @example
 * ```ts
 * import { Worker } from 'bullmq';
 * import { scratchJob, useScratch } from 'drovejs/scratch';
 * new Worker('videos', scratchJob(async (job) => {
 *   const { path } = await useScratch().download(job.data.url, { maxBytes: 2e9 });
 *   await db.saveDuration(job.data.id, await probeDuration(path));
 * }, { timeoutMs: 10 * 60_000 }));
 * ```
 */
export function scratchJob<Args extends unknown[], Result>(
  handler: (...args: Args) => Result | Promise<Result>,
  options?: ScratchOptions,
): (...args: Args) => Promise<Result> {
  return function scratchJobHandler(...args: Args): Promise<Result> {
    return withScratch(() => handler(...args), options);
  };
}
