/**
 * `drove check -- TEST_COMMAND` end to end, as a user runs it: each fixture app with one kind of
 * hidden state is flagged (exit 1) with the request that failed, and its stateless twin passes
 * (exit 0); `--hosts` flags a SQLite file under the app folder that the plain mode passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { droveCheck, Workspace } from './apps.js';

const TEST = ['--json', '--', 'node', 'test.mjs'];

let ws: Workspace;
let redis: RedisServer;
const env = () => ({
  STORE_URL: `sqlite:${ws.file('sessions')}.db`,
  DB_FILE: ws.file('data'),
  REDIS_URL: redis.url,
});

beforeAll(async () => {
  ws = new Workspace();
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  ws?.remove();
});

/** Each stateful fixture, what its failing request looks like, and its stateless twin. */
const PAIRS = [
  { stateful: 'session-memory', twin: 'session-store', method: 'GET', path: '/me', status: 401 },
  { stateful: 'cache-map', twin: 'cache-none', method: 'GET', path: '/prices/item-0', status: 200 },
  { stateful: 'upload-local', twin: 'upload-store', method: 'GET', path: '/files/', status: 404 },
  {
    stateful: 'ratelimit-memory',
    twin: 'ratelimit-redis',
    method: 'POST',
    path: '/send?key=',
    status: 200,
  },
] as const;

describe('drove check, one kind of hidden state per app', { timeout: 120_000 }, () => {
  for (const pair of PAIRS) {
    it(`flags ${pair.stateful} with the failing request and where it was served`, async () => {
      const run = await droveCheck(ws.app(pair.stateful), TEST, env());
      expect(run.code, run.stdout + run.stderr).toBe(1);
      const report = run.report!;
      expect(report.result).toBe('findings');
      expect(report.alone?.passed).toBe(true);
      expect(report.herd?.passed).toBe(false);
      const [finding] = report.findings;
      expect(finding?.kind).toBe('other-instance');
      expect(finding?.request?.method).toBe(pair.method);
      expect(finding?.request?.path.startsWith(pair.path)).toBe(true);
      expect(finding?.request?.status).toBe(pair.status);
      // The client's previous request went to the other instance: that is the whole finding.
      expect(finding?.previous?.instance).toBeDefined();
      expect(finding?.previous?.instance).not.toBe(finding?.request?.instance);
    });

    it(`passes ${pair.twin}, its stateless twin`, async () => {
      const run = await droveCheck(ws.app(pair.twin), TEST, env());
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.report?.result).toBe('stateless');
      expect(run.report?.findings).toEqual([]);
      // The herd really spread the client: its requests reached both instances.
      const served = new Set(run.report?.herd?.requests.map((r) => r.instance?.split('@')[0]));
      expect(served).toEqual(new Set(['web.1', 'web.2']));
    });
  }

  it('passes a SQLite session file under the app folder without --hosts', async () => {
    const run = await droveCheck(ws.app('sqlite-app-folder'), TEST, env());
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });

  it('flags it with --hosts: two machines do not share a file', async () => {
    const run = await droveCheck(ws.app('sqlite-app-folder'), ['--hosts', ...TEST], env());
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.report?.mode.hosts).toBe(true);
    expect(run.report?.findings[0]?.request).toMatchObject({
      method: 'GET',
      path: '/me',
      status: 401,
    });
  });

  it('passes the twin with its file outside the app folder, with --hosts', async () => {
    const run = await droveCheck(ws.app('sqlite-shared'), ['--hosts', ...TEST], env());
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });

  it('prints a readable report naming the request, both instances and the restart', async () => {
    const run = await droveCheck(ws.app('session-memory'), ['--', 'node', 'test.mjs'], env());
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /failing request: +GET \/me -> 401 \(request \d+, served by web\.\d@\d+\)/,
    );
    expect(run.stdout).toMatch(
      /client's previous: POST \/login -> 200 \(request \d+, served by web\.\d@\d+\)/,
    );
    expect(run.stdout).toContain('restart before it: none');
    expect(run.stdout).toContain('not ok: stays logged in (401)');
  });
});

describe('drove check, restarts', { timeout: 120_000 }, () => {
  const slow = { ROUNDS: '8', PAUSE_MS: '300' };

  it('restarts an instance every N requests, rolling, and a stateless app still passes', async () => {
    const run = await droveCheck(ws.app('session-store'), ['--restart-every', '3', ...TEST], {
      ...env(),
      ...slow,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const restarts = run.report?.herd?.restarts ?? [];
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts.every((r) => r.how === 'graceful')).toBe(true);
    // A rolling restart moves the instance to its other port: requests reached the new one.
    const ports = new Set(run.report?.herd?.requests.map((r) => r.instance));
    expect(ports.size).toBeGreaterThan(2);
  });

  it('with --kill, SIGKILLs drained instances, and a stateless app still passes', async () => {
    const run = await droveCheck(
      ws.app('session-store'),
      ['--restart-every', '3', '--kill', ...TEST],
      { ...env(), ...slow },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const restarts = run.report?.herd?.restarts ?? [];
    expect(restarts.some((r) => r.how === 'kill')).toBe(true);
    // Drained first: no request was cut or answered by the balancer with a gateway error.
    const statuses = run.report?.herd?.requests.map((r) => r.status) ?? [];
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('with --kill, still flags in-memory sessions', async () => {
    const run = await droveCheck(
      ws.app('session-memory'),
      ['--restart-every', '3', '--kill', ...TEST],
      { ...env(), ...slow },
    );
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.report?.findings[0]?.request?.status).toBe(401);
  });
});

describe('drove check, when it cannot run (exit 2)', { timeout: 60_000 }, () => {
  it('says so when the app does not start', async () => {
    const app = ws.app('session-store');
    const run = await droveCheck(app, TEST, { ...env(), STORE_URL: 'nope://' });
    expect(run.code).toBe(2);
    expect(run.report?.result).toBe('error');
    expect(run.report?.reason).toMatch(/the app does not start/);
    expect(run.report?.logTail?.join('\n')).toMatch(/DROVE_ERR_STORE_SCHEME/);
  });

  it('says so when the test command is missing', async () => {
    const run = await droveCheck(
      ws.app('session-store'),
      ['--json', '--', 'no-such-test-runner'],
      env(),
    );
    expect(run.code).toBe(2);
    expect(run.report?.reason).toMatch(/test command could not be run/);
  });

  it('says so when no test command is given', async () => {
    const run = await droveCheck(ws.app('session-store'), ['--json'], env());
    expect(run.code).toBe(2);
    expect(run.report?.reason).toMatch(/no test command/);
  });

  it('says so when the tests fail against one plain instance already', async () => {
    const run = await droveCheck(
      ws.app('session-store'),
      ['--json', '--', 'node', '-e', 'process.exit(3)'],
      env(),
    );
    expect(run.code).toBe(2);
    expect(run.report?.reason).toMatch(/fail against one plain instance \(exit 3\)/);
    expect(run.report?.herd).toBeUndefined();
  });

  it('refuses a herd of one', async () => {
    const run = await droveCheck(ws.app('session-store'), ['-m', 'web=1', ...TEST], env());
    expect(run.code).toBe(2);
    expect(run.report?.reason).toMatch(/at least 2 web instances/);
  });
});
