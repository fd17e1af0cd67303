/**
 * `req.sessionStore` on the node and Express adapters: the part of express-session's store API
 * that drove can honour, over drove's sessions. `get` and `destroy` work (by session id, as
 * express-session's do); `set` answers DROVE_ERR_SESSION_UNSUPPORTED, because an unconditional
 * write of a whole session is the lost update drove prevents. Each takes a callback or returns a
 * promise.
 */
import { SessionUnsupportedError } from '../errors.js';
import type { Sessions } from './sessions.js';
import type { SessionCallback, SessionData } from './types.js';

/** A session as express-session's `store.get` hands it out: the data plus `cookie`. */
export type StoredSessionView = SessionData & { cookie: Record<string, unknown> };

export interface SessionStoreView {
  get(
    sid: string,
    callback?: (err: unknown, session?: StoredSessionView | null) => void,
  ): Promise<StoredSessionView | null>;
  destroy(sid: string, callback?: SessionCallback): Promise<void>;
  /** Not supported: change `req.session` (or use `update()`) instead. */
  set(sid: string, session: unknown, callback?: SessionCallback): Promise<void>;
}

export function createSessionStoreView<T extends SessionData>(
  sessions: Sessions<T>,
): SessionStoreView {
  return {
    get(sid, callback) {
      const found = sessions
        .peek(sid)
        .then((current) =>
          current ? { ...current.session, cookie: current.session.cookie.toJSON() } : null,
        );
      if (!callback) return found;
      return found.then(
        (session) => {
          callback(null, session);
          return session;
        },
        (err: unknown) => {
          callback(err);
          return null;
        },
      );
    },
    destroy(sid, callback) {
      const done = sessions.destroyById(sid).then(() => undefined);
      if (!callback) return done;
      return done.then(() => callback(), callback);
    },
    set(_sid, _session, callback) {
      const err = new SessionUnsupportedError({
        call: 'req.sessionStore.set()',
        reason:
          'drove never writes a whole session unconditionally (parallel requests would lose updates); change req.session or use req.session.update()',
      });
      if (!callback) return Promise.reject(err);
      queueMicrotask(() => callback(err));
      return Promise.resolve();
    },
  };
}
