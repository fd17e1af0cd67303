/**
 * An instance SIGKILLed under a load of POSTs leaves the rotation the moment the runner learns its
 * process exited — before the rest of its process group is gone (here a child that ignores
 * SIGTERM keeps the group for the whole grace period) — and no request, first attempt or retry,
 * is sent to it after that; what still fails is only what it had already accepted.
 */

import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createBalancer } from '../../src/runner/balancer.js';
import { FormationLog } from '../../src/runner/log.js';
import { Supervisor } from '../../src/runner/supervisor.js';
import { freePort, waitFor } from '../helpers/ports.js';

const APP = fileURLToPath(new URL('../fixtures/runner/app.mjs', import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function post(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'text/plain' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(-1));
      },
    );
    req.on('error', () => resolve(-1));
    req.end('x=1');
  });
}

describe('an instance that dies', () => {
  it('gets no request after its exit was known (SIGKILL under POST load)', async () => {
    const events: string[] = [];
    const lb = createBalancer({ port: 0, onDispatch: (id) => events.push(`sent ${id}`) });
    const remove = lb.remove.bind(lb);
    lb.remove = (id) => {
      events.push(`removed ${id}`);
      remove(id);
    };
    await lb.listen();
    cleanups.push(() => lb.close(1_000));
    const sup = new Supervisor({
      // A member of the group that ignores SIGTERM: the group outlives the app by the grace.
      types: [
        { name: 'web', command: `(trap '' TERM; exec sleep 8) & exec node ${APP}`, index: 0 },
      ],
      env: { PATH: process.env.PATH ?? '' },
      cwd: mkdtempSync(join(tmpdir(), 'drove-dead-')),
      basePort: await freePort(),
      shutdownTimeoutMs: 2_000,
      restart: true,
      // The killed instance stays down while the load runs.
      policy: { initialDelayMs: 600_000 },
      readiness: { kind: 'port' },
      balancer: lb,
      log: new FormationLog({ out: { write: () => true } as unknown as NodeJS.WritableStream }),
      onFatal: () => {},
    });
    cleanups.push(() => sup.stop());
    await sup.scale(new Map([['web', 2]]));
    await waitFor('both instances routed', async () => lb.list().length === 2 || undefined);
    const victim = sup.status().find((s) => s.name === 'web.1');
    const victimId = lb.list().find((i) => i.id.startsWith('web.1@'))?.id;
    expect(victim?.pid).toBeGreaterThan(0);
    expect(victimId).toBeDefined();

    const port = lb.address().port;
    const statuses: number[] = [];
    let killed = false;
    // The moment the victim's whole group is gone, as this process sees it.
    const groupGone = (async () => {
      while (!killed) await new Promise((r) => setTimeout(r, 5));
      for (;;) {
        try {
          process.kill(-(victim?.pgid as number), 0);
        } catch {
          events.push('group gone');
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let afterKill = 0;
    const worker = async () => {
      // Bounded: 400 requests after the kill at most, across the workers.
      while (afterKill < 400) {
        statuses.push(await post(port));
        if (killed) afterKill++;
        if (!killed && statuses.length >= 200) {
          killed = true;
          process.kill(victim?.pid as number, 'SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await groupGone;

    const removedAt = events.indexOf(`removed ${victimId}`);
    expect(removedAt).toBeGreaterThan(-1);
    // Out of rotation when its own process exited, not once the group was reaped.
    expect(removedAt).toBeLessThan(events.indexOf('group gone'));
    const sentAfter = events.slice(removedAt).filter((e) => e === `sent ${victimId}`);
    expect(sentAfter).toEqual([]);
    // The other instance kept answering everything sent after the exit was known.
    expect(
      events.slice(removedAt).filter((e) => e.startsWith('sent web.2@')).length,
    ).toBeGreaterThan(0);
    const failed = statuses.filter((s) => s !== 200).length;
    console.log(`SIGKILL under POST load: ${statuses.length} requests, ${failed} failed`);
  });
});
