/**
 * express-session's options object, accepted as it is by the node and Express adapters: each
 * option is mapped onto drove's, or ignored with one start-up warning that says why. None is
 * refused, so an app written for express-session changes only its middleware line.
 */
import { createStore } from '../stores/index.js';
import type { Store } from '../stores/types.js';
import type { CookieOptions } from './cookies.js';
import type { AdapterOptions, SessionData, SessionOptions } from './types.js';

/** express-session's cookie options beside drove's. */
export interface CompatCookieOptions extends Omit<CookieOptions, 'sameSite'> {
  sameSite?: CookieOptions['sameSite'] | 'Lax' | 'Strict' | 'None' | boolean;
  /** express-session: the cookie's (and the session's idle) lifetime in ms; `null`: a browser-session cookie. */
  maxAge?: number | null;
  /** express-session: ignored (one date for every session); use `maxAge`. */
  expires?: Date;
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
  signed?: boolean;
  encode?: (value: string) => string;
}

/** express-session's own options (see docs/sessions.md, "Coming from express-session"). */
export interface ExpressSessionOptions {
  /** Ignored: drove's ids are 256 random bits looked up by their SHA-256; nothing to sign. */
  secret?: string | string[];
  /** Ignored: drove writes only what changed, with a conditional write. */
  resave?: boolean;
  /** Ignored: drove stores a session when it is first modified, never an empty one. */
  saveUninitialized?: boolean;
  /** Ignored: drove's expiry always slides (see `touchAfter`). */
  rolling?: boolean;
  /** The cookie name: mapped to `cookie.name`. */
  name?: string;
  /** Ignored: drove's ids must be its own 256-bit random ones. */
  genid?: (req: unknown) => string;
  /** Mapped to `trustProxy`. */
  proxy?: boolean;
  /** Ignored: `delete req.session` means nothing in drove; call `destroy()`. */
  unset?: 'destroy' | 'keep';
}

/** What the node and Express adapters accept: drove's options, express-session's, or a mix. */
export type CompatSessionOptions<T extends SessionData = SessionData> = Omit<
  SessionOptions<T>,
  'store' | 'cookie'
> &
  AdapterOptions &
  ExpressSessionOptions & {
    /** A drove store. An express-session store (no conditional writes) is ignored, with a warning. */
    store?: Store | object;
    cookie?: CompatCookieOptions;
  };

/** The store express-session-shaped options fall back to, as `drove start` apps configure it. */
export const DEFAULT_STORE_URL = 'sqlite:.drove/sessions.db';

const WHY: Record<string, string> = {
  secret:
    "drove's ids are 256 random bits looked up by their SHA-256: signing adds nothing (docs/migrating.md reads old express-session cookies)",
  resave: 'drove writes only the keys that changed, with a conditional write: never needed',
  saveUninitialized:
    'drove stores a new session when it is first modified, never an empty one (no cookie either)',
  rolling:
    "drove's expiry always slides: store and cookie are extended together once touchAfter of the idle window passed (touchAfter: 0 for every request)",
  genid:
    "drove's ids are its own 256-bit random ones (a cookie that is not one is refused without a store call)",
  unset: '`delete req.session` means nothing in drove: call req.session.destroy()',
  'cookie.expires':
    'one fixed date for every session; use cookie.maxAge (as express-session itself advises)',
  'cookie.sameSite':
    'drove always sends SameSite (Lax unless set to lax, strict or none); false is not an option',
  'cookie.partitioned': 'not supported by drove yet',
  'cookie.priority': 'not supported by drove yet',
  'cookie.signed': "drove's ids are not signed (see secret)",
  'cookie.encode': "drove's ids are base64url: nothing to encode",
};

/** Keys that only express-session's options have: their presence makes the options express-session-shaped. */
const EXPRESS_ONLY = [
  'secret',
  'resave',
  'saveUninitialized',
  'rolling',
  'name',
  'genid',
  'proxy',
  'unset',
];

/** Whether `value` is a drove store (express-session stores have get/set/destroy only). */
function isDroveStore(value: unknown): value is Store {
  const s = value as Partial<Record<keyof Store, unknown>> | null | undefined;
  return (
    typeof s?.get === 'function' &&
    typeof s.create === 'function' &&
    typeof s.update === 'function' &&
    typeof s.deleteOwned === 'function'
  );
}

/**
 * drove's options from what the caller passed. Drove's own options pass through unchanged; the
 * ones express-session has are mapped or listed in `ignored` with the reason.
 */
export function fromExpressSession<T extends SessionData>(
  input: CompatSessionOptions<T>,
): { options: SessionOptions<T> & AdapterOptions; ignored: string[] } {
  const {
    secret,
    resave,
    saveUninitialized,
    rolling,
    name,
    genid,
    proxy,
    unset,
    store,
    cookie: compatCookie,
    ...rest
  } = input ?? ({} as CompatSessionOptions<T>);
  const ignored: string[] = [];
  const given = { secret, resave, saveUninitialized, rolling, genid, unset };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) ignored.push(`${key}: ${WHY[key]}`);
  }
  const options = { ...rest } as SessionOptions<T> & AdapterOptions;
  if (proxy !== undefined && options.trustProxy === undefined) options.trustProxy = proxy;

  if (compatCookie !== undefined || name !== undefined) {
    const { maxAge, expires, sameSite, partitioned, priority, signed, encode, ...cookie } =
      compatCookie ?? {};
    const extras = { expires, partitioned, priority, signed, encode };
    for (const [key, value] of Object.entries(extras)) {
      if (value !== undefined) ignored.push(`cookie.${key}: ${WHY[`cookie.${key}`]}`);
    }
    const mapped: CookieOptions = { ...cookie };
    if (name !== undefined && mapped.name === undefined) mapped.name = name;
    if (sameSite === true) mapped.sameSite = 'strict';
    else if (typeof sameSite === 'string') {
      mapped.sameSite = sameSite.toLowerCase() as CookieOptions['sameSite'];
    } else if (sameSite === false) ignored.push(`cookie.sameSite: ${WHY['cookie.sameSite']}`);
    if (maxAge === null) mapped.persistent = false;
    else if (maxAge !== undefined && options.idleTimeoutMs === undefined) {
      options.idleTimeoutMs = maxAge;
    }
    options.cookie = mapped;
  }

  const expressShaped =
    EXPRESS_ONLY.some((key) => (input as Record<string, unknown>)?.[key] !== undefined) ||
    compatCookie?.maxAge !== undefined;
  if (isDroveStore(store)) options.store = store;
  else if (store !== undefined || expressShaped) {
    const url = process.env.SESSION_STORE_URL ?? DEFAULT_STORE_URL;
    ignored.push(
      store === undefined
        ? `store: none given; drove uses ${url} (SESSION_STORE_URL): pass a drove store, createStore(url)`
        : `store: an express-session store cannot make conditional writes; drove uses ${url} (SESSION_STORE_URL) instead: pass createStore(url)`,
    );
    options.store = createStore(url);
  } else {
    // Drove's own options without a store: the core refuses them, naming the option.
    options.store = store as unknown as Store;
  }
  return { options, ignored };
}

/** The one start-up warning for the ignored options, if any. */
export function warnIgnored(ignored: string[]): void {
  if (ignored.length === 0) return;
  process.emitWarning(
    `drove session: express-session options ignored:\n${ignored.map((line) => `  - ${line}`).join('\n')}`,
    { code: 'DROVE_SESSION_OPTIONS' },
  );
}
