/**
 * The store semantics written once in SQL, over a tiny controller that each SQL driver supplies
 * (the shape of lucia's adapter-sqlite base). The SQLite and PostgreSQL drivers only open
 * connections, say how to run a statement and give the few dialect fragments that differ.
 *
 * One table holds live entries and tombstones: a tombstone is the same row (same key) with
 * `tombstone` set, its value emptied, its owner cleared and a short expiry. Every statement is a
 * single conditional statement, so it is atomic inside the database without explicit
 * transactions. Time is the database's clock (`dialect.now`), so every process judges expiry by
 * one clock.
 *
 * Writes are fenced (see deadline.ts): each write statement's last parameter is the caller's
 * deadline in the database's clock, and its WHERE clause (`dialect.fence`) refuses to write once
 * the database's clock has reached it, so a statement that reaches a resumed server late cannot
 * land after its caller was told it failed.
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, StoreClosedError, StoreUnavailableError } from '../errors.js';
import {
  checkKey,
  checkOpen,
  checkOwner,
  checkTtl,
  type ResolvedStoreOptions,
  toValueBuffer,
} from './_utils.js';
import type {
  Store,
  StoreEntry,
  UpdateOptions,
  WriteOptions,
  WriteRefusal,
  WriteResult,
} from './types.js';

/** A row as a driver returns it; numbers may come back as strings (PostgreSQL bigint). */
export type SqlRow = Record<string, unknown>;

/**
 * How a driver runs a statement. SQL uses PostgreSQL-style `$1…$n` placeholders; a driver whose
 * client wants something else rewrites them once per statement. Failures must already be coded
 * errors (DROVE_ERR_STORE_UNAVAILABLE), and every call must end within the store timeout.
 */
export interface SqlController {
  /** Rows of a statement that returns rows (SELECT, or a write with RETURNING). */
  rows(sql: string, params: readonly unknown[]): Promise<SqlRow[]> | SqlRow[];
  /** The first row of a statement that returns at most one (a key lookup, or a write of one key). */
  row(sql: string, params: readonly unknown[]): Promise<SqlRow | undefined> | SqlRow | undefined;
  /** Number of rows a write changed. */
  run(sql: string, params: readonly unknown[]): Promise<number> | number;
  /**
   * The rows of a fenced write: the driver appends the fence (the call's deadline in the
   * database's clock) as the last parameter. When the reply is lost after the statement was
   * sent, the driver runs `readBack` (its parameters as given) after the deadline: its rows
   * stand for the write's own when it landed, none means it did not; DROVE_ERR_STORE_OUTCOME_UNKNOWN
   * when the database does not answer that either. A synchronous driver runs the statement
   * at once: its answer is never lost.
   */
  fenced(
    operation: string,
    sql: string,
    params: readonly unknown[],
    readBack?: { sql: string; params: readonly unknown[] },
  ): Promise<SqlRow[]> | SqlRow[];
}

/** The few fragments that differ between SQL dialects. */
export interface SqlDialect {
  /** Expression for the database's current time in whole ms since the epoch. */
  now: string;
  /** Condition: column `key` is not in the JSON array of strings bound at placeholder `param`. */
  keyNotInJson(param: string): string;
  /** Appended to the sweep's row selection (PostgreSQL: skip rows other sweepers hold). */
  sweepLock: string;
  /** Condition: the database's clock is still before the fence bound at placeholder `param`. */
  fence(param: string): string;
  /** Appended to a read-back, so that it waits for a write still committing (PostgreSQL). */
  readLock: string;
  /** Whether `fence` can refuse at all (false for a synchronous database, whose fence is TRUE). */
  fences: boolean;
}

/** What a SQL driver gives the shared base. */
export interface SqlBackend {
  /** Driver name, as in `store.name`. */
  name: string;
  dialect: SqlDialect;
  /** Quoted table name. */
  table: string;
  /** Open connections and create or check the schema. Called again after a failure. */
  connect(): Promise<SqlController>;
  /** Release every connection. */
  close(): Promise<void>;
}

