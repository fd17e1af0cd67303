import { stringifySetCookie } from 'cookie';
import { describe, expect, it } from 'vitest';
import { SessionCookie } from './cookies.js';

const id = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ';

describe('SessionCookie.write', () => {
  // The pre-rendered lines must equal what the cookie package renders for the same options.
  const combos = [
    {},
    { httpOnly: false },
    { sameSite: 'strict' as const },
    { sameSite: 'none' as const, secure: true },
    { path: '/app' },
    { domain: 'example.com' },
    { persistent: false },
    { hostPrefix: false, secure: true },
    { name: 'sid', httpOnly: false, sameSite: 'strict' as const, path: '/x', domain: 'a.b' },
  ];
  for (const options of combos) {
    for (const https of [false, true]) {
      it(`matches stringifySetCookie for ${JSON.stringify(options)}, https=${https}`, () => {
        const cookie = new SessionCookie(options);
        const secure = cookie.isSecure(https);
        for (const maxAgeMs of [0, 1, 999, 1000, 1001, 86_400_000, -5]) {
          const expected = stringifySetCookie(cookie.nameFor(secure), id, {
            httpOnly: options.httpOnly ?? true,
            sameSite: options.sameSite ?? 'lax',
            path: options.path ?? '/',
            domain: options.domain,
            secure,
            maxAge:
              options.persistent === false ? undefined : Math.max(0, Math.ceil(maxAgeMs / 1000)),
          });
          expect(cookie.write(id, maxAgeMs, secure)).toBe(expected);
        }
      });
    }
  }

  it('reads back the id it wrote', () => {
    const cookie = new SessionCookie();
    const line = cookie.write(id, 60_000, true);
    expect(line.startsWith('__Host-drove.sid=')).toBe(true);
    const pair = line.split(';')[0]!;
    expect(cookie.read(`other=1; ${pair}`, true)).toBe(id);
  });
});
