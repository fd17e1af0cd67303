/**
 * Issue 12, the framework path on Express and node:http: a store failure inside a route reaches
 * the client with the error's status, its headers and no stack trace, through Express's default
 * handler (NODE_ENV=production), through the exported `sessionErrors()` (the session
 * middleware's JSON body), and through the node adapter's own path (an async handler's
 * rejection). A store that is down (a private Redis killed) is a 503 with Retry-After; a write
 * whose reply was lost in a hang (SIGSTOP) is a 504 DROVE_ERR_STORE_OUTCOME_UNKNOWN, without
 * Retry-After, since a blind retry might apply it twice.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { session as expressSession, sessionErrors } from '../../src/session/express.js';
import { session as nodeSession, type RequestWithSession } from '../../src/session/node.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { waitFor } from '../helpers/ports.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { Browser, type Reply } from './client.js';

const RETRY_AFTER = 7;
/** No stack frame, file path or class name of drove's in a body. */
const STACK = /\bat \S+ \(|\.ts:\d+|node_modules|DroveError/;

/** Set by the test: takes Redis down from inside a route, after the session was loaded. */
let downFromRoute = async () => {};

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
  app.post('/bare-logout', async (req, res) => {
    await downFromRoute();
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

describe('a store failure inside a route, on Express and node:http', () => {
  let redis: RedisServer;
  let store: Store;
  const servers: Server[] = [];
  const bases: Record<'default' | 'sessionErrors' | 'node', string> = {
    default: '',
    sessionErrors: '',
    node: '',
  };
  const visitAll = () =>
    Promise.all(Object.values(bases).map((base) => new Browser(base).post('/visit')));
  /** Redis back up and every app writing again (the client reconnects at its own pace). */
  const restart = async () => {
    await redis.start();
    await waitFor('every app to write again', async () =>
      (await visitAll()).every((r) => r.status === 200),
    );
  };

  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    redis = await startRedis();
    store = createStore(redis.url, { timeoutMs: 1000 });
    await store.ready();
    bases.default = await listen(expressApp(store, false));
    bases.sessionErrors = await listen(expressApp(store, true));
    bases.node = await listen(nodeApp(store));
  });

  afterAll(async () => {
    redis?.resume();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await store?.close();
    await redis?.stop();
  });

  /** The answers of the three paths, checked alike; returns them for the specific checks. */
  const expectAnswers = (replies: Reply[], status: number, retryAfter: string | undefined) => {
    for (const reply of replies) {
      expect(reply.status).toBe(status);
      expect(reply.headers['retry-after']).toBe(retryAfter);
      expect(reply.body).not.toMatch(STACK);
      expect(reply.setCookie).toEqual([]);
    }
    const [viaDefault, viaExported, viaNode] = replies as [Reply, Reply, Reply];
    // Express's own handler: its HTML page with the status text only.
    expect(viaDefault.headers['content-type']).toMatch(/^text\/html/);
    // The exported middleware and the node adapter: the session middleware's JSON answer.
    for (const reply of [viaExported, viaNode]) {
      expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    return { viaDefault, viaExported, viaNode };
  };

  it('a store that is down: 503 with Retry-After and no stack trace on each path', async () => {
    expect((await visitAll()).map((r) => r.status)).toEqual([200, 200, 200]);
    await redis.kill();
    try {
      const { viaDefault, viaExported, viaNode } = expectAnswers(
        await visitAll(),
        503,
        String(RETRY_AFTER),
      );
      expect(viaDefault.body).toContain('Service Unavailable');
      for (const reply of [viaExported, viaNode]) {
        expect(reply.json().error.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
      }
    } finally {
      await restart();
    }
  });

  it('a hang: 504 outcome unknown without Retry-After, or 503 with it when nothing was sent', async () => {
    redis.pause();
    let replies: Reply[];
    try {
      replies = await visitAll();
    } finally {
      redis.resume();
    }
    // A write whose reply was lost may have landed before its fence: 504, and no Retry-After (a
    // blind retry could apply it twice). A call that never reached the server (the update's own
    // read, say, depending on timing) is not applied: 503 with Retry-After. Never anything else.
    const [viaDefault, viaExported, viaNode] = replies as [Reply, Reply, Reply];
    for (const reply of replies) {
      expect(reply.body).not.toMatch(STACK);
      expect(reply.setCookie).toEqual([]);
      if (reply.status === 504) expect(reply.headers['retry-after']).toBeUndefined();
      else {
        expect(reply.status).toBe(503);
        expect(reply.headers['retry-after']).toBe(String(RETRY_AFTER));
      }
    }
    expect(viaDefault.body).toContain(
      viaDefault.status === 504 ? 'Gateway Timeout' : 'Service Unavailable',
    );
    for (const reply of [viaExported, viaNode]) {
      expect(reply.json().error.code).toBe(
        reply.status === 504 ? 'DROVE_ERR_STORE_OUTCOME_UNKNOWN' : 'DROVE_ERR_STORE_UNAVAILABLE',
      );
    }
    // The client reconnects at its own pace after the hang.
    await waitFor('every app to write again', async () =>
      (await visitAll()).every((r) => r.status === 200),
    );
  });

  it('a bare, unawaited save() that fails answers 503/504 instead of a redirect or a crash', async () => {
    await redis.kill();
    let reply: Reply;
    try {
      reply = await new Browser(bases.default).post('/bare-save');
    } finally {
      await restart();
    }
    // Down (503 with Retry-After) or, when the write went out on a connection that just died,
    // unknown (504 without it); never the redirect the route meant, never a crash.
    expect([503, 504]).toContain(reply.status);
    expect(reply.headers['retry-after']).toBe(
      reply.status === 503 ? String(RETRY_AFTER) : undefined,
    );
    expect(reply.headers.location).toBeUndefined();
    expect(reply.json().error.code).toBe(
      reply.status === 503 ? 'DROVE_ERR_STORE_UNAVAILABLE' : 'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
    );
  });

  it('a bare destroy() that fails is not passed off as a logout', async () => {
    const user = new Browser(bases.default);
    expect((await user.post('/visit')).status).toBe(200);
    downFromRoute = () => redis.kill();
    let reply: Reply;
    try {
      reply = await user.post('/bare-logout');
    } finally {
      downFromRoute = async () => {};
      await restart();
    }
    // Down (503) or, when the delete went out on a connection that just died, unknown (504).
    expect([503, 504]).toContain(reply.status);
    expect(reply.headers.location).toBeUndefined();
    expect(reply.setCookie).toEqual([]);
    expect(['DROVE_ERR_STORE_UNAVAILABLE', 'DROVE_ERR_STORE_OUTCOME_UNKNOWN']).toContain(
      reply.json().error.code,
    );
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
