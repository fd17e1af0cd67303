/**
 * drove's PostgreSQL store next to a raw pg Pool running the very same SQL (the driver's own
 * statements, as named prepared statements) in a throwaway database on the machine's server
 * (127.0.0.1:5432), in the same run. Reports ops/s, p50 and p99 for read, conditional write and
 * touch at concurrency 1 and 16, and the drove/raw throughput ratio.
 *
 *   npm run build && npm --prefix bench run stores:sql [-- --seconds 2 --rounds 3]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sqlStatements } from '../../dist/stores/_sql.js';
import { createPostgresStore, postgresDialect } from '../../dist/stores/postgres.js';
import { createTestDatabase } from '../../test/helpers/postgres.js';
import { bench, type Operations, printHeader } from './sql-harness.js';

const VALUE = Buffer.alloc(1024, 'x');
const TTL = 600_000;
const CONCURRENCIES = [1, 16];

const database = await createTestDatabase();
const store = createPostgresStore({
  connectionString: database.url,
  prefix: 'bench:',
  sweepIntervalMs: 0,
});
await store.ready(); // creates the table
const pool = new pg.Pool({ connectionString: database.url, max: 10 });
const sql = sqlStatements('"drove_store"', postgresDialect);
const query = (name: string, text: string, values: unknown[]) =>
  pool.query({ name: `raw_${name}`, text, values });

const droveVersions: string[] = [];
const rawVersions: string[] = [];
const ops: Operations = {
  read: {
    drove: (w) => store.get(`w${w}`),
    raw: (w) => query('get', sql.get, [`raw:w${w}`]),
  },
  'conditional write': {
    drove: async (w) => {
      const r = await store.update(`w${w}`, VALUE, { version: droveVersions[w]!, ttlMs: TTL });
      if (!r.ok) throw new Error(`drove update refused: ${r.reason}`);
      droveVersions[w] = r.version;
    },
    raw: async (w) => {
      const next = randomBytes(12).toString('base64url');
      const result = await query('update', sql.update, [
        `raw:w${w}`,
        VALUE,
        next,
        TTL,
        null,
        rawVersions[w],
      ]);
      if (result.rowCount !== 1) throw new Error('raw update refused');
      rawVersions[w] = next;
    },
  },
  touch: {
    drove: (w) => store.touch(`w${w}`, TTL),
    raw: (w) => query('touch', sql.touch, [`raw:w${w}`, TTL]),
  },
  async seed(workers) {
    for (let w = 0; w < workers; w++) {
      for (const key of [`bench:w${w}`, `raw:w${w}`]) {
        await pool.query(
          `INSERT INTO drove_store (key, value, version, expires_at, owner, tombstone)
           VALUES ($1, $2, 'v0', $3, NULL, false)
           ON CONFLICT (key) DO UPDATE SET version = 'v0', expires_at = excluded.expires_at`,
          [key, VALUE, Date.now() + TTL],
        );
      }
      droveVersions[w] = 'v0';
      rawVersions[w] = 'v0';
    }
  },
};

printHeader('drove PostgreSQL store vs raw pg Pool (same statements, local server)', 'raw');
try {
  await bench('postgres', ops, CONCURRENCIES);
} finally {
  await pool.end();
  await store.close();
  await database.drop();
}
