import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fakeClockStore } from '../../test/session/stores.js';
import { createSqliteStore } from '../stores/sqlite.js';
import type { Store } from '../stores/types.js';
import { Codec, jsonSerializer } from './codec.js';
import { isWellFormedId, newSessionId, storeKeyOf } from './id.js';
import { createSessions, type SessionRequest } from './sessions.js';
import type { SessionEvent, SessionOptions } from './types.js';

const stores: Store[] = [];
afterAll(() => Promise.all(stores.map((s) => s.close())));
const sqlite = () => {
  const store = createSqliteStore({ path: ':memory:' });
  stores.push(store);
  return store;
};

/** A request from a browser holding `cookie`. */
const req = (cookie?: string, method = 'GET'): SessionRequest => ({
  method,
  tls: false,
  header: (name) => (name === 'cookie' ? cookie : undefined),
});
const cookieOf = (lines: string[]) => lines[0]?.split(';')[0];

describe('ids', () => {
  it('newSessionId() gives 256 bits in canonical base64url, keyed by SHA-256', () => {
    const id = newSessionId();
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(isWellFormedId(id)).toBe(true);
    expect(storeKeyOf(id)).not.toContain(id);
    expect(storeKeyOf(id)).toHaveLength(43);
  });
  it('isWellFormedId() refuses wrong lengths, alphabets and non-canonical last characters', () => {
    const id = newSessionId();
    expect(isWellFormedId(id.slice(1))).toBe(false);
    expect(isWellFormedId(`${id.slice(0, 42)}+`)).toBe(false);
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(
      id[42]!,
    );
    const twin = `${id.slice(0, 42)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1]}`;
    expect(isWellFormedId(twin)).toBe(false);
  });
});

describe('codec', () => {
  it('jsonSerializer keeps Dates, nested too', () => {
    const value = { at: new Date(5), list: [new Date(6)] };
    expect(jsonSerializer.parse(jsonSerializer.stringify(value))).toEqual(value);
  });
  it('encrypts with the newest key, reads with any, and binds the payload to its key', () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32).toString('base64')];
    const old = new Codec(jsonSerializer, { keys: [k1] });
    const rotated = new Codec(jsonSerializer, { keys: [k2, k1] });
    const record = { createdAt: 1, data: { secret: 'hush' } };
    const sealed = old.encode(record, 'key-a');
    expect(sealed.toString('latin1')).not.toContain('hush');
    expect(rotated.decode(sealed, 'key-a')).toEqual(record);
    expect(() => rotated.decode(sealed, 'key-b')).toThrow(/DECRYPT|decrypt/);
    const resealed = rotated.encode(record, 'key-a');
    expect(() => old.decode(resealed, 'key-a')).toThrow(/no longer configured/);
    expect(() => new Codec(jsonSerializer, { keys: ['c2hvcnQ='] })).toThrow(/32 bytes/);
  });
});

describe('Sessions.load() and CSRF', () => {
  /** A cross-site POST a browser sends with the victim's cookie. */
  const crossSite = (cookie?: string): SessionRequest => {
    const headers: Record<string, string | undefined> = {
      cookie,
      host: 'app.example',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    };
    return { method: 'POST', tls: false, header: (name) => headers[name] };
  };

  it('refuses a cross-site unsafe request with DROVE_ERR_CSRF (403) before any store call', async () => {
    const events: SessionEvent[] = [];
    const sessions = createSessions({ store: sqlite(), onEvent: (e) => events.push(e) });
    const first = await sessions.load(req());
    first.session.user = 'u';
    const cookie = cookieOf(await first.commit());
    events.length = 0;
    await expect(sessions.load(crossSite(cookie))).rejects.toMatchObject({
      code: 'DROVE_ERR_CSRF',
      statusCode: 403,
    });
    expect(events.filter((e) => e.type === 'store')).toEqual([]);
  });

  it('loads the same request when told { csrf: false }, or when the options turn CSRF off', async () => {
    const store = sqlite();
    const sessions = createSessions({ store });
    const first = await sessions.load(req());
    first.session.user = 'u';
    const cookie = cookieOf(await first.commit());
    expect((await sessions.load(crossSite(cookie), { csrf: false })).session.user).toBe('u');
    const unchecked = createSessions({ store, csrf: false });
    expect((await unchecked.load(crossSite(cookie))).session.user).toBe('u');
  });
});

