/**
 * `migrateFrom` on the other old stores and cookie formats (issue 15): rows written by the real
 * connect-pg-simple on PostgreSQL, read through `legacyPostgresStore` and through the
 * connect-pg-simple store object itself; express-session's own MemoryStore as a generic store
 * with `oldSession: 'keep'`; signatures under rotation, forged ones, @fastify/session's format;
 * options refused with typed errors. Core level: `createSessions().load()` over a real SQLite store.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyPostgresStore } from '../../src/session/legacy-stores.js';
import type { LegacyStore, MigrateFromOptions } from '../../src/session/migrate.js';
import { createSessions } from '../../src/session/sessions.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { connectPgSimple, expressSession, type OldStore } from './old-packages.js';

const ID_SECRET = 'drove-migration-secret-0123456789abcdef';
/** A cookie value signed as express-session's cookie-signature does. */
const sign = (id: string, secret: string) =>
  `${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;
const expressCookie = (id: string, secret: string) =>
  `connect.sid=${encodeURIComponent(`s:${sign(id, secret)}`)}`;

const callback = <T>(run: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) =>
    run((err, value) => (err ? reject(err) : resolve(value))),
  );
const oldSession = (data: Record<string, unknown>) => ({
  cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000), path: '/' },
  ...data,
});

const dir = mkdtempSync(join(tmpdir(), 'drove-migrate-'));
const stores: Store[] = [];
const droveStore = () => {
  const store = createStore(`sqlite:${join(dir, 'sessions.db')}`, {
    prefix: `m${stores.length}:`,
  });
  stores.push(store);
  return store;
};
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Load a request with `cookie` and commit it: the session's data and the Set-Cookie lines. */
async function visit(options: MigrateFromOptions, store: Store, cookie: string) {
  const sessions = createSessions({ store, migrateFrom: options });
  const current = await sessions.load({
    method: 'GET',
    tls: false,
    header: (name) => (name === 'cookie' ? cookie : undefined),
  });
  const data = { ...current.session };
  return { data, setCookie: await current.commit(), isNew: current.session.isNew };
}

describe('from connect-pg-simple', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let pgStore: OldStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const PgStore = connectPgSimple(expressSession);
    pgStore = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
    await callback((cb) =>
      pgStore.set('pg-ada', oldSession({ passport: { user: 'u1' } }) as never, cb),
    );
    await callback((cb) =>
      pgStore.set('pg-bob', oldSession({ passport: { user: 'u2' } }) as never, cb),
    );
  });
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
    await pool?.end();
    await db?.drop();
  });

  it('legacyPostgresStore reads the row once, deletes it, and indexes the owner', async () => {
    const store = droveStore();
    const legacy = legacyPostgresStore({ url: db.url });
    closers.push(() => legacy.close());
    const options: MigrateFromOptions = {
      secrets: ['pg-secret'],
      idSecret: ID_SECRET,
      store: legacy,
      owner: (d) => (d.passport as { user?: string } | undefined)?.user,
    };
    const first = await visit(options, store, expressCookie('pg-ada', 'pg-secret'));
    expect(first.data).toEqual({ passport: { user: 'u1' } });
    expect(first.setCookie.some((l) => /^drove\.sid=[\w-]{43};/.test(l))).toBe(true);
    const { rows } = await pool.query('SELECT sid FROM session WHERE sid = $1', ['pg-ada']);
    expect(rows).toEqual([]);
    const sessions = createSessions({ store });
    expect(await sessions.listOf('u1')).toHaveLength(1);
    // The same old cookie again (a request in flight before the browser got the new cookie).
    const again = await visit(options, store, expressCookie('pg-ada', 'pg-secret'));
    expect(again.data).toEqual({ passport: { user: 'u1' } });
    expect(await sessions.listOf('u1')).toHaveLength(1);
  });

  it('an old store that cannot be reached is a 503 store outage, not a logout', async () => {
    const legacy = legacyPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none' });
    closers.push(() => legacy.close());
    const options = { secrets: 'pg-secret', idSecret: ID_SECRET, store: legacy };
    await expect(
      visit(options, droveStore(), expressCookie('pg-ada', 'pg-secret')),
    ).rejects.toEqual(
      expect.objectContaining({ code: 'DROVE_ERR_STORE_UNAVAILABLE', statusCode: 503 }),
    );
  });

  it('the connect-pg-simple store object itself works as the generic store', async () => {
    const options = { secrets: 'pg-secret', idSecret: ID_SECRET, store: pgStore as LegacyStore };
    const res = await visit(options, droveStore(), expressCookie('pg-bob', 'pg-secret'));
    expect(res.data).toEqual({ passport: { user: 'u2' } });
    expect(await callback((cb) => pgStore.get('pg-bob', cb))).toBeFalsy();
  });
});

describe("express-session's MemoryStore as the generic store, and the cookie formats", () => {
  let memory: OldStore;
  beforeAll(async () => {
    memory = new expressSession.MemoryStore();
    for (const id of ['m-1', 'm-2', 'm-3', 'f-1']) {
      await callback((cb) => memory.set(id, oldSession({ who: id }) as never, cb));
    }
  });
  const base = () => ({ idSecret: ID_SECRET, store: memory as LegacyStore });

  it("oldSession: 'keep' leaves the old session; every rotated secret verifies", async () => {
    const options = { ...base(), secrets: ['new', 'older'], oldSession: 'keep' as const };
    expect((await visit(options, droveStore(), expressCookie('m-1', 'older'))).data).toEqual({
      who: 'm-1',
    });
    expect((await visit(options, droveStore(), expressCookie('m-2', 'new'))).data).toEqual({
      who: 'm-2',
    });
    expect(await callback((cb) => memory.get('m-1', cb))).toMatchObject({ who: 'm-1' });
  });

  it('a cookie signed with another secret, or unsigned, migrates nothing and is left alone', async () => {
    const options = { ...base(), secrets: ['new'] };
    for (const cookie of [
      expressCookie('m-3', 'stolen'),
      'connect.sid=m-3',
      'connect.sid=s%3Am-3',
    ]) {
      const res = await visit(options, droveStore(), cookie);
      expect(res).toEqual({ data: {}, setCookie: [], isNew: true });
    }
    expect(await callback((cb) => memory.get('m-3', cb))).toMatchObject({ who: 'm-3' });
  });

  it("@fastify/session's cookie (sessionId, no s: prefix) with from: 'fastify-session'", async () => {
    const options = { ...base(), secrets: ['fastify-secret'], from: 'fastify-session' as const };
    const cookie = `sessionId=${encodeURIComponent(sign('f-1', 'fastify-secret'))}`;
    const res = await visit(options, droveStore(), cookie);
    expect(res.data).toEqual({ who: 'f-1' });
    expect(res.setCookie.some((l) => /^sessionId=;.*Max-Age=0/i.test(l))).toBe(true);
  });

  it('refuses bad options with DROVE_ERR_INVALID_OPTION', () => {
    const store = droveStore();
    const bad: Partial<MigrateFromOptions>[] = [
      { secrets: [] },
      { idSecret: 'short' },
      { store: {} as LegacyStore },
      { from: 'iron-session' as 'express-session' },
    ];
    for (const override of bad) {
      const migrateFrom = { ...base(), secrets: ['s'], ...override } as MigrateFromOptions;
      expect(() => createSessions({ store, migrateFrom })).toThrow(
        expect.objectContaining({ code: 'DROVE_ERR_INVALID_OPTION' }),
      );
    }
  });
});
