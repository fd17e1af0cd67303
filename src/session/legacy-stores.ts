/**
 * Read-only access to where express-session stores kept sessions, for `migrateFrom` when the old
 * store package is already gone: connect-redis's `sess:<id>` keys and connect-pg-simple's
 * `session(sid, sess, expire)` table. Their clients (ioredis, pg) are the optional peers the
 * drove stores use, loaded on first use.
 */
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { importPeer } from '../internal/peer.js';
import type { LegacyStore } from './migrate.js';

type Callback<T> = (err: unknown, value?: T) => void;

/** A LegacyStore drove opened: `close()` releases its connection (never a client you passed in). */
export interface ClosableLegacyStore extends LegacyStore {
  close(): Promise<void>;
}

/** A LegacyStore over promise-returning get/destroy. */
function callbackStore(
  get: (sid: string) => Promise<unknown>,
  destroy: (sid: string) => Promise<void>,
  close: () => Promise<void>,
): ClosableLegacyStore {
  return {
    close,
    get: (sid: string, cb: Callback<unknown>) => {
      get(sid).then((value) => cb(null, value), cb);
    },
    destroy: (sid: string, cb: Callback<void>) => {
      destroy(sid).then(() => cb(null), cb);
    },
  };
}

/** Options of {@link legacyRedisStore}. */
export interface LegacyRedisOptions {
  /** A `redis://` URL, or an ioredis client of yours (left open by drove). */
  url?: string;
  client?: Redis;
  /** connect-redis's `prefix`. Default `sess:`. */
  prefix?: string;
}

/**
 * The sessions connect-redis wrote (JSON under `sess:<id>`), as a LegacyStore.
 * @example
 * session({ store, migrateFrom: { secrets: [process.env.OLD_SECRET!], idSecret, store: legacyRedisStore({ url: process.env.REDIS_URL }) } })
 */
export function legacyRedisStore(options: LegacyRedisOptions): ClosableLegacyStore {
  const prefix = options.prefix ?? 'sess:';
  let client: Promise<Redis> | undefined;
  const open = () => {
    client ??= options.client
      ? Promise.resolve(options.client)
      : importPeer('ioredis', 'legacyRedisStore', () => import('ioredis')).then(({ Redis }) => {
          const own = new Redis(options.url ?? 'redis://127.0.0.1:6379');
          // Connection errors reach the calls that fail; unheard, ioredis would log each one.
          own.on('error', () => undefined);
          return own;
        });
    return client;
  };
  return callbackStore(
    async (sid) => {
      const text = await (await open()).get(prefix + sid);
      return text === null ? undefined : JSON.parse(text);
    },
    async (sid) => {
      await (await open()).del(prefix + sid);
    },
    async () => {
      if (client && !options.client) (await client).disconnect();
    },
  );
}

/** Options of {@link legacyPostgresStore}. */
export interface LegacyPostgresOptions {
  /** A `postgres://` URL, or a pg Pool of yours (left open by drove). */
  url?: string;
  pool?: Pool;
  /** connect-pg-simple's `tableName` and `schemaName`. Default `session`, none. */
  tableName?: string;
  schemaName?: string;
}

/**
 * The sessions connect-pg-simple wrote (`session(sid, sess json, expire)`), as a LegacyStore.
 * An expired row counts as absent, as it does for connect-pg-simple.
 */
export function legacyPostgresStore(options: LegacyPostgresOptions): ClosableLegacyStore {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const table =
    (options.schemaName ? `${quote(options.schemaName)}.` : '') +
    quote(options.tableName ?? 'session');
  let pool: Promise<Pool> | undefined;
  const open = () => {
    pool ??= options.pool
      ? Promise.resolve(options.pool)
      : importPeer('pg', 'legacyPostgresStore', () => import('pg')).then(({ default: pg }) => {
          const own = new pg.Pool({ connectionString: options.url, max: 2 });
          // An idle client's error (a server restart) must not crash the process; calls retry.
          own.on('error', () => undefined);
          return own;
        });
    return pool;
  };
  return callbackStore(
    async (sid) => {
      const { rows } = await (await open()).query(
        `SELECT sess FROM ${table} WHERE sid = $1 AND expire >= now()`,
        [sid],
      );
      const sess = rows[0]?.sess;
      return typeof sess === 'string' ? JSON.parse(sess) : sess;
    },
    async (sid) => {
      await (await open()).query(`DELETE FROM ${table} WHERE sid = $1`, [sid]);
    },
    async () => {
      if (pool && !options.pool) await (await pool).end();
    },
  );
}
