/** The framework-free core that every adapter wraps. */
import type { IncomingHttpHeaders } from 'node:http';
import type { DroveError } from '../errors.js';
import { SessionContext } from './context.js';
import { checkCsrf } from './csrf.js';
import { Migration } from './migrate.js';
import { RequestSession } from './request-session.js';
import type { SessionData, SessionOptions } from './types.js';

/** What the core needs to know about a request. */
export interface SessionRequest {
  method: string;
  /** Header lookup by lower-case name. */
  header(name: string): string | undefined;
  /** Whether the connection itself is TLS (or the URL is https). */
  tls: boolean;
}

/** Options of one {@link Sessions.load} call. */
export interface LoadOptions {
  /** `false` skips the CSRF check for this call; the caller then owns it. Default true. */
  csrf?: boolean;
}

/** Sessions on one store, with one set of options. Create once at start-up, use per request. */
export class Sessions<T extends SessionData = SessionData> {
  readonly #ctx: SessionContext<T>;
  readonly #migration: Migration | undefined;

  constructor(options: SessionOptions<T>) {
    this.#ctx = new SessionContext(options);
    this.#migration = options.migrateFrom ? new Migration(options.migrateFrom) : undefined;
  }

  /** Whether the request came over HTTPS (X-Forwarded-Proto counts only with `trustProxy`). */
  isHttps(request: SessionRequest): boolean {
    if (request.tls) return true;
    if (!this.#ctx.trustProxy) return false;
    const proto = request.header('x-forwarded-proto');
    return proto !== undefined && proto.split(',')[0]!.trim().toLowerCase() === 'https';
  }

  /** The CSRF refusal for this request, or undefined when it may proceed. */
  checkCsrf(request: SessionRequest): DroveError | undefined {
    const options = this.#ctx.csrf;
    if (options === false) return undefined;
    const forwardedHost = this.#ctx.trustProxy ? request.header('x-forwarded-host') : undefined;
    return checkCsrf(
      {
        method: request.method,
        origin: request.header('origin'),
        secFetchSite: request.header('sec-fetch-site'),
        host: forwardedHost?.split(',')[0]?.trim() ?? request.header('host'),
        https: this.isHttps(request),
      },
      options,
    );
  }

  /**
   * Load the request's session: no store call without a well-formed cookie, one `get` otherwise.
   * A cross-site unsafe request is refused first (DROVE_ERR_CSRF, 403) without touching the
   * store, unless `csrf: false` here (for a caller that checked already) or in the options.
   */
  load(request: SessionRequest, options: LoadOptions = {}): Promise<RequestSession<T>> {
    if (options.csrf !== false) {
      const refused = this.checkCsrf(request);
      if (refused) return Promise.reject(refused);
    }
    const cookies = request.header('cookie');
    const loading = RequestSession.load(this.#ctx, cookies, this.isHttps(request));
    return this.#migration ? this.#migrate(loading, cookies, this.isHttps(request)) : loading;
  }

  /**
   * With `migrateFrom`: a request that has no drove session but a valid old cookie gets the
   * migrated session (read from the old store once, by whichever process gets there first), and
   * the old cookie is cleared.
   */
  async #migrate(
    loading: Promise<RequestSession<T>>,
    cookies: string | undefined,
    https: boolean,
  ): Promise<RequestSession<T>> {
    const current = await loading;
    const migration = this.#migration!;
    if (!current.session.isNew) return current;
    const oldId = migration.oldId(cookies);
    if (oldId === undefined) return current;
    const migrated = await RequestSession.migrated(this.#ctx, migration.newId(oldId), https, () =>
      migration.read(oldId),
    );
    const session = migrated ?? current;
    if (migrated?.session.isNew === false) await migration.retire(oldId);
    session.alsoSend(migration.clearOldCookie);
    return session;
  }

  /** Keys (SHA-256 of the ids) of the live sessions of `owner`, e.g. to count a user's devices. */
  listOf(owner: string): Promise<string[]> {
    return this.#ctx.ownedBy(owner);
  }

  /**
   * The session with this id (a cookie's value), read as a request carrying it would read it,
   * without a CSRF check and without writing anything; undefined when there is none. For code
   * outside a request, e.g. a WebSocket upgrade or `req.sessionStore.get(sid)`.
   */
  async peek(id: string): Promise<RequestSession<T> | undefined> {
    const { cookie } = this.#ctx;
    const header = `${cookie.nameFor(cookie.isSecure(false))}=${id}`;
    const found = await RequestSession.load(this.#ctx, header, false);
    return found.session.isNew ? undefined : found;
  }

  /** Destroy the session with this id now (a tombstone, as `destroy()` leaves). Returns whether it existed. */
  async destroyById(id: string): Promise<boolean> {
    const found = await this.peek(id);
    if (!found) return false;
    await found.session.destroy();
    return true;
  }

  /** Destroy every session of `owner` (after a password change, say). Returns how many. */
  async destroyAllOf(owner: string): Promise<number> {
    const count = await this.#ctx.deleteOwned(owner, []);
    this.#ctx.emit?.({ type: 'destroy', count });
    return count;
  }
}

/**
 * Sessions on a drove store, without any framework: the core the adapters
 * (`drovejs/session/node`, `/express`, `/fastify`, `/hono`) wrap.
 *
 * @example
 * ```ts
 * import { createStore } from 'drovejs/stores';
 * import { createSessions } from 'drovejs/session';
 * const sessions = createSessions<{ userId: string }>({ store: createStore('sqlite:.drove/sessions.db') });
 * // Refuses a cross-site POST with DROVE_ERR_CSRF (status 403) before any store call.
 * const current = await sessions.load({ method: 'POST', tls: false, header: (n) => headers[n] });
 * current.session.userId = 'u1';
 * const setCookie = await current.commit(); // Set-Cookie lines to send
 * ```
 */
export function createSessions<T extends SessionData = SessionData>(
  options: SessionOptions<T>,
): Sessions<T> {
  return new Sessions(options);
}

/** A SessionRequest over node:http headers. */
export function nodeRequest(
  method: string | undefined,
  headers: IncomingHttpHeaders,
  tls: boolean,
): SessionRequest {
  return {
    method: method ?? 'GET',
    tls,
    header: (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
