/**
 * Migration without logging anyone out (issue 15). The REAL old stacks write the sessions first
 * (express-session + connect-redis 9 + Passport, with a secret rotation; @fastify/session +
 * connect-redis 9 + @fastify/passport), as a real process on a private Redis. Then the app runs
 * on drove with `migrateFrom`, as 2 processes behind the balancer: every logged-in user is still
 * logged in, keeps their data, and gets a drove cookie; the old cookie is cleared and the old
 * session deleted; a forged cookie migrates nothing; and N parallel first requests with one old
 * cookie, spread over both processes, create exactly one drove session.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { Browser, type Reply } from './client.js';
import { type Formation, startFormation } from './formation.js';

const fixture = (name: string) =>
  fileURLToPath(new URL(`../fixtures/session/${name}`, import.meta.url));
const ID_SECRET = 'drove-migration-secret-0123456789abcdef';
const PARALLEL = 12;

/** Run the old stack until `work` is done. */
async function withOldStack<T>(
  stack: 'express-session' | 'fastify-session',
  redisUrl: string,
  secrets: string[],
  work: (base: string) => Promise<T>,
): Promise<T> {
  const child: ChildProcess = spawn(process.execPath, [fixture('old-stack.mjs')], {
    env: { ...process.env, STACK: stack, REDIS_URL: redisUrl, SECRETS: JSON.stringify(secrets) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let early: ((code: number | null) => void) | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      early = (code) => reject(new Error(`old stack exited with ${code}: ${out}`));
      child.once('exit', early);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /listening (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
    });
    return await work(`http://127.0.0.1:${port}`);
  } finally {
    if (early) child.removeListener('exit', early);
    child.kill('SIGTERM');
    await exited;
  }
}

/** The name=value pair of the Set-Cookie line for `name`, if any. */
const setCookie = (reply: Reply, name: string) =>
  reply.setCookie.find((line) => line.startsWith(`${name}=`))?.split(';')[0];

/** Creates counted by every process of the formation (round robin: ask until both answered). */
async function totalCreates(base: string): Promise<number> {
  const byPid = new Map<number, number>();
  while (byPid.size < 2) {
    const { creates, pid } = (await new Browser(base).get('/stats')).json();
    byPid.set(pid, creates);
  }
  return [...byPid.values()].reduce((a, b) => a + b, 0);
}

let redis: RedisServer;
let client: ReturnType<typeof createClient>;
beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
});
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});

