/**
 * The one small interface every drove store implements, whatever the backend.
 *
 * A store keeps short-lived entries (sessions, mostly) with time-based expiry, optimistic
 * versions for conditional writes, tombstones so that a deleted entry stays deleted, and an owner
 * index so that all entries of one user can be listed and deleted. The same semantics hold on
 * every backend; `test/stores/conformance.ts` checks them against each real server.
 * @module
 */

/** Options every store accepts. */
export interface StoreOptions {
  /**
   * Deadline of every call, in ms. A call that takes longer fails with
   * DROVE_ERR_STORE_UNAVAILABLE, which for a write means "not applied, and never will be". A
   * write whose reply is lost is first read back for up to one more `timeoutMs`; when that fails
   * too, it ends with DROVE_ERR_STORE_OUTCOME_UNKNOWN (see docs/errors.md). Default 1000.
   */
  timeoutMs?: number;
  /** Largest value accepted, in bytes. Larger values fail with DROVE_ERR_VALUE_TOO_LARGE and nothing is written. Default 1 MiB. */
  maxValueSize?: number;
  /** Prefix of every key the store writes, so several apps can share one server. Default `drove:`. */
  prefix?: string;
  /** How long a tombstone left by `delete` keeps a stale writer from bringing an entry back, in ms. Default 10 minutes. */
  tombstoneTtlMs?: number;
}

/** A live entry, as read. */
export interface StoreEntry {
  /** The bytes written (a string value comes back as its UTF-8 bytes). */
  value: Buffer;
  /** Opaque version token; pass it to `update` to write only if nobody else wrote since. */
  version: string;
  /** When the entry expires, in ms since the epoch (the backend's expiry, as well as it can tell). */
  expiresAt: number;
  /** The owner the entry is indexed under, if any. */
  owner: string | undefined;
}

/** Why a conditional write did not happen. A lost race is a result, not an exception. */
export type WriteRefusal =
  /** `create`: a live entry already has this key. */
  | 'exists'
  /** `update`: a live entry has another version (somebody else wrote since it was read). */
  | 'conflict'
  /** `update`: there is no live entry (never written, or expired). */
  | 'missing'
  /** `create`/`update`: the entry was deleted and its tombstone is still there. */
  | 'gone';

/** The outcome of a conditional write. */
export type WriteResult =
  | { ok: true; version: string; expiresAt: number }
  | { ok: false; reason: WriteRefusal };

/** Options of a write. */
export interface WriteOptions {
  /** Time to live from now, in ms (a positive integer). */
  ttlMs: number;
  /** Index the entry under this owner (a user id). On `update`, omitting it keeps the current owner. */
  owner?: string;
}

/** Options of a conditional update. */
export interface UpdateOptions extends WriteOptions {
  /** The version read; the write happens only if the entry still has it. */
  version: string;
}

/** An expiring key-value store with conditional writes, tombstones and an owner index. */
export interface Store {
  /** Driver name: `sqlite`, `redis`, `redis-cluster`, `memcached` or `postgres`. */
  readonly name: string;
  /** Connect and check the server (and create tables where needed). Fails at boot, not on the first request. */
  ready(): Promise<void>;
  /** The live entry under `key`, or undefined when absent, expired or deleted. Never returns an expired entry. */
  get(key: string): Promise<StoreEntry | undefined>;
  /** Write only if no live entry and no tombstone has this key. */
  create(key: string, value: Buffer | string, options: WriteOptions): Promise<WriteResult>;
  /** Write only if the live entry still has `options.version`. */
  update(key: string, value: Buffer | string, options: UpdateOptions): Promise<WriteResult>;
  /**
   * Move a live entry's expiry to now + ttlMs without sending, replacing or re-versioning its
   * value. Returns the new expiry, or undefined when there is no live entry.
   */
  touch(key: string, ttlMs: number): Promise<number | undefined>;
  /** Delete the entry and leave a tombstone. Returns whether a live entry was there. */
  delete(key: string): Promise<boolean>;
  /** Keys (without prefix) of the live entries indexed under `owner`, sorted. */
  ownedBy(owner: string): Promise<string[]>;
  /** Delete (with tombstones) every live entry of `owner` except the keys in `except`. Returns how many. */
  deleteOwned(owner: string, options?: { except?: string[] }): Promise<number>;
  /** Release every connection and timer. Later calls fail with DROVE_ERR_STORE_CLOSED. */
  close(): Promise<void>;
}
