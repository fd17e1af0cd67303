/**
 * The session behaviour suite: every behaviour of issue 3, on every adapter, against one real
 * backend (test/session/<backend>.test.ts). Round trips are counted by a decorator around the
 * real store.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/stores/types.js';
import { ADAPTERS, type AdapterName, type AppOptions, type RunningApp, startApp } from './apps.js';
import { type Backend, type BackendName, startBackend } from './backends.js';
import { Browser } from './client.js';
import { type CountingStore, countingStore } from './stores.js';

const storeKey = (id: string) => createHash('sha256').update(id).digest('base64url');

export function sessionSuite(backendName: BackendName): void {
  describe(`sessions on ${backendName}`, () => {
    let backend: Backend;
    const stores: Store[] = [];
    const apps: RunningApp[] = [];
    beforeAll(async () => {
      backend = await startBackend(backendName);
    });
    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await backend?.stop();
    });

    const store = (): Store => {
      const created = backend.create();
      stores.push(created);
      return created;
    };
    const app = async (adapter: AdapterName, options: Partial<AppOptions> = {}) => {
      const running = await startApp(adapter, { store: store(), ...options });
      apps.push(running);
      return running;
    };

    for (const adapter of ADAPTERS) {
      describe(adapter, () => {
        let counted: CountingStore;
        let base: string;
        beforeAll(async () => {
          counted = countingStore(store());
          base = (await app(adapter, { store: counted })).url;
        });
        const browser = () => new Browser(base);

        it('a request without a cookie costs no round trip and sets no cookie', async () => {
          counted.reset();
          const res = await browser().get('/read');
          expect(res.status).toBe(200);
          expect(res.json()).toMatchObject({ data: {}, isNew: true });
          expect(res.setCookie).toEqual([]);
          expect(counted.calls).toEqual([]);
        });

        it('the first change creates the session (one round trip) with safe cookie defaults', async () => {
          const b = browser();
          counted.reset();
          const res = await b.post('/set?key=a&value=1');
          expect(res.status).toBe(200);
          expect(counted.calls).toEqual(['create']);
          expect(res.setCookie).toHaveLength(1);
          const line = res.setCookie[0]!;
          expect(line).toMatch(/^drove\.sid=[A-Za-z0-9_-]{43}; /);
          expect(line).toMatch(/HttpOnly/);
          expect(line).toMatch(/SameSite=Lax/);
          expect(line).toMatch(/Path=\//);
          expect(line).toMatch(/Max-Age=86400/);
          expect(line).not.toMatch(/Secure/);
          // The store keeps the hash of the id, never the id.
          const raw = store();
          expect(await counted.get(b.id!)).toBeUndefined();
          expect(await counted.get(storeKey(b.id!))).toBeDefined();
          await raw.close();
        });

        it('a read-only request costs one round trip and sends no cookie; a change costs two', async () => {
          const b = browser();
          await b.post('/set?key=a&value=1');
          counted.reset();
          const read = await b.get('/read');
          expect(read.json().data).toEqual({ a: 1 });
          expect(counted.calls).toEqual(['get']);
          expect(read.setCookie).toEqual([]);
          counted.reset();
          const write = await b.post('/set?key=b&value=2');
          expect(write.status).toBe(200);
          expect(counted.calls).toEqual(['get', 'update']);
          // The expiry moved by far less than the touch share since the cookie went out.
          expect(write.setCookie).toEqual([]);
          expect((await b.get('/read')).json().data).toEqual({ a: 1, b: 2 });
        });

        it('nested mutations and deletions count as changes; Dates survive', async () => {
          const b = browser();
          await b.post('/set?key=cart&value=[]');
          await b.post('/push?item=x');
          await b.post('/push?item=y');
          await b.post('/date');
          await b.post('/set?key=gone&value=1');
          await b.post('/unset?key=gone');
          const read = (await b.get('/read')).json();
          expect(read.data.cart).toEqual(['x', 'y']);
          expect(read.data.gone).toBeUndefined();
          expect(read.dateIsDate).toBe(true);
        });

        it('malformed or forged cookies are refused without a store round trip', async () => {
          for (const cookie of [
            'drove.sid=short',
            'drove.sid=' + 'A'.repeat(42) + '!',
            'drove.sid=%00%01',
          ]) {
            counted.reset();
            const res = await browser().get('/read', { cookie });
            expect(res.status).toBe(200);
            expect(res.json().data).toEqual({});
            expect(counted.calls).toEqual([]);
          }
        });

        it('parallel requests changing different keys both keep their change', async () => {
          const b = browser();
          await b.post('/set?key=start&value=0');
          const rounds = 5;
          for (let i = 0; i < rounds; i++) {
            await Promise.all([
              b.post(`/set?key=x${i}&value=${i}&delay=20`),
              b.post(`/set?key=y${i}&value=${i}&delay=20`),
            ]);
          }
          const data = (await b.get('/read')).json().data;
          for (let i = 0; i < rounds; i++) expect([data[`x${i}`], data[`y${i}`]]).toEqual([i, i]);
        });

        it('update() loses no increment under parallel requests', async () => {
          const b = browser();
          await b.post('/set?key=n&value=0');
          const results = await Promise.all(
            Array.from({ length: 12 }, () => b.post('/incr?delay=5')),
          );
          expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
          expect((await b.get('/read')).json().data.n).toBe(12);
        });

        it('a session destroyed while another request is in flight does not come back', async () => {
          const b = browser();
          await b.post('/set?key=a&value=1');
          const cookie = b.cookie!;
          const slow = b.post('/set?key=late&value=1&delay=300');
          await new Promise((r) => setTimeout(r, 50));
          const out = await b.post('/logout');
          expect(out.setCookie[0]).toMatch(/Max-Age=0/);
          expect((await slow).status).toBe(200);
          const after = await browser().get('/read', { cookie });
          expect(after.json().data).toEqual({});
          expect(await counted.get(storeKey(cookie.split('=')[1]!))).toBeUndefined();
        });

        it('regenerate() issues a new id, keeps data on request, and kills the old id', async () => {
          const b = browser();
          await b.post('/set?key=cart&value=[1]');
          const old = b.cookie!;
          const res = await b.post('/login?user=u1&keep=1');
          expect(res.status).toBe(200);
          expect(b.cookie).toBeDefined();
          expect(b.cookie).not.toBe(old);
          expect((await b.get('/read')).json().data).toEqual({ cart: [1], userId: 'u1' });
          expect((await browser().get('/read', { cookie: old })).json().data).toEqual({});
          const fresh = browser();
          await fresh.post('/set?key=cart&value=[2]');
          await fresh.post('/login?user=u2');
          expect((await fresh.get('/read')).json().data).toEqual({ userId: 'u2' });
        });

        it('destroyAll() logs an owner out everywhere, or everywhere but here', async () => {
          const user = `user-${adapter}-${Math.random().toString(36).slice(2)}`;
          const devices = [browser(), browser(), browser()];
          for (const d of devices) await d.post(`/login?user=${user}`);
          const other = browser();
          await other.post('/login?user=someone-else');
          const [here, phone, laptop] = devices as [Browser, Browser, Browser];
          expect((await here.post('/logout-all?except=1')).json().count).toBe(2);
          expect((await here.get('/read')).json().data.userId).toBe(user);
          expect((await phone.get('/read')).json().data).toEqual({});
          expect((await laptop.get('/read')).json().data).toEqual({});
          expect((await other.get('/read')).json().data.userId).toBe('someone-else');
          const all = await here.post('/logout-all');
          expect(all.json().count).toBe(1);
          expect(all.setCookie[0]).toMatch(/Max-Age=0/);
        });

        it('changing the session after the head was sent throws DROVE_ERR_SESSION_COMMITTED', async () => {
          const b = browser();
          await b.post('/set?key=a&value=1');
          const res = await b.get('/stream');
          expect(res.body).toBe('start;DROVE_ERR_SESSION_COMMITTED');
        });

        it('a session over maxSize fails visibly and the stored session stays as it was', async () => {
          const small = new Browser((await app(adapter, { store: store(), maxSize: 200 })).url);
          await small.post('/set?key=a&value=1');
          const big = JSON.stringify('x'.repeat(300));
          const res = await small.post(`/set?key=big&value=${encodeURIComponent(big)}`);
          expect(res.status).toBe(500);
          expect(res.json().error.code).toBe('DROVE_ERR_SESSION_TOO_LARGE');
          expect((await small.get('/read')).json().data).toEqual({ a: 1 });
        });

        it('refuses cross-origin unsafe requests (CSRF) and allows listed origins', async () => {
          const b = browser();
          const evil = await b.post('/set?key=a&value=1', { origin: 'https://evil.example' });
          expect(evil.status).toBe(403);
          expect(evil.json().error.code).toBe('DROVE_ERR_CSRF');
          const site = await b.post('/set?key=a&value=1', { 'sec-fetch-site': 'cross-site' });
          expect(site.status).toBe(403);
          const own = await b.post('/set?key=a&value=1', { origin: base });
          expect(own.status).toBe(200);
          expect((await b.get('/read', { origin: 'https://evil.example' })).status).toBe(200);
          const listed = new Browser(
            (
              await app(adapter, {
                store: store(),
                csrf: { allowOrigins: ['https://admin.example'] },
              })
            ).url,
          );
          expect(
            (await listed.post('/set?key=a', { origin: 'https://admin.example' })).status,
          ).toBe(200);
          expect((await listed.post('/set?key=a', { origin: 'https://evil.example' })).status).toBe(
            403,
          );
        });

        it('is Secure with the __Host- prefix on HTTPS, X-Forwarded-Proto only with trustProxy', async () => {
          const https = { 'x-forwarded-proto': 'https' };
          const untrusted = await browser().post('/set?key=a', https);
          expect(untrusted.setCookie[0]).toMatch(/^drove\.sid=/);
          expect(untrusted.setCookie[0]).not.toMatch(/Secure/);
          const trusted = new Browser(
            (await app(adapter, { store: store(), trustProxy: true })).url,
          );
          const res = await trusted.post('/set?key=a', https);
          expect(res.setCookie[0]).toMatch(/^__Host-drove\.sid=/);
          expect(res.setCookie[0]).toMatch(/Secure/);
          expect((await trusted.get('/read', https)).json().data).toEqual({ a: true });
        });

        it('answers 503 with Retry-After when the store is down, or passes the error on', async () => {
          const b = browser();
          await b.post('/set?key=a&value=1');
          const dead = store();
          const down = await app(adapter, { store: dead, retryAfterSeconds: 7 });
          const passing = await app(adapter, { store: dead, errors: 'pass' });
          await dead.close();
          const res = await new Browser(down.url).get('/read', { cookie: b.cookie! });
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toBe('7');
          expect(res.json().error.code).toMatch(/^DROVE_ERR_STORE_(UNAVAILABLE|CLOSED)$/);
          const passed = await new Browser(passing.url).get('/read', { cookie: b.cookie! });
          expect(passed.headers['x-passed']).toBe('1');
          expect(passed.json().error.code).toMatch(/^DROVE_ERR_STORE_(UNAVAILABLE|CLOSED)$/);
        });
      });
    }
  });
}