describe('from express-session + connect-redis + Passport to drove on Express', () => {
  const old: Record<string, string> = {};
  let formation: Formation;
  beforeAll(async () => {
    // Ada logged in while 'old-1' signed; Bob after the rotation to 'old-2'; Cy for the race.
    await withOldStack('express-session', redis.url, ['old-1'], async (base) => {
      const ada = new Browser(base);
      expect((await ada.post('/login?username=u1&password=pw-u1')).status).toBe(200);
      old.ada = ada.cookie!;
      const visitor = new Browser(base);
      await visitor.post('/visit');
      await visitor.post('/visit');
      old.visitor = visitor.cookie!;
    });
    await withOldStack('express-session', redis.url, ['old-2', 'old-1'], async (base) => {
      expect((await new Browser(base).get('/me', { cookie: old.ada! })).json().user).toBe('Ada');
      for (const [name, user] of [
        ['bob', 'u2'],
        ['cy', 'u3'],
      ]) {
        const browser = new Browser(base);
        expect((await browser.post(`/login?username=${user}&password=pw-${user}`)).status).toBe(
          200,
        );
        old[name!] = browser.cookie!;
      }
    });
    expect(old.ada).toMatch(/^connect\.sid=s%3A/);
    formation = await startFormation(fixture('migrate-express-app.mjs'), {
      SESSION_STORE_URL: redis.url,
      STORE_PREFIX: `m${randomUUID().slice(0, 8)}:`,
      REDIS_URL: redis.url,
      OLD_SECRETS: JSON.stringify(['old-2', 'old-1']),
      ID_SECRET,
    });
  }, 90_000);
  afterAll(() => formation?.stop());

  const oldKey = (cookie: string) =>
    `sess:${decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]}`;

  it('every logged-in user stays logged in, on both processes, with their data', async () => {
    for (const [name, user] of [
      ['ada', 'Ada'],
      ['bob', 'Bob'],
    ] as const) {
      const cookie = old[name]!;
      expect(await client.exists(oldKey(cookie))).toBe(1);
      const first = await new Browser(formation.base).get('/me', { cookie });
      expect(first.json().user).toBe(user);
      expect(first.json().data).toMatchObject({
        theme: 'dark',
        passport: { user: expect.any(String) },
      });
      expect(first.json().data.cookie).toBeUndefined();
      const drove = setCookie(first, 'drove.sid');
      expect(drove).toMatch(/^drove\.sid=[\w-]{43}$/);
      expect(first.setCookie.some((l) => /^connect\.sid=;/.test(l) && /Max-Age=0/i.test(l))).toBe(
        true,
      );
      // From now on the drove cookie alone: both processes know the user.
      const browser = new Browser(formation.base);
      browser.cookie = drove;
      const pids = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const me = (await browser.get('/me')).json();
        expect(me.user).toBe(user);
        pids.add(me.pid);
      }
      expect(pids.size).toBe(2);
      // A write after the migration is an ordinary drove write.
      expect((await browser.post('/set?key=after&value=1')).status).toBe(200);
      expect((await browser.get('/me')).json().data).toMatchObject({ theme: 'dark', after: '1' });
      // The old session is gone (oldSession: 'delete', the default).
      expect(await client.exists(oldKey(cookie))).toBe(0);
    }
  });

  it('an anonymous session keeps its data; a forged cookie migrates nothing', async () => {
    const visitor = await new Browser(formation.base).get('/me', { cookie: old.visitor! });
    expect(visitor.json()).toMatchObject({ user: null, data: { visits: 2 } });
    const [name, value] = old.cy!.split('=') as [string, string];
    const forged = `${name}=${value.slice(0, -3)}AAA`;
    const res = await new Browser(formation.base).get('/me', { cookie: forged });
    expect(res.json()).toMatchObject({ user: null, data: {} });
    expect(setCookie(res, 'drove.sid')).toBeUndefined();
    expect(await client.exists(oldKey(old.cy!))).toBe(1);
  });

  it(`${PARALLEL} parallel first requests with one old cookie make exactly one drove session`, async () => {
    const before = await totalCreates(formation.base);
    const replies = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        new Browser(formation.base).get('/me', { cookie: old.cy! }),
      ),
    );
    expect(replies.map((r) => r.json().user)).toEqual(Array(PARALLEL).fill('Cy'));
    expect(new Set(replies.map((r) => r.json().pid)).size).toBe(2);
    const cookies = new Set(replies.map((r) => setCookie(r, 'drove.sid')));
    expect(cookies.size).toBe(1);
    expect(await totalCreates(formation.base)).toBe(before + 1);
  });
});

describe('from @fastify/session + connect-redis + @fastify/passport to drove on Fastify', () => {
  const OLD_SECRET = 'an-old-fastify-session-secret-of-32+chars';
  let cookies: string[] = [];
  let formation: Formation;
  beforeAll(async () => {
    cookies = await withOldStack('fastify-session', redis.url, [OLD_SECRET], async (base) => {
      const out: string[] = [];
      for (const user of ['u1', 'u2']) {
        const browser = new Browser(base);
        expect((await browser.post(`/login?username=${user}&password=pw-${user}`)).status).toBe(
          200,
        );
        expect((await browser.get('/me')).json().user).not.toBeNull();
        out.push(browser.cookie!);
      }
      return out;
    });
    expect(cookies[0]).toMatch(/^sessionId=/);
    formation = await startFormation(fixture('fastify-passport-app.mjs'), {
      SESSION_STORE_URL: redis.url,
      STORE_PREFIX: `f${randomUUID().slice(0, 8)}:`,
      MIGRATE_REDIS_URL: redis.url,
      OLD_SECRETS: JSON.stringify([OLD_SECRET]),
      ID_SECRET,
    });
  }, 90_000);
  afterAll(() => formation?.stop());

  it('every logged-in user stays logged in (request.user from @fastify/passport)', async () => {
    for (const [i, user] of ['Ada', 'Bob'].entries()) {
      const first = await new Browser(formation.base).get('/me', { cookie: cookies[i]! });
      expect(first.json()).toMatchObject({ user, theme: 'dark' });
      const browser = new Browser(formation.base);
      browser.cookie = setCookie(first, 'drove.sid');
      expect(browser.cookie).toBeDefined();
      for (let n = 0; n < 2; n++) expect((await browser.get('/me')).json().user).toBe(user);
      expect((await browser.post('/logout')).status).toBe(200);
      expect((await browser.get('/me')).json().user).toBeNull();
      // Logged out stays logged out, even replaying the old cookie.
      const replay = await new Browser(formation.base).get('/me', { cookie: cookies[i]! });
      expect(replay.json().user).toBeNull();
    }
  });
});