describe('createSessions()', () => {
  it('reports events that map onto metrics', async () => {
    const events: SessionEvent[] = [];
    const sessions = createSessions({ store: sqlite(), onEvent: (e) => events.push(e) });
    const first = await sessions.load(req());
    first.session.a = 1;
    const cookie = cookieOf(await first.commit());
    await (await sessions.load(req(cookie))).commit();
    const types = events.map((e) => (e.type === 'store' ? `store:${e.operation}` : e.type));
    expect(types).toEqual(['load', 'store:create', 'save', 'store:get', 'load']);
    expect(
      events.filter((e) => e.type === 'load').map((e) => (e as { outcome: string }).outcome),
    ).toEqual(['none', 'hit']);
  });

  it('checks a Standard Schema on load (zod), and can discard instead of throwing', async () => {
    const store = sqlite();
    const writer = createSessions({ store });
    const s = await writer.load(req());
    s.session.visits = 'many';
    const cookie = cookieOf(await s.commit());
    const schema = z.object({ visits: z.number() });
    const strict = createSessions({ store, schema });
    await expect(strict.load(req(cookie))).rejects.toMatchObject({
      code: 'DROVE_ERR_SESSION_INVALID_DATA',
    });
    const lenient = createSessions({ store, schema, onInvalid: 'discard' });
    expect((await lenient.load(req(cookie))).session.isNew).toBe(true);
  });

  it('gives up with DROVE_ERR_SESSION_CONFLICT only once the retry budget is spent', async () => {
    const real = sqlite();
    const sessions = createSessions({ store: real });
    const s = await sessions.load(req());
    s.session.n = 0;
    const cookie = cookieOf(await s.commit());
    // A store whose every update loses the race (somebody always wrote in between).
    const racing: Store = {
      ...real,
      get: real.get.bind(real),
      update: async () => ({ ok: false, reason: 'conflict' }),
    };
    const events: SessionEvent[] = [];
    const conflictRetry = { budgetMs: 60, baseDelayMs: 1, maxDelayMs: 4 };
    const options = { store: racing, conflictRetry, onEvent: (e: SessionEvent) => events.push(e) };
    const loser = await createSessions(options).load(req(cookie));
    const update = loser.session.update((d) => {
      d.n = 1;
    });
    await expect(update).rejects.toMatchObject({ code: 'DROVE_ERR_SESSION_CONFLICT' });
    // Many more tries than a small fixed count: backoff is capped at 4 ms within a 60 ms budget.
    const conflicts = events.filter((e) => e.type === 'conflict');
    expect(conflicts.length).toBeGreaterThan(8);
    expect(conflicts.map((e) => (e as { attempt: number }).attempt).slice(0, 3)).toEqual([1, 2, 3]);
    // The stored session was left as it was.
    expect((await sessions.load(req(cookie))).session.n).toBe(0);
  });

  it('rejects a negative or non-finite retry budget', () => {
    expect(() => createSessions({ store: sqlite(), conflictRetry: { budgetMs: -1 } })).toThrow(
      /conflictRetry\.budgetMs/,
    );
    expect(() =>
      createSessions({ store: sqlite(), conflictRetry: { maxDelayMs: Infinity } }),
    ).toThrow(/conflictRetry\.maxDelayMs/);
  });

  it('reserves the control names', async () => {
    const s = await createSessions({ store: sqlite() }).load(req());
    expect(() => {
      (s.session as Record<string, unknown>).update = 1;
    }).toThrow(/reserved/);
  });
});

