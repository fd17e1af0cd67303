/** Public types of `drovejs/session`. */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Store } from '../stores/types.js';
import type { EncryptionOptions, Serializer } from './codec.js';
import type { ConflictRetryOptions } from './conflict-retry.js';
import type { CookieOptions } from './cookies.js';
import type { CsrfOptions } from './csrf.js';
import type { MigrateFromOptions } from './migrate.js';

/** Session data: top-level keys of JSON-like values (Dates survive with the default serializer). */
export type SessionData = Record<string, unknown>;

/** Options of {@link createSessions} and of every adapter. */
export interface SessionOptions<T extends SessionData = SessionData> {
  /** Where sessions live: any drove store (`createStore(url)`). */
  store: Store;
  /** A session not used for this long expires. Default 24 h. */
  idleTimeoutMs?: number;
  /** A session expires this long after it was created (or regenerated), used or not. Default 7 days; `Infinity` for none. */
  absoluteTimeoutMs?: number;
  /**
   * Share of the idle window that must have passed before a read-only request extends the
   * session (an expire-only touch). Default 0.1: at most one touch per tenth of the window, so a
   * read-only request costs one store round trip, not two.
   */
  touchAfter?: number;
  /** Largest serialized session, in bytes. Default 16 KiB. */
  maxSize?: number;
  /**
   * Retrying a save or `update()` that lost the race to a parallel writer: exponential backoff
   * with full jitter, for up to `budgetMs` (default 3000) before DROVE_ERR_SESSION_CONFLICT.
   * @example
   * session({ store, conflictRetry: { budgetMs: 5000, maxDelayMs: 50 } })
   */
  conflictRetry?: ConflictRetryOptions;
  /** Cookie settings. */
  cookie?: CookieOptions;
  /** Believe X-Forwarded-Proto / X-Forwarded-Host (only behind a proxy you run). Default false. */
  trustProxy?: boolean;
  /** Cross-origin checks on unsafe methods; `false` turns them off. On by default. */
  csrf?: CsrfOptions | false;
  /** Encrypt stored payloads with AES-256-GCM. */
  encryption?: EncryptionOptions;
  /** Default: JSON in which Dates survive. */
  serializer?: Serializer;
  /** A Standard Schema (zod, valibot, arktype…) checked on every load; its output becomes the data. */
  schema?: StandardSchemaV1<unknown, T>;
  /** `throw` (default): a payload that fails decryption or the schema is an error. `discard`: start a new session. */
  onInvalid?: 'throw' | 'discard';
  /** Metrics and tracing hook: see {@link SessionEvent} and `otelSessionEvents()`. */
  onEvent?: (event: SessionEvent) => void;
  /** The clock (ms since the epoch). Must agree with the store's clock; injectable for tests. */
  clock?: () => number;
  /**
   * Take over the sessions of express-session or @fastify/session without logging anyone out:
   * a request with an old cookie and no drove session gets its old session read once from the
   * old store and rewritten as a drove session (docs/migrating.md).
   */
  migrateFrom?: MigrateFromOptions;
}

/** Options every adapter adds to {@link SessionOptions}. */
export interface AdapterOptions {
  /**
   * `respond` (default): answer CSRF refusals (403), an unreachable store (503 + Retry-After) and
   * other session errors with their status and a JSON body. `pass`: hand them to the framework's
   * error handling instead (`next(err)`, a thrown error).
   */
  errors?: 'respond' | 'pass';
  /** Retry-After of the 503 sent when the store is down, in seconds. Default 5. */
  retryAfterSeconds?: number;
}

/** The store operations the session layer makes. */
export type StoreOperation =
  | 'get'
  | 'create'
  | 'update'
  | 'touch'
  | 'delete'
  | 'deleteOwned'
  | 'ownedBy';

/**
 * What the session layer reports. Maps onto OpenTelemetry: `store` → a histogram of durations,
 * the others → counters (and `save.bytes` → a histogram of payload sizes).
 */
export type SessionEvent =
  | { type: 'store'; operation: StoreOperation; durationMs: number; ok: boolean }
  | { type: 'load'; outcome: 'none' | 'rejected' | 'hit' | 'miss' | 'expired' | 'invalid' }
  | { type: 'conflict'; attempt: number }
  | { type: 'touch' }
  | { type: 'save'; bytes: number; created: boolean }
  | { type: 'destroy'; count: number };

/** Options of `regenerate()`. */
export interface RegenerateOptions {
  /** Carry the data (and owner) over to the new id. Default false: a new, empty session. */
  keepData?: boolean;
}

