/**
 * "An app written for express-session runs with only its middleware line changed": the same app
 * (test/fixtures/session/legacy-app.mjs: callbacks, regenerate/save, `cookie.maxAge`,
 * `req.sessionID`), the same options object and the same assertions, once on the real
 * express-session and once on drove's Express adapter over SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: no @types/express-session, whose `Express.Request.session` clashes with drove's.
import expressSession from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { session as droveSession } from '../../src/session/express.js';
// @ts-expect-error: a plain-JS fixture, as the app it stands for.
import { buildApp } from '../fixtures/session/legacy-app.mjs';
import { Browser, type Reply } from './client.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The cookie's lifetime in ms, from Max-Age (drove) or Expires (express-session). */
function lifetimeOf(reply: Reply): number {
  const line = reply.setCookie.find((l) => l.startsWith('app.sid='));
  expect(line, 'a Set-Cookie line for app.sid').toBeDefined();
  const maxAge = /max-age=(\d+)/i.exec(line!);
  if (maxAge) return Number(maxAge[1]) * 1000;
  const expires = /expires=([^;]+)/i.exec(line!);
  return new Date(expires![1]!).getTime() - Date.now();
}

/** The session id a cookie carries: drove's is the id, express-session's `s:<id>.<signature>`. */
function idInCookie(browser: Browser): string | undefined {
  const value = decodeURIComponent(browser.cookie?.split('=')[1] ?? '');
  return value.startsWith('s:') ? value.slice(2, value.lastIndexOf('.')) : value;
}

const implementations = {
  'express-session': () => expressSession,
  drove: () => droveSession,
};

for (const [name, middleware] of Object.entries(implementations)) {
  describe(`the express-session app, on ${name}`, () => {
    let server: Server;
    let base: string;
    let dir: string;
    const saved = process.env.SESSION_STORE_URL;

    beforeAll(async () => {
      // drove: the options name no drove store, so it takes SESSION_STORE_URL (and warns why).
      dir = mkdtempSync(join(tmpdir(), 'drove-legacy-'));
      process.env.SESSION_STORE_URL = `sqlite:${join(dir, 'sessions.db')}`;
      server = createServer(buildApp(middleware()));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      if (saved === undefined) delete process.env.SESSION_STORE_URL;
      else process.env.SESSION_STORE_URL = saved;
      rmSync(dir, { recursive: true, force: true });
    });

    it('stores nothing until the session is modified, then keeps it under a stable sessionID', async () => {
      const user = new Browser(base);
      const first = await user.get('/');
      expect(first.setCookie).toEqual([]);
      expect(first.json()).toMatchObject({ user: null, cart: [], idMatches: true });

      const added = await user.post('/cart?item=apple');
      expect(added.status).toBe(200);
      expect(lifetimeOf(added)).toBeGreaterThan(HOUR - 60_000);
      expect(lifetimeOf(added)).toBeLessThanOrEqual(HOUR);
      const { sessionID } = added.json();
      expect(idInCookie(user)).toBe(sessionID);

      await user.post('/cart?item=pear');
      const page = (await user.get('/')).json();
      expect(page).toMatchObject({ cart: ['apple', 'pear'], sessionID, idMatches: true });
    });

    it('logs in with regenerate(cb) + save(cb): a new id, the old one dead, the data dropped', async () => {
      const user = new Browser(base);
      await user.post('/cart?item=apple');
      const before = user.cookie!;
      const idBefore = idInCookie(user);
      const login = await user.post('/login?user=alice');
      expect(login.status).toBe(302);
      expect(login.headers.location).toBe('/');
      const page = (await user.get('/')).json();
      expect(page.user).toBe('alice');
      expect(page.cart).toEqual([]);
      expect(page.sessionID).not.toBe(idBefore);
      expect(idInCookie(user)).toBe(page.sessionID);
      const stale = (await new Browser(base).get('/', { cookie: before })).json();
      expect(stale.user).toBeNull();
      expect(stale.cart).toEqual([]);
    });

    it('"remember me": cookie.maxAge gives this session its own lifetime', async () => {
      const user = new Browser(base);
      const login = await user.post('/login?user=bob&remember=1');
      expect(lifetimeOf(login)).toBeGreaterThan(3 * DAY - 60_000);
      expect(lifetimeOf(login)).toBeLessThanOrEqual(3 * DAY);
      const cookie = (await user.get('/cookie')).json();
      expect(cookie.originalMaxAge).toBe(3 * DAY);
      expect(cookie.maxAge).toBeGreaterThan(3 * DAY - 60_000);
      expect(cookie.expires - Date.now()).toBeGreaterThan(3 * DAY - 60_000);
      // Another user keeps the configured hour.
      const other = new Browser(base);
      await other.post('/cart?item=x');
      expect((await other.get('/cookie')).json().originalMaxAge).toBe(HOUR);
    });

    it('reload(cb) drops unsaved changes; touch() is accepted', async () => {
      const user = new Browser(base);
      await user.post('/login?user=carol');
      const reloaded = (await user.post('/reload')).json();
      expect(reloaded).toEqual({ unsaved: null, user: 'carol' });
      expect((await user.post('/touch')).status).toBe(200);
      expect((await user.get('/')).json().user).toBe('carol');
    });

    it('logs out with save(cb) + regenerate(cb), and destroy(cb) ends the session', async () => {
      const user = new Browser(base);
      await user.post('/login?user=dave');
      const loggedIn = user.cookie!;
      const out = await user.post('/logout');
      expect(out.status).toBe(302);
      expect((await user.get('/')).json().user).toBeNull();
      expect((await new Browser(base).get('/', { cookie: loggedIn })).json().user).toBeNull();

      await user.post('/login?user=erin');
      const again = user.cookie!;
      expect((await user.post('/destroy')).json()).toEqual({ destroyed: true });
      expect((await new Browser(base).get('/', { cookie: again })).json().user).toBeNull();
    });
  });
}
