/**
 * `drovejs/assets/node`: the build folder for a plain node:http server, one function over the
 * core (the Express adapter is this one with Express's types).
 * @module
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssetReply, Assets } from './runtime.js';

/**
 * A request handler for node:http. Returns `true` when it answered (the URL is under the assets
 * prefix: a file, 304, 404 or 405), `false` otherwise; with a `next` callback it calls `next()`
 * instead of returning `false` being your cue.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { createAssets } from 'drovejs/assets';
 * import { nodeAssets } from 'drovejs/assets/node';
 * const serveAssets = nodeAssets(createAssets({ dir: 'build/assets' }));
 * http.createServer((req, res) => {
 *   if (serveAssets(req, res)) return;
 *   app(req, res);
 * });
 * ```
 */
export function nodeAssets(
  assets: Assets,
): (req: IncomingMessage, res: ServerResponse, next?: () => void) => boolean {
  return function droveAssets(req, res, next) {
    const reply = assets.respond({
      method: req.method ?? 'GET',
      // Express strips its mount path from req.url; originalUrl keeps the full path.
      url: (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/',
      acceptEncoding: req.headers['accept-encoding'],
      ifNoneMatch: req.headers['if-none-match'],
    });
    if (!reply) {
      next?.();
      return false;
    }
    writeReply(reply, res);
    return true;
  };
}

/** Write a core reply onto a node:http response. */
export function writeReply(reply: AssetReply, res: ServerResponse): void {
  res.writeHead(reply.status, reply.headers);
  if (reply.body) {
    res.end(reply.body);
  } else if (reply.file) {
    const stream = createReadStream(reply.file);
    stream.on('error', (err) => res.destroy(err));
    stream.pipe(res);
  } else {
    res.end();
  }
}
