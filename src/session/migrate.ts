/**
 * Migration without logging anyone out: a request that carries an express-session or
 * @fastify/session cookie (and no drove session) gets its old session read once from the old
 * store and rewritten as a drove session. The new id is an HMAC of the old one, so every process
 * that sees the same old cookie at the same moment derives the same id: one create wins, the
 * others read what it wrote (RequestSession.migrated), and the session never forks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import { InvalidOptionError, StoreUnavailableError } from '../errors.js';

/**
 * The old store, as express-session stores are (connect-redis, connect-pg-simple, …): `get` and
 * `destroy` with a Node callback (a returned promise counts too). Or `legacyRedisStore()` /
 * `legacyPostgresStore()` when the old package is gone.
 */
export interface LegacyStore {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): unknown;
  destroy?(sid: string, callback: (err?: unknown) => void): unknown;
}

/** `migrateFrom` of the session options. */
export interface MigrateFromOptions {
  /**
   * Which library wrote the old cookies. `express-session` (default): cookie `connect.sid`,
   * values `s:<id>.<signature>`. `fastify-session`: cookie `sessionId`, values
   * `<id>.<signature>` (@fastify/cookie's signer). Both sign with HMAC-SHA256.
   */
  from?: 'express-session' | 'fastify-session';
  /** The old cookie's name, when it was not the library's default. */
  cookieName?: string;
  /** The old cookie's value prefix, when it was not the library's default (@fastify/session's `cookiePrefix`). */
  cookiePrefix?: string;
  /** The old `secret`: one, or several when it was being rotated (any of them verifies a cookie). */
  secrets: string | string[];
  /** The old store. */
  store: LegacyStore;
  /**
   * A secret of drove's (at least 32 characters), the key of the HMAC that derives a new id from
   * an old one. Keep it for as long as the migration runs; every process needs the same.
   */
  idSecret: string;
  /** `delete` (default): remove the old session once it was migrated, so the old cookie stops working. `keep`: leave it (to be able to roll back). */
  oldSession?: 'delete' | 'keep';
  /** The owner (user id) to index the migrated session under, from its old data (e.g. `(d) => d.passport?.user`). */
  owner?: (data: Record<string, unknown>) => string | undefined;
  /** Path and domain the old cookie was set with, to clear it. Default `/` and none. */
  cookiePath?: string;
  cookieDomain?: string;
}

/** Resolved migration options: verify old cookies, derive new ids, read and retire old sessions. */
export class Migration {
  readonly #name: string;
  readonly #prefix: string;
  readonly #secrets: string[];
  readonly #options: MigrateFromOptions;
  readonly #clearLine: string;

  constructor(options: MigrateFromOptions) {
    const fastify = options.from === 'fastify-session';
    if (options.from !== undefined && !fastify && options.from !== 'express-session') {
      throw new InvalidOptionError({
        option: 'migrateFrom.from',
        reason: "expected 'express-session' or 'fastify-session'",
      });
    }
    const secrets = Array.isArray(options.secrets) ? options.secrets : [options.secrets];
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s === '')) {
      throw new InvalidOptionError({
        option: 'migrateFrom.secrets',
        reason: 'give the old secret (or several, as strings)',
      });
    }
    if (typeof options.idSecret !== 'string' || options.idSecret.length < 32) {
      throw new InvalidOptionError({
        option: 'migrateFrom.idSecret',
        reason: 'give a secret of at least 32 characters',
      });
    }
    if (typeof options.store?.get !== 'function') {
      throw new InvalidOptionError({
        option: 'migrateFrom.store',
        reason: 'give the old express-session store (or legacyRedisStore / legacyPostgresStore)',
      });
    }
    this.#name = options.cookieName ?? (fastify ? 'sessionId' : 'connect.sid');
    this.#prefix = options.cookiePrefix ?? (fastify ? '' : 's:');
    this.#secrets = secrets;
    this.#options = options;
    this.#clearLine = stringifySetCookie(this.#name, '', {
      path: options.cookiePath ?? '/',
      domain: options.cookieDomain,
      expires: new Date(0),
      maxAge: 0,
    });
  }

  /** The old session id in the request's cookies, if its signature checks out with an old secret. */
  oldId(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader?.includes(this.#name)) return undefined;
    const value = parseCookie(cookieHeader)[this.#name];
    if (!value?.startsWith(this.#prefix)) return undefined;
    const signed = value.slice(this.#prefix.length);
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const id = signed.slice(0, dot);
    const given = Buffer.from(signed.slice(dot + 1));
    for (const secret of this.#secrets) {
      const expected = Buffer.from(
        createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''),
      );
      if (expected.length === given.length && timingSafeEqual(expected, given)) return id;
    }
    return undefined;
  }

  /** The drove id of an old session: the same on every process, unguessable without `idSecret`. */
  newId(oldId: string): string {
    return createHmac('sha256', this.#options.idSecret)
      .update(`drove-migrate\0${this.#name}\0${oldId}`)
      .digest('base64url');
  }

  /** The old session's data (without express-session's `cookie`) and owner, or undefined. */
  async read(
    oldId: string,
  ): Promise<{ data: Record<string, unknown>; owner: string | undefined } | undefined> {
    const store = this.#options.store;
    const found = await settle<unknown>((cb) => store.get(oldId, cb)).catch(unavailable);
    if (found === null || typeof found !== 'object') return undefined;
    const data: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(found)) if (key !== 'cookie') data[key] = value;
    const owner = this.#options.owner?.(data);
    return { data, owner: typeof owner === 'string' ? owner : undefined };
  }

  /** Retire the old session once migrated (unless `oldSession: 'keep'`). */
  async retire(oldId: string): Promise<void> {
    const store = this.#options.store;
    if (this.#options.oldSession === 'keep' || typeof store.destroy !== 'function') return;
    await settle<unknown>((cb) => store.destroy!(oldId, cb)).catch(unavailable);
  }

  /** The Set-Cookie line that makes the browser drop the old cookie. */
  get clearOldCookie(): string {
    return this.#clearLine;
  }
}

/** An old store's failure is an outage like any other: 503 with Retry-After, never a logout. */
function unavailable(err: unknown): never {
  const reason = err instanceof Error ? err.message : String(err);
  throw new StoreUnavailableError({ store: 'migrateFrom', reason }, { cause: err });
}

/**
 * Call an express-session store method, settling on its callback or on the promise it returns,
 * whichever comes first (connect-redis 9 does both; older stores only call back).
 */
function settle<T>(
  call: (cb: (err: unknown, value?: T) => void) => unknown,
): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: unknown, value?: T) => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve(value);
    };
    try {
      const returned = call(finish);
      if (returned && typeof (returned as Promise<T>).then === 'function') {
        (returned as Promise<T>).then(
          (value) => finish(undefined, value),
          (err: unknown) => finish(err ?? new Error('store call failed')),
        );
      }
    } catch (err) {
      finish(err);
    }
  });
}
