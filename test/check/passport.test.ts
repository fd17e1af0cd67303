/**
 * An Express app signing users in with Passport 0.7 + passport-local on drove's sessions passes
 * `drove check`, its own test (fixtures/passport-express/test.mjs) as the test command: plain,
 * with its SQLite store in the OS temp folder (shared by the processes of one machine), and with
 * --hosts on a shared Redis. Its twin on express-session's MemoryStore is flagged.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { droveCheck, Workspace } from './apps.js';

const TEST = ['--json', '--', 'node', 'test.mjs'];

let ws: Workspace;
let redis: RedisServer;
/** The apps' OS temp folder (and drove check's own): inside the workspace, removed with it. */
const machineTmp = () => {
  const dir = ws.file('tmp');
  mkdirSync(dir);
  return { TMPDIR: dir };
};

beforeAll(async () => {
  ws = new Workspace();
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  ws?.remove();
});

describe('drove check on an Express + Passport app', { timeout: 120_000 }, () => {
  it('passes on drove sessions in a SQLite file under the OS temp folder, with restarts', async () => {
    const tmp = machineTmp();
    const run = await droveCheck(ws.app('passport-express'), ['--restart-every', '5', ...TEST], {
      ...tmp,
      ROUNDS: '2',
    });
    // Its sessions were in the temp folder every process of this machine shares.
    expect(existsSync(join(tmp.TMPDIR, 'passport-express-sessions.db'))).toBe(true);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.report?.result).toBe('stateless');
    const herd = run.report?.herd;
    expect(herd?.passed).toBe(true);
    expect(herd?.restarts.length).toBeGreaterThan(0);
    // Each round: stranger, wrong login, form twice, login, 6 reads, login again, logout, 2 refused.
    expect(herd?.requests.length).toBe(30);
    const served = herd?.requests.map((r) => r.instance) ?? [];
    expect(
      served.every((instance, i) => i === 0 || instance !== served[i - 1]),
      JSON.stringify(served),
    ).toBe(true);
  });

  it('passes with --hosts on a shared Redis', async () => {
    const run = await droveCheck(
      ws.app('passport-express'),
      ['--hosts', '--restart-every', '5', ...TEST],
      { ...machineTmp(), SESSION_STORE_URL: redis.url },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.report?.mode.hosts).toBe(true);
    expect(run.report?.herd?.restarts.length).toBeGreaterThan(0);
    const served = new Set(run.report?.herd?.requests.map((r) => r.instance?.split('@')[0]));
    expect(served).toEqual(new Set(['web.1', 'web.2']));
  });

  it('with --kill, kills instances in turn and never leaves the herd without one', async () => {
    // A restart after every request comes faster than a killed instance is back: a kill then must wait
    // for it, not take the last instance up (the request after it found no instance: a 503).
    const run = await droveCheck(
      ws.app('passport-express'),
      ['--restart-every', '1', '--kill', ...TEST],
      { ...machineTmp(), ROUNDS: '3', PAUSE_MS: '800' },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const herd = run.report?.herd;
    expect(herd?.restarts.filter((r) => r.how === 'kill').length).toBeGreaterThan(0);
    expect(herd?.requests.every((r) => r.instance !== undefined && r.status !== 503)).toBe(true);
  });

  it('flags the temp-folder SQLite file with --hosts: two machines do not share /tmp', async () => {
    const run = await droveCheck(ws.app('passport-express'), ['--hosts', ...TEST], machineTmp());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    // The first thing another machine does not know: Passport's failure message in the session.
    expect(run.report?.findings[0]?.request).toMatchObject({ method: 'GET', path: '/login' });
    expect(run.report?.findings[0]?.previous).toMatchObject({ method: 'POST', path: '/login' });
  });

  it("flags its twin on express-session's MemoryStore", async () => {
    const run = await droveCheck(ws.app('passport-express-memory'), TEST, machineTmp());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const report = run.report!;
    expect(report.alone?.passed).toBe(true);
    expect(report.herd?.passed).toBe(false);
    const [finding] = report.findings;
    expect(finding?.kind).toBe('other-instance');
    // A failed login on one instance; the form on the other does not know why (no message).
    expect(finding?.request).toMatchObject({ method: 'GET', path: '/login', status: 200 });
    expect(finding?.previous).toMatchObject({ method: 'POST', path: '/login', status: 302 });
    expect(finding?.previous?.instance).not.toBe(finding?.request?.instance);
  });

  it('and drove check --static agrees: the twin is flagged, the app on drove sessions is not', async () => {
    const app = await droveCheck(ws.app('passport-express'), ['--static', '--json']);
    expect(app.code, app.stdout + app.stderr).toBe(0);
    const twin = await droveCheck(ws.app('passport-express-memory'), ['--static', '--json']);
    expect(twin.code, twin.stdout + twin.stderr).toBe(1);
    expect(twin.stdout).toContain('drove/no-memory-session-store');
  });
});
