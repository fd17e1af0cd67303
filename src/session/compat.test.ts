/**
 * The core's compatibility block (request-session.ts): saveNow(), touchNow() and id, which the
 * @fastify/session and express-session APIs stand on, and the migration's id derivation and
 * cookie checks (migrate.ts). Over a real in-memory SQLite store.
 */
import { createHmac } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expressSession } from '../../test/session/old-packages.js';
import { countingStore } from '../../test/session/stores.js';
import { createSqliteStore } from '../stores/sqlite.js';
import type { Store } from '../stores/types.js';
import { isWellFormedId, storeKeyOf } from './id.js';
import { type LegacyStore, Migration } from './migrate.js';
import { createSessions, type SessionRequest } from './sessions.js';

const stores: Store[] = [];
afterAll(() => Promise.all(stores.map((s) => s.close())));
const sqlite = () => {
  const store = createSqliteStore({ path: ':memory:' });
  stores.push(store);
  return store;
};
const req = (cookie?: string): SessionRequest => ({
  method: 'GET',
  tls: false,
  header: (name) => (name === 'cookie' ? cookie : undefined),
});
const cookieOf = (lines: string[]) => lines[0]?.split(';')[0];

describe('saveNow()', () => {
  it('writes the change before commit; with nothing changed it costs no round trip', async () => {
    const store = countingStore(sqlite());
    const sessions = createSessions({ store });
    const first = await sessions.load(req());
    first.session.a = 1;
    await first.saveNow();
    expect(first.storedId).toBeDefined();
    expect(await store.get(storeKeyOf(first.storedId!))).toBeDefined();
    const cookie = cookieOf(await first.commit());
    expect(cookie).toBe(`drove.sid=${first.storedId}`);

    const again = await sessions.load(req(cookie));
    store.reset();
    await again.saveNow();
    expect(store.calls).toEqual([]);
    again.session.b = 2;
    await again.saveNow();
    expect(store.calls).toEqual(['update']);
    expect(await again.commit()).toEqual([]);
    expect({ ...(await sessions.load(req(cookie))).session }).toEqual({ a: 1, b: 2 });
  });

  it('after regenerate() it creates the new id and deletes the old one at once', async () => {
    const sessions = createSessions({ store: sqlite() });
    const first = await sessions.load(req());
    first.session.user = 'u1';
    const cookie = cookieOf(await first.commit());
    const login = await sessions.load(req(cookie));
    await login.session.regenerate({ keepData: true });
    await login.saveNow();
    expect(`drove.sid=${login.storedId}`).not.toBe(cookie);
    expect((await sessions.load(req(cookie))).session.isNew).toBe(true);
    expect(cookieOf(await login.commit())).toBe(`drove.sid=${login.storedId}`);
  });

  it('on a session destroyed meanwhile throws DROVE_ERR_SESSION_DESTROYED', async () => {
    const sessions = createSessions({ store: sqlite() });
    const first = await sessions.load(req());
    first.session.a = 1;
    const cookie = cookieOf(await first.commit());
    const stale = await sessions.load(req(cookie));
    await (await sessions.load(req(cookie))).session.destroy();
    stale.session.a = 2;
    await expect(stale.saveNow()).rejects.toMatchObject({ code: 'DROVE_ERR_SESSION_DESTROYED' });
  });
});

describe('touchNow()', () => {
  it('touches a read-only session although the throttle would wait', async () => {
    const store = countingStore(sqlite());
    const sessions = createSessions({ store });
    const first = await sessions.load(req());
    first.session.a = 1;
    const cookie = cookieOf(await first.commit());
    store.reset();
    expect(await (await sessions.load(req(cookie))).commit()).toEqual([]);
    expect(store.calls).toEqual(['get']);
    store.reset();
    const touched = await sessions.load(req(cookie));
    touched.touchNow();
    expect(cookieOf(await touched.commit())).toBe(cookie);
    expect(store.calls).toEqual(['get', 'touch']);
  });
});

describe('Migration', () => {
  const sign = (id: string, secret: string) =>
    `${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`;
  const store = { get: () => undefined };
  const idSecret = 'x'.repeat(32);

  it('verifies express-session cookies with any rotated secret, and nothing else', () => {
    const m = new Migration({ secrets: ['new', 'old'], store, idSecret });
    const cookie = (value: string) => `a=1; connect.sid=${encodeURIComponent(value)}`;
    expect(m.oldId(cookie(`s:${sign('abc', 'old')}`))).toBe('abc');
    expect(m.oldId(cookie(`s:${sign('abc', 'new')}`))).toBe('abc');
    expect(m.oldId(cookie(`s:${sign('abc', 'other')}`))).toBeUndefined();
    expect(m.oldId(cookie(sign('abc', 'new')))).toBeUndefined(); // no s: prefix
    expect(m.oldId(cookie(`s:${sign('abc', 'new')}x`))).toBeUndefined();
    expect(m.oldId(cookie('s:abc'))).toBeUndefined();
    expect(m.oldId(undefined)).toBeUndefined();
  });

  it("reads @fastify/session's cookie with from: 'fastify-session'", () => {
    const m = new Migration({ from: 'fastify-session', secrets: 'k', store, idSecret });
    expect(m.oldId(`sessionId=${encodeURIComponent(sign('f.1', 'k'))}`)).toBe('f.1');
    expect(m.oldId(`connect.sid=${encodeURIComponent(`s:${sign('f', 'k')}`)}`)).toBeUndefined();
  });

  it('derives one well-formed id per old id, keyed by idSecret', () => {
    const m = new Migration({ secrets: 's', store, idSecret });
    const other = new Migration({ secrets: 's', store, idSecret: 'y'.repeat(32) });
    expect(m.newId('abc')).toBe(new Migration({ secrets: 't', store, idSecret }).newId('abc'));
    expect(isWellFormedId(m.newId('abc'))).toBe(true);
    expect(m.newId('abc')).not.toBe(m.newId('abd'));
    expect(m.newId('abc')).not.toBe(other.newId('abc'));
  });
});

describe('a migrated session meets the schema', () => {
  it('invalid old data throw DROVE_ERR_SESSION_INVALID_DATA, or start fresh with discard', async () => {
    const memory = new expressSession.MemoryStore();
    await new Promise<void>((resolve) =>
      memory.set('old-1', { cookie: { originalMaxAge: null }, userId: 42 } as never, () =>
        resolve(),
      ),
    );
    const secret = 'old-secret';
    const sig = createHmac('sha256', secret).update('old-1').digest('base64').replace(/=+$/, '');
    const cookie = `connect.sid=${encodeURIComponent(`s:old-1.${sig}`)}`;
    const schema = z.object({ userId: z.string().optional() });
    const migrateFrom = {
      secrets: secret,
      store: memory as LegacyStore,
      idSecret: 'z'.repeat(32),
      oldSession: 'keep' as const,
    };
    const strict = createSessions({ store: sqlite(), schema, migrateFrom });
    await expect(strict.load(req(cookie))).rejects.toMatchObject({
      code: 'DROVE_ERR_SESSION_INVALID_DATA',
    });
    const lenient = createSessions({ store: sqlite(), schema, migrateFrom, onInvalid: 'discard' });
    const fresh = await lenient.load(req(cookie));
    expect(fresh.session.isNew).toBe(true);
    expect({ ...fresh.session }).toEqual({});
  });
});
