/**
 * `drovejs/session/node`: sessions for a plain node:http server.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createNodeMiddleware, type NextFunction } from './node-hold.js';
import type { AdapterOptions, Session, SessionData, SessionOptions } from './types.js';

export type * from './types.js';
export type { NextFunction };

/** A node:http request once the middleware ran. */
export type RequestWithSession<T extends SessionData = SessionData> = IncomingMessage & {
  session: Session<T>;
};

/**
 * Session middleware for node:http. It sets `req.session`, then calls `next()`; the response head
 * is held until the session is saved. A CSRF refusal answers 403, an unreachable store 503 with
 * Retry-After (with `errors: 'pass'`, `next(err)` gets them instead).
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { createStore } from 'drovejs/stores';
 * import { session, type RequestWithSession } from 'drovejs/session/node';
 * const withSession = session<{ visits: number }>({ store: createStore('sqlite:.drove/sessions.db') });
 * http.createServer((req, res) => withSession(req, res, () => {
 *   const { session } = req as RequestWithSession<{ visits: number }>;
 *   session.visits = (session.visits ?? 0) + 1;
 *   res.end(String(session.visits));
 * })).listen(3000);
 * ```
 */
export function session<T extends SessionData = SessionData>(
  options: SessionOptions<T> & AdapterOptions,
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const middleware = createNodeMiddleware(options, { unansweredErrors: 'answer' });
  return function droveSession(req, res, next) {
    middleware(req, res, next);
  };
}