/** Sweeping of expired rows, bounded per run. */
export interface SweepOptions {
  /**
   * How often each process deletes expired rows and tombstones, in ms; 0 turns the timer off (a
   * release job or cron can call `sweep()` instead). Default 60 000. Expired rows are never
   * returned, so sweeping only reclaims space.
   */
  sweepIntervalMs?: number;
  /** Most rows one sweep deletes. Default 1000. */
  sweepLimit?: number;
}

/** A SQL store: the Store interface plus an explicit, bounded sweep. */
export interface SqlStore extends Store {
  /**
   * Delete up to `limit` (default `sweepLimit`) rows whose expiry has passed (entries and
   * tombstones) and return how many went. Runs on an unref'd timer by itself; call it from a
   * scheduled job when the timer is turned off.
   */
  sweep(limit?: number): Promise<number>;
}

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
const DEFAULT_SWEEP_LIMIT = 1000;
/** After a full batch, sweep again this soon: the backlog drains quickly but in bounded steps. */
const BACKLOG_SWEEP_DELAY_MS = 1000;
const EMPTY = Buffer.alloc(0);

/** The statements, built once per table and dialect (exported for query-plan tests). */
export function sqlStatements(t: string, d: SqlDialect) {
  const now = d.now;
  const live = `NOT tombstone AND expires_at > ${now}`;
  return {
    get: `SELECT value, version, expires_at, owner FROM ${t} WHERE key = $1 AND ${live}`,
    // Inserts, or takes over a row whose entry or tombstone has expired; a live row stays.
    // INSERT … SELECT so that the fence also guards the plain insert (SQLite needs the WHERE
    // anyway, to tell the SELECT from the upsert clause).
    create: `INSERT INTO ${t} AS e (key, value, version, expires_at, owner, tombstone)
      SELECT $1, $2, $3, ${now} + $4, $5, FALSE WHERE ${d.fence('$6')}
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
        expires_at = excluded.expires_at, owner = excluded.owner, tombstone = FALSE
      WHERE e.expires_at <= ${now} AND ${d.fence('$6')}
      RETURNING expires_at`,
    update: `UPDATE ${t} SET value = $2, version = $3, expires_at = ${now} + $4,
        owner = COALESCE($5, owner)
      WHERE key = $1 AND version = $6 AND ${live} AND ${d.fence('$7')}
      RETURNING expires_at`,
    // After a lost reply: the row as create/update would have returned it, if it landed.
    landed: `SELECT expires_at FROM ${t} WHERE key = $1 AND version = $2 ${d.readLock}`,
    // Only read after a refused write, to say why.
    state: `SELECT tombstone, expires_at > ${now} AS live, version FROM ${t} WHERE key = $1`,
    touch: `UPDATE ${t} SET expires_at = ${now} + $2 WHERE key = $1 AND ${live} AND ${d.fence('$3')}
      RETURNING expires_at`,
    delete: `UPDATE ${t} SET tombstone = TRUE, value = $2, owner = NULL, expires_at = ${now} + $3
      WHERE key = $1 AND ${live} AND ${d.fence('$4')} RETURNING key`,
    ownedBy: `SELECT key FROM ${t} WHERE owner = $1 AND ${live}`,
    deleteOwned: `UPDATE ${t} SET tombstone = TRUE, value = $2, owner = NULL, expires_at = ${now} + $3
      WHERE owner = $1 AND ${live} AND ${d.keyNotInJson('$4')} AND ${d.fence('$5')} RETURNING key`,
    // The outer condition is checked again on the row actually deleted, so a row that a
    // concurrent create() took over in between survives.
    sweep: `DELETE FROM ${t} WHERE key IN (
        SELECT key FROM ${t} WHERE expires_at <= ${now} ORDER BY expires_at LIMIT $1 ${d.sweepLock}
      ) AND expires_at <= ${now}`,
  };
}

/** A fresh, unguessable version token (versions are opaque strings in the API). */
function newVersion(): string {
  return randomBytes(12).toString('base64url');
}

const truthy = (value: unknown) => value === true || value === 1 || value === '1' || value === 't';

