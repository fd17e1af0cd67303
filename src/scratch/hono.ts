/**
 * `drovejs/scratch/hono`: one scratch transaction per Hono request. Hono is only imported for
 * its types.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { openTransaction, resolveOptions, runIn } from './context.js';
import type { ScratchOptions } from './options.js';
import { isPrepared, prepareRoot } from './sweep.js';

/**
 * Hono middleware opening one scratch transaction per request. It ends when the response has
 * been sent: on @hono/node-server when the Node response closes, elsewhere when the response body
 * has been read to the end or cancelled (so streamed bodies may still use the scratch space).
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { useScratch } from 'drovejs/scratch';
 * import { honoScratch } from 'drovejs/scratch/hono';
 * const app = new Hono();
 * app.use(honoScratch({ timeoutMs: 30_000 }));
 * app.post('/import', async (c) => {
 *   const path = await useScratch().write('import.csv', await c.req.text());
 *   return c.json(await importCsv(path));
 * });
 * ```
 */
export function honoScratch(options?: ScratchOptions): MiddlewareHandler {
  const resolved = resolveOptions(options);
  return async function droveScratch(c, next) {
    if (!isPrepared(resolved.dir))
      await prepareRoot(resolved.dir, resolved.maxAgeMs).catch(() => {});
    const { space, end } = openTransaction(resolved);
    // On @hono/node-server the Node response says when it is done, even if the handler never is.
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const onNode = outgoing !== undefined && typeof outgoing.once === 'function';
    if (onNode) {
      outgoing.once('close', () => {
        if (!outgoing.writableFinished) {
          space.abort('the connection closed before the response was sent');
        }
        void end();
      });
    }
    try {
      await runIn(space, next);
    } catch (err) {
      await end();
      throw err;
    }
    if (onNode) return;
    const body = c.res.body;
    if (body === null) return end();
    c.res = new Response(endWhenRead(body, end), c.res);
  };
}

/** Pass a body through, calling `end` once it has been read to the end, failed or been cancelled. */
function endWhenRead(
  body: ReadableStream<Uint8Array>,
  end: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        controller.close();
      } catch (err) {
        controller.error(err);
      }
      await end();
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      await end();
    },
  });
}
