/**
 * The conformance suite against PostgreSQL, in a throwaway database on the machine's server;
 * outages go through a loopback relay in front of it. Plus what only this driver has: the
 * migration under an advisory lock, `migrate: false`, and bounded sweeping.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore, postgresSchemaSql } from '../../src/stores/postgres.js';
import { createTestDatabase, POSTGRES_SERVER, type TestDatabase } from '../helpers/postgres.js';
import { testStore } from './conformance.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

testStore({
  name: 'postgres',
  create: (options) => createPostgresStore({ ...options, connectionString: db.url }),
  createVia: (relay, options) =>
    createPostgresStore({ ...options, connectionString: db.urlVia(relay) }),
  server: POSTGRES_SERVER,
});

describe('postgres store set-up', () => {
  it('ready() of 8 stores started together on a fresh database: all succeed, one table', async () => {
    const fresh = await createTestDatabase();
    const stores = Array.from({ length: 8 }, () =>
      createPostgresStore({ connectionString: fresh.url, timeoutMs: 2000, poolSize: 2 }),
    );
    try {
      const results = await Promise.allSettled(stores.map((store) => store.ready()));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect((await stores[0]!.create('k', 'v', { ttlMs: 30_000 })).ok).toBe(true);
      expect((await stores[7]!.get('k'))?.value.toString()).toBe('v');
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await fresh.drop();
    }
  });

  it('ready() with migrate: false fails while the table is missing, and works after the release SQL ran', async () => {
    const fresh = await createTestDatabase();
    const table = 'app_sessions';
    const store = createPostgresStore({ connectionString: fresh.url, table, migrate: false });
    const client = new pg.Client({ connectionString: fresh.url });
    try {
      const err = await store.ready().then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
      expect(err?.message).toContain('postgresSchemaSql()');
      await client.connect();
      await client.query(postgresSchemaSql(table));
      await store.ready();
      expect((await store.create('k', 'v', { ttlMs: 30_000 })).ok).toBe(true);
      const indexes = await client.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
        [table],
      );
      expect(indexes.rows.map((r) => r.indexname)).toEqual([
        'app_sessions_expires_at',
        'app_sessions_owner',
        'app_sessions_pkey',
      ]);
    } finally {
      await client.end();
      await store.close();
      await fresh.drop();
    }
  });

  it('sweep() deletes expired rows and tombstones in bounded batches, never live ones', async () => {
    const store = createPostgresStore({
      connectionString: db.url,
      table: 'sweep_test',
      sweepIntervalMs: 0,
      tombstoneTtlMs: 100,
    });
    try {
      await store.ready();
      for (let i = 0; i < 12; i++) await store.create(`short-${i}`, 'x', { ttlMs: 100 });
      await store.create('tombstoned', 'x', { ttlMs: 30_000 });
      await store.delete('tombstoned');
      await store.create('live', 'x', { ttlMs: 30_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(await store.sweep(5)).toBe(5);
      expect(await store.sweep(5)).toBe(5);
      expect(await store.sweep(5)).toBe(3);
      expect(await store.sweep(5)).toBe(0);
      expect((await store.get('live'))?.value.toString()).toBe('x');
    } finally {
      await store.close();
    }
  });

  it('refuses a table name that would need quoting', () => {
    expect(() =>
      createPostgresStore({ connectionString: 'postgres://h/db', table: 'x"; DROP TABLE y' }),
    ).toThrow(/DROVE|table/);
  });
});
