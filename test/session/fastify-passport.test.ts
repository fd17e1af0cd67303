/**
 * @fastify/passport (with passport-local) unchanged on drove's Fastify session (issue 15): login
 * rotates the session id, request.user holds on both processes behind the balancer, a wrong
 * password is refused, logout ends it everywhere; on real SQLite and Redis.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type BackendName, startBackend } from './backends.js';
import { Browser } from './client.js';
import { type Formation, startFormation } from './formation.js';

const FIXTURE = fileURLToPath(
  new URL('../fixtures/session/fastify-passport-app.mjs', import.meta.url),
);

for (const name of ['sqlite', 'redis'] as BackendName[]) {
  describe(`@fastify/passport on drove's Fastify session, 2 processes, ${name}`, () => {
    let backend: Backend;
    let formation: Formation;
    beforeAll(async () => {
      backend = await startBackend(name);
      formation = await startFormation(FIXTURE, {
        SESSION_STORE_URL: backend.url,
        STORE_PREFIX: `p${randomUUID().slice(0, 8)}:`,
      });
    }, 60_000);
    afterAll(async () => {
      await formation?.stop();
      await backend?.stop();
    });

    it('logs in, keeps request.user on both processes, and logs out everywhere', async () => {
      const user = new Browser(formation.base);
      await user.post('/visit');
      const anonymous = user.cookie!;
      const login = await user.post('/login?username=u1&password=pw1');
      expect(login.status).toBe(200);
      expect(login.json().user).toBe('Ada');
      // Fixation protection: the login moved the session to a new id.
      expect(user.cookie).toBeDefined();
      expect(user.cookie).not.toBe(anonymous);
      const loggedIn = user.cookie!;

      const pids = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const me = (await user.get('/me')).json();
        expect(me.user).toBe('Ada');
        pids.add(me.pid);
      }
      expect(pids.size).toBe(2);
      expect(
        (await new Browser(formation.base).get('/me', { cookie: anonymous })).json().user,
      ).toBeNull();

      const logout = await user.post('/logout');
      expect(logout.status).toBe(200);
      for (let i = 0; i < 2; i++) {
        expect((await user.get('/me')).json().user).toBeNull();
        const replay = await new Browser(formation.base).get('/me', { cookie: loggedIn });
        expect(replay.json().user).toBeNull();
      }
    });

    it('refuses a wrong password with 401 and leaves the user logged out', async () => {
      const user = new Browser(formation.base);
      const res = await user.post('/login?username=u2&password=nope');
      expect(res.status).toBe(401);
      expect((await user.get('/me')).json().user).toBeNull();
    });

    it('two users logged in at once each see only themselves', async () => {
      const ada = new Browser(formation.base);
      const bob = new Browser(formation.base);
      await Promise.all([
        ada.post('/login?username=u1&password=pw1'),
        bob.post('/login?username=u2&password=pw2'),
      ]);
      const [a, b] = await Promise.all([ada.get('/me'), bob.get('/me')]);
      expect([a.json().user, b.json().user]).toEqual(['Ada', 'Bob']);
    });
  });
}