/**
 * The shared store over a SQL backend. Drivers call this from their factory.
 * @internal
 */
export function createSqlStore(
  backend: SqlBackend,
  options: ResolvedStoreOptions,
  sweepOptions: SweepOptions = {},
): SqlStore {
  const { name } = backend;
  const { prefix, maxValueSize, tombstoneTtlMs } = options;
  const sql = sqlStatements(backend.table, backend.dialect);
  const sweepIntervalMs = sweepOptions.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  const sweepLimit = sweepOptions.sweepLimit ?? DEFAULT_SWEEP_LIMIT;

  let closed = false;
  let controller: SqlController | undefined;
  let connecting: Promise<SqlController> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  /** The controller, connecting on first use (and again after a failed attempt). */
  const use = (): SqlController | Promise<SqlController> => {
    checkOpen(name, closed);
    if (controller) return controller;
    connecting ??= backend.connect().then(
      (ready) => {
        if (closed) throw new StoreClosedError({ store: name });
        controller = ready;
        scheduleSweep(jitter(sweepIntervalMs));
        return ready;
      },
      (err: unknown) => {
        connecting = undefined;
        throw err;
      },
    );
    return connecting;
  };

  const scheduleSweep = (delay: number) => {
    if (sweepIntervalMs <= 0 || closed) return;
    sweepTimer = setTimeout(async () => {
      let next = sweepIntervalMs;
      try {
        if ((await store.sweep()) >= sweepLimit) next = BACKLOG_SWEEP_DELAY_MS;
      } catch {
        // The database is away; the next run tries again. Expired rows are never returned anyway.
      }
      scheduleSweep(next);
    }, delay);
    sweepTimer.unref();
  };

  /**
   * Why a write was refused, read afterwards. A refusal the row's state cannot explain (the
   * version still matched, the entry was still live or absent) was the fence's: not applied.
   */
  const refusal = async (
    c: SqlController,
    operation: 'create' | 'update',
    key: string,
    expected?: string,
  ): Promise<WriteRefusal> => {
    const row = await c.row(sql.state, [key]);
    const live = row !== undefined && truthy(row.live);
    if (operation === 'create') {
      // Not live any more: the fence's refusal, or (without fences) an entry that just expired.
      if (!live && backend.dialect.fences) throw late(operation);
      if (!live) return 'exists';
      return truthy(row.tombstone) ? 'gone' : 'exists';
    }
    if (!live) return 'missing';
    if (truthy(row.tombstone)) return 'gone';
    if (row.version === expected && backend.dialect.fences) throw late(operation);
    return 'conflict';
  };

  /** Whether a write that changed nothing was refused by its fence: the entry is still live. */
  const stillLive = async (c: SqlController, key: string): Promise<boolean> => {
    const row = await c.row(sql.state, [key]);
    if (!backend.dialect.fences) return false;
    return row !== undefined && truthy(row.live) && !truthy(row.tombstone);
  };

  const late = (operation: string) =>
    new StoreUnavailableError({
      store: name,
      reason: `${operation} reached the database after its deadline and was not applied`,
    });

  const store: SqlStore = {
    name,

    async ready() {
      await use();
    },

    async get(key) {
      checkKey(key);
      const c = await use();
      const row = await c.row(sql.get, [prefix + key]);
      if (!row) return undefined;
      const owner = row.owner as string | null;
      const entry: StoreEntry = {
        value: (row.value as Buffer | null) ?? EMPTY,
        version: row.version as string,
        expiresAt: Number(row.expires_at),
        owner: owner === null ? undefined : owner.slice(prefix.length),
      };
      return entry;
    },

    async create(key, value, writeOptions: WriteOptions): Promise<WriteResult> {
      checkKey(key);
      checkTtl(writeOptions.ttlMs);
      if (writeOptions.owner !== undefined) checkOwner(writeOptions.owner);
      const bytes = toValueBuffer(name, value, maxValueSize);
      const c = await use();
      const version = newVersion();
      const owner = writeOptions.owner === undefined ? null : prefix + writeOptions.owner;
      const full = prefix + key;
      const [row] = await c.fenced(
        'create',
        sql.create,
        [full, bytes, version, writeOptions.ttlMs, owner],
        { sql: sql.landed, params: [full, version] },
      );
      if (row) return { ok: true, version, expiresAt: Number(row.expires_at) };
      return { ok: false, reason: await refusal(c, 'create', full) };
    },

    async update(key, value, updateOptions: UpdateOptions): Promise<WriteResult> {
      checkKey(key);
      checkTtl(updateOptions.ttlMs);
      if (updateOptions.owner !== undefined) checkOwner(updateOptions.owner);
      const bytes = toValueBuffer(name, value, maxValueSize);
      const c = await use();
      const version = newVersion();
      const owner = updateOptions.owner === undefined ? null : prefix + updateOptions.owner;
      const full = prefix + key;
      const expected = String(updateOptions.version);
      const [row] = await c.fenced(
        'update',
        sql.update,
        [full, bytes, version, updateOptions.ttlMs, owner, expected],
        { sql: sql.landed, params: [full, version] },
      );
      if (row) return { ok: true, version, expiresAt: Number(row.expires_at) };
      return { ok: false, reason: await refusal(c, 'update', full, expected) };
    },

    async touch(key, ttlMs) {
      checkKey(key);
      checkTtl(ttlMs);
      const c = await use();
      // No read-back: a touch leaves no version of its own, so a lost reply stays unknown.
      const [row] = await c.fenced('touch', sql.touch, [prefix + key, ttlMs]);
      if (row) return Number(row.expires_at);
      if (await stillLive(c, prefix + key)) throw late('touch');
      return undefined;
    },

    async delete(key) {
      checkKey(key);
      const c = await use();
      // No read-back: whether a live entry was there cannot be told afterwards.
      const rows = await c.fenced('delete', sql.delete, [prefix + key, EMPTY, tombstoneTtlMs]);
      if (rows.length > 0) return true;
      if (await stillLive(c, prefix + key)) throw late('delete');
      return false;
    },

    async ownedBy(owner) {
      checkOwner(owner);
      const c = await use();
      const rows = await c.rows(sql.ownedBy, [prefix + owner]);
      // Sorted here, not in SQL: database collations would order differently from JS.
      return rows.map((row) => (row.key as string).slice(prefix.length)).sort();
    },

    async deleteOwned(owner, deleteOptions = {}) {
      checkOwner(owner);
      const except = (deleteOptions.except ?? []).map((key) => {
        checkKey(key);
        return prefix + key;
      });
      const c = await use();
      const rows = await c.fenced('deleteOwned', sql.deleteOwned, [
        prefix + owner,
        EMPTY,
        tombstoneTtlMs,
        JSON.stringify(except),
      ]);
      return rows.length;
    },

    async sweep(limit = sweepLimit) {
      if (!Number.isInteger(limit) || limit <= 0) limit = sweepLimit;
      const c = await use();
      return c.run(sql.sweep, [limit]);
    },

    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(sweepTimer);
      await connecting?.catch(() => undefined);
      controller = undefined;
      await backend.close();
    },
  };
  return store;
}

/** A first delay spread over the interval, so processes started together do not sweep together. */
function jitter(intervalMs: number): number {
  return Math.floor(intervalMs / 2 + Math.random() * (intervalMs / 2));
}

/** Check the sweep options (positive integers; an interval of 0 turns the timer off). */
export function checkSweepOptions({ sweepIntervalMs, sweepLimit }: SweepOptions): void {
  if (
    sweepIntervalMs !== undefined &&
    (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs < 0)
  ) {
    throw new InvalidOptionError({
      option: 'sweepIntervalMs',
      reason: `expected 0 or a positive integer, got ${sweepIntervalMs}`,
    });
  }
  if (sweepLimit !== undefined && (!Number.isInteger(sweepLimit) || sweepLimit <= 0)) {
    throw new InvalidOptionError({
      option: 'sweepLimit',
      reason: `expected a positive integer, got ${sweepLimit}`,
    });
  }
}