describe('expiry on an injectable clock (real SQLite store, fake time)', () => {
  const HOUR = 3_600_000;
  const setup = (options: Partial<SessionOptions> = {}) => {
    let now = Date.UTC(2030, 0, 1);
    const clock = () => now;
    const store = fakeClockStore(sqlite(), clock);
    const sessions = createSessions({ store, clock, idleTimeoutMs: 10 * HOUR, ...options });
    return {
      sessions,
      advance: (ms: number) => {
        now += ms;
      },
    };
  };
  const start = async (sessions: ReturnType<typeof setup>['sessions']) => {
    const s = await sessions.load(req());
    s.session.user = 'u';
    return cookieOf(await s.commit())!;
  };
  const visit = async (sessions: ReturnType<typeof setup>['sessions'], cookie: string) => {
    const s = await sessions.load(req(cookie));
    return { user: s.session.user, setCookie: await s.commit() };
  };

  it('an idle session expires after the idle timeout', async () => {
    const { sessions, advance } = setup();
    const cookie = await start(sessions);
    advance(10 * HOUR - 1000);
    expect((await visit(sessions, cookie)).user).toBe('u');
    advance(10 * HOUR);
    expect((await visit(sessions, cookie)).user).toBeUndefined();
  });

  it('touch is throttled: only after touchAfter of the window, moving Max-Age with it', async () => {
    const { sessions, advance } = setup({ touchAfter: 0.5 });
    const cookie = await start(sessions);
    advance(2 * HOUR);
    expect((await visit(sessions, cookie)).setCookie).toEqual([]);
    advance(4 * HOUR);
    const touched = await visit(sessions, cookie);
    expect(touched.setCookie[0]).toMatch(/Max-Age=36000/);
    advance(9 * HOUR); // 15 h after the start, 9 h after the touch
    expect((await visit(sessions, cookie)).user).toBe('u');
  });

  it('a write re-sends the cookie only once the expiry moved by the touch share', async () => {
    const { sessions, advance } = setup({ touchAfter: 0.25 });
    const cookie = await start(sessions);
    const write = async () => {
      const s = await sessions.load(req(cookie, 'POST'));
      s.session.n = ((s.session.n as number | undefined) ?? 0) + 1;
      return s.commit();
    };
    advance(2 * HOUR);
    expect(await write()).toEqual([]);
    advance(HOUR); // 3 h since the cookie went out: more than a quarter of the 10 h window
    expect((await write())[0]).toMatch(/Max-Age=36000/);
    advance(HOUR);
    expect(await write()).toEqual([]);
    advance(2 * HOUR); // 3 h since the last cookie, though only 1 h since the last write
    expect((await write())[0]).toMatch(/Max-Age=36000/);
    advance(9 * HOUR);
    expect((await visit(sessions, cookie)).user).toBe('u');
  });

  it('a browser-session cookie is sent once, when the session is created', async () => {
    const { sessions, advance } = setup({ touchAfter: 0.1, cookie: { persistent: false } });
    const first = await sessions.load(req());
    first.session.user = 'u';
    const lines = await first.commit();
    expect(lines[0]).not.toMatch(/Max-Age/);
    advance(5 * HOUR);
    const s = await sessions.load(req(cookieOf(lines), 'POST'));
    s.session.user = 'v';
    expect(await s.commit()).toEqual([]);
  });

  it('a session created by update() gets its cookie', async () => {
    const { sessions } = setup();
    const s = await sessions.load(req(undefined, 'POST'));
    await s.session.update((d) => {
      d.n = 1;
    });
    const lines = await s.commit();
    expect(lines[0]).toMatch(/^drove\.sid=[\w-]{43}; Max-Age=36000;/);
    expect((await sessions.load(req(cookieOf(lines)))).session.n).toBe(1);
  });

  it('the absolute timeout ends a session however active, and caps Max-Age', async () => {
    const { sessions, advance } = setup({ absoluteTimeoutMs: 24 * HOUR, touchAfter: 0 });
    const cookie = await start(sessions);
    advance(9 * HOUR);
    expect((await visit(sessions, cookie)).setCookie[0]).toMatch(/Max-Age=36000/);
    advance(9 * HOUR); // 18 h: a touch may only reach the 24 h mark
    expect((await visit(sessions, cookie)).setCookie[0]).toMatch(/Max-Age=21600/);
    advance(6 * HOUR - 1000);
    expect((await visit(sessions, cookie)).user).toBe('u');
    advance(2000);
    expect((await visit(sessions, cookie)).user).toBeUndefined();
  });
});
