// bench/session: drove's Express and Fastify session adapters against express-session +
// connect-redis and @fastify/session + connect-redis, and each framework without sessions, all on
// one private Redis; then drove's Express adapter on SQLite, PostgreSQL and Memcached against the
// express-session store people use for each (better-sqlite3-session-store, connect-pg-simple,
// connect-memjs). All measured interleaved with autocannon.
// Usage: npm run session [-- --quick] [-- --contention-only] [-- --only=express,express:drove]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';

const quick = process.argv.includes('--quick');
const contentionOnly = process.argv.includes('--contention-only');
const DURATION = quick ? 2 : 5;
const ROUNDS = quick ? 1 : 3;
const CONNECTIONS = 50;
const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));

const STACKS = [
  'express',
  'express:express-session',
  'express:drove',
  'fastify',
  'fastify:fastify-session',
  'fastify:fastify-session-rolling',
  'fastify:drove',
];
/** drove on each other backend, next to the express-session store people use for it (modifying path). */
const STORE_PAIRS = [
  ['express:drove@sqlite', 'express:better-sqlite3-session-store'],
  ['express:drove@postgres', 'express:connect-pg-simple'],
  ['express:drove@memcached', 'express:connect-memjs'],
];
const STORE_STACKS = STORE_PAIRS.flat();
/** Which stacks each path is measured on. */
const PATHS = contentionOnly
  ? []
  : [
      ['/read', 'GET', STACKS],
      ['/visit', 'POST', [...STACKS, ...STORE_STACKS]],
    ];
const ALL_STACKS = contentionOnly ? STACKS : [...STACKS, ...STORE_STACKS];
// --only=express,express:drove measures just those stacks (for profiling work; ratios need all).
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const selected = (list) => (only ? list.filter((s) => only.includes(s)) : list);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function start(command, args, env, ready) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (ready.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)));
  });
}

async function http(port, method, path, cookie) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: cookie ? { cookie } : {},
  });
  const setCookie = res.headers.getSetCookie()[0]?.split(';')[0];
  return { body: await res.json(), cookie: setCookie };
}

/** One session per connection, created before the run (each connection is its own user). */
async function sessionsFor(port, count) {
  const cookies = [];
  for (let i = 0; i < count; i++) cookies.push((await http(port, 'POST', '/visit')).cookie);
  return cookies;
}

