/**
 * The run-time half of drovejs/assets: read the manifest once at start-up, answer `assetUrl()`
 * from it, and answer static-file requests from a table built once. It never compiles and never
 * writes: the build folder is immutable while the app runs.
 */
import path from 'node:path';
import { AssetUnknownError, BuildConfigError, InvalidOptionError } from '../errors.js';
import { buildFileTable, type Representation, type TableEntry } from './file-table.js';
import { type Manifest, readManifest } from './manifest.js';
import { chooseCoding, ifNoneMatchHits } from './negotiate.js';

/** Options of {@link createAssets}. */
export interface CreateAssetsOptions {
  /** The build folder (the `outdir` of the build), holding `manifest.json`. */
  dir: string;
  /**
   * URL prefix for `assetUrl()` and the handler, overriding the manifest's. May be a full URL
   * (`https://cdn.example.com/assets/`), e.g. from an environment variable; the handler then
   * serves that URL's path.
   */
  publicPath?: string;
  /** Files up to this size are kept in memory; larger ones are streamed. Default 512 KiB. */
  maxCachedFileBytes?: number;
  /** Total bytes kept in memory across files. Default 64 MiB. */
  maxCacheBytes?: number;
}

/** A request as the core sees it: method, raw URL (path + query) and two headers. */
export interface AssetRequest {
  method: string;
  url: string;
  acceptEncoding?: string | undefined;
  ifNoneMatch?: string | undefined;
}

/**
 * The core's answer. Adapters turn it into their framework's response: write `headers`, then
 * `body` if set, else stream `file` if set, else nothing (304, HEAD).
 */
export interface AssetReply {
  status: 200 | 304 | 404 | 405;
  headers: Readonly<Record<string, string>>;
  body: Buffer | null;
  file: string | null;
}

/** The object returned by {@link createAssets}. */
export interface Assets {
  /** The build folder, absolute. */
  readonly dir: string;
  readonly manifest: Readonly<Manifest>;
  /** The effective public path (option, else the manifest's). */
  readonly publicPath: string;
  /** The URL path prefix the handler answers (the path of `publicPath`). */
  readonly prefix: string;
  /**
   * URL of an entry by logical name; throws `DROVE_ERR_ASSET_UNKNOWN` for names not built.
   * A bound function: `const { assetUrl } = createAssets(...)` works.
   */
  assetUrl(name: string): string;
  /** The Subresource Integrity value of an entry (for `<script integrity=…>`). */
  integrity(name: string): string;
  /**
   * Answer a request; `null` when the URL is outside `prefix` (let the app handle it). Inside the
   * prefix anything that is not exactly a built file is a 404.
   */
  respond(request: AssetRequest): AssetReply | null;
}

const NOT_FOUND: AssetReply = Object.freeze({
  status: 404,
  headers: Object.freeze({
    'content-type': 'text/plain; charset=utf-8',
    'content-length': '9',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  }),
  body: Buffer.from('Not Found'),
  file: null,
});

const NOT_ALLOWED: AssetReply = Object.freeze({
  status: 405,
  headers: Object.freeze({ allow: 'GET, HEAD', 'content-length': '0' }),
  body: null,
  file: null,
});

/**
 * Load a build folder for serving. Throws `DROVE_ERR_ASSETS_NOT_BUILT` at once when there is no
 * manifest, so a forgotten build fails the deploy at start-up rather than on the first page view.
 *
 * @example
 * ```ts
 * import { createAssets } from 'drovejs/assets';
 * import { nodeAssets } from 'drovejs/assets/node';
 * const assets = createAssets({ dir: 'build/assets' });
 * assets.assetUrl('app.js'); // '/assets/app.3F2A1B9C.js'
 * const serve = nodeAssets(assets);
 * http.createServer((req, res) => serve(req, res) || app(req, res));
 * ```
 */
export function createAssets(options: CreateAssetsOptions): Assets {
  const dir = path.resolve(options.dir);
  const manifest = readManifest(dir);
  const publicPath = options.publicPath ?? manifest.publicPath;
  const prefix = prefixOf(publicPath);
  const table = buildFileTable(dir, new Set(Object.keys(manifest.files)), {
    maxCachedFileBytes: options.maxCachedFileBytes ?? 512 * 1024,
    maxCacheBytes: options.maxCacheBytes ?? 64 * 1024 * 1024,
  });
  // A folder copied half-way would serve pages with dead links: refuse to start instead.
  for (const file of Object.keys(manifest.files)) {
    if (!table.has(file)) {
      throw new BuildConfigError({
        source: path.join(dir, 'manifest.json'),
        reason: `lists ${JSON.stringify(file)} but the build folder has no such file; rebuild or redeploy the whole folder`,
      });
    }
  }
  const entry = (name: string) => {
    const file = Object.hasOwn(manifest.entries, name) ? manifest.entries[name] : undefined;
    if (file === undefined) throw new AssetUnknownError({ name });
    return file;
  };
  const urls = new Map(
    Object.entries(manifest.entries).map(([name, file]) => [name, publicPath + encodePath(file)]),
  );
  return {
    dir,
    manifest,
    publicPath,
    prefix,
    assetUrl: (name) => urls.get(name) ?? entry(name),
    integrity: (name) => manifest.files[entry(name)]?.integrity ?? '',
    respond: (request) => respond(table, prefix, request),
  };
}

function respond(
  table: Map<string, TableEntry>,
  prefix: string,
  request: AssetRequest,
): AssetReply | null {
  const { url } = request;
  const query = url.indexOf('?');
  const pathname = query < 0 ? url : url.slice(0, query);
  if (!pathname.startsWith(prefix)) return null;
  let key = pathname.slice(prefix.length);
  if (key.includes('%')) {
    try {
      key = decodeURIComponent(key);
    } catch {
      return NOT_FOUND;
    }
  }
  const found = table.get(key);
  if (!found) return NOT_FOUND;
  const { method } = request;
  const head = method === 'HEAD';
  if (!head && method !== 'GET') return NOT_ALLOWED;
  const coding = chooseCoding(request.acceptEncoding, found.codings);
  const rep = found.representations[coding] as Representation;
  if (request.ifNoneMatch && ifNoneMatchHits(request.ifNoneMatch, rep.etag)) {
    return { status: 304, headers: rep.headers304, body: null, file: null };
  }
  if (head) return { status: 200, headers: rep.headers200, body: null, file: null };
  return {
    status: 200,
    headers: rep.headers200,
    body: rep.body,
    file: rep.body ? null : rep.file,
  };
}

function prefixOf(publicPath: string): string {
  if (!publicPath.endsWith('/')) {
    throw new InvalidOptionError({ option: 'publicPath', reason: 'must end with "/"' });
  }
  if (/^[a-z][a-z\d+.-]*:\/\//i.test(publicPath) || publicPath.startsWith('//')) {
    return new URL(publicPath, 'http://placeholder').pathname;
  }
  return publicPath.startsWith('/') ? publicPath : `/${publicPath}`;
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}
