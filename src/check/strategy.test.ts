import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type Candidate, Selector } from '../runner/index.js';
import { adversarial, adversarialKey, packKeys, sessionCookie, unpackKeys } from './strategy.js';

const instances = (...ids: string[]): Candidate[] => ids.map((id) => ({ id, inFlight: 0 }));

function herd(...ids: string[]) {
  const s = new Selector<Candidate>({ strategy: adversarial(), quarantineMs: 100 });
  const all = instances(...ids);
  for (const i of all) s.add(i);
  return { s, all };
}

const key = (keys: Parameters<typeof packKeys>[0]) => packKeys(keys);

describe('the adversarial strategy', () => {
  it('never sends a session to the instance that served its previous request', () => {
    const { s } = herd('a', 'b', 'c');
    const ann = key({ session: 'sid=ann', connection: 'c1' });
    const bob = key({ session: 'sid=bob', connection: 'c2' });
    const seen: string[] = [];
    let last: string | undefined;
    for (let i = 0; i < 30; i++) {
      const client = i % 3 === 0 ? bob : ann;
      const id = s.pick({ client })?.id ?? '-';
      if (client === ann) {
        expect(id).not.toBe(last);
        last = id;
      }
      seen.push(id);
    }
    expect(new Set(seen)).toEqual(new Set(['a', 'b', 'c']));
  });

  it('avoids the previous instance of a session even on a new connection, and of a connection before its cookie', () => {
    const { s } = herd('a', 'b');
    // A login on connection c1 (no cookie yet), then the cookie on c1, then the cookie on c2.
    const first = s.pick({ client: key({ connection: 'c1' }) })?.id;
    const second = s.pick({ client: key({ session: 'sid=x', connection: 'c1' }) })?.id;
    expect(second).not.toBe(first);
    // Another client in between takes the rotation's next instance...
    s.pick({ client: key({ connection: 'c9' }) });
    const third = s.pick({ client: key({ session: 'sid=x', connection: 'c2' }) })?.id;
    // ...but the session still moves on from the one it used last.
    expect(third).not.toBe(second);
  });

  it('ranks the session key above the connection and the address', () => {
    const { s, all } = herd('a', 'b');
    const [a, b] = all as [Candidate, Candidate];
    // The session was served by a last; its address was served by b last.
    const strategy = adversarial();
    strategy.chosen?.(a, { client: key({ session: 's1' }) });
    strategy.chosen?.(b, { client: key({ address: '127.0.0.1' }) });
    const request = { client: key({ session: 's1', address: '127.0.0.1' }) };
    expect(strategy.cost(a, request)).toBeGreaterThan(strategy.cost(b, request));
    expect(s).toBeDefined();
  });

  it("avoids the address's previous instance over the connection's, even with the balancer's own avoid", () => {
    // Request 4 went to b on connection c4; request 5 (a sign-out) to a on c3; request 6, its
    // cookie gone, comes on c4 again. The previous request from this client is 5: avoid a.
    const strategy = adversarial();
    const [a, b] = instances('a', 'b') as [Candidate, Candidate];
    strategy.chosen?.(b, { client: key({ connection: 'c4', address: '127.0.0.1' }) });
    strategy.chosen?.(a, { client: key({ connection: 'c3', address: '127.0.0.1' }) });
    const sixth = { client: key({ connection: 'c4', address: '127.0.0.1' }) };
    // The Selector adds its own penalty (1e6) to the connection's previous instance, b.
    expect(strategy.cost(b, sixth) + 1e6).toBeLessThan(strategy.cost(a, sixth));
  });

  it('still answers when the previous instance is the only one up', () => {
    const { s, all } = herd('a', 'b');
    const client = key({ session: 's1' });
    const first = s.pick({ client });
    const other = all.find((i) => i !== first) as Candidate;
    s.markDown(other);
    expect(s.pick({ client })).toBe(first);
  });

  it('forgets an instance that left', () => {
    const strategy = adversarial();
    const [a] = instances('a') as [Candidate];
    strategy.chosen?.(a, { client: key({ session: 's1' }) });
    expect(strategy.cost(a, { client: key({ session: 's1' }) })).toBeGreaterThan(0);
    strategy.forget?.(a);
    expect(strategy.cost(a, { client: key({ session: 's1' }) })).toBe(0);
  });

  it("takes the balancer's own connection key (a retry's) as a connection", () => {
    expect(unpackKeys('connection:7')).toEqual({ connection: 'connection:7' });
    expect(unpackKeys(undefined)).toEqual({});
  });
});

describe('client keys', () => {
  it('round-trips keys whose values hold spaces and separators', () => {
    const keys = { session: 'a=b c|d', connection: 'connection:1', address: '::1' };
    expect(unpackKeys(packKeys(keys))).toEqual(keys);
  });

  it('finds the session cookie by name, else by a session-like name, else the whole header', () => {
    expect(sessionCookie('theme=dark; drove.sid=abc', undefined)).toBe('drove.sid=abc');
    expect(sessionCookie('connect.sid=s%3Axyz; lang=en', undefined)).toBe('connect.sid=s:xyz');
    expect(sessionCookie('theme=dark; token=t1', 'token')).toBe('token=t1');
    expect(sessionCookie('theme=dark', 'token')).toBeUndefined();
    expect(sessionCookie('theme=dark; lang=en', undefined)).toBe('theme=dark; lang=en');
    expect(sessionCookie(undefined, undefined)).toBeUndefined();
  });

  it('keys a request by its session cookie, its connection and its address', () => {
    const req = {
      headers: { cookie: 'sid=42' },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    expect(unpackKeys(adversarialKey()(req, 'connection:3'))).toEqual({
      session: 'sid=42',
      connection: 'connection:3',
      address: '127.0.0.1',
    });
  });
});
