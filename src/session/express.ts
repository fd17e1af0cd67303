/**
 * `drovejs/session/express`: sessions for Express 4 and 5, shaped like express-session.
 * @module
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { DroveError } from '../errors.js';
import type { CompatSessionOptions } from './express-session-options.js';
import { createNodeMiddleware } from './node-hold.js';
import { answerFor } from './respond.js';
import type { SessionStoreView } from './session-store-view.js';
import type { DefaultSessionData, Session, SessionData } from './types.js';

export type {
  CompatCookieOptions,
  CompatSessionOptions,
  ExpressSessionOptions,
} from './express-session-options.js';
export type { SessionStoreView, StoredSessionView } from './session-store-view.js';
export type * from './types.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by drove's session middleware. Type your data by augmenting `DefaultSessionData`. */
      session: Session<DefaultSessionData>;
      /** The session id (the cookie's value), as express-session names it: `req.session.id`. */
      readonly sessionID: string;
      /** express-session's `req.sessionStore`: `get(sid, cb)` and `destroy(sid, cb)` (see docs/sessions.md). */
      sessionStore: SessionStoreView;
    }
  }
}

/**
 * Session middleware for Express: `req.session` holds the data and the controls (`update`,
 * `regenerate`, `destroy`, `save`, `reload`, `touch`, `setOwner`, `destroyAll`; each takes an
 * express-session callback too), `req.session.id`/`req.sessionID` and `req.session.cookie`.
 * express-session's options object is accepted as it is (see docs/sessions.md). The response
 * head is held until the session is saved, so a failed save reaches the client. CSRF refusals
 * answer 403 and an unreachable store 503 with Retry-After; other drove errors answer with their
 * status; with `errors: 'pass'` every error goes to `next(err)`. Errors thrown by the session's
 * methods inside a route go to Express: add {@link sessionErrors} after the routes.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createStore } from 'drovejs/stores';
 * import { session } from 'drovejs/session/express';
 * const app = express();
 * app.use(session({ store: createStore(process.env.SESSION_STORE_URL ?? 'sqlite:.drove/sessions.db') }));
 * app.post('/visit', async (req, res) => {
 *   await req.session.update((s) => { s.visits = ((s.visits as number) ?? 0) + 1; });
 *   res.json({ visits: req.session.visits });
 * });
 * app.use(sessionErrors());
 * ```
 */
export function session<T extends SessionData = SessionData>(
  options: CompatSessionOptions<T>,
): RequestHandler {
  const middleware = createNodeMiddleware(options, { unansweredErrors: 'next' });
  return function droveSession(req: Request, res: Response, next: NextFunction) {
    middleware(req, res, next);
  };
}

/** Options of {@link sessionErrors}. */
export interface SessionErrorsOptions {
  /** Retry-After of a 503, in seconds. Default: the one the error carries (the session's), else 5. */
  retryAfterSeconds?: number;
}

/**
 * Error middleware that answers drove's errors thrown inside routes (a store outage in
 * `update()`, `save()`, `regenerate()`, `destroy()`) the way the session middleware answers its
 * own: the error's status, Retry-After on a 503, and a JSON body
 * `{"error":{"code":"DROVE_ERR_…","message":"…"}}`, never a stack trace. Other errors go on to
 * `next(err)`. Without it, Express's default handler still answers 503 with Retry-After (from
 * `err.status` and `err.headers`), as an HTML page.
 *
 * @example
 * ```ts
 * app.post('/visit', async (req, res) => {
 *   await req.session.update((s) => { s.visits = ((s.visits as number) ?? 0) + 1; });
 *   res.json({ visits: req.session.visits });
 * });
 * app.use(sessionErrors()); // after the routes
 * ```
 */
export function sessionErrors(options: SessionErrorsOptions = {}): ErrorRequestHandler {
  return function droveSessionErrors(
    err: unknown,
    _req: Request,
    res: Response,
    next: NextFunction,
  ) {
    if (res.headersSent || !(err instanceof DroveError)) return next(err);
    const carried = Number(err.headers['retry-after']);
    const retryAfter = options.retryAfterSeconds ?? (carried > 0 ? carried : undefined);
    const answer = answerFor(err, 'respond', retryAfter);
    if (!answer) return next(err);
    // Headers the route set describe a response that is not sent.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  };
}
