/**
 * `drovejs/stores`: expiring key-value stores on SQLite, Redis (and Cluster), Memcached and
 * PostgreSQL, behind one interface. Client libraries are optional peer dependencies, loaded on
 * first use.
 *
 * @example
 * ```ts
 * import { createStore } from 'drovejs/stores';
 * const store = createStore(process.env.SESSION_STORE_URL ?? 'sqlite:.drove/sessions.db');
 * await store.ready(); // rejects at boot if the server is unreachable (else: one warning line)
 * const created = await store.create('k', 'v', { ttlMs: 60_000 });
 * ```
 * @module
 */
import {
  DroveError,
  InvalidOptionError,
  StoreSchemeError,
  StoreUnavailableError,
  StoreUrlError,
} from '../errors.js';
import { createMemcachedStore, type MemcachedStoreOptions } from './memcached.js';
import { createPostgresStore, type PostgresStoreOptions } from './postgres.js';
import { createRedisStore, type RedisStoreOptions } from './redis.js';
import { createSqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store, StoreOptions } from './types.js';

export type { SqlStore, SweepOptions } from './_sql.js';
export { postgresSchemaSql } from './postgres.js';
export { sqliteSchemaSql } from './sqlite.js';
export type * from './types.js';
export type { MemcachedStoreOptions, PostgresStoreOptions, RedisStoreOptions, SqliteStoreOptions };
export { createMemcachedStore, createPostgresStore, createRedisStore, createSqliteStore };

/** Options of `createStore`: the common ones plus any driver's own (ignored by the others). */
export type CreateStoreOptions = StoreOptions &
  Partial<Pick<PostgresStoreOptions, 'table' | 'migrate'>> &
  Partial<Pick<RedisStoreOptions, 'cluster' | 'autoPipelining'>> & {
    /**
     * `createStore` starts connecting at once, so that a store that cannot be reached is reported
     * when the app starts, not at its first request. When that first attempt fails:
     * - `'warn'` (default): one process warning (code `DROVE_STORE_UNREACHABLE`) naming the store
     *   URL without credentials; calls fail with DROVE_ERR_STORE_UNAVAILABLE until it answers;
     * - `'throw'`: the failure (DROVE_ERR_STORE_UNAVAILABLE) is raised as an uncaught exception,
     *   so the process stops at boot, as on a port already in use;
     * - `'ignore'`: no early attempt; the store connects on first use (as the driver factories do).
     * `await store.ready()` is the way to fail fast in code.
     */
    onUnreachable?: 'warn' | 'throw' | 'ignore';
  };

const SCHEMES = [
  'sqlite:',
  'redis://',
  'rediss://',
  'redis+cluster://',
  'rediss+cluster://',
  'memcached://',
  'postgres://',
  'postgresql://',
];

/**
 * A store for a URL:
 * - `sqlite:PATH`, `sqlite:///absolute/path`, `sqlite::memory:`
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…`; Redis Cluster with
 *   `redis+cluster://h1:p1,h2:p2` (or `rediss+cluster://`) or `{ cluster: true }`
 * - `memcached://host:port[,host2:port2]`
 * - `postgres://…` / `postgresql://…`
 *
 * Parsing happens here, synchronously: a bad URL throws DROVE_ERR_STORE_URL or
 * DROVE_ERR_STORE_SCHEME quoting the offending part. Connecting starts at once in the background (see `onUnreachable`); `ready()` waits for it.
 */
export function createStore(url: string, options: CreateStoreOptions = {}): Store {
  const { onUnreachable = 'warn', ...storeOptions } = options;
  if (!['warn', 'throw', 'ignore'].includes(onUnreachable)) {
    throw new InvalidOptionError({
      option: 'onUnreachable',
      reason: `expected 'warn', 'throw' or 'ignore', got ${String(onUnreachable)}`,
    });
  }
  const store = storeFor(url, storeOptions);
  if (onUnreachable !== 'ignore') probe(store, url, onUnreachable);
  return store;
}

/**
 * The URL as it may be printed: without user, password or a `password` query parameter. Host
 * lists (`redis+cluster://u:p@h1:1,h2:2`) are not URLs to the parser: their userinfo is cut.
 */
export function redactStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token/i.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    return url
      .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1')
      .replace(/([?&][^=&]*(?:pass|secret|token)[^=&]*=)[^&#]*/gi, '$1***');
  }
}

