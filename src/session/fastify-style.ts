/**
 * @fastify/session's API (`get`, `set`, `save`, `touch`, `sessionId`, `regenerate(keys)`,
 * `destroy(cb)`, `delete()`) on a drove session, beside its plain properties and controls, for
 * the Fastify and Hono adapters: apps and plugins written for @fastify/session (@fastify/passport,
 * @fastify/flash) run unchanged. Errors of the controls carry what the framework's own error
 * path needs to answer 503 with Retry-After and JSON (issue 12).
 */
import { DroveError, InvalidOptionError } from '../errors.js';
import type { RequestSession } from './request-session.js';
import { answerFor } from './respond.js';
import type { RegenerateOptions, Session, SessionControls, SessionData } from './types.js';

/** A Node-style callback, as @fastify/session's methods take. */
export type FastifySessionCallback = (err?: unknown) => void;

/** The @fastify/session methods a drove session has on Fastify and Hono. */
export interface FastifyStyleControls<T extends SessionData> {
  /** The value under `key` (the same as `session[key]`). */
  get<K extends keyof T & string>(key: K): T[K] | undefined;
  /** Set `key` (the same as `session[key] = value`); `undefined` removes it. */
  set<K extends keyof T & string>(key: K, value: T[K] | undefined): void;
  /** Write what changed now instead of when the response is sent. */
  save(): Promise<void>;
  save(callback: FastifySessionCallback): Promise<void>;
  /** Extend the session's expiry when the response is sent, even if the touch throttle would wait. */
  touch(): void;
  /** The id in the cookie; undefined while the session has no store entry yet (new and unsaved). */
  readonly sessionId: string | undefined;
  /**
   * A new id. `keys` keeps those fields (as @fastify/session does); `{ keepData: true }` keeps
   * all. The new entry is written and the old one deleted when the response is sent.
   */
  regenerate(keysOrOptions?: string[] | RegenerateOptions): Promise<void>;
  regenerate(callback: FastifySessionCallback): Promise<void>;
  regenerate(keys: string[], callback: FastifySessionCallback): Promise<void>;
  /** Delete the session now and clear the cookie. */
  destroy(): Promise<void>;
  destroy(callback: FastifySessionCallback): Promise<void>;
  /** The same as `destroy()`. */
  delete(): Promise<void>;
  delete(callback: FastifySessionCallback): Promise<void>;
}

/** The session on Fastify and Hono: data as plain properties, drove's controls, @fastify/session's methods. */
export type FastifyStyleSession<T extends SessionData = SessionData> = Partial<T> &
  Omit<SessionControls<T>, 'regenerate' | 'destroy'> &
  FastifyStyleControls<T>;

const NAMES = new Set([
  'get',
  'set',
  'save',
  'touch',
  'sessionId',
  'regenerate',
  'destroy',
  'delete',
  'update',
  'destroyAll',
]);

/**
 * Give a drove error what Fastify's and Hono's default error handling need: `headers`
 * (Retry-After on a 503; Fastify sends `err.headers` and `err.statusCode`) and `getResponse()`
 * (Hono's default onError answers with it, as for an HTTPException): JSON, never a stack trace.
 */
export function withFrameworkAnswer(err: unknown, retryAfterSeconds = 5): unknown {
  if (!(err instanceof DroveError)) return err;
  const answer = answerFor(err, 'respond', retryAfterSeconds)!;
  const headers: Record<string, string> = {};
  if (answer.headers['retry-after']) headers['retry-after'] = answer.headers['retry-after'];
  Object.defineProperties(err, {
    headers: { value: headers, configurable: true, writable: true },
    getResponse: {
      value: () => new Response(answer.body, { status: answer.status, headers: answer.headers }),
      configurable: true,
      writable: true,
    },
  });
  return err;
}

/** `current`'s session with @fastify/session's API on top (built on first use of a method). */
export function fastifyStyle<T extends SessionData>(
  current: RequestSession<T>,
  retryAfterSeconds: number | undefined,
): FastifyStyleSession<T> {
  const inner = current.session as unknown as Record<string, unknown> & Session<SessionData>;
  let api: Record<string, unknown> | undefined;
  const build = (): Record<string, unknown> => {
    const fail = (err: unknown): never => {
      throw withFrameworkAnswer(err, retryAfterSeconds);
    };
    // A callback, when given, gets the outcome, and the promise (as the core's) never rejects;
    // otherwise the caller gets the promise.
    const run = <R>(work: () => Promise<R>, callback?: FastifySessionCallback) => {
      let pending: Promise<R>;
      try {
        pending = work().catch(fail);
      } catch (err) {
        pending = Promise.reject(withFrameworkAnswer(err, retryAfterSeconds));
      }
      if (!callback) return pending;
      return pending.then(() => callback(), callback);
    };
    const destroy = (callback?: FastifySessionCallback) => run(() => inner.destroy(), callback);
    return {
      get: (key: string) => inner[key],
      set: (key: string, value: unknown) => {
        if (NAMES.has(key)) {
          throw new InvalidOptionError({ option: `session.${key}`, reason: 'a reserved name' });
        }
        inner[key] = value;
      },
      save: (callback?: FastifySessionCallback) => run(() => current.saveNow(), callback),
      touch: () => current.touchNow(),
      destroy,
      delete: destroy,
      update: (fn: Parameters<SessionControls<SessionData>['update']>[0]) =>
        run(() => inner.update(fn)),
      destroyAll: (options?: { exceptCurrent?: boolean }) => run(() => inner.destroyAll(options)),
      regenerate: (
        keys?: string[] | RegenerateOptions | FastifySessionCallback,
        callback?: FastifySessionCallback,
      ) => {
        if (typeof keys === 'function') return run(() => inner.regenerate(), keys);
        if (!Array.isArray(keys)) return run(() => inner.regenerate(keys), callback);
        return run(async () => {
          const kept = keys.filter((k) => !NAMES.has(k) && inner[k] !== undefined);
          const values = kept.map((k) => inner[k]);
          await inner.regenerate();
          kept.forEach((k, i) => {
            inner[k] = values[i];
          });
        }, callback);
      },
    };
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (typeof prop !== 'string' || !NAMES.has(prop)) return Reflect.get(target, prop);
      if (prop === 'sessionId') return current.storedId;
      api ??= build();
      return api[prop];
    },
    set(target, prop, value) {
      if (typeof prop === 'string' && NAMES.has(prop)) {
        throw new InvalidOptionError({ option: `session.${prop}`, reason: 'a reserved name' });
      }
      return Reflect.set(target, prop, value);
    },
  }) as unknown as FastifyStyleSession<T>;
}
