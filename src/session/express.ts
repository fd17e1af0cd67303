/**
 * `drovejs/session/express`: sessions for Express 4 and 5, shaped like express-session.
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createNodeMiddleware } from './node-hold.js';
import type {
  AdapterOptions,
  DefaultSessionData,
  Session,
  SessionData,
  SessionOptions,
} from './types.js';

export type * from './types.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by drove's session middleware. Type your data by augmenting `DefaultSessionData`. */
      session: Session<DefaultSessionData>;
    }
  }
}

/**
 * Session middleware for Express: `req.session` holds the data and the controls (`update`,
 * `regenerate`, `destroy`, `setOwner`, `destroyAll`). The response head is held until the session
 * is saved, so a failed save reaches the client. CSRF refusals answer 403 and an unreachable store
 * 503 with Retry-After; other drove errors answer with their status; with `errors: 'pass'` every
 * error goes to `next(err)`.
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
 * ```
 */
export function session<T extends SessionData = SessionData>(
  options: SessionOptions<T> & AdapterOptions,
): RequestHandler {
  const middleware = createNodeMiddleware(options, { unansweredErrors: 'next' });
  return function droveSession(req: Request, res: Response, next: NextFunction) {
    middleware(req, res, next);
  };
}