function cannon(port, method, path, cookies) {
  let next = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: CONNECTIONS,
        duration: DURATION,
        initialContext: {},
        requests: [
          {
            method,
            path,
            setupRequest(req, context) {
              if (cookies[0]) {
                context.cookie ??= cookies[next++ % cookies.length];
                req.headers = { ...req.headers, cookie: context.cookie };
              }
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

const redisDir = mkdtempSync(join(tmpdir(), 'bench-session-redis-'));
const redisPort = await freePort();
const redis = await start(
  'redis-server',
  [
    '--port',
    String(redisPort),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    redisDir,
  ],
  {},
  /Ready to accept connections/,
);
const REDIS_URL = `redis://127.0.0.1:${redisPort}`;
// A private memcached, as test/helpers/memcached.ts starts it.
const memcachedPort = await freePort();
const memcachedArgs = ['-l', '127.0.0.1', '-p', String(memcachedPort), '-U', '0', '-m', '64'];
if (process.getuid?.() === 0) memcachedArgs.push('-u', 'root');
const memcached = spawn('memcached', memcachedArgs, { stdio: 'ignore' });
await waitForPort(memcachedPort);
const MEMCACHED = `127.0.0.1:${memcachedPort}`;
// A fresh PostgreSQL database on the machine's server, dropped afterwards.
const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';
const pgName = `drove_bench_${randomBytes(6).toString('hex')}`;
await admin(`CREATE DATABASE "${pgName}"`);
const PG_URL = `postgres://postgres@127.0.0.1:5432/${pgName}`;
const SQLITE_DIR = mkdtempSync(join(tmpdir(), 'bench-session-sqlite-'));
const env = { REDIS_URL, MEMCACHED, PG_URL, SQLITE_DIR };
const servers = {};
try {
  for (const stack of selected(ALL_STACKS)) {
    const port = await freePort();
    const child = await start(
      process.execPath,
      [SERVER],
      { ...env, STACK: stack, PORT: String(port) },
      /ready/,
    );
    const hasSession = stack.includes(':');
    servers[stack] = {
      port,
      child,
      cookies: hasSession ? await sessionsFor(port, CONNECTIONS) : [],
    };
  }
  const results = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [path, method, stacks] of PATHS) {
      for (const stack of selected(stacks)) {
        const { port, cookies } = servers[stack];
        const before = (await http(port, 'GET', '/__stats')).body.storeCalls;
        const result = await cannon(port, method, path, cookies);
        const after = (await http(port, 'GET', '/__stats')).body.storeCalls;
        const name = `${stack} ${path}`;
        results[name] ??= { rps: [], p99: [], trips: [], errors: 0 };
        const row = results[name];
        row.rps.push(result.requests.average);
        row.p99.push(result.latency.p99);
        row.trips.push((after - before) / result.requests.total);
        row.errors += result.non2xx + result.errors;
        console.error(
          `round ${round + 1} ${stack} ${path}: ${Math.round(result.requests.average)} req/s`,
        );
      }
    }
  }
  // 50 connections sharing one cookie, incrementing one key.
  const lost = {};
  for (const stack of only ? [] : STACKS.filter((s) => s.includes(':'))) {
    const { port } = servers[stack];
    const { cookie } = await http(port, 'POST', '/visit');
    const result = await cannon(port, 'POST', '/incr', [cookie]);
    const { body } = await http(port, 'GET', '/read', cookie);
    const n = (await http(port, 'POST', '/incr', cookie)).body.n - 1;
    // Acknowledged (2xx) increments missing from the count. The count can exceed the 2xx total by
    // the requests still in flight when autocannon stopped.
    const ok = result['2xx'];
    const missing = Math.max(0, ok - n);
    lost[stack] = {
      requests: result.requests.total,
      acknowledged: ok,
      counted: n,
      lost: missing,
      lostShare: +(missing / ok).toFixed(3),
      non2xx: result.non2xx,
      rps: Math.round(result.requests.average),
      p99: result.latency.p99,
      visits: body.visits,
    };
    console.error(`contention ${stack}: ${ok} 2xx, ${result.non2xx} non-2xx, ${n} counted`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const table = Object.fromEntries(
    Object.entries(results).map(([k, r]) => [
      k,
      {
        rps: Math.round(median(r.rps)),
        p99: median(r.p99),
        trips: +median(r.trips).toFixed(2),
        errors: r.errors,
      },
    ]),
  );
  const ratio = (a, b) => (table[a] && table[b] ? +(table[a].rps / table[b].rps).toFixed(2) : null);
  const ratios = {};
  for (const path of contentionOnly ? [] : ['/read', '/visit']) {
    ratios[path] = {
      'drove express / express': ratio(`express:drove ${path}`, `express ${path}`),
      'drove express / express-session': ratio(
        `express:drove ${path}`,
        `express:express-session ${path}`,
      ),
      'express-session / express': ratio(`express:express-session ${path}`, `express ${path}`),
      'drove fastify / fastify': ratio(`fastify:drove ${path}`, `fastify ${path}`),
      'drove fastify / @fastify/session': ratio(
        `fastify:drove ${path}`,
        `fastify:fastify-session ${path}`,
      ),
      'drove fastify / @fastify/session rolling': ratio(
        `fastify:drove ${path}`,
        `fastify:fastify-session-rolling ${path}`,
      ),
    };
  }
  if (!contentionOnly) {
    ratios.stores = Object.fromEntries(
      STORE_PAIRS.map(([drove, anchor]) => [
        `${drove} / ${anchor} /visit`,
        ratio(`${drove} /visit`, `${anchor} /visit`),
      ]),
    );
  }
  console.log(
    JSON.stringify(
      { duration: DURATION, rounds: ROUNDS, connections: CONNECTIONS, table, ratios, lost },
      null,
      2,
    ),
  );
} finally {
  for (const { child } of Object.values(servers)) child.kill();
  redis.kill();
  memcached.kill();
  rmSync(redisDir, { recursive: true, force: true });
  rmSync(SQLITE_DIR, { recursive: true, force: true });
  // Let the stack processes let go of their connections before the drop.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await admin(`DROP DATABASE IF EXISTS "${pgName}" WITH (FORCE)`);
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}
