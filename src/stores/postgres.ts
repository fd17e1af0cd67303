/**
 * The PostgreSQL store, on a `pg` Pool (an optional peer, loaded on first use).
 *
 * `ready()` creates the table and its indexes if missing, inside a transaction holding an
 * advisory lock, so that processes starting together on a fresh database do not race each other
 * (concurrent `CREATE TABLE IF NOT EXISTS` can fail on PostgreSQL's catalog). With
 * `migrate: false` it only checks that the table is there; run `postgresSchemaSql()` in a release
 * phase instead.
 *
 * Every query is bounded by the store timeout three ways: the pool's connect timeout (also for
 * waiting on a busy pool, so nothing queues without bound), the client's `query_timeout` and the
 * server's `statement_timeout`. A client whose query failed is discarded, and the pool opens new
 * connections on demand, so the store recovers by itself when the server is back.
 *
 * None of these fences a write: `statement_timeout` only starts counting once a resumed server
 * begins the statement. Writes carry `clock_timestamp() < deadline` instead (see _sql.ts), with
 * the caller's deadline converted through the connection's clock offset, measured when it
 * connects.
 *
 * Expiry is judged by the database's clock (`now()`), so app hosts with skewed clocks agree.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { InvalidOptionError, StoreUnavailableError } from '../errors.js';
import {
  checkSweepOptions,
  createSqlStore,
  type SqlController,
  type SqlDialect,
  type SqlStore,
  type SweepOptions,
} from './_sql.js';
import { importPeer, resolveStoreOptions } from './_utils.js';
import {
  createDeadlineRunner,
  fencedWrite,
  measureClock,
  type ServerClock,
  serverDeadline,
} from './deadline.js';
import type { StoreOptions } from './types.js';

export type { SqlStore } from './_sql.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions extends StoreOptions, SweepOptions {
  /** `postgres://` or `postgresql://` connection string. */
  connectionString: string;
  /** Table name, optionally schema-qualified (`app.sessions`). Default `drove_store`. */
  table?: string;
  /** Create the table and indexes on `ready()` under an advisory lock. Default true; set false when a release phase runs the SQL. */
  migrate?: boolean;
  /** Most connections the pool opens. Default 10. */
  poolSize?: number;
}

const DEFAULT_TABLE = 'drove_store';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** PostgreSQL fragments; `now` is the database's clock. @internal */
export const postgresDialect: SqlDialect = {
  // now() is the start of the (single-statement) transaction: one instant per statement.
  now: '(extract(epoch from now()) * 1000)::bigint',
  keyNotInJson: (param) => `key NOT IN (SELECT jsonb_array_elements_text(${param}::jsonb))`,
  sweepLock: 'FOR UPDATE SKIP LOCKED',
  // clock_timestamp(), not now(): the moment the row is written, not when the statement began.
  fence: (param) => `extract(epoch from clock_timestamp()) * 1000 < ${param}::float8`,
  // A read-back waits for an UPDATE of the row still committing, then sees its outcome.
  readLock: 'FOR SHARE',
  fences: true,
};

/** `schema.name` → its parts, checked; refuses anything that would need escaping. */
function tableParts(table: string): { quoted: string; name: string } {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new InvalidOptionError({
      option: 'table',
      reason: `expected [schema.]name made of letters, digits and _, got ${JSON.stringify(table)}`,
    });
  }
  return { quoted: parts.map((part) => `"${part}"`).join('.'), name: parts.at(-1)! };
}

/**
 * The SQL that creates the store's table and indexes (idempotent), for a release phase that runs
 * migrations before the app starts with `migrate: false`.
 *
 * @example
 * ```ts
 * import { postgresSchemaSql } from 'drovejs/stores';
 * await client.query(postgresSchemaSql('drove_store'));
 * ```
 * ```sh
 * node -e "import('drovejs/stores').then(m => console.log(m.postgresSchemaSql()))" | psql "$DATABASE_URL"
 * ```
 */
export function postgresSchemaSql(table: string = DEFAULT_TABLE): string {
  const { quoted, name } = tableParts(table);
  return `CREATE TABLE IF NOT EXISTS ${quoted} (
  key text COLLATE "C" PRIMARY KEY,
  value bytea NOT NULL,
  version text NOT NULL,
  expires_at bigint NOT NULL,
  owner text COLLATE "C",
  tombstone boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS "${name}_expires_at" ON ${quoted} (expires_at);
CREATE INDEX IF NOT EXISTS "${name}_owner" ON ${quoted} (owner) WHERE owner IS NOT NULL;
`;
}

