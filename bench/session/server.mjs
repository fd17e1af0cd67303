// One benchmark stack, chosen by STACK, on PORT, with sessions (if any) on REDIS_URL.
// Every stack runs the same handler code; GET /__stats reports store round trips so far.
import cookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import { session as droveExpress } from 'drove/session/express';
import { session as droveFastify } from 'drove/session/fastify';
import { createStore } from 'drove/stores';
import express from 'express';
import expressSession from 'express-session';
import Fastify from 'fastify';
import { createClient } from 'redis';

const { STACK, PORT, REDIS_URL } = process.env;
const SECRET = 'a-benchmark-secret-of-at-least-32-characters';
let storeCalls = 0;

/** The shared handlers: a read-only request, a modifying one, and a counter increment. */
const read = (s) => ({ visits: s.visits ?? 0 });
const visit = (s) => {
  s.visits = (s.visits ?? 0) + 1;
  return { visits: s.visits };
};
const increment = async (s, atomic) => {
  if (atomic) {
    await s.update((d) => {
      d.n = (d.n ?? 0) + 1;
    });
  } else s.n = (s.n ?? 0) + 1;
  return { n: s.n };
};

/** connect-redis with each store call counted (one Redis command each). */
async function countedConnectRedis() {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const store = new RedisStore({ client, prefix: `bench-${STACK}:` });
  for (const method of ['get', 'set', 'touch', 'destroy']) {
    const original = store[method].bind(store);
    store[method] = (...args) => {
      storeCalls++;
      return original(...args);
    };
  }
  return store;
}

async function droveOptions() {
  const store = createStore(REDIS_URL, { prefix: `bench-${STACK}:` });
  await store.ready();
  return {
    store,
    onEvent: (e) => {
      if (e.type === 'store') storeCalls++;
    },
  };
}

async function expressApp(kind) {
  const app = express();
  if (kind === 'express-session') {
    app.use(
      expressSession({
        store: await countedConnectRedis(),
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
      }),
    );
  } else if (kind === 'drove') {
    app.use(droveExpress(await droveOptions()));
  }
  const s = (req) => req.session ?? {};
  app.get('/__stats', (_req, res) => res.json({ storeCalls }));
  app.get('/read', (req, res) => res.json(read(s(req))));
  app.post('/visit', (req, res) => res.json(visit(s(req))));
  app.post('/incr', async (req, res) => res.json(await increment(s(req), kind === 'drove')));
  app.listen(Number(PORT), '127.0.0.1', () => console.log('ready'));
}

async function fastifyApp(kind) {
  const app = Fastify();
  if (kind.startsWith('fastify-session')) {
    await app.register(cookie);
    await app.register(fastifySession, {
      secret: SECRET,
      store: await countedConnectRedis(),
      saveUninitialized: false,
      rolling: kind === 'fastify-session-rolling',
      cookie: { secure: false },
    });
  } else if (kind === 'drove') {
    await app.register(droveFastify(await droveOptions()));
  }
  const s = (request) => request.session ?? {};
  app.get('/__stats', async () => ({ storeCalls }));
  app.get('/read', async (request) => read(s(request)));
  app.post('/visit', async (request) => visit(s(request)));
  app.post('/incr', async (request) => increment(s(request), kind === 'drove'));
  await app.listen({ port: Number(PORT), host: '127.0.0.1' });
  console.log('ready');
}

const [framework, ...rest] = STACK.split(':');
const kind = rest.join(':') || 'none';
if (framework === 'express') await expressApp(kind);
else await fastifyApp(kind);
