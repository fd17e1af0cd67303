/**
 * The node:http side shared by `drovejs/scratch/node`, `/express` and `/fastify`: a transaction
 * tied to a response, and request events run inside it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openTransaction, runIn } from './context.js';
import type { ResolvedOptions } from './options.js';
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
