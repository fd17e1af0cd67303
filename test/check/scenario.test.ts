/**
 * `drove check --scenario FILE` end to end: requests and expectations from a JSON file, with a
 * cookie jar and captured values, against the same fixtures as the test-command suite.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droveCheck, Workspace } from './apps.js';

let ws: Workspace;
const env = () => ({ STORE_URL: `sqlite:${ws.file('sessions')}.db`, DB_FILE: ws.file('data') });
beforeAll(() => {
  ws = new Workspace();
});
afterAll(() => ws?.remove());

describe('drove check --scenario', { timeout: 120_000 }, () => {
  it('flags in-memory sessions at the step that failed (the cookie jar carries the login)', async () => {
    const run = await droveCheck(
      ws.app('session-memory'),
      ['--scenario', 'scenario.json', '--json'],
      env(),
    );
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const [finding] = run.report?.findings ?? [];
    expect(finding?.step?.name).toBe('who am I');
    expect(finding?.step?.reason).toMatch(/status 401, expected 200/);
    expect(finding?.request).toMatchObject({ seq: 2, method: 'GET', path: '/me', status: 401 });
    expect(finding?.previous?.instance).not.toBe(finding?.request?.instance);
  });

  it('passes the twin on a shared store', async () => {
    const run = await droveCheck(
      ws.app('session-store'),
      ['--scenario', 'scenario.json', '--json'],
      env(),
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.report?.herd?.outputTail).toEqual([
      'ok 1 log in (200)',
      'ok 2 who am I (200)',
      'ok 3 still me (200)',
    ]);
  });

  it('captures values for later requests: an upload read back elsewhere is flagged, its twin passes', async () => {
    const local = await droveCheck(
      ws.app('upload-local'),
      ['--scenario', 'scenario.json', '--json'],
      env(),
    );
    expect(local.code, local.stdout + local.stderr).toBe(1);
    expect(local.report?.findings[0]?.step?.name).toBe('download');
    expect(local.report?.findings[0]?.request?.path).toMatch(/^\/files\/[0-9a-f-]{36}$/);
    const twin = await droveCheck(
      ws.app('upload-store'),
      ['--scenario', 'scenario.json', '--json'],
      env(),
    );
    expect(twin.code, twin.stdout + twin.stderr).toBe(0);
    expect(twin.report?.herd?.requests).toHaveLength(4);
  });

  it('refuses a scenario that does not fit the schema, naming the field (exit 2)', async () => {
    const app = ws.app('session-store');
    writeFileSync(
      join(app, 'bad.json'),
      JSON.stringify({ requests: [{ path: 'me', expect: { status: '200' } }] }),
    );
    const run = await droveCheck(app, ['--scenario', 'bad.json', '--json'], env());
    expect(run.code).toBe(2);
    expect(run.report?.reason).toMatch(/requests\.0\.path/);
    expect(run.report?.reason).toMatch(/requests\.0\.expect\.status/);
    expect(run.report?.reason).toMatch(/DROVE_ERR_INVALID_OPTION/);
  });
});
