/**
 * `drovejs/assets/fastify`: the build folder as a Fastify plugin adding GET/HEAD routes under the
 * assets prefix.
 * @module
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Assets } from './runtime.js';

/**
 * A Fastify plugin serving the build folder under the assets prefix (`/assets/*`). Fastify is not
 * imported at run time; only its types are used.
 *
 * @example
 * ```ts
 * import { createAssets } from 'drovejs/assets';
 * import { fastifyAssets } from 'drovejs/assets/fastify';
 * const assets = createAssets({ dir: 'build/assets' });
 * await app.register(fastifyAssets(assets));
 * ```
 */
export function fastifyAssets(assets: Assets): (app: FastifyInstance) => Promise<void> {
  return async function droveAssets(app) {
    app.route({
      method: ['GET', 'HEAD'],
      url: `${assets.prefix}*`,
      exposeHeadRoute: false,
      handler(request, reply) {
        const result = assets.respond({
          method: request.method,
          url: request.raw.url ?? request.url,
          acceptEncoding: request.headers['accept-encoding'],
          ifNoneMatch: request.headers['if-none-match'],
        });
        if (!result) return reply.callNotFound();
        reply.code(result.status).headers(result.headers);
        if (result.body) return reply.send(result.body);
        if (result.file) return reply.send(createReadStream(result.file));
        return reply.send();
      },
    });
  };
}
