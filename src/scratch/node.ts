/**
 * node:http adapter: one scratch transaction per request, ended when the response closes.
 * Also the building block of the Express and Fastify adapters.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openTransaction, resolveOptions, runIn, whenReady } from './context.js';
import type { ResolvedOptions, ScratchOptions } from './options.js';
import type { ScratchSpace } from './scratch.js';

/**
 * Open a transaction tied to `res`: it ends when the response has been sent or the connection
 * closed (then it is aborted first, so `scratch.signal` stops work nobody will read).
 */
export function openForResponse(options: ResolvedOptions, res: ServerResponse): ScratchSpace {
  const { space, end } = openTransaction(options);
  res.once('close', () => {
    if (!res.writableFinished) space.abort('the connection closed before the response was sent');
    void end();
  });
  return space;
}

/**
 * Run the request's own events (body `data`/`end`) inside the transaction too. They are emitted
 * from the HTTP parser's async context, so without this a callback-style body parser would call
 * the next handler outside the transaction.
 */
export function bindRequestEvents(space: ScratchSpace, req: IncomingMessage): void {
  const emit = req.emit;
  req.emit = function emitInScratch(this: IncomingMessage, ...args: Parameters<typeof emit>) {
    return runIn(space, () => emit.apply(this, args));
  } as typeof emit;
}

/**
 * Wrap a node:http request listener so each request runs in its own scratch transaction,
 * reachable through `useScratch()`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { nodeScratch, useScratch } from 'drovejs/scratch';
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
