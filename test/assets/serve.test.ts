/**
 * The static handler over node:http: cache headers, ETag/304, encoding negotiation, HEAD,
 * content types, 404/405, start-up errors, and traversal fuzzing that never escapes the folder.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Assets, createAssets } from '../../src/assets/index.js';
import { nodeAssets } from '../../src/assets/node.js';
import { builtFixture, listen, rawGet } from './helpers.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-BUILD-FOLDER';
let fixture: Awaited<ReturnType<typeof builtFixture>>;
let assets: Assets;
let server: Server;
let base: string;
let port: number;
/** Every servable byte string in the build folder (identity and precompressed). */
let inside: Set<string>;

beforeAll(async () => {
  fixture = await builtFixture();
  // Things a traversal would love to reach: a file next to the build folder, and symlinks out.
  writeFileSync(path.join(fixture.root, 'build', 'secret.txt'), SECRET);
  writeFileSync(path.join(fixture.root, 'secret.txt'), SECRET);
  symlinkSync(path.join(fixture.root, 'secret.txt'), path.join(fixture.dir, 'leak.txt'));
  symlinkSync(fixture.root, path.join(fixture.dir, 'up'));
  writeFileSync(path.join(fixture.dir, '.hidden'), SECRET);
  mkdirSync(path.join(fixture.dir, 'extra'));
  writeFileSync(path.join(fixture.dir, 'extra', 'notes.txt'), 'not hashed');
  assets = createAssets({ dir: fixture.dir });
  const serve = nodeAssets(assets);
  server = createServer((req, res) => {
    if (serve(req, res)) return;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' }).end('app');
  });
  base = await listen(server);
  port = (server.address() as AddressInfo).port;
  inside = new Set();
  for (const rel of Object.keys(assets.manifest.files)) {
    for (const suffix of ['', '.br', '.gz']) {
      try {
        inside.add(readFileSync(path.join(fixture.dir, rel + suffix)).toString('base64'));
      } catch {}
    }
  }
  inside.add(readFileSync(path.join(fixture.dir, 'extra', 'notes.txt')).toString('base64'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fixture.cleanup();
});

const appUrl = () => assets.assetUrl('app.js');

describe('assetUrl', () => {
  it('maps logical names to hashed URLs and rejects unknown names', () => {
    expect(appUrl()).toBe(`/assets/${assets.manifest.entries['app.js']}`);
    expect(assets.assetUrl('style.css')).toMatch(/^\/assets\/style\.[A-Z0-9]{8}\.css$/);
    expect(assets.integrity('app.js')).toMatch(/^sha384-/);
    expect(() => assets.assetUrl('nope.js')).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_ASSET_UNKNOWN' }),
    );
    expect(() => assets.assetUrl('toString')).toThrow(/not in the manifest/);
    const cdn = createAssets({ dir: fixture.dir, publicPath: 'https://cdn.example/static/' });
    expect(cdn.assetUrl('app.js')).toMatch(/^https:\/\/cdn\.example\/static\/app\./);
    expect(cdn.prefix).toBe('/static/');
  });

  it('fails at creation with DROVE_ERR_ASSETS_NOT_BUILT naming the command', () => {
    const dir = path.join(tmpdir(), `drove-no-build-${process.pid}`);
    expect(() => createAssets({ dir })).toThrow(
      expect.objectContaining({
        code: 'DROVE_ERR_ASSETS_NOT_BUILT',
        message: expect.stringContaining('drove build'),
      }),
    );
  });
});

describe('start-up checks', () => {
  it('refuses an incomplete build folder (a manifest file is missing)', () => {
    const copy = path.join(fixture.root, 'partial');
    cpSync(fixture.dir, copy, { recursive: true, verbatimSymlinks: true });
    rmSync(path.join(copy, assets.manifest.entries['style.css']!));
    expect(() => createAssets({ dir: copy })).toThrow(
      expect.objectContaining({
        code: 'DROVE_ERR_BUILD_CONFIG',
        message: expect.stringContaining(assets.manifest.entries['style.css']!),
      }),
    );
  });
});

describe('static handler (node:http)', () => {
  it('serves hashed files as immutable with type, length, ETag and nosniff', async () => {
    const res = await fetch(base + appUrl(), { headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('etag')).toMatch(/^"[\w-]{27}"$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(readFileSync(path.join(fixture.dir, assets.manifest.entries['app.js']!))));
    expect(res.headers.get('content-length')).toBe(String(body.byteLength));
  });

  it('sends content types by extension and revalidation for unhashed files', async () => {
    const css = await fetch(base + assets.assetUrl('style.css'));
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const logo = Object.keys(assets.manifest.files).find((f) => f.endsWith('.svg'))!;
    const svg = await fetch(`${base}/assets/${logo}`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    const notes = await fetch(`${base}/assets/extra/notes.txt`);
    expect(notes.status).toBe(200);
    expect(notes.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
    expect(notes.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await notes.text()).toBe('not hashed');
  });

  it('answers If-None-Match with 304 per representation', async () => {
    const first = await fetch(base + appUrl(), { headers: { 'accept-encoding': 'br' } });
    const etag = first.headers.get('etag')!;
    const again = await fetch(base + appUrl(), {
      headers: { 'accept-encoding': 'br', 'if-none-match': `"other", W/${etag}` },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toContain('immutable');
    expect(await again.text()).toBe('');
    // The gzip representation has a different tag, so the br tag does not validate it.
    const gzip = await fetch(base + appUrl(), {
      headers: { 'accept-encoding': 'gzip', 'if-none-match': etag },
    });
    expect(gzip.status).toBe(200);
    expect(gzip.headers.get('etag')).not.toBe(etag);
  });

  it('negotiates brotli/gzip from Accept-Encoding with q-values', async () => {
    const coding = async (accept: string) => {
      const res = await fetch(base + appUrl(), { headers: { 'accept-encoding': accept } });
      await res.arrayBuffer();
      return res.headers.get('content-encoding') ?? 'identity';
    };
    expect(await coding('gzip, deflate, br')).toBe('br');
    expect(await coding('gzip')).toBe('gzip');
    expect(await coding('br;q=0.5, gzip;q=0.9')).toBe('gzip');
    expect(await coding('br;q=0, gzip;q=0')).toBe('identity');
    expect(await coding('*')).toBe('br');
    expect(await coding('identity, gzip;q=0.1')).toBe('identity');
    expect(await coding('deflate')).toBe('identity');
    // fetch decodes what it receives: the decoded bytes are the original file.
    const res = await fetch(base + appUrl(), { headers: { 'accept-encoding': 'br' } });
    const original = readFileSync(path.join(fixture.dir, assets.manifest.entries['app.js']!));
    expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);
  });

  it('answers HEAD with the headers and no body, and other methods with 405', async () => {
    const head = await fetch(base + appUrl(), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
    const post = await fetch(base + appUrl(), { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('404s unknown files, the manifest, variants, dotfiles and symlinks out; passes others on', async () => {
    for (const target of [
      '/assets/',
      '/assets/nope.js',
      '/assets/manifest.json',
      `/assets/${assets.manifest.entries['app.js']}.br`,
      '/assets/.hidden',
      '/assets/leak.txt',
      '/assets/up/secret.txt',
      '/assets/%E0%A4%A',
    ]) {
      const { status, body } = await rawGet(port, target);
      expect(status, target).toBe(404);
      expect(body.toString()).not.toContain(SECRET);
    }
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('app');
  });

  it('streams files above the in-memory limit', async () => {
    const streamed = createAssets({ dir: fixture.dir, maxCachedFileBytes: 0 });
    const reply = streamed.respond({ method: 'GET', url: streamed.assetUrl('app.js') })!;
    expect(reply.body).toBeNull();
    expect(reply.file).toBe(path.join(fixture.dir, streamed.manifest.entries['app.js']!));
    const s = createServer((req, res) => void nodeAssets(streamed)(req, res));
    const url = await listen(s);
    try {
      const res = await fetch(url + streamed.assetUrl('app.js'), {
        headers: { 'accept-encoding': 'identity' },
      });
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(reply.file!))).toBe(true);
    } finally {
      await new Promise((resolve) => s.close(resolve));
    }
  });
});

describe('path traversal fuzzing', () => {
  const pieces = [
    '..',
    '.',
    '/',
    '//',
    '\\',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '%2e.',
    '%252e%252e',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%00',
    '\u0000',
    '%',
    '%zz',
    'C:',
    '~',
    'secret.txt',
    'build',
    'assets',
    'up',
    'leak.txt',
    '.hidden',
    'manifest.json',
    'chunks',
    'extra',
    'notes.txt',
    '?x=1',
    '#',
    ';',
  ];
  const target = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('/assets/', '/', '', '/assets', '/assets/chunks/', '/assets//'),
        fc.array(fc.constantFrom(...pieces), { maxLength: 10 }),
      )
      .map(([start, parts]) => start + parts.join('')),
    fc.string({ maxLength: 40 }).map((s) => `/assets/${s}`),
  );

  /** A reply either passes through, refuses, or carries bytes that are inside the folder. */
  const assertInside = (status: number, body: Buffer | null) => {
    expect(body?.toString('latin1') ?? '').not.toContain(SECRET);
    if (status === 200) expect(inside.has(body!.toString('base64'))).toBe(true);
    else expect([304, 400, 404, 405]).toContain(status);
  };

  it('core: no URL reaches a byte outside the build folder', () => {
    fc.assert(
      fc.property(target, fc.constantFrom('GET', 'HEAD', 'POST'), (url, method) => {
        const reply = assets.respond({ method, url, acceptEncoding: 'br, gzip' });
        if (reply === null) {
          expect(url.startsWith('/assets/')).toBe(false);
          return;
        }
        const body = reply.body ?? (reply.file ? readFileSync(reply.file) : null);
        if (reply.file) expect(reply.file.startsWith(fixture.dir + path.sep)).toBe(true);
        if (method === 'HEAD' && reply.status === 200) expect(body).toBeNull();
        else assertInside(reply.status, body);
      }),
      { numRuns: 3000 },
    );
  });

  it('over a socket: raw request targets get a 4xx or a file from inside', async () => {
    await fc.assert(
      fc.asyncProperty(target, async (url) => {
        const { status, body } = await rawGet(port, url);
        if (status === 200 && body.toString() === 'app') return; // passed on to the app
        assertInside(status, body);
      }),
      { numRuns: 250 },
    );
  });
});
