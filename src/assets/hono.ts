/**
 * `drovejs/assets/hono`: the build folder as Hono middleware answering with a web `Response`.
 * @module
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { MiddlewareHandler } from 'hono';
import type { Assets } from './runtime.js';

/**
 * Hono middleware serving the build folder under the assets prefix; other URLs go to `next()`.
 * Hono is not imported at run time; only its types are used.
 *
 * @example
 * ```ts
 * import { createAssets } from 'drovejs/assets';
 * import { honoAssets } from 'drovejs/assets/hono';
 * const assets = createAssets({ dir: 'build/assets' });
 * app.use(honoAssets(assets));
 * ```
 */
export function honoAssets(assets: Assets): MiddlewareHandler {
  return async function droveAssets(c, next) {
    const href = c.req.url;
    const reply = assets.respond({
      method: c.req.method,
      url: href.slice(href.indexOf('/', href.indexOf('://') + 3)),
      acceptEncoding: c.req.header('accept-encoding'),
      ifNoneMatch: c.req.header('if-none-match'),
    });
    if (!reply) return next();
    let body: ConstructorParameters<typeof Response>[0] = null;
    if (reply.body) {
      body = new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
    } else if (reply.file) {
      body = Readable.toWeb(createReadStream(reply.file)) as ReadableStream<Uint8Array>;
    }
    return new Response(body, { status: reply.status, headers: reply.headers });
  };
}
