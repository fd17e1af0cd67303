/**
 * `drovejs/scratch/fastify`: one scratch transaction per request, as a Fastify plugin that
 * applies to the whole instance (`Symbol.for('skip-override')` does what fastify-plugin would do).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { resolveOptions, runIn, whenReady } from './context.js';
import { openForResponse } from './node-transaction.js';
import type { ScratchOptions } from './options.js';

/** The plugin `fastifyScratch()` returns. */
export type FastifyScratchPlugin = (
  fastify: FastifyInstance,
  options: unknown,
  done: (err?: Error) => void,
) => void;

/**
 * A Fastify plugin opening one scratch transaction per request, reachable through `useScratch()`
 * in hooks from `onRequest` on and in handlers. The transaction ends when the response closes.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { useScratch } from 'drovejs/scratch';
 * import { fastifyScratch } from 'drovejs/scratch/fastify';
 * const app = Fastify();
 * await app.register(fastifyScratch({ maxBytes: 200e6 }));
 * app.post('/resize', async (req) => resize(await useScratch().write('in.png', req.body as Buffer)));
 * ```
 */
export function fastifyScratch(options?: ScratchOptions): FastifyScratchPlugin {
  const resolved = resolveOptions(options);
  const plugin = function droveScratch(
    fastify: FastifyInstance,
    _options: unknown,
    done: (err?: Error) => void,
  ) {
    fastify.addHook('onRequest', (_request, reply, next) => {
      whenReady(resolved, () => {
        // Fastify runs body parsing in an AsyncResource, so the rest of the lifecycle stays inside.
        runIn(openForResponse(resolved, reply.raw), () => next());
      });
    });
    done();
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'drove-scratch',
  });
}
