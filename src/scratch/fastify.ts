/**
 * Fastify adapter, as a plugin that applies to the whole instance. Fastify is only imported for
 * its types; `Symbol.for('skip-override')` does what fastify-plugin would do.
 * @module
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import { resolveOptions, runIn, whenReady } from './context.js';
import { openForResponse } from './node.js';
import type { ScratchOptions } from './options.js';
import type { ScratchSpace } from './scratch.js';

const spaces = new WeakMap<FastifyRequest, ScratchSpace>();

function plugin(
  instance: Parameters<FastifyPluginCallback<ScratchOptions>>[0],
  options: ScratchOptions,
  done: (err?: Error) => void,
): void {
  const resolved = resolveOptions(options);
  instance.addHook('onRequest', (request, reply, next) => {
    whenReady(resolved, () => {
      const space = openForResponse(resolved, reply.raw);
      spaces.set(request, space);
      runIn(space, () => next());
    });
  });
  // The body is parsed from the socket's async context; step back into the transaction after it.
  instance.addHook('preValidation', (request, _reply, next) => {
    const space = spaces.get(request);
    if (space === undefined) return next();
    runIn(space, () => next());
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
 * import { fastifyScratch, useScratch } from 'drove/scratch';
 * const app = Fastify();
 * await app.register(fastifyScratch, { maxBytes: 200e6 });
 * app.post('/resize', async (req) => resize(await useScratch().write('in.png', req.body as Buffer)));
 * ```
 */
export const fastifyScratch: FastifyPluginCallback<ScratchOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'drove-scratch',
});
