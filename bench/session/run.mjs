// bench/session: drove's Express and Fastify session adapters against express-session +
// connect-redis and @fastify/session + connect-redis, and each framework without sessions, all on
// one private Redis, measured interleaved with autocannon. Usage: npm run session [-- --quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const quick = process.argv.includes('--quick');
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
const servers = {};
try {
  for (const stack of STACKS) {
    const port = await freePort();
    const child = await start(
      process.execPath,
      [SERVER],
      { STACK: stack, PORT: String(port), REDIS_URL },
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
    for (const [path, method] of [
      ['/read', 'GET'],
      ['/visit', 'POST'],
    ]) {
      for (const stack of STACKS) {
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
  for (const stack of STACKS.filter((s) => s.includes(':'))) {
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
      acknowledged: ok,
      counted: n,
      lost: missing,
      lostShare: +(missing / ok).toFixed(3),
      non2xx: result.non2xx,
      visits: body.visits,
    };
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
  const ratio = (a, b) => +(table[a].rps / table[b].rps).toFixed(2);
  const ratios = {};
  for (const path of ['/read', '/visit']) {
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
  rmSync(redisDir, { recursive: true, force: true });
}
