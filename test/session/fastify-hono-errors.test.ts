/**
 * Fastify and Hono: a store that stops answering while a handler runs `update()`, `save()`,
 * `destroy()` or `regenerate()` is answered through each framework's OWN default error handling
 * (no error handler set up) with JSON and no stack trace: 503 with Retry-After when the write was
 * not applied, or 504 without Retry-After when its reply was lost and it may have landed before
 * its fence (DROVE_ERR_STORE_OUTCOME_UNKNOWN: a blind retry could apply it twice).
 * The store is a private Redis behind a loopback relay that is switched to hold every byte.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyStyleSession } from '../../src/session/fastify.js';
import { session as fastifySession } from '../../src/session/fastify.js';
import { session as honoSession, type SessionEnv } from '../../src/session/hono.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type Relay, startRelay } from '../helpers/relay.js';
import { Browser } from './client.js';

type S = FastifyStyleSession<Record<string, unknown>>;

let redis: RedisServer;
let relay: Relay;
let store: Store;

/** The store goes silent from here on (the session was loaded already). */
const hang = () => relay.mode('blackhole');

const operations: Record<string, (s: S) => Promise<unknown>> = {
  update: async (s) => {
    await hang();
    await s.update((d) => {
      d.n = 1;
    });
  },
  save: async (s) => {
    await hang();
    s.set('n', 2);
    await s.save();
  },
  destroy: async (s) => {
    await hang();
    await s.destroy();
  },
  // drove's regenerate() writes when the response is committed: that is where it fails.
  regenerate: async (s) => {
    await hang();
    await s.regenerate(['a']);
  },
};

async function fastifyApp(errors: 'respond' | 'pass'): Promise<string> {
  const app = Fastify();
  await app.register(fastifySession({ store, retryAfterSeconds: 7, errors }));
  app.post('/seed', async (request) => {
    request.session.set('a', 1);
    return { ok: true };
  });
  app.get('/read', async (request) => ({ a: request.session.get('a') }));
  for (const [name, run] of Object.entries(operations)) {
    app.post(`/${name}`, async (request) => {
      await run(request.session as S);
      return { ok: true };
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function honoApp(errors: 'respond' | 'pass'): Promise<string> {
  const app = new Hono<SessionEnv>();
  app.use(honoSession({ store, retryAfterSeconds: 7, errors }));
  app.post('/seed', (c) => {
    c.get('session').set('a', 1);
    return c.json({ ok: true });
  });
  app.get('/read', (c) => c.json({ a: c.get('session').get('a') }));
  for (const [name, run] of Object.entries(operations)) {
    app.post(`/${name}`, async (c) => {
      await run(c.get('session'));
      return c.json({ ok: true });
    });
  }
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    );
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  redis = await startRedis();
  relay = await startRelay(redis);
  store = createStore(`redis://${relay.host}:${relay.port}`, { timeoutMs: 1000 });
  await store.ready();
});
afterAll(async () => {
  for (const close of closers) await close();
  await store?.close();
  await relay?.close();
  await redis?.stop();
});
afterEach(async () => {
  await relay.mode('pass');
  // The client reconnects on its own; wait until the store answers again.
  for (;;) {
    const ok = await store.get('probe').then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
});

for (const [framework, start] of [
  ['Fastify', fastifyApp],
  ['Hono', honoApp],
] as const) {
  describe(`${framework}'s default error handling, store hung mid-handler`, () => {
    let base: string;
    let passing: string;
    beforeAll(async () => {
      base = await start('respond');
      passing = await start('pass');
    });

    for (const name of Object.keys(operations)) {
      it(`${name}() answers 503 + Retry-After (not applied) or 504 (outcome unknown), JSON, no stack trace`, async () => {
        const user = new Browser(base);
        expect((await user.post('/seed')).status).toBe(200);
        const res = await user.post(`/${name}`);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        const body = res.json();
        const code = body.code ?? body.error?.code;
        if (res.status === 503) {
          expect(res.headers['retry-after']).toBe('7');
          expect(code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
        } else {
          expect(res.status).toBe(504);
          expect(res.headers['retry-after']).toBeUndefined();
          expect(code).toBe('DROVE_ERR_STORE_OUTCOME_UNKNOWN');
        }
        expect(res.body).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts\b/);
      });
    }

    it("with errors: 'pass', a store down at load answers 503 with Retry-After the same way", async () => {
      const user = new Browser(passing);
      expect((await user.post('/seed')).status).toBe(200);
      await hang();
      const res = await user.get('/read');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('7');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toContain('DROVE_ERR_STORE_UNAVAILABLE');
      expect(res.body).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts\b/);
    });
  });
}
