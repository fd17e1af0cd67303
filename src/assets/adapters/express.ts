/** The Express adapter: Express middleware has node:http's shape, so this is the node adapter. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Assets } from '../runtime.js';
import { nodeAssets } from './node.js';

/**
 * Express (or Connect) middleware serving the build folder under the assets prefix; other URLs go
 * to `next()`. Mount it at the root or at the prefix; it reads `req.originalUrl` either way.
 *
 * @example
 * ```ts
 * const assets = createAssets({ dir: 'build/assets' });
 * app.use(expressAssets(assets));
 * app.locals.assetUrl = assets.assetUrl;
 * ```
 */
export function expressAssets(
  assets: Assets,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const serve = nodeAssets(assets);
  return (req, res, next) => {
    serve(req, res, next);
  };
}
