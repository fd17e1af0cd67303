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
 */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError, StoreClosedError } from '../errors.js';
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
}

/** The few fragments that differ between SQL dialects. */
export interface SqlDialect {
  /** Expression for the database's current time in whole ms since the epoch. */
  now: string;
  /** Condition: column `key` is not in the JSON array of strings bound at placeholder `param`. */
  keyNotInJson(param: string): string;
  /** Appended to the sweep's row selection (PostgreSQL: skip rows other sweepers hold). */
  sweepLock: string;
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
    create: `INSERT INTO ${t} AS e (key, value, version, expires_at, owner, tombstone)
      VALUES ($1, $2, $3, ${now} + $4, $5, FALSE)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version,
        expires_at = excluded.expires_at, owner = excluded.owner, tombstone = FALSE
      WHERE e.expires_at <= ${now}
      RETURNING expires_at`,
    update: `UPDATE ${t} SET value = $2, version = $3, expires_at = ${now} + $4,
        owner = COALESCE($5, owner)
      WHERE key = $1 AND version = $6 AND ${live}
      RETURNING expires_at`,
    // Only read after a refused write, to say why.
    state: `SELECT tombstone, expires_at > ${now} AS live FROM ${t} WHERE key = $1`,
    touch: `UPDATE ${t} SET expires_at = ${now} + $2 WHERE key = $1 AND ${live} RETURNING expires_at`,
    delete: `UPDATE ${t} SET tombstone = TRUE, value = $2, owner = NULL, expires_at = ${now} + $3
      WHERE key = $1 AND ${live}`,
    ownedBy: `SELECT key FROM ${t} WHERE owner = $1 AND ${live}`,
    deleteOwned: `UPDATE ${t} SET tombstone = TRUE, value = $2, owner = NULL, expires_at = ${now} + $3
      WHERE owner = $1 AND ${live} AND ${d.keyNotInJson('$4')}`,
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

  const refusal = async (
    c: SqlController,
    key: string,
    onLive: 'exists' | 'conflict',
    onAbsent: 'exists' | 'missing',
  ): Promise<WriteRefusal> => {
    const row = await c.row(sql.state, [key]);
    if (!row || !truthy(row.live)) return onAbsent;
    return truthy(row.tombstone) ? 'gone' : onLive;
  };

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
      const row = await c.row(sql.create, [full, bytes, version, writeOptions.ttlMs, owner]);
      if (row) return { ok: true, version, expiresAt: Number(row.expires_at) };
      return { ok: false, reason: await refusal(c, full, 'exists', 'exists') };
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
      const row = await c.row(sql.update, [
        full,
        bytes,
        version,
        updateOptions.ttlMs,
        owner,
        String(updateOptions.version),
      ]);
      if (row) return { ok: true, version, expiresAt: Number(row.expires_at) };
      return { ok: false, reason: await refusal(c, full, 'conflict', 'missing') };
    },

    async touch(key, ttlMs) {
      checkKey(key);
      checkTtl(ttlMs);
      const c = await use();
      const row = await c.row(sql.touch, [prefix + key, ttlMs]);
      return row ? Number(row.expires_at) : undefined;
    },

    async delete(key) {
      checkKey(key);
      const c = await use();
      return (await c.run(sql.delete, [prefix + key, EMPTY, tombstoneTtlMs])) > 0;
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
      return c.run(sql.deleteOwned, [
        prefix + owner,
        EMPTY,
        tombstoneTtlMs,
        JSON.stringify(except),
      ]);
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