/**
 * A store in a PostgreSQL table. Usually made by `createStore('postgres://…')`.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from 'drovejs/stores';
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.ready(); // connects, creates the table under an advisory lock
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): SqlStore {
  const resolved = resolveStoreOptions(options);
  checkSweepOptions(options);
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//i.test(connectionString)) {
    throw new InvalidOptionError({
      option: 'connectionString',
      reason: 'expected a postgres:// or postgresql:// URL',
    });
  }
  const table = options.table ?? DEFAULT_TABLE;
  const { quoted } = tableParts(table);
  const poolSize = options.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize <= 0) {
    throw new InvalidOptionError({
      option: 'poolSize',
      reason: `expected a positive integer, got ${poolSize}`,
    });
  }
  const { timeoutMs } = resolved;
  // Boot may wait for another process's migration; it still has a deadline.
  const bootTimeoutMs = Math.max(10 * timeoutMs, 10_000);
  const boot = createDeadlineRunner('postgres', bootTimeoutMs);
  let pool: Pool | undefined;

  const openPool = async (): Promise<Pool> => {
    if (pool) return pool;
    const { default: pg } = await importPeer('pg', 'The postgres store', () => import('pg'));
    pool ??= new pg.Pool({
      connectionString,
      max: poolSize,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      statement_timeout: timeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'drove',
    });
    // An idle connection that dies (server restart, network cut) is dropped by the pool, which
    // reconnects on demand; without a listener the 'error' event would crash the process.
    pool.on('error', () => undefined);
    return pool;
  };

  const prepare = async (ready: Pool) => {
    const client = await ready.connect();
    try {
      if (options.migrate === false) {
        await client.query(
          `SELECT key, value, version, expires_at, owner, tombstone FROM ${quoted} LIMIT 0`,
        );
      } else {
        await migrate(client, table, bootTimeoutMs);
      }
      client.release();
    } catch (err) {
      client.release(err as Error);
      if ((err as { code?: string }).code === '42P01') {
        throw new StoreUnavailableError(
          {
            store: 'postgres',
            reason: `table ${table} does not exist: run postgresSchemaSql() in a release phase, or leave migrate on`,
          },
          { cause: err },
        );
      }
      throw err;
    }
  };

  return createSqlStore(
    {
      name: 'postgres',
      dialect: postgresDialect,
      table: quoted,
      connect: () =>
        boot(async () => {
          const ready = await openPool();
          await prepare(ready);
          return postgresController(ready, timeoutMs);
        }),
      async close() {
        const ending = pool;
        pool = undefined;
        await ending?.end().catch(() => undefined);
      },
    },
    resolved,
    options,
  );
}

/** Create the schema inside a transaction that holds an advisory lock per table. */
async function migrate(client: PoolClient, table: string, timeoutMs: number): Promise<void> {
  const query = (text: string, values?: unknown[]) =>
    client.query({ text, values, query_timeout: timeoutMs } as never);
  await query('BEGIN');
  await query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
  await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`drove:migrate:${table}`]);
  await query(postgresSchemaSql(table));
  await query('COMMIT');
}

/**
 * The clock of each pooled connection, measured on its first fenced write (not in the pool's
 * 'connect' event: a query there would overlap the first query of whoever asked for the client).
 */
const clocks = new WeakMap<PoolClient, { at: number; clock: Promise<ServerClock> }>();
const CLOCK_REFRESH_MS = 60_000;

async function serverNow(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ now: number }>(
    'SELECT extract(epoch from clock_timestamp())::float8 * 1000 AS now',
  );
  return Number(rows[0]?.now);
}

/** Named prepared statements on a pool, each bounded by the store timeout. */
function postgresController(pool: Pool, timeoutMs: number): SqlController {
  const names = new Map<string, string>();
  const nameOf = (sql: string) => {
    let name = names.get(sql);
    if (!name) {
      name = `drove_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      names.set(sql, name);
    }
    return name;
  };
  const run = createDeadlineRunner('postgres', timeoutMs);
  const statement = (sql: string, values: readonly unknown[]) => ({
    name: nameOf(sql),
    text: sql,
    values: values as unknown[],
  });
  const query = (sql: string, params: readonly unknown[]) =>
    run(() => pool.query<QueryResultRow>(statement(sql, params)));

  /** A fenced statement on one pooled connection, with that connection's clock. */
  const sendFenced = async (
    sql: string,
    params: readonly unknown[],
    deadline: number,
    sent: () => void,
  ) => {
    const client = await pool.connect();
    try {
      let clock = clocks.get(client);
      // Clocks drift and get stepped: a connection's clock is measured again after a while.
      if (clock === undefined || Date.now() - clock.at > CLOCK_REFRESH_MS) {
        clock = { at: Date.now(), clock: measureClock(() => serverNow(client)) };
        clocks.set(client, clock);
      }
      const fence = serverDeadline(deadline, await clock.clock, timeoutMs);
      sent();
      const result = await client.query<QueryResultRow>(statement(sql, [...params, fence]));
      client.release();
      return result.rows;
    } catch (err) {
      clocks.delete(client);
      client.release(err as Error);
      throw err;
    }
  };

  return {
    rows: async (sql, params) => (await query(sql, params)).rows,
    row: async (sql, params) => (await query(sql, params)).rows[0],
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
    fenced: (operation, sql, params, readBack) =>
      fencedWrite('postgres', run, timeoutMs, {
        operation,
        // Never LATE: a fenced statement that changed nothing is explained by the store (_sql.ts).
        send: (deadline, sent) => sendFenced(sql, params, deadline, sent),
        ...(readBack && {
          readBack: async () => {
            const { rows } = await pool.query<QueryResultRow>(
              statement(readBack.sql, readBack.params),
            );
            return rows.length > 0 ? rows : undefined;
          },
        }),
      }),
  };
}
