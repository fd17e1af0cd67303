// The formation behind the balancer: non-stickiness, rolling restarts under load, a killed
// instance, and ps/scale/restart over the control socket.
import { statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  FIXTURES,
  freeBase,
  get,
  membersOf,
  ps,
  type Runner,
  scratch,
  startRunner,
  waitFor,
} from './helpers.js';

const APP = `node ${FIXTURES}app.mjs`;
let running: Runner | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  running = undefined;
});

async function formation(args: string[], procfile = `web: ${APP}\n`): Promise<Runner> {
  const runner = startRunner(scratch({ Procfile: procfile }), await freeBase(), args);
  running = runner;
  return runner;
}

async function allUp(runner: Runner, count: number) {
  return waitFor(`${count} instances up`, async () => {
    const rows = await ps(runner);
    return rows.length === count && rows.every((r) => r.state === 'up') && rows;
  });
}

/** Load the balancer until `during` resolves (bounded: at most 60 s, 8 connections). */
async function underLoad(url: string, during: () => Promise<void>): Promise<autocannon.Result> {
  let instance: autocannon.Instance | undefined;
  const result = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({ url, connections: 8, duration: 60 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
  await new Promise((r) => setTimeout(r, 300));
  await during();
  await new Promise((r) => setTimeout(r, 300));
  instance!.stop();
  return result;
}

describe('balancing', () => {
  it('is not sticky: one keep-alive connection with one cookie reaches different instances', async () => {
    const runner = await formation(['-m', 'web=3']);
    await allUp(runner, 3);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen: { name: string; reused: boolean }[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(
        await new Promise((resolve, reject) => {
          const req = request(
            `http://127.0.0.1:${runner.base}/`,
            { agent, headers: { cookie: 'sid=one-session' } },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => {
                text += c;
              });
              res.on('end', () =>
                resolve({ name: JSON.parse(text).name, reused: req.reusedSocket }),
              );
            },
          );
          req.once('error', reject);
          req.end();
        }),
      );
    }
    agent.destroy();
    expect(seen.slice(1).every((s) => s.reused)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.name).not.toBe(seen[i - 1]!.name);
    expect(new Set(seen.map((s) => s.name)).size).toBe(3);
  });

  it('passes WebSocket upgrades through to an instance (echo)', async () => {
    const runner = await formation(['-m', 'web=2']);
    await allUp(runner, 2);
    const ws = new WebSocket(`ws://127.0.0.1:${runner.base}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toMatch(/^web\.[12]:hello$/);
  });

  it('a rolling restart of every web instance under load: zero non-2xx, zero errors', async () => {
    const runner = await formation(['-m', 'web=2']);
    const before = await allUp(runner, 2);
    const result = await underLoad(`http://127.0.0.1:${runner.base}/`, async () => {
      const restart = await runner.drove('restart', 'web');
      expect(restart.stdout).toBe('restarted: web.1, web.2\n');
    });
    console.log(
      `rolling restart under load: ${result.requests.total} requests, non2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`,
    );
    expect(result.requests.total).toBeGreaterThan(100);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    const after = await ps(runner);
    expect(after.map((r) => r.port)).toEqual([runner.base + 51, runner.base + 52]);
    expect(after.map((r) => r.restarts)).toEqual([1, 1]);
    for (const row of before) expect(membersOf([row.pgid!])).toEqual([]);
    expect(runner.output()).toMatch(/web\.1 +\| web\.1 shutdown hook ran/);
  });

  it('SIGKILL of one instance: only in-flight requests may fail; new connections avoid it', async () => {
    // A long restart delay keeps the killed instance down while we look.
    const runner = await formation(['-m', 'web=3', '--restart-delay', '60000']);
    const rows = await allUp(runner, 3);
    const victim = rows.find((r) => r.name === 'web.2')!;
    const result = await underLoad(`http://127.0.0.1:${runner.base}/`, async () => {
      process.kill(-victim.pgid!, 'SIGKILL');
      await waitFor('web.2 seen dead', async () => (await ps(runner))[1]!.state === 'backoff');
    });
    console.log(
      `SIGKILL of web.2 under load: ${result.requests.total} requests, non2xx ${result.non2xx}, errors ${result.errors}`,
    );
    expect(result.non2xx + result.errors + result.timeouts).toBeLessThanOrEqual(8);
    const names = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await get(`http://127.0.0.1:${runner.base}/`);
      expect(res.status).toBe(200);
      names.add(res.body.name!);
    }
    expect([...names].sort()).toEqual(['web.1', 'web.3']);
  });
});

describe('control socket', () => {
  it('ps, scale and restart a running formation', async () => {
    const runner = await formation(['-m', 'web=1,worker=1'], `web: ${APP}\nworker: sleep 600\n`);
    const socket = join(runner.dir, '.drove', 'control.sock');
    const [web1, worker1] = await allUp(runner, 2);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(web1).toMatchObject({ name: 'web.1', port: runner.base + 1 });
    expect(worker1).toMatchObject({ name: 'worker.1', port: runner.base + 101 });

    const text = await runner.drove('ps');
    expect(text.stdout).toMatch(/^NAME +STATE +PID +PORT/);
    expect(text.stdout).toMatch(/worker\.1 +up/);

    expect((await runner.drove('scale', 'web=3,worker=0')).stdout).toBe(
      'formation: web=3,worker=0\n',
    );
    const scaled = await allUp(runner, 3);
    expect(scaled.map((r) => r.port)).toEqual([1, 2, 3].map((n) => runner.base + n));
    expect(membersOf([worker1!.pgid!])).toEqual([]);

    const restarted = await runner.drove('restart', 'web.2');
    expect(restarted.stdout).toBe('restarted: web.2\n');
    const after = await ps(runner);
    expect(after[1]).toMatchObject({ name: 'web.2', port: runner.base + 52, restarts: 1 });
    expect(after[1]!.pid).not.toBe(scaled[1]!.pid);
    expect(after[0]!.pid).toBe(scaled[0]!.pid);

    const unknown = await runner.drove('restart', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('DROVE_ERR_INSTANCE_UNKNOWN');

    await runner.drove('scale', 'web=0');
    await waitFor('no instance left', async () => (await ps(runner)).length === 0);
    const res = await fetch(`http://127.0.0.1:${runner.base}/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
  });

  it('--ready explicit: an instance gets traffic once it called ready()', async () => {
    const runner = await formation(['--ready', 'explicit', '--json']);
    await allUp(runner, 1);
    expect((await get(`http://127.0.0.1:${runner.base}/`)).body.name).toBe('web.1');
    const lines = runner.output().trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { name: string; line: string });
    expect(
      parsed.some(
        (l) => l.name === 'system' && l.line === 'web.1 is ready on port ' + (runner.base + 1),
      ),
    ).toBe(true);
  });
});