/**
 * A node-style callback, as express-session's and @fastify/session's methods take: called once
 * with no argument on success, with the error otherwise. Every promise-returning control takes
 * one as its last argument; the promise then never rejects (the error goes to the callback).
 */
export type SessionCallback = (err?: unknown) => void;

/**
 * `req.session.cookie`: express-session's per-session cookie. Setting `maxAge` (ms, or `null` for
 * a browser-session cookie) gives this session its own lifetime ("remember me"): the cookie's
 * Max-Age and the store's expiry both follow it, as a sliding idle window that the absolute
 * timeout still caps. The other attributes are the configured ones, read-only.
 */
export interface SessionCookieView {
  /** Ms until the cookie expires (null: a browser-session cookie). Set it for this session's own lifetime. */
  maxAge: number | null;
  /** When the cookie expires (null: a browser-session cookie). Setting it sets `maxAge`. */
  expires: Date | null;
  /** The lifetime the cookie was given (this session's own, or the configured idle window). */
  readonly originalMaxAge: number | null;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly path: string;
  readonly domain: string | undefined;
  toJSON(): Record<string, unknown>;
}

/** The methods on every session, beside its data. Their names cannot be data keys. */
export interface SessionControls<T extends SessionData> {
  /**
   * Atomic read-modify-write: `fn` runs on the latest stored data and its result is written with a
   * conditional write; on a conflict `fn` runs again on the newer data. So parallel increments all
   * count. `fn` may run more than once: keep side effects out of it.
   * @example
   * await req.session.update((s) => { s.count = (s.count ?? 0) + 1; });
   */
  update(
    fn: (draft: Partial<T>) => void | Promise<void>,
    callback?: SessionCallback,
  ): Promise<void>;
  /**
   * A new id (fixation protection on login). The new entry is created and the old one deleted
   * when the response is sent (or at `save()`), so no request ever sees neither. Takes
   * express-session's callback too: `regenerate(cb)`, after which, on the node and Express
   * adapters, `req.session` is a new object as with express-session (the old one keeps the old
   * data for reading; writing to it throws DROVE_ERR_SESSION_REPLACED). `await regenerate()`
   * empties the same object.
   */
  regenerate(
    options?: RegenerateOptions | SessionCallback,
    callback?: SessionCallback,
  ): Promise<void>;
  /** Delete the session now (a tombstone keeps in-flight requests from bringing it back) and clear the cookie. */
  destroy(callback?: SessionCallback): Promise<void>;
  /**
   * Write now what the response would write (changed keys with a conditional write, a pending
   * regenerate, a new lifetime); a new session gets its entry and id; a stored one with nothing
   * changed costs nothing. Not needed before a redirect: the
   * response waits for the save anyway. For express-session and Passport (`save(cb)`).
   */
  save(callback?: SessionCallback): Promise<void>;
  /** Re-read the session from the store, dropping this request's unsaved changes. */
  reload(callback?: SessionCallback): Promise<void>;
  /**
   * Extend the session's expiry (store and cookie) when the response goes out, even where the
   * `touchAfter` throttle would skip it. No store call of its own.
   */
  touch(callback?: SessionCallback): Promise<void>;
  /** Index this session under `owner` (a user id), for `destroyAll` and `Sessions.listOf`. */
  setOwner(owner: string): void;
  /** Destroy every session of this session's owner ("log out everywhere"); `exceptCurrent` keeps this one. Returns how many. */
  destroyAll(
    options?: { exceptCurrent?: boolean } | SessionCallback,
    callback?: SessionCallback,
  ): Promise<number>;
  /** Whether no store entry backs this session yet. */
  readonly isNew: boolean;
  /**
   * The session id: the cookie's value (express-session's `req.session.id`). For a new session,
   * the id its first write will use. The store only ever sees its SHA-256.
   */
  readonly id: string;
  /** The session's cookie, express-session style: see {@link SessionCookieView}. */
  readonly cookie: SessionCookieView;
}

/** A request's session: its data as plain properties, plus {@link SessionControls}. */
export type Session<T extends SessionData = SessionData> = Partial<T> & SessionControls<T>;

/**
 * The session data type adapters give `req.session` where the framework's request type cannot
 * carry a generic (Express, Fastify). Augment it to type your data:
 * ```ts
 * declare module 'drovejs/session' { interface DefaultSessionData { visits?: number; userId?: string } }
 * ```
 */
export interface DefaultSessionData extends SessionData {}
