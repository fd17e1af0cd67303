/**
 * `drovejs/scratch`: per-transaction scratch space. A stateless process may use its disk and memory
 * only as a cache for one transaction; this makes that the easy way. Each transaction (a request
 * through a middleware, a job through `scratchJob`, or a `withScratch` call) gets a private
 * directory and maps that are removed when it settles, byte quotas, a guarded downloader, and a
 * sweep that removes what crashed processes left behind.
 *
 * This is the framework-free core; the middleware is in `drovejs/scratch/node`,
 * `drovejs/scratch/express`, `drovejs/scratch/fastify` and `drovejs/scratch/hono`.
 *
 * @example
 * ```ts
 * import { withScratch } from 'drovejs/scratch';
 * const rows = await withScratch(async (scratch) => {
 *   const { path } = await scratch.download(url, { maxBytes: 50e6, timeoutMs: 30_000 });
 *   return countRows(path);
 * });
 * ```
 * @module
 */
export { tryUseScratch, useScratch, withScratch } from './context.js';
export type {
  DownloadGuard,
  DownloadOptions,
  DownloadProgress,
  DownloadResult,
} from './download.js';
export { isPublicAddress, publicAddressesOnly } from './guard.js';
export { scratchJob } from './job.js';
export type { ScratchOptions } from './options.js';
export { processScratchBytes, type Scratch } from './scratch.js';
export { type SweepReport, sweepScratch } from './sweep.js';
