import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DroveError } from '../errors.js';
import { sqlStatements } from './_sql.js';
import { createSqliteStore, sqliteDialect } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'drove-sqlite-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createSqliteStore()', () => {
  it('works in memory', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    try {
      const created = await store.create('k', '', { ttlMs: 30_000, owner: 'u' });
      expect(created.ok).toBe(true);
      const entry = await store.get('k');
      expect(entry?.value.length).toBe(0);
      expect(entry?.owner).toBe('u');
    } finally {
      await store.close();
    }
  });

  it('refuses a busy timeout that is not below the store timeout', () => {
    let err: unknown;
    try {
      createSqliteStore({ path: ':memory:', timeoutMs: 500, busyTimeoutMs: 500 });
    } catch (e) {
      err = e;
    }
    expect((err as DroveError).code).toBe('DROVE_ERR_INVALID_OPTION');
    expect((err as DroveError).message).toContain('busyTimeoutMs');
  });

  it('opens the file in WAL mode', async () => {
    const path = join(dir, 'wal.db');
    const store = createSqliteStore({ path });
    await store.ready();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
      await store.close();
    }
  });

  it('sweep() deletes expired rows and tombstones in bounded batches, never live ones', async () => {
    const store = createSqliteStore({ path: ':memory:', sweepIntervalMs: 0, tombstoneTtlMs: 50 });
    try {
      for (let i = 0; i < 12; i++) await store.create(`short-${i}`, 'x', { ttlMs: 50 });
      await store.create('tombstoned', 'x', { ttlMs: 30_000 });
      await store.delete('tombstoned');
      await store.create('live', 'x', { ttlMs: 30_000 });
      await sleep(150);
      expect([await store.sweep(5), await store.sweep(5), await store.sweep(5)]).toEqual([5, 5, 3]);
      expect(await store.sweep(5)).toBe(0);
      expect((await store.get('live'))?.value.toString()).toBe('x');
    } finally {
      await store.close();
    }
  });

  it('sweeps by itself on its timer', async () => {
    const path = join(dir, 'timer.db');
    const store = createSqliteStore({ path, sweepIntervalMs: 100 });
    const db = new Database(path);
    try {
      await store.create('short', 'x', { ttlMs: 50 });
      await store.create('live', 'x', { ttlMs: 30_000 });
      const count = () =>
        (db.prepare('SELECT count(*) AS n FROM drove_store').get() as { n: number }).n;
      expect(count()).toBe(2);
      const deadline = Date.now() + 10_000;
      while (count() > 1 && Date.now() < deadline) await sleep(50);
      expect(count()).toBe(1);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('every statement finds its rows through an index, never a full table scan', async () => {
    const path = join(dir, 'plans.db');
    const store = createSqliteStore({ path });
    await store.ready();
    const db = new Database(path, { readonly: true });
    try {
      const statements = sqlStatements('"drove_store"', sqliteDialect);
      for (const [name, sql] of Object.entries(statements)) {
        if (name === 'create') continue; // an INSERT: its conflict check is the primary key
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql.replace(/\$\d+/g, '?')}`)
          .all(...Array.from(sql.matchAll(/\$\d+/g), () => null)) as { detail: string }[];
        const details = plan.map((row) => row.detail).join(' | ');
        expect(details, name).not.toMatch(/SCAN drove_store(?! USING)/);
        expect(details, name).toMatch(/drove_store USING (INDEX|PRIMARY KEY|COVERING INDEX)/);
      }
    } finally {
      db.close();
      await store.close();
    }
  });
});