/** The early connection attempt of `createStore` and its report. */
function probe(store: Store, url: string, mode: 'warn' | 'throw'): void {
  let closed = false;
  const close = store.close.bind(store);
  store.close = () => {
    closed = true;
    return close();
  };
  store.ready().catch((err: unknown) => {
    if (closed) return;
    const reason = err instanceof Error ? err.message.replace(/^\[drove\] /, '') : String(err);
    const where = redactStoreUrl(url);
    if (err instanceof DroveError && err.code === 'DROVE_ERR_MISSING_PEER') {
      // Not an outage that ends: say what to install, now, not at the first request.
      const missing = `${store.name} store ${where} cannot start: ${reason}`;
      if (mode === 'warn') process.emitWarning(missing, { code: 'DROVE_STORE_MISSING_PEER' });
      else
        setImmediate(() => {
          throw err;
        });
      return;
    }
    if (mode === 'warn') {
      process.emitWarning(
        `${store.name} store ${where} is unreachable at start-up (${reason}); calls fail with DROVE_ERR_STORE_UNAVAILABLE until it answers`,
        { code: 'DROVE_STORE_UNREACHABLE' },
      );
      return;
    }
    const fatal = new StoreUnavailableError(
      { store: store.name, reason: `${where} is unreachable at start-up (${reason})` },
      { cause: err },
    );
    setImmediate(() => {
      throw fatal;
    });
  });
}

function storeFor(url: string, options: Omit<CreateStoreOptions, 'onUnreachable'>): Store {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new StoreUrlError({ url: String(url), part: String(url), reason: 'empty store URL' });
  }
  const schemeEnd = url.indexOf(':');
  const scheme = schemeEnd > 0 ? url.slice(0, schemeEnd).toLowerCase() : '';
  switch (scheme) {
    case 'sqlite':
      return createSqliteStore({ ...options, path: parseSqlitePath(url) });
    case 'redis':
    case 'rediss':
      checkUrl(url);
      return createRedisStore({ ...options, url });
    case 'redis+cluster':
    case 'rediss+cluster': {
      const nodes = parseHostList(url, 6379);
      const tls = scheme === 'rediss+cluster';
      const seed = nodes[0]!;
      return createRedisStore({
        ...options,
        url: `${tls ? 'rediss' : 'redis'}://${credentialsOf(url)}${seed.host}:${seed.port}`,
        cluster: nodes,
      });
    }
    case 'memcached':
      return createMemcachedStore({ ...options, servers: parseHostList(url, 11211) });
    case 'postgres':
    case 'postgresql':
      checkUrl(url);
      return createPostgresStore({ ...options, connectionString: url });
    default:
      throw new StoreSchemeError({ url, scheme: scheme || url, known: SCHEMES });
  }
}

function parseSqlitePath(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') {
    throw new StoreUrlError({
      url,
      part: url,
      reason: 'missing database path (e.g. sqlite:.drove/sessions.db)',
    });
  }
  return path;
}

function checkUrl(url: string): URL {
  try {
    const parsed = new URL(url);
    if (parsed.hostname === '') {
      throw new StoreUrlError({ url, part: url, reason: 'missing host' });
    }
    return parsed;
  } catch (err) {
    if (err instanceof StoreUrlError) throw err;
    throw new StoreUrlError({ url, part: url, reason: 'not a valid URL' }, { cause: err });
  }
}

/** `user:pass@` of a host-list URL, kept as written. */
function credentialsOf(url: string): string {
  const rest = url.slice(url.indexOf('://') + 3);
  const at = rest.lastIndexOf('@', rest.search(/[/?#]|$/));
  return at >= 0 ? rest.slice(0, at + 1) : '';
}

/** `scheme://[cred@]h1:p1,h2:p2[/…]` → hosts and ports (URL cannot parse comma lists). */
function parseHostList(url: string, defaultPort: number): { host: string; port: number }[] {
  const rest = url.slice(url.indexOf('://') + 3);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts === '') throw new StoreUrlError({ url, part: url, reason: 'missing host' });
  return hosts.split(',').map((part) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(part);
    if (!match) throw new StoreUrlError({ url, part, reason: 'expected host:port' });
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new StoreUrlError({ url, part, reason: 'port out of range' });
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}
