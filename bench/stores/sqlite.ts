/**
 * drove's SQLite store next to raw better-sqlite3 running the very same SQL (the driver's own
 * statements, prepared once) on the same WAL file, in the same run. Reports ops/s, p50 and p99
 * for read, conditional write and touch, and the drove/raw throughput ratio.
 * better-sqlite3 is synchronous, so concurrency is 1: one process, one connection.
 *
 *   npm run build && npm --prefix bench run stores:sql [-- --seconds 2 --rounds 3]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqlStatements } from '../../dist/stores/_sql.js';
import { createSqliteStore, sqliteDialect } from '../../dist/stores/sqlite.js';
import { bench, type Operations, printHeader } from './sql-harness.js';

const VALUE = Buffer.alloc(1024, 'x');
const TTL = 600_000;
const dir = mkdtempSync(join(tmpdir(), 'drove-bench-sqlite-'));
const path = join(dir, 'bench.db');

const store = createSqliteStore({ path, prefix: 'bench:', sweepIntervalMs: 0 });
await store.ready(); // creates the file (WAL) and the table
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
const sql = sqlStatements('"drove_store"', sqliteDialect);
/** `$n` → `?`; the raw calls below pass their arguments in the order the placeholders appear. */
const prepare = (text: string) => db.prepare(text.replace(/\$\d+/g, '?'));
const raw = { get: prepare(sql.get), update: prepare(sql.update), touch: prepare(sql.touch) };
const seedRow = db.prepare(
  'INSERT OR REPLACE INTO drove_store (key, value, version, expires_at, owner, tombstone) VALUES (?, ?, ?, ?, NULL, 0)',
);

const droveVersions: string[] = [];
const rawVersions: string[] = [];
const ops: Operations = {
  read: { drove: () => store.get('w0'), raw: () => raw.get.get('raw:w0') },
  'conditional write': {
    drove: async () => {
      const r = await store.update('w0', VALUE, { version: droveVersions[0]!, ttlMs: TTL });
      if (!r.ok) throw new Error(`drove update refused: ${r.reason}`);
      droveVersions[0] = r.version;
    },
    raw: () => {
      const next = randomBytes(12).toString('base64url'); // the same version work drove does
      const row = raw.update.get(VALUE, next, TTL, null, 'raw:w0', rawVersions[0]);
      if (!row) throw new Error('raw update refused');
      rawVersions[0] = next;
    },
  },
  touch: { drove: () => store.touch('w0', TTL), raw: () => raw.touch.get(TTL, 'raw:w0') },
  async seed(workers) {
    for (let w = 0; w < workers; w++) {
      seedRow.run(`bench:w${w}`, VALUE, 'v0', Date.now() + TTL);
      seedRow.run(`raw:w${w}`, VALUE, 'v0', Date.now() + TTL);
      droveVersions[w] = 'v0';
      rawVersions[w] = 'v0';
    }
  },
};

printHeader('drove SQLite store vs raw better-sqlite3 (same statements, same WAL file)', 'raw');
try {
  await bench('sqlite file', ops, [1]);
} finally {
  db.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
