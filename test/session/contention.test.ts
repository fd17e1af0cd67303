/**
 * Heavy contention on one session: 50 parallel `update()` increments with one cookie, on real
 * SQLite and Redis stores, through the node and Express adapters, with the default retry policy.
 * Every request must succeed (no DROVE_ERR_SESSION_CONFLICT) and every increment must count.
 */
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/session/types.js';
import type { Store } from '../../src/stores/types.js';
import { type AdapterName, type RunningApp, startApp } from './apps.js';
import { type Backend, type BackendName, startBackend } from './backends.js';
import { Browser } from './client.js';

const PARALLEL = 50;
const BACKENDS: BackendName[] = ['sqlite', 'redis'];
const ADAPTERS: AdapterName[] = ['node', 'express'];

for (const backendName of BACKENDS) {
  describe(`${PARALLEL} parallel update() increments of one session on ${backendName}`, () => {
    const backends: Backend[] = [];
    const stores: Store[] = [];
    const apps: RunningApp[] = [];
    afterAll(async () => {
      await Promise.all(apps.map((a) => a.close()));
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await Promise.all(backends.map((b) => b.stop()));
    });

    for (const adapter of ADAPTERS) {
      it(`all succeed and all count (${adapter} adapter)`, async () => {
        if (backends.length === 0) backends.push(await startBackend(backendName));
        const store = backends[0]!.create();
        stores.push(store);
        let conflicts = 0;
        const onEvent = (e: SessionEvent) => {
          if (e.type === 'conflict') conflicts++;
        };
        const app = await startApp(adapter, { store, onEvent });
        apps.push(app);
        const browser = new Browser(app.url);
        expect((await browser.post('/set?key=n&value=0')).status).toBe(200);
        const cookie = browser.cookie!;
        // The short pause lets every request load the same version before the first one writes.
        const replies = await Promise.all(
          Array.from({ length: PARALLEL }, async () => {
            const res = await request(`${app.url}/incr?delay=20`, {
              method: 'POST',
              headers: { cookie },
            });
            return { status: res.statusCode, body: await res.body.text() };
          }),
        );
        const failed = replies.filter((r) => r.status !== 200);
        expect(failed).toEqual([]);
        expect((await browser.get('/read')).json().data.n).toBe(PARALLEL);
        // The run really was contended (otherwise it would prove nothing about retries).
        expect(conflicts).toBeGreaterThan(0);
      });
    }
  });
}
