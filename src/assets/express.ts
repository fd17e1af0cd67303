/**
 * `drovejs/assets/express`: the build folder as Express (or Connect) middleware. Express
 * middleware has node:http's shape, so this is the node adapter with Express's types.
 * @module
 */
import type { RequestHandler } from 'express';
import { nodeAssets } from './node.js';
import type { Assets } from './runtime.js';

/**
 * Express (or Connect) middleware serving the build folder under the assets prefix; other URLs go
 * to `next()`. Mount it at the root or at the prefix; it reads `req.originalUrl` either way.
 *
 * @example
 * ```ts
 * import { createAssets } from 'drovejs/assets';
 * import { expressAssets } from 'drovejs/assets/express';
 * const assets = createAssets({ dir: 'build/assets' });
 * app.use(expressAssets(assets));
 * app.locals.assetUrl = assets.assetUrl;
 * ```
 */
export function expressAssets(assets: Assets): RequestHandler {
  const serve = nodeAssets(assets);
  return function droveAssets(req, res, next) {
    serve(req, res, next);
  };
}
