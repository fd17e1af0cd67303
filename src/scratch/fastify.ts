/**
 * Fastify adapter, as a plugin that applies to the whole instance. Fastify is only imported for
 * its types; `Symbol.for('skip-override')` does what fastify-plugin would do.
 * @module
 */
import type { FastifyPluginCallback } from 'fastify';
import { resolveOptions, runIn, whenReady } from './context.js';
import { openForResponse } from './node.js';
import type { ScratchOptions } from './options.js';

function plugin(
  instance: Parameters<FastifyPluginCallback<ScratchOptions>>[0],
  options: ScratchOptions,
  done: (err?: Error) => void,
): void {
  const resolved = resolveOptions(options);
  instance.addHook('onRequest', (_request, reply, next) => {
    whenReady(resolved, () => {
      // Fastify runs body parsing in an AsyncResource, so the rest of the lifecycle stays inside.
      runIn(openForResponse(resolved, reply.raw), () => next());
    });
  });
  done();
}

/**
 * Fastify plugin opening one scratch transaction per request, reachable through `useScratch()`
 * in hooks from `onRequest` on and in handlers. The transaction ends when the response closes.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyScratch, useScratch } from 'drovejs/scratch';
 * const app = Fastify();
 * await app.register(fastifyScratch, { maxBytes: 200e6 });
 * app.post('/resize', async (req) => resize(await useScratch().write('in.png', req.body as Buffer)));
 * ```
 */
export const fastifyScratch: FastifyPluginCallback<ScratchOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'drove-scratch',
});
