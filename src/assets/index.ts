/**
 * `drovejs/assets`: assets compiled at build time, served as immutable files at run time.
 *
 * - Build: {@link buildAssets} (what `drove build` runs) compiles the configured entries with
 *   esbuild into content-hashed files, `.br`/`.gz` siblings and `manifest.json`.
 * - Run: {@link createAssets} reads the manifest at start-up (`DROVE_ERR_ASSETS_NOT_BUILT` if
 *   missing), gives `assetUrl(name)`, and a static handler. The run-time half never loads esbuild
 *   and never writes.
 * - Adapters: `drovejs/assets/node`, `drovejs/assets/express`, `drovejs/assets/fastify`,
 *   `drovejs/assets/hono`.
 *
 * @example
 * ```ts
 * import { createAssets } from 'drovejs/assets';
 * import { expressAssets } from 'drovejs/assets/express';
 * const assets = createAssets({ dir: 'build/assets' });
 * app.use(expressAssets(assets));
 * res.send(`<script type="module" src="${assets.assetUrl('app.js')}"></script>`);
 * ```
 * @module
 */
export {
  type BuildAssetsOptions,
  type BuildAssetsResult,
  type BuiltFile,
  buildAssets,
} from './build.js';
export {
  type AssetsConfig,
  type AssetsConfigInput,
  CONFIG_FILE,
  loadAssetsConfig,
  validateAssetsConfig,
} from './config.js';
export { contentTypeFor } from './content-type.js';
export { MANIFEST_FILE, type Manifest, type ManifestFile, readManifest } from './manifest.js';
export { type Coding, chooseCoding, ifNoneMatchHits } from './negotiate.js';
export {
  type AssetReply,
  type AssetRequest,
  type Assets,
  type CreateAssetsOptions,
  createAssets,
} from './runtime.js';
