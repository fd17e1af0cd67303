/**
 * The Express, Fastify and Hono adapters over the same core: a hashed file with its headers,
 * brotli negotiation, 304, HEAD, 404 inside the prefix, and pass-through outside it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressAssets } from '../../src/assets/express.js';
import { fastifyAssets } from '../../src/assets/fastify.js';
import { honoAssets } from '../../src/assets/hono.js';
import { type Assets, createAssets } from '../../src/assets/index.js';
import { builtFixture, listen } from './helpers.js';

let fixture: Awaited<ReturnType<typeof builtFixture>>;
let assets: Assets;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  fixture = await builtFixture();
  assets = createAssets({ dir: fixture.dir });
});

afterAll(async () => {
  for (const close of closers) await close();
  fixture.cleanup();
});

async function startExpress(): Promise<string> {
  const app = express();
  app.use(expressAssets(assets));
  app.get('/page', (_req, res) => {
    res.send(`<script src="${assets.assetUrl('app.js')}"></script>`);
  });
  const server = createServer(app);
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return listen(server);
}

async function startExpressMounted(): Promise<string> {
  const app = express();
  app.use('/assets', expressAssets(assets));
  const server = createServer(app);
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return listen(server);
}

async function startFastify(): Promise<string> {
  const app = Fastify();
  await app.register(fastifyAssets(assets));
  app.get('/page', async () => `<script src="${assets.assetUrl('app.js')}"></script>`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function startHono(): Promise<string> {
  const app = new Hono();
  app.use(honoAssets(assets));
  app.get('/page', (c) => c.text(`<script src="${assets.assetUrl('app.js')}"></script>`));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each([
  ['Express', startExpress],
  ['Express mounted at /assets', startExpressMounted],
  ['Fastify', startFastify],
  ['Hono', startHono],
])('%s adapter', (name, start) => {
  let base: string;
  beforeAll(async () => {
    base = await start();
  });

  it('serves the hashed file with immutable caching and brotli', async () => {
    const url = base + assets.assetUrl('app.js');
    const res = await fetch(url, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(res.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const original = readFileSync(path.join(fixture.dir, assets.manifest.entries['app.js']!));
    expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);

    const etag = res.headers.get('etag')!;
    const cached = await fetch(url, {
      headers: { 'accept-encoding': 'br, gzip', 'if-none-match': etag },
    });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
  });

  it('answers HEAD with the length and no body', async () => {
    const url = base + assets.assetUrl('style.css');
    const res = await fetch(url, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    const size = assets.manifest.files[assets.manifest.entries['style.css']!]!.size;
    expect(res.headers.get('content-length')).toBe(String(size));
    expect(await res.text()).toBe('');
  });

  it('404s unknown files under the prefix and leaves other routes to the app', async () => {
    const missing = await fetch(`${base}/assets/app.00000000.js`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    if (name.includes('mounted')) return;
    const page = await fetch(`${base}/page`);
    expect(await page.text()).toContain(assets.assetUrl('app.js'));
  });
});
