/**
 * `req.session.cookie`: express-session's per-session cookie object over one request's session.
 * Only the lifetime (`maxAge`, `expires`) is per session; the other attributes are the
 * configured ones and refuse writes with a typed error instead of ignoring them.
 */
import { InvalidOptionError } from '../errors.js';
import type { SessionCookie } from './cookies.js';
import type { SessionCookieView } from './types.js';

/** What the view reads from and writes to its session. */
export interface LifetimeAccess {
  /** Ms until the cookie expires, or null for a browser-session cookie. */
  remainingMs(): number | null;
  /** The lifetime the cookie was given, or null for a browser-session cookie. */
  originalMaxAge(): number | null;
  /** Give the session its own lifetime (null: a browser-session cookie). */
  setLifetime(ms: number | null): void;
  now(): number;
}

export function createCookieView(
  session: LifetimeAccess,
  cookie: SessionCookie,
  secure: boolean,
): SessionCookieView {
  const attributes = { ...cookie.attributes, secure };
  const view = {
    get maxAge() {
      return session.remainingMs();
    },
    set maxAge(ms: number | null) {
      session.setLifetime(ms);
    },
    get expires() {
      const ms = session.remainingMs();
      return ms === null ? null : new Date(session.now() + ms);
    },
    set expires(date: Date | null) {
      // Old express-session code writes `expires = false` for a browser-session cookie.
      if (date === null || (date as unknown) === false) {
        session.setLifetime(null);
        return;
      }
      if (!(date instanceof Date)) {
        throw new InvalidOptionError({
          option: 'session.cookie.expires',
          reason: 'expected a Date or null',
        });
      }
      session.setLifetime(Math.max(1, date.getTime() - session.now()));
    },
    get originalMaxAge() {
      return session.originalMaxAge();
    },
    toJSON() {
      const { domain, ...rest } = attributes;
      return {
        originalMaxAge: view.originalMaxAge,
        expires: view.expires?.toISOString() ?? null,
        ...rest,
        ...(domain === undefined ? {} : { domain }),
      };
    },
  } as unknown as SessionCookieView;
  for (const [name, value] of Object.entries(attributes)) {
    Object.defineProperty(view, name, {
      get: () => value,
      set: () => {
        throw new InvalidOptionError({
          option: `session.cookie.${name}`,
          reason:
            'only maxAge and expires can be set per session: set the others in the cookie option',
        });
      },
      enumerable: true,
    });
  }
  return view;
}
