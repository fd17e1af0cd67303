/**
 * `drovejs/session/hono`: sessions as Hono middleware (`c.get('session')`).
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { type FastifyStyleSession, fastifyStyle, withFrameworkAnswer } from './fastify-style.js';
import { answerFor } from './respond.js';
import { createSessions, type SessionRequest } from './sessions.js';
import type { AdapterOptions, SessionData, SessionOptions } from './types.js';

export type {
  FastifySessionCallback,
  FastifyStyleControls,
  FastifyStyleSession,
} from './fastify-style.js';
export type * from './types.js';

/** The Hono env the middleware provides: `c.get('session')` is typed `FastifyStyleSession<T>`. */
export interface SessionEnv<T extends SessionData = SessionData> {
  Variables: { session: FastifyStyleSession<T> };
}

/**
 * Hono middleware: `c.get('session')` holds the data and the controls (`update`, `regenerate`,
 * `destroy`, `setOwner`, `destroyAll`), and @fastify/session's `get`, `set`, `save`, `touch`,
 * `sessionId`, `regenerate(keys)`. The session is saved after the handler returned and before
 * the response leaves, so a failed save reaches the client. CSRF refusals answer 403 and an
 * unreachable store 503 with Retry-After; with `errors: 'pass'` errors are thrown to
 * `app.onError`. An error thrown by a control in a handler has `getResponse()` (like Hono's
 * HTTPException), so Hono's default error handler answers it 503 with Retry-After and JSON.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createStore } from 'drovejs/stores';
 * import { session, type SessionEnv } from 'drovejs/session/hono';
 * type Data = { visits: number };
 * const app = new Hono<SessionEnv<Data>>();
 * app.use(session<Data>({ store: createStore('sqlite:.drove/sessions.db') }));
 * app.post('/visit', async (c) => {
 *   await c.get('session').update((s) => { s.visits = (s.visits ?? 0) + 1; });
 *   return c.json({ visits: c.get('session').visits });
 * });
 * ```
 */
export function session<T extends SessionData = SessionData>(
  options: SessionOptions<T> & AdapterOptions,
): MiddlewareHandler<SessionEnv<T>> {
  const sessions = createSessions(options);
  const { errors, retryAfterSeconds } = options;

  const fail = (err: unknown): Response => {
    const found = answerFor(err, errors, retryAfterSeconds);
    // errors: 'pass' (or not drove's): app.onError, or Hono's default via err.getResponse().
    if (!found) throw withFrameworkAnswer(err, retryAfterSeconds);
    return new Response(found.body, { status: found.status, headers: found.headers });
  };

  return async function droveSession(c, next) {
    const info: SessionRequest = {
      method: c.req.method,
      tls: c.req.url.startsWith('https:'),
      header: (name) => c.req.header(name),
    };
    let current: Awaited<ReturnType<typeof sessions.load>>;
    try {
      current = await sessions.load(info);
    } catch (err) {
      return fail(err);
    }
    c.set('session', fastifyStyle(current, retryAfterSeconds));
    await next();
    try {
      const cookies = await current.commit();
      for (const line of cookies) c.header('set-cookie', line, { append: true });
    } catch (err) {
      const answer = fail(err);
      // Drop the handler's response first: Hono would copy its headers onto the answer.
      c.res = undefined;
      c.res = answer;
    }
  };
}
