/**
 * The conformance suite against SQLite, on a temporary file. The outage is another connection
 * holding the write lock (BEGIN EXCLUSIVE), so writes wait out the busy timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { createSqliteStore } from '../../src/stores/sqlite.js';
import { testStore } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'drove-sqlite-'));
// A directory that does not exist yet: the store creates it.
const path = join(dir, 'nested', 'store.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

testStore({
  name: 'sqlite',
  create: (options) => createSqliteStore({ ...options, path }),
  async outage() {
    const locker = new Database(path);
    locker.exec('BEGIN EXCLUSIVE');
    return async () => {
      locker.exec('COMMIT');
      locker.close();
    };
  },
});
