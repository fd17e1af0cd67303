/**
 * Passport 0.7 + passport-local, unchanged, on drove's Express adapter: two real processes behind
 * drove's round-robin balancer, on SQLite and on a private Redis. Passport calls
 * `req.session.regenerate(cb)` then `req.session.save(cb)` on login, `save(cb)` then
 * `regenerate(cb)` on logout, and copies the old session's data with `keepSessionInfo`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type BackendName, startBackend } from './backends.js';
import { Browser } from './client.js';
import { type Formation, startFormation } from './formation.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/session/passport-app.mjs', import.meta.url));
const GOOD = 'username=alice&password=wonderland';

for (const name of ['sqlite', 'redis'] as BackendName[]) {
  describe(`Passport across 2 processes on ${name}`, () => {
    let backend: Backend;
    let formation: Formation;

    beforeAll(async () => {
      backend = await startBackend(name);
      const prefix = `p${randomUUID().slice(0, 8)}:`;
      formation = await startFormation(FIXTURE, {
        SESSION_STORE_URL: backend.url,
        STORE_PREFIX: prefix,
      });
    }, 60_000);

    afterAll(async () => {
      await formation?.stop();
      await backend?.stop();
    });

    it('a failed login redirects to the failure page and logs nobody in', async () => {
      const user = new Browser(formation.base);
      const reply = await user.post('/login?username=alice&password=nope');
      expect(reply.status).toBe(302);
      expect(reply.headers.location).toBe('/login?failed=1');
      expect((await user.get('/me')).json().user).toBeNull();
    });

    it('logs in with a new session id, and req.user holds on every process', async () => {
      const user = new Browser(formation.base);
      await user.post('/prefs?theme=dark');
      const anonymous = user.cookie!;
      const login = await user.post(`/login?${GOOD}`);
      expect(login.status).toBe(302);
      expect(login.headers.location).toBe('/me');
      expect(user.cookie).toBeDefined();
      expect(user.cookie).not.toBe(anonymous);
      const pids = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const me = (await user.get('/me')).json();
        expect(me.user).toEqual({ id: 'u1', username: 'alice' });
        // Without keepSessionInfo, regenerate() dropped what the anonymous session held.
        expect(me.prefs).toBeNull();
        pids.add(me.pid);
      }
      expect(pids.size).toBe(2);
      // The pre-login id no longer opens anything (fixation protection).
      const stale = await new Browser(formation.base).get('/me', { cookie: anonymous });
      expect(stale.json()).toMatchObject({ user: null, prefs: null });
    });

    it('keepSessionInfo carries the anonymous session data over the login', async () => {
      const user = new Browser(formation.base);
      await user.post('/prefs?theme=light');
      const anonymous = user.cookie!;
      expect((await user.post(`/login-keep?${GOOD}`)).status).toBe(302);
      expect(user.cookie).not.toBe(anonymous);
      for (let i = 0; i < 2; i++) {
        const me = (await user.get('/me')).json();
        expect(me.user).toEqual({ id: 'u1', username: 'alice' });
        expect(me.prefs).toEqual({ theme: 'light' });
      }
    });

    it('req.logout(cb) logs out on every process, and the logged-in id is dead', async () => {
      const user = new Browser(formation.base);
      await user.post(`/login?${GOOD}`);
      const loggedIn = user.cookie!;
      expect((await user.get('/me')).json().user).not.toBeNull();
      const out = await user.post('/logout');
      expect(out.status).toBe(302);
      expect(out.headers.location).toBe('/me');
      for (let i = 0; i < 2; i++) {
        expect((await user.get('/me')).json().user).toBeNull();
        const old = await new Browser(formation.base).get('/me', { cookie: loggedIn });
        expect(old.json().user).toBeNull();
      }
    });
  });
}
