/**
 * Across processes: the app as 2 real processes behind drove's round-robin balancer, on each
 * backend. Parallel requests of one user land on different processes at the same moment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Balancer, createBalancer } from '../../src/runner/balancer.js';
import { type Backend, type BackendName, startBackend } from './backends.js';
import { Browser } from './client.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/session/app.mjs', import.meta.url));
const PAIRS = 200;

function spawnApp(
  storeUrl: string,
  prefix: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, SESSION_STORE_URL: storeUrl, STORE_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`app did not start: ${out}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`app exited with ${code}: ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

/** Run `task(i)` for i < count, `width` at a time. */
async function inBatches(count: number, width: number, task: (i: number) => Promise<void>) {
  for (let i = 0; i < count; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => task(i + j)));
  }
}

for (const name of ['sqlite', 'redis', 'memcached', 'postgres'] as BackendName[]) {
  describe(`2 processes behind a round-robin balancer, on ${name}`, () => {
    let backend: Backend;
    let balancer: Balancer;
    const children: ChildProcess[] = [];
    let base: string;

    beforeAll(async () => {
      backend = await startBackend(name);
      const prefix = `x${randomUUID().slice(0, 8)}:`;
      const apps = await Promise.all([
        spawnApp(backend.url, prefix),
        spawnApp(backend.url, prefix),
      ]);
      balancer = createBalancer({ port: 0, strategy: 'round-robin' });
      await balancer.listen();
      apps.forEach(({ child, port }, i) => {
        children.push(child);
        balancer.add({ id: `web.${i + 1}`, host: '127.0.0.1', port });
      });
      const { host, port } = balancer.address();
      base = `http://${host}:${port}`;
    }, 60_000);

    afterAll(async () => {
      await balancer?.close(1000);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.removeAllListeners('exit');
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
      await backend?.stop();
    });

    it(`${PAIRS} pairs of parallel requests changing two different keys lose no change`, async () => {
      const user = new Browser(base);
      await user.post('/set?key=init&value=0');
      const pids = new Set<number>();
      await inBatches(PAIRS, 4, async (i) => {
        const [a, b] = await Promise.all([
          user.post(`/set?key=a${i}&value=${i}`),
          user.post(`/set?key=b${i}&value=${i}`),
        ]);
        expect([a.status, b.status]).toEqual([200, 200]);
        pids.add(a.json().pid).add(b.json().pid);
      });
      expect(pids.size).toBe(2);
      const { data } = (await user.get('/read')).json();
      const missing = [];
      for (let i = 0; i < PAIRS; i++) {
        if (data[`a${i}`] !== i) missing.push(`a${i}`);
        if (data[`b${i}`] !== i) missing.push(`b${i}`);
      }
      expect(missing).toEqual([]);
    });

    it(`${PAIRS} pairs of parallel update() increments of one key lose none`, async () => {
      const user = new Browser(base);
      await user.post('/set?key=n&value=0');
      await inBatches(PAIRS, 4, async () => {
        const replies = await Promise.all([user.post('/incr'), user.post('/incr')]);
        expect(replies.map((r) => r.status)).toEqual([200, 200]);
      });
      expect((await user.get('/read')).json().data.n).toBe(2 * PAIRS);
    });

    it('a session destroyed on one process while the other is mid-request stays destroyed', async () => {
      const user = new Browser(base);
      await user.post('/set?key=a&value=1');
      const cookie = user.cookie!;
      const slow = user.post('/set?key=late&value=1&delay=400');
      await new Promise((r) => setTimeout(r, 100));
      await user.post('/logout');
      expect((await slow).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const again = await new Browser(base).get('/read', { cookie });
        expect(again.json().data).toEqual({});
      }
    });
  });
}
