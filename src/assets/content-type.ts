/** Content-Type by file extension, for the files a front-end build produces. */

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.eot': 'application/vnd.ms-fontobject',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.gz': 'application/gzip',
  '.br': 'application/octet-stream',
};

/**
 * The Content-Type for a file name; `application/octet-stream` when unknown (served with
 * `X-Content-Type-Options: nosniff`, so browsers do not guess).
 *
 * @example
 * ```ts
 * contentTypeFor('app.3F2A1B9C.js'); // 'text/javascript; charset=utf-8'
 * ```
 */
export function contentTypeFor(file: string): string {
  const dot = file.lastIndexOf('.');
  const ext = dot < 0 ? '' : file.slice(dot).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}
