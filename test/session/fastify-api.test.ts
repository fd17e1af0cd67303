/**
 * @fastify/session's API on drove's Fastify and Hono sessions (issue 15): get/set, save() that
 * writes before the response, touch() past the throttle, sessionId, regenerate(keys),
 * destroy(cb)/delete(), on a real SQLite store, through real servers on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import Fastify, { type FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyStyleSession } from '../../src/session/fastify.js';
import { session as fastifySession } from '../../src/session/fastify.js';
import { session as honoSession, type SessionEnv } from '../../src/session/hono.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { Browser } from './client.js';
import { type CountingStore, countingStore } from './stores.js';

type S = FastifyStyleSession<Record<string, unknown>>;
type Route = (s: S, q: URLSearchParams, base: string) => Promise<unknown>;

/** Routes written as an app for @fastify/session would write them. */
const routes: Record<string, Route> = {
  'GET /read': async (s) => ({ a: s.get('a'), b: s.b, c: s.get('c'), id: s.sessionId ?? null }),
  'POST /set': async (s, q) => {
    s.set(q.get('key')!, JSON.parse(q.get('value')!));
    return { id: s.sessionId ?? null };
  },
  // save() writes now: a request of the same user made before this response sees the data.
  'POST /save-then-look': async (s, _q, base) => {
    s.set('saved', 'yes');
    await s.save();
    const seen = await new Browser(base).get('/read-saved', { cookie: `drove.sid=${s.sessionId}` });
    return { seen: seen.json(), id: s.sessionId };
  },
  'GET /read-saved': async (s) => ({ saved: s.get('saved') ?? null }),
  'POST /save-cb': (s) =>
    new Promise((resolve, reject) => {
      s.set('cb', 1);
      s.save((err) => (err ? reject(err) : resolve({ ok: true })));
    }),
  'GET /touch': async (s) => {
    s.touch();
    return { ok: true };
  },
  'POST /regenerate-keep': async (s) => {
    await s.regenerate(['a']);
    s.set('c', 3);
    return { ok: true };
  },
  'POST /regenerate-cb': (s) =>
    new Promise((resolve, reject) =>
      s.regenerate((err) => {
        if (err) return reject(err);
        s.set('fresh', true);
        resolve({ ok: true });
      }),
    ),
  'POST /destroy-cb': (s) =>
    new Promise((resolve, reject) => s.destroy((err) => (err ? reject(err) : resolve({ ok: 1 })))),
  'POST /delete': async (s) => {
    await s.delete();
    return { ok: true };
  },
  'POST /reserved': async (s) => {
    try {
      s.set('get', 1);
      return { code: 'none' };
    } catch (err) {
      return { code: (err as { code: string }).code };
    }
  },
};

async function fastifyApp(store: Store): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify();
  await app.register(fastifySession({ store }));
  let base = '';
  for (const [route, handler] of Object.entries(routes)) {
    const [method, url] = route.split(' ') as ['GET' | 'POST', string];
    app.route({
      method,
      url,
      handler: (request: FastifyRequest) =>
        handler(request.session as S, new URL(request.url, 'http://x').searchParams, base),
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { url: base, close: () => app.close() };
}

async function honoApp(store: Store): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono<SessionEnv>();
  app.use(honoSession({ store }));
  let base = '';
  for (const [route, handler] of Object.entries(routes)) {
    const [method, url] = route.split(' ') as ['GET' | 'POST', string];
    app.on(method, url, async (c) =>
      c.json((await handler(c.get('session'), new URL(c.req.url).searchParams, base)) as object),
    );
  }
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    );
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: base, close };
}

const dir = mkdtempSync(join(tmpdir(), 'drove-fastify-api-'));
const stores: Store[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, start] of [
  ['fastify', fastifyApp],
  ['hono', honoApp],
] as const) {
  describe(`@fastify/session's API on drove's ${name} session`, () => {
    let counted: CountingStore;
    let app: { url: string; close(): Promise<void> };
    beforeAll(async () => {
      const store = createStore(`sqlite:${join(dir, `${name}.db`)}`);
      stores.push(store);
      counted = countingStore(store);
      app = await start(counted);
    });
    afterAll(() => app?.close());

    it('set() and get() are the plain properties; sessionId is the cookie value', async () => {
      const user = new Browser(app.url);
      await user.post('/set?key=a&value=1');
      await user.post('/set?key=b&value=2');
      const read = (await user.get('/read')).json();
      expect(read).toMatchObject({ a: 1, b: 2 });
      expect(read.id).toBe(user.id);
    });

    it('save() writes before the response, and its callback form reports the outcome', async () => {
      const user = new Browser(app.url);
      const res = (await user.post('/save-then-look')).json();
      expect(res.seen).toEqual({ saved: 'yes' });
      expect(res.id).toBe(user.id);
      expect((await user.post('/save-cb')).json()).toEqual({ ok: true });
      expect((await user.get('/read-saved')).json()).toEqual({ saved: 'yes' });
    });

    it('touch() extends the session although the touch throttle would not yet', async () => {
      const user = new Browser(app.url);
      await user.post('/set?key=a&value=1');
      counted.reset();
      await user.get('/read');
      expect(counted.calls).toEqual(['get']);
      counted.reset();
      const touched = await user.get('/touch');
      expect(counted.calls).toEqual(['get', 'touch']);
      expect(touched.setCookie.join()).toMatch(/Max-Age=8640\d/);
    });

    it('regenerate(keys) keeps those keys under a new id; the old id stops working', async () => {
      const user = new Browser(app.url);
      await user.post('/set?key=a&value=1');
      await user.post('/set?key=b&value=2');
      const oldCookie = user.cookie!;
      await user.post('/regenerate-keep');
      expect(user.cookie).not.toBe(oldCookie);
      expect((await user.get('/read')).json()).toMatchObject({ a: 1, c: 3 });
      expect((await user.get('/read')).json().b).toBeUndefined();
      const old = await new Browser(app.url).get('/read', { cookie: oldCookie });
      expect(old.json()).toEqual({ id: null });
    });

    it('regenerate(callback) empties the session under a new id', async () => {
      const user = new Browser(app.url);
      await user.post('/set?key=a&value=1');
      const oldCookie = user.cookie!;
      await user.post('/regenerate-cb');
      expect(user.cookie).not.toBe(oldCookie);
      const read = (await user.get('/read')).json();
      expect(read.a).toBeUndefined();
      expect(read.id).toBe(user.id);
    });

    it('destroy(callback) and delete() end the session and clear the cookie', async () => {
      for (const path of ['/destroy-cb', '/delete']) {
        const user = new Browser(app.url);
        await user.post('/set?key=a&value=1');
        const cookie = user.cookie!;
        const res = await user.post(path);
        expect(res.status).toBe(200);
        expect(res.setCookie.join()).toMatch(/Max-Age=0/);
        expect((await new Browser(app.url).get('/read', { cookie })).json()).toEqual({ id: null });
      }
    });

    it("the methods' names are reserved", async () => {
      expect((await new Browser(app.url).post('/reserved')).json()).toEqual({
        code: 'DROVE_ERR_INVALID_OPTION',
      });
    });
  });
}
