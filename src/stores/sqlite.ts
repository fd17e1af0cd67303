/**
 * The SQLite store: the embedded default, on better-sqlite3 (an optional peer, loaded on first
 * use). One file can be shared by several processes on one machine: WAL lets readers run while
 * one writer writes, every write is one conditional statement, and a writer that finds the file
 * locked waits up to the busy timeout.
 *
 * better-sqlite3 is synchronous: a call that finds the database locked blocks the event loop for
 * up to `busyTimeoutMs` (by default half the store timeout). Normal writes hold the lock for
 * microseconds, so the wait is only long when something else holds a long write transaction.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidOptionError, StoreUnavailableError } from '../errors.js';
import {
  checkSweepOptions,
  createSqlStore,
  type SqlController,
  type SqlDialect,
  type SqlRow,
  type SqlStore,
  type SweepOptions,
} from './_sql.js';
import { importPeer, resolveStoreOptions } from './_utils.js';
import { asUnavailable } from './deadline.js';
import type { StoreOptions } from './types.js';

export type { SqlStore } from './_sql.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions, SweepOptions {
  /** Database file (its directory is created if missing), or `:memory:`. */
  path: string;
  /**
   * How long a call waits for another connection's write lock before failing with
   * DROVE_ERR_STORE_UNAVAILABLE, in ms. Must be below `timeoutMs`, because the wait blocks the
   * event loop. Default: half of `timeoutMs`.
   */
  busyTimeoutMs?: number;
}

const TABLE = 'drove_store';

/** SQLite fragments; `now` is SQLite's own clock (julianday works on every SQLite 3 release). @internal */
export const sqliteDialect: SqlDialect = {
  now: `CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)`,
  keyNotInJson: (param) => `key NOT IN (SELECT value FROM json_each(${param}))`,
  sweepLock: '',
  // Synchronous: a statement runs now or never and its answer cannot be lost, so nothing can land
  // after the caller's deadline; the fence parameter is bound but always passes.
  fence: (param) => `${param} IS NOT NULL`,
  readLock: '',
  fences: false,
};

/** The table and indexes, created on first use if missing. */
export function sqliteSchemaSql(table = TABLE): string {
  return `CREATE TABLE IF NOT EXISTS "${table}" (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  owner TEXT,
  tombstone INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}" (expires_at);
CREATE INDEX IF NOT EXISTS "${table}_owner" ON "${table}" (owner) WHERE owner IS NOT NULL;
`;
}

/**
 * Runs `setUp`, again while it fails with SQLITE_BUSY, for up to `budgetMs`. Processes that open a
 * new file at the same moment (a formation starting) race to switch it to WAL, and SQLite answers
 * that race with SQLITE_BUSY at once rather than through its busy timeout.
 */
async function untilNotBusy(budgetMs: number, setUp: () => void): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      setUp();
      return;
    } catch (err) {
      const busy = (err as { code?: string }).code?.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
}

/**
 * A store in a SQLite file (or in memory). Usually made by `createStore('sqlite:PATH')`.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from 'drovejs/stores';
 * const store = createSqliteStore({ path: '.drove/sessions.db' });
 * await store.ready(); // opens the file, switches it to WAL, creates the table
 * await store.create('k', 'v', { ttlMs: 60_000 });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqlStore {
  const resolved = resolveStoreOptions(options);
  checkSweepOptions(options);
  const { path } = options;
  if (typeof path !== 'string' || path === '') {
    throw new InvalidOptionError({ option: 'path', reason: 'expected a file path or ":memory:"' });
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? Math.max(1, Math.floor(resolved.timeoutMs / 2));
  if (
    !Number.isInteger(busyTimeoutMs) ||
    busyTimeoutMs <= 0 ||
    busyTimeoutMs >= resolved.timeoutMs
  ) {
    throw new InvalidOptionError({
      option: 'busyTimeoutMs',
      reason: `expected a positive integer below timeoutMs (${resolved.timeoutMs}), got ${busyTimeoutMs}`,
    });
  }
  const fail = (err: unknown) => sqliteFailure(err, busyTimeoutMs);
  let db: BetterSqlite3.Database | undefined;

  return createSqlStore(
    {
      name: 'sqlite',
      dialect: sqliteDialect,
      table: `"${TABLE}"`,
      async connect() {
        const { default: Database } = await importPeer(
          'better-sqlite3',
          'The sqlite store',
          () => import('better-sqlite3'),
        );
        try {
          const memory = path === ':memory:';
          if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
          const opened = new Database(path, { timeout: busyTimeoutMs });
          try {
            await untilNotBusy(busyTimeoutMs, () => {
              if (!memory) {
                opened.pragma('journal_mode = WAL');
                // Durable across process crashes; a power cut may lose the last commits.
                opened.pragma('synchronous = NORMAL');
              }
              opened.exec(sqliteSchemaSql());
            });
          } catch (err) {
            opened.close();
            throw err;
          }
          db = opened;
          return sqliteController(opened, fail);
        } catch (err) {
          throw fail(err);
        }
      },
      async close() {
        db?.close();
        db = undefined;
      },
    },
    resolved,
    options,
  );
}

/** Runs statements on one connection; placeholders `$n` become `?` once, at prepare time. */
function sqliteController(
  db: BetterSqlite3.Database,
  fail: (err: unknown) => Error,
): SqlController {
  type Prepared = {
    statement: BetterSqlite3.Statement;
    bind: (params: readonly unknown[]) => unknown[];
  };
  const prepared = new Map<string, Prepared>();
  const prepare = (sql: string): Prepared => {
    let entry = prepared.get(sql);
    if (!entry) {
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_match, n: string) => {
        order.push(Number(n) - 1);
        return '?';
      });
      const inOrder = order.every((n, i) => n === i);
      entry = {
        statement: db.prepare(text),
        bind: inOrder ? (params) => params as unknown[] : (params) => order.map((i) => params[i]),
      };
      prepared.set(sql, entry);
    }
    return entry;
  };
  return {
    rows(sql, params) {
      try {
        const { statement, bind } = prepare(sql);
        return statement.all(...bind(params)) as SqlRow[];
      } catch (err) {
        throw fail(err);
      }
    },
    row(sql, params) {
      try {
        const { statement, bind } = prepare(sql);
        // get() steps once: a RETURNING write has made all its changes by then.
        return statement.get(...bind(params)) as SqlRow | undefined;
      } catch (err) {
        throw fail(err);
      }
    },
    run(sql, params) {
      try {
        const { statement, bind } = prepare(sql);
        return statement.run(...bind(params)).changes;
      } catch (err) {
        throw fail(err);
      }
    },
    fenced(_operation, sql, params) {
      return this.rows(sql, [...params, 0]);
    },
  };
}

/** SQLITE_BUSY (the lock stayed taken past the busy timeout) and friends → STORE_UNAVAILABLE. */
function sqliteFailure(err: unknown, busyTimeoutMs: number): Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (
    typeof code === 'string' &&
    (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
  ) {
    return new StoreUnavailableError(
      { store: 'sqlite', reason: `database is locked (waited ${busyTimeoutMs} ms): ${code}` },
      { cause: err },
    );
  }
  return asUnavailable('sqlite', err);
}
