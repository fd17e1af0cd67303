/** Resolved options and the instrumented store calls shared by every request's session. */
import { DEFAULT_RETRY_AFTER_SECONDS, InvalidOptionError } from '../errors.js';
import { positive } from '../internal/options.js';
import type { Store, UpdateOptions, WriteOptions } from '../stores/types.js';
import { Codec, jsonSerializer } from './codec.js';
import { type ConflictRetryPolicy, conflictRetryPolicy, RetryLanes } from './conflict-retry.js';
import { SessionCookie } from './cookies.js';
import type { CsrfOptions } from './csrf.js';
import type { SessionData, SessionEvent, SessionOptions, StoreOperation } from './types.js';

const HOUR = 3_600_000;

export class SessionContext<T extends SessionData> {
  readonly store: Store;
  readonly codec: Codec;
  readonly cookie: SessionCookie;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly touchAfter: number;
  readonly maxSize: number;
  readonly conflictRetry: ConflictRetryPolicy;
  /** This process's turns among writers of one session that lost a race. */
  readonly retryLanes = new RetryLanes();
  readonly trustProxy: boolean;
  readonly csrf: CsrfOptions | false;
  readonly discardInvalid: boolean;
  readonly schema: SessionOptions<T>['schema'];
  readonly now: () => number;
  readonly emit: ((event: SessionEvent) => void) | undefined;
  /** Retry-After put on a 503 thrown by a session method (the adapters' option, read here too). */
  readonly retryAfterSeconds: number;

  constructor(options: SessionOptions<T>) {
    if (!options?.store || typeof options.store.get !== 'function') {
      throw new InvalidOptionError({
        option: 'store',
        reason: 'give a drove store (createStore(url))',
      });
    }
    this.store = options.store;
    this.codec = new Codec(options.serializer ?? jsonSerializer, options.encryption);
    this.cookie = new SessionCookie(options.cookie);
    this.idleMs = positive('idleTimeoutMs', options.idleTimeoutMs, { fallback: 24 * HOUR });
    this.absoluteMs = positive('absoluteTimeoutMs', options.absoluteTimeoutMs, {
      fallback: 7 * 24 * HOUR,
      allowInfinity: true,
    });
    this.touchAfter = options.touchAfter ?? 0.1;
    if (!(this.touchAfter >= 0 && this.touchAfter <= 1)) {
      throw new InvalidOptionError({
        option: 'touchAfter',
        reason: 'expected a share from 0 to 1',
      });
    }
    this.maxSize = positive('maxSize', options.maxSize, { fallback: 16 * 1024 });
    this.conflictRetry = conflictRetryPolicy(options.conflictRetry);
    this.trustProxy = options.trustProxy ?? false;
    this.csrf = options.csrf ?? {};
    this.discardInvalid = options.onInvalid === 'discard';
    this.schema = options.schema;
    this.now = options.clock ?? Date.now;
    this.emit = options.onEvent;
    this.retryAfterSeconds = positive(
      'retryAfterSeconds',
      (options as { retryAfterSeconds?: number }).retryAfterSeconds,
      { fallback: DEFAULT_RETRY_AFTER_SECONDS },
    );
  }

  /** Time to live of a session created at `createdAt`, from now: the idle window, capped by the absolute one. */
  ttlFor(createdAt: number, idleMs = this.idleMs): number {
    return Math.max(1, Math.min(idleMs, createdAt + this.absoluteMs - this.now()));
  }

  get(key: string) {
    return this.#timed('get', () => this.store.get(key));
  }
  create(key: string, value: Buffer, options: WriteOptions) {
    return this.#timed('create', () => this.store.create(key, value, options));
  }
  update(key: string, value: Buffer, options: UpdateOptions) {
    return this.#timed('update', () => this.store.update(key, value, options));
  }
  touch(key: string, ttlMs: number) {
    return this.#timed('touch', () => this.store.touch(key, ttlMs));
  }
  delete(key: string) {
    return this.#timed('delete', () => this.store.delete(key));
  }
  deleteOwned(owner: string, except: string[]) {
    return this.#timed('deleteOwned', () => this.store.deleteOwned(owner, { except }));
  }
  ownedBy(owner: string) {
    return this.#timed('ownedBy', () => this.store.ownedBy(owner));
  }

  /** The call, reported as a store event when events are on (without an extra async frame). */
  #timed<R>(operation: StoreOperation, call: () => Promise<R>): Promise<R> {
    const emit = this.emit;
    if (!emit) return call();
    const start = performance.now();
    const report = (ok: boolean) =>
      emit({ type: 'store', operation, durationMs: performance.now() - start, ok });
    let pending: Promise<R>;
    try {
      pending = call();
    } catch (err) {
      report(false);
      return Promise.reject(err);
    }
    return pending.then(
      (result) => {
        report(true);
        return result;
      },
      (err: unknown) => {
        report(false);
        throw err;
      },
    );
  }
}
