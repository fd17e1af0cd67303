/**
 * `drovejs/scratch/node`: one scratch transaction per node:http request, ended when the response
 * closes.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveOptions, runIn, whenReady } from './context.js';
import { bindRequestEvents, openForResponse } from './node-transaction.js';
import type { ScratchOptions } from './options.js';

/**
 * Wrap a node:http request listener so each request runs in its own scratch transaction,
 * reachable through `useScratch()`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { useScratch } from 'drovejs/scratch';
 * import { nodeScratch } from 'drovejs/scratch/node';
 * createServer(nodeScratch(async (req, res) => {
 *   const path = await useScratch().write('upload.bin', await readBody(req));
 *   res.end(await summarise(path));
 * })).listen(3000);
 * ```
 */
export function nodeScratch<Req extends IncomingMessage, Res extends ServerResponse>(
  listener: (req: Req, res: Res) => unknown,
  options?: ScratchOptions,
): (req: Req, res: Res) => void {
  const resolved = resolveOptions(options);
  return function scratchListener(req, res) {
    whenReady(resolved, () => {
      const space = openForResponse(resolved, res);
      bindRequestEvents(space, req);
      runIn(space, () => listener(req, res));
    });
  };
}
