/**
 * The app's database: SQLite (a file under .drove/, the embedded default) or PostgreSQL, chosen
 * by DATABASE_URL. Queries are written once with `?` placeholders; PostgreSQL gets `$n`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Row = Record<string, unknown>;

export interface Database {
  readonly kind: 'sqlite' | 'postgres';
  /** Rows of a SELECT, or of a statement with RETURNING. */
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Number of rows a write statement changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

export async function openDatabase(url: string): Promise<Database> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url);
  if (url.startsWith('sqlite:'))
    return openSqlite(url.slice('sqlite:'.length).replace(/^\/\//, ''));
  throw new Error(
    `DATABASE_URL must start with sqlite: or postgres://, got ${JSON.stringify(url)}`,
  );
}

async function openSqlite(path: string): Promise<Database> {
  const { default: Sqlite } = await import('better-sqlite3');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Sqlite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 2000');
  db.pragma('synchronous = NORMAL');
  const statements = new Map<string, import('better-sqlite3').Statement<unknown[]>>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare<unknown[]>(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const bind = (params: unknown[]) => params.map((p) => (typeof p === 'boolean' ? Number(p) : p));
  return {
    kind: 'sqlite',
    async query<T>(sql: string, params: unknown[] = []) {
      return prepare(sql).all(...bind(params)) as T[];
    },
    async run(sql, params = []) {
      return prepare(sql).run(...bind(params)).changes;
    },
    async close() {
      db.close();
    },
  };
}

async function openPostgres(url: string): Promise<Database> {
  const { default: pg } = await import('pg');
  // BIGINT counters come back as numbers: none of ours come near 2^53.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    kind: 'postgres',
    async query<T>(sql: string, params: unknown[] = []) {
      return (await pool.query(numbered(sql), params)).rows as T[];
    },
    async run(sql, params = []) {
      return (await pool.query(numbered(sql), params)).rowCount ?? 0;
    },
    async close() {
      await pool.end();
    },
  };
}
