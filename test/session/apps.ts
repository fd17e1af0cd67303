/**
 * The same tiny app on every adapter, served on a real loopback port. Route logic is shared, so
 * a behaviour test means the same thing on node:http, Express, Fastify and Hono.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { session as expressSession } from '../../src/session/express.js';
import { session as fastifySession } from '../../src/session/fastify.js';
import { session as honoSession, type SessionEnv } from '../../src/session/hono.js';
import { session as nodeSession, type RequestWithSession } from '../../src/session/node.js';
import type { AdapterOptions, Session, SessionOptions } from '../../src/session/types.js';

export type AdapterName = 'node' | 'express' | 'fastify' | 'hono';
export const ADAPTERS: AdapterName[] = ['node', 'express', 'fastify', 'hono'];

type Data = Record<string, unknown>;
type Handler = (s: Session<Data>, q: URLSearchParams) => Promise<unknown>;

const pause = (ms: string | null) =>
  ms ? new Promise((resolve) => setTimeout(resolve, Number(ms))) : Promise.resolve();

/** Route table shared by every adapter: `METHOD /path` → handler returning the JSON body. */
export const routes: Record<string, Handler> = {
  'GET /read': async (s) => ({
    data: { ...s },
    isNew: s.isNew,
    dateIsDate: s.when instanceof Date,
  }),
  'POST /set': async (s, q) => {
    await pause(q.get('delay'));
    s[q.get('key')!] = JSON.parse(q.get('value') ?? 'true');
    return { ok: true };
  },
  'POST /unset': async (s, q) => {
    delete s[q.get('key')!];
    return { ok: true };
  },
  'POST /push': async (s, q) => {
    (s.cart as unknown[]).push(q.get('item'));
    return { ok: true };
  },
  'POST /date': async (s) => {
    s.when = new Date(0);
    return { ok: true };
  },
  'POST /incr': async (s, q) => {
    await pause(q.get('delay'));
    await s.update((d) => {
      d.n = ((d.n as number | undefined) ?? 0) + 1;
    });
    return { n: s.n };
  },
  'POST /login': async (s, q) => {
    await s.regenerate({ keepData: q.has('keep') });
    s.setOwner(q.get('user')!);
    s.userId = q.get('user');
    return { ok: true };
  },
  'POST /logout': async (s) => {
    await s.destroy();
    return { ok: true };
  },
  'POST /logout-all': async (s, q) => ({
    count: await s.destroyAll({ exceptCurrent: q.has('except') }),
  }),
};

export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

export type AppOptions = SessionOptions<Data> & AdapterOptions;

/** Start the app on `adapter` with these session options, on a free loopback port. */
export function startApp(adapter: AdapterName, options: AppOptions): Promise<RunningApp> {
  switch (adapter) {
    case 'node':
      return listen(createServer(nodeApp(options)));
    case 'express':
      return listen(createServer(expressApp(options)));
    case 'fastify':
      return fastifyApp(options);
    case 'hono':
      return honoApp(options);
  }
}

const errorBody = (err: unknown) => ({
  error: { code: (err as { code?: string }).code ?? 'UNKNOWN', message: String(err) },
});
const statusOf = (err: unknown) => (err as { statusCode?: number }).statusCode ?? 500;

/** GET /stream: the head goes out, then the handler tries to change the session. */
const lateChange = (s: Session<Data>): string => {
  try {
    s.late = true;
    return 'no error';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

function nodeApp(options: AppOptions) {
  const withSession = nodeSession(options);
  return (req: IncomingMessage, res: ServerResponse) =>
    withSession(req, res, (err) => {
      if (err) {
        res.writeHead(statusOf(err), { 'x-passed': '1' }).end(JSON.stringify(errorBody(err)));
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const { session } = req as RequestWithSession<Data>;
      if (url.pathname === '/stream') {
        res.writeHead(200);
        res.write('start;');
        setTimeout(() => res.end(lateChange(session)), 30);
        return;
      }
      const handler = routes[`${req.method} ${url.pathname}`];
      if (!handler) return void res.writeHead(404).end();
      handler(session, url.searchParams).then(
        (body) =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
        (err) => res.writeHead(statusOf(err)).end(JSON.stringify(errorBody(err))),
      );
    });
}

function expressApp(options: AppOptions) {
  const app = express();
  app.use(expressSession(options));
  app.get('/stream', (req, res) => {
    res.writeHead(200);
    res.write('start;');
    setTimeout(() => res.end(lateChange(req.session as Session<Data>)), 30);
  });
  for (const [route, handler] of Object.entries(routes)) {
    const [method, path] = route.split(' ') as ['GET' | 'POST', string];
    app[method === 'GET' ? 'get' : 'post'](path, (req, res, next) => {
      const query = new URL(req.url, 'http://x').searchParams;
      handler(req.session as Session<Data>, query).then((body) => res.json(body), next);
    });
  }
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(statusOf(err)).set('x-passed', '1').json(errorBody(err));
    },
  );
  return app;
}

async function fastifyApp(options: AppOptions): Promise<RunningApp> {
  const app = Fastify();
  await app.register(fastifySession(options));
  app.setErrorHandler((err, _request, reply) => {
    reply.code(statusOf(err)).header('x-passed', '1').send(errorBody(err));
  });
  app.get('/stream', (request, reply) => {
    const body = new PassThrough();
    reply.send(body);
    body.write('start;');
    setTimeout(() => body.end(lateChange(request.session as Session<Data>)), 30);
    return reply;
  });
  for (const [route, handler] of Object.entries(routes)) {
    const [method, path] = route.split(' ') as ['GET' | 'POST', string];
    app.route({
      method,
      url: path,
      handler: (request) =>
        handler(request.session as Session<Data>, new URL(request.url, 'http://x').searchParams),
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function honoApp(options: AppOptions): Promise<RunningApp> {
  const app = new Hono<SessionEnv<Data>>();
  app.use(honoSession<Data>(options));
  app.onError((err, c) => {
    c.header('x-passed', '1');
    return c.json(errorBody(err), statusOf(err) as 500);
  });
  app.get('/stream', (c) => {
    const s = c.get('session');
    const encoder = new TextEncoder();
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('start;'));
        setTimeout(() => {
          controller.enqueue(encoder.encode(lateChange(s)));
          controller.close();
        }, 30);
      },
    });
    return c.body(body);
  });
  for (const [route, handler] of Object.entries(routes)) {
    const [method, path] = route.split(' ') as ['GET' | 'POST', string];
    app.on(method, path, async (c) =>
      c.json((await handler(c.get('session'), new URL(c.req.url).searchParams)) as object),
    );
  }
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    );
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

function listen(server: Server): Promise<RunningApp> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => closeServer(server) });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
