/**
 * The session cookie: which name to read, and the Set-Cookie lines to write. Parsing and
 * serializing go through the `cookie` package.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import { InvalidOptionError } from '../errors.js';

/** Cookie settings. Defaults: HttpOnly, SameSite=Lax, Path=/, Secure on HTTPS, `__Host-` when Secure. */
export interface CookieOptions {
  /** Default `drove.sid` (`__Host-drove.sid` when the `__Host-` prefix applies). */
  name?: string;
  /** Default true. */
  httpOnly?: boolean;
  /** Default `lax`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Default `/`. */
  path?: string;
  /** Default none (host-only cookie, which `__Host-` requires). */
  domain?: string;
  /** `auto` (default): Secure when the request came over HTTPS. */
  secure?: boolean | 'auto';
  /** Prefix the name with `__Host-` when the cookie is Secure, host-only and on `/`. Default true. */
  hostPrefix?: boolean;
  /** Give the cookie a Max-Age that follows the session's expiry. False: a browser-session cookie. Default true. */
  persistent?: boolean;
}

/** Cookie settings resolved once at start-up. */
export class SessionCookie {
  readonly #options: Required<Omit<CookieOptions, 'domain'>> & { domain: string | undefined };
  readonly #plainName: string;
  readonly #hostName: string;
  /** The attributes after `Max-Age` of a written cookie, plain and Secure, rendered once. */
  readonly #tails: [plain: string, secure: string];

  constructor(options: CookieOptions = {}) {
    this.#options = {
      name: options.name ?? 'drove.sid',
      httpOnly: options.httpOnly ?? true,
      sameSite: options.sameSite ?? 'lax',
      path: options.path ?? '/',
      domain: options.domain,
      secure: options.secure ?? 'auto',
      hostPrefix: options.hostPrefix ?? true,
      persistent: options.persistent ?? true,
    };
    const { name, sameSite, secure } = this.#options;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new InvalidOptionError({ option: 'cookie.name', reason: 'not a valid cookie name' });
    }
    if (sameSite === 'none' && secure === false) {
      throw new InvalidOptionError({
        option: 'cookie.sameSite',
        reason: 'SameSite=None needs a Secure cookie; browsers drop it otherwise',
      });
    }
    const prefixable =
      this.#options.hostPrefix && this.#options.path === '/' && this.#options.domain === undefined;
    this.#plainName = name;
    this.#hostName = prefixable ? `__Host-${name}` : name;
    this.#tails = [this.#tail(false), this.#tail(true)];
  }

  /**
   * What follows `name=value; Max-Age=N` (or `name=value` for a browser-session cookie) in every
   * Set-Cookie line this cookie writes: rendered once by the cookie package, since
   * stringifySetCookie on each modifying request cost ~5% of a Fastify session request's CPU.
   */
  #tail(secure: boolean): string {
    const o = this.#options;
    const line = stringifySetCookie('n', 'v', {
      httpOnly: o.httpOnly,
      sameSite: o.sameSite,
      path: o.path,
      domain: o.domain,
      secure,
    });
    return line.slice('n=v'.length);
  }

  /** The configured attributes, as `req.session.cookie` shows them. */
  get attributes(): Readonly<{
    httpOnly: boolean;
    sameSite: 'lax' | 'strict' | 'none';
    path: string;
    domain: string | undefined;
  }> {
    const { httpOnly, sameSite, path, domain } = this.#options;
    return { httpOnly, sameSite, path, domain };
  }

  /** Whether the cookie carries a Max-Age (else it is a browser-session cookie). */
  get persistent(): boolean {
    return this.#options.persistent;
  }

  /** Whether the cookie is Secure for a request that came over HTTPS (`https`) or not. */
  isSecure(https: boolean): boolean {
    const { secure } = this.#options;
    return secure === 'auto' ? https : secure;
  }

  /** The cookie name for a request (the `__Host-` name when the cookie is Secure). */
  nameFor(secure: boolean): string {
    return secure ? this.#hostName : this.#plainName;
  }

  /** The session cookie's value in a Cookie header, if any. */
  read(header: string | undefined, secure: boolean): string | undefined {
    if (!header) return undefined;
    const name = this.nameFor(secure);
    // Cheap pre-check: most requests of an app without the cookie never parse the header.
    if (!header.includes(name)) return undefined;
    return parseCookie(header, { decode: (s) => s })[name];
  }

  /**
   * A Set-Cookie line carrying `id` (a session id: base64url, nothing to encode), valid for
   * `maxAgeMs`. Max-Age comes first among the attributes, where the cookie package puts it.
   */
  write(id: string, maxAgeMs: number, secure: boolean, persistent = this.persistent): string {
    const tail = this.#tails[secure ? 1 : 0];
    if (!persistent) return `${this.nameFor(secure)}=${id}${tail}`;
    const maxAge = Math.max(0, Math.ceil(maxAgeMs / 1000));
    return `${this.nameFor(secure)}=${id}; Max-Age=${maxAge}${tail}`;
  }

  /** A Set-Cookie line that makes the browser drop the cookie. */
  clear(secure: boolean): string {
    const o = this.#options;
    return stringifySetCookie(this.nameFor(secure), '', {
      httpOnly: o.httpOnly,
      sameSite: o.sameSite,
      path: o.path,
      domain: o.domain,
      secure,
      maxAge: 0,
      expires: new Date(0),
    });
  }
}
