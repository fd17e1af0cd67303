// One benchmark stack, chosen by STACK, on PORT, with sessions (if any) on REDIS_URL, or for the
// other stores on PG_URL, MEMCACHED (host:port) and SQLITE_DIR. Every stack runs the same handler
// code; GET /__stats reports store round trips so far.
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Database from 'better-sqlite3';
import betterSqliteStore from 'better-sqlite3-session-store';
import connectMemjs from 'connect-memjs';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import { session as droveExpress } from 'drovejs/session/express';
import { session as droveFastify } from 'drovejs/session/fastify';
import { createStore } from 'drovejs/stores';
import express from 'express';
import expressSession from 'express-session';
import Fastify from 'fastify';
import pg from 'pg';
import { createClient } from 'redis';

const { STACK, PORT, REDIS_URL, PG_URL, MEMCACHED, SQLITE_DIR } = process.env;
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

/** Each express-session store call counted (one round trip each). */
function counted(store) {
  for (const method of ['get', 'set', 'touch', 'destroy']) {
    // connect-memjs has no touch (express-session then skips it).
    if (typeof store[method] !== 'function') continue;
    const original = store[method].bind(store);
    store[method] = (...args) => {
      storeCalls++;
      return original(...args);
    };
  }
  return store;
}

/** connect-redis, counted. */
async function countedConnectRedis() {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  return counted(new RedisStore({ client, prefix: `bench-${STACK}:` }));
}

/** The express-session store people use today for each of the other backends, counted. */
function anchorStore(kind) {
  switch (kind) {
    case 'connect-pg-simple': {
      const PgStore = connectPgSimple(expressSession);
      const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
      return counted(new PgStore({ pool, createTableIfMissing: true }));
    }
    case 'connect-memjs': {
      const MemcachedStore = connectMemjs(expressSession);
      return counted(new MemcachedStore({ servers: [MEMCACHED], prefix: `bench-${STACK}:` }));
    }
    case 'better-sqlite3-session-store': {
      const SqliteStore = betterSqliteStore(expressSession);
      const client = new Database(join(SQLITE_DIR, 'anchor.db'));
      // WAL, as drove's SQLite store uses: the anchor at its best.
      client.pragma('journal_mode = WAL');
      return counted(new SqliteStore({ client }));
    }
    default:
      return undefined;
  }
}

/** drove's store for a stack: `drove` is Redis, `drove@sqlite` etc. the others. */
function droveStoreUrl(kind) {
  const backend = kind.split('@')[1] ?? 'redis';
  if (backend === 'redis') return REDIS_URL;
  if (backend === 'postgres') return PG_URL;
  if (backend === 'memcached') return `memcached://${MEMCACHED}`;
  return `sqlite:${join(SQLITE_DIR, 'drove.db')}`;
}

async function droveOptions(kind) {
  const store = createStore(droveStoreUrl(kind), { prefix: `bench-${STACK}:` });
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
  const anchor = anchorStore(kind);
  if (kind === 'express-session') {
    app.use(
      expressSession({
        store: await countedConnectRedis(),
        secret: SECRET,
        resave: false,
        saveUninitialized: false,
      }),
    );
  } else if (anchor) {
    app.use(
      expressSession({ store: anchor, secret: SECRET, resave: false, saveUninitialized: false }),
    );
  } else if (kind.startsWith('drove')) {
    app.use(droveExpress(await droveOptions(kind)));
  }
  const s = (req) => req.session ?? {};
  app.get('/__stats', (_req, res) => res.json({ storeCalls }));
  app.get('/read', (req, res) => res.json(read(s(req))));
  app.post('/visit', (req, res) => res.json(visit(s(req))));
  const atomic = kind.startsWith('drove');
  app.post('/incr', async (req, res) => res.json(await increment(s(req), atomic)));
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
    await app.register(droveFastify(await droveOptions(kind)));
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
