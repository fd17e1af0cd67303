/**
 * Express (and Connect) adapter. Typed structurally, so Express is never imported.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveOptions, runIn, whenReady } from './context.js';
import { bindRequestEvents, openForResponse } from './node.js';
import type { ScratchOptions } from './options.js';

/** An Express/Connect middleware. */
export type ScratchMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * Express middleware opening one scratch transaction per request; mount it before the routes
 * that use `useScratch()`. The transaction ends when the response closes.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { expressScratch, useScratch } from 'drovejs/scratch';
 * const app = express();
 * app.use(expressScratch({ maxBytes: 200e6, timeoutMs: 30_000 }));
 * app.post('/convert', async (req, res) => {
 *   const { path } = await useScratch().download(req.query.url as string, { maxBytes: 100e6 });
 *   res.send(await convert(path));
 * });
 * ```
 */
export function expressScratch(options?: ScratchOptions): ScratchMiddleware {
  const resolved = resolveOptions(options);
  return function scratchMiddleware(req, res, next) {
    whenReady(resolved, () => {
      const space = openForResponse(resolved, res);
      bindRequestEvents(space, req);
      runIn(space, () => next());
    });
  };
}
