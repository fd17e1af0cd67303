/**
 * Issue 12, the framework path on Express and node:http: a store outage inside a route
 * (`update()` on a private Redis stopped with SIGSTOP) reaches the client as 503 with
 * Retry-After and no stack trace, through Express's default handler (NODE_ENV=production), through
 * the exported `sessionErrors()` (the session middleware's JSON body), and through the node
 * adapter's own path (an async handler's rejection).
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { session as expressSession, sessionErrors } from '../../src/session/express.js';
import { session as nodeSession, type RequestWithSession } from '../../src/session/node.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { Browser } from './client.js';

const RETRY_AFTER = 7;

/** Set by the test: stops Redis from inside a route, after the session was loaded. */
let stopStore = () => {};

function expressApp(store: Store, withErrors: boolean) {
  const app = express();
  // What NODE_ENV=production sets: finalhandler then shows no stack.
  app.set('env', 'production');
  app.use(expressSession({ store, retryAfterSeconds: RETRY_AFTER }));
  app.post('/visit', async (req, res) => {
    await req.session.update((s) => {
      s.visits = ((s.visits as number | undefined) ?? 0) + 1;
    });
    res.json({ visits: req.session.visits });
  });
  app.post('/bare-logout', (req, res) => {
    stopStore();
    // express-session style: destroy() without a callback, not awaited, then redirect.
    req.session.destroy();
    res.redirect('/');
  });
  app.post('/bare-save', (req, res) => {
    // express-session style: save() without a callback, not awaited, then redirect.
    req.session.cart = ['apple'];
    req.session.save();
    res.redirect('/');
  });
  if (withErrors) app.use(sessionErrors());
  return app;
}

function nodeApp(store: Store) {
  const withSession = nodeSession({ store, retryAfterSeconds: RETRY_AFTER });
  return (req: Parameters<typeof withSession>[0], res: Parameters<typeof withSession>[1]) =>
    withSession(req, res, async () => {
      const { session } = req as RequestWithSession<{ visits?: number }>;
      await session.update((s) => {
        s.visits = (s.visits ?? 0) + 1;
      });
      res.end(JSON.stringify({ visits: session.visits }));
    });
}

describe('a store outage inside a route, on Express and node:http', () => {
  let redis: RedisServer;
  let store: Store;
  let redisPid: number;
  const servers: Server[] = [];
  const bases: Record<'default' | 'sessionErrors' | 'node', string> = {
    default: '',
    sessionErrors: '',
    node: '',
  };

  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    redis = await startRedis();
    const info = execFileSync('redis-cli', ['-p', String(redis.port), 'info', 'server'], {
      encoding: 'utf8',
    });
    redisPid = Number(/process_id:(\d+)/.exec(info)![1]);
    stopStore = () => process.kill(redisPid, 'SIGSTOP');
    store = createStore(redis.url, { timeoutMs: 1000 });
    await store.ready();
    bases.default = await listen(expressApp(store, false));
    bases.sessionErrors = await listen(expressApp(store, true));
    bases.node = await listen(nodeApp(store));
  });

  afterAll(async () => {
    process.kill(redisPid, 'SIGCONT');
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await store?.close();
    await redis?.stop();
  });

  it('answers 503 with Retry-After and no stack trace on each path, and 200 once Redis is back', async () => {
    // Works first: the route really writes to Redis.
    for (const base of Object.values(bases)) {
      expect((await new Browser(base).post('/visit')).status).toBe(200);
    }
    process.kill(redisPid, 'SIGSTOP');
    try {
      const [viaDefault, viaExported, viaNode] = await Promise.all([
        new Browser(bases.default).post('/visit'),
        new Browser(bases.sessionErrors).post('/visit'),
        new Browser(bases.node).post('/visit'),
      ]);
      for (const reply of [viaDefault, viaExported, viaNode]) {
        expect(reply.status).toBe(503);
        expect(reply.headers['retry-after']).toBe(String(RETRY_AFTER));
        expect(reply.body).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules|DroveError/);
        expect(reply.setCookie).toEqual([]);
      }
      // Express's own handler: its HTML page with the status text only.
      expect(viaDefault.headers['content-type']).toMatch(/^text\/html/);
      expect(viaDefault.body).toContain('Service Unavailable');
      // The exported middleware and the node adapter: the session middleware's JSON answer.
      for (const reply of [viaExported, viaNode]) {
        expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(reply.json().error.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
      }
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
    for (const base of Object.values(bases)) {
      expect((await new Browser(base).post('/visit')).status).toBe(200);
    }
  });

  it('a bare, unawaited save() that fails answers 503 instead of a redirect or a crash', async () => {
    process.kill(redisPid, 'SIGSTOP');
    let reply: Awaited<ReturnType<Browser['post']>>;
    try {
      reply = await new Browser(bases.default).post('/bare-save');
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe(String(RETRY_AFTER));
    expect(reply.headers.location).toBeUndefined();
    expect(reply.json().error.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    // The process is still serving.
    expect((await new Browser(bases.default).post('/visit')).status).toBe(200);
  });

  it('a bare destroy() that fails is not passed off as a logout', async () => {
    const user = new Browser(bases.default);
    expect((await user.post('/visit')).status).toBe(200);
    let reply: Awaited<ReturnType<Browser['post']>>;
    try {
      reply = await user.post('/bare-logout');
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
    expect(reply.status).toBe(503);
    expect(reply.headers.location).toBeUndefined();
    expect(reply.setCookie).toEqual([]);
    expect(reply.json().error.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
  });

  it("sessionErrors() hands errors that are not drove's to the next handler", async () => {
    const app = express();
    app.set('env', 'production');
    app.get('/boom', () => {
      throw new Error('not a session error');
    });
    app.use(sessionErrors());
    const base = await listen(app);
    const reply = await new Browser(base).get('/boom');
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
  });
});
