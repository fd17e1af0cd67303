/**
 * The digest example passes `drove check`, with its stores on shared servers (PostgreSQL for the
 * data, Redis for the sessions): plain and with --hosts, with restarts, and its release phase run
 * first. A user's own smoke test (digest-smoke.mjs) is the test command.
 */
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { droveCheck, Workspace } from './apps.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/digest');
const SMOKE = join(import.meta.dirname, 'digest-smoke.mjs');

let ws: Workspace;
let redis: RedisServer;
let database: TestDatabase;
beforeAll(async () => {
  ws = new Workspace();
  [redis, database] = await Promise.all([startRedis(), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), database?.drop()]);
  ws?.remove();
});

const env = () => ({ DATABASE_URL: database.url, SESSION_STORE_URL: redis.url, ROUNDS: '2' });

describe('drove check on examples/digest', { timeout: 180_000 }, () => {
  it('passes with its stores on shared servers, with restarts', async () => {
    const app = ws.copy(EXAMPLE, 'digest-plain');
    const run = await droveCheck(
      app,
      ['-m', 'web=2,worker=1', '--restart-every', '5', '--json', '--', 'node', SMOKE],
      env(),
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.report?.herd?.requests.length).toBe(16);
    expect(run.report?.herd?.restarts.length).toBeGreaterThan(0);
    // Each client's requests went round the herd, never twice in a row to one instance.
    const served = run.report?.herd?.requests.map((r) => r.instance) ?? [];
    expect(
      served.every((instance, i) => i === 0 || instance !== served[i - 1]),
      JSON.stringify(served),
    ).toBe(true);
  });

  it('passes with --hosts too: nothing is kept on local disk', async () => {
    const app = ws.copy(EXAMPLE, 'digest-hosts');
    const run = await droveCheck(
      app,
      ['-m', 'web=2,worker=1', '--hosts', '--kill', '--json', '--', 'node', SMOKE],
      env(),
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.report?.mode.hosts).toBe(true);
  });
});
