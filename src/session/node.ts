/**
 * `drovejs/session/node`: sessions for a plain node:http server.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompatSessionOptions } from './express-session-options.js';
import { createNodeMiddleware, type NextFunction } from './node-hold.js';
import type { SessionStoreView } from './session-store-view.js';
import type { Session, SessionData } from './types.js';

export type {
  CompatCookieOptions,
  CompatSessionOptions,
  ExpressSessionOptions,
} from './express-session-options.js';
export type { SessionStoreView, StoredSessionView } from './session-store-view.js';
export type * from './types.js';
export type { NextFunction };

/** A node:http request once the middleware ran. */
export type RequestWithSession<T extends SessionData = SessionData> = IncomingMessage & {
  session: Session<T>;
  /** The session id, as express-session names it (`req.session.id`). */
  readonly sessionID: string;
  /** express-session's `req.sessionStore`: `get(sid, cb)` and `destroy(sid, cb)`. */
  sessionStore: SessionStoreView;
};

/**
 * Session middleware for node:http. It sets `req.session` (and `req.sessionID`), then calls
 * `next()`; the response head is held until the session is saved. A CSRF refusal answers 403, an
 * unreachable store 503 with Retry-After (with `errors: 'pass'`, `next(err)` gets them instead).
 * When `next()` returns a promise (an async handler), a drove error it rejects with (a store
 * outage inside `update()`) is answered the same way: JSON, its status, Retry-After on a 503.
 * express-session's options object is accepted as it is (see docs/sessions.md).
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
  options: CompatSessionOptions<T>,
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const middleware = createNodeMiddleware(options, { unansweredErrors: 'answer' });
  return function droveSession(req, res, next) {
    middleware(req, res, next);
  };
}
