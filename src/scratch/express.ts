/**
 * `drovejs/scratch/express`: one scratch transaction per Express (or Connect) request.
 * @module
 */
import type { RequestHandler } from 'express';
import { resolveOptions, runIn, whenReady } from './context.js';
import { bindRequestEvents, openForResponse } from './node-transaction.js';
import type { ScratchOptions } from './options.js';

/**
 * Express middleware opening one scratch transaction per request; mount it before the routes
 * that use `useScratch()`. The transaction ends when the response closes.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { useScratch } from 'drovejs/scratch';
 * import { expressScratch } from 'drovejs/scratch/express';
 * const app = express();
 * app.use(expressScratch({ maxBytes: 200e6, timeoutMs: 30_000 }));
 * app.post('/convert', async (req, res) => {
 *   const { path } = await useScratch().download(req.query.url as string, { maxBytes: 100e6 });
 *   res.send(await convert(path));
 * });
 * ```
 */
export function expressScratch(options?: ScratchOptions): RequestHandler {
  const resolved = resolveOptions(options);
  return function droveScratch(req, res, next) {
    whenReady(resolved, () => {
      const space = openForResponse(resolved, res);
      bindRequestEvents(space, req);
      runIn(space, () => next());
    });
  };
}
