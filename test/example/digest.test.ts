/**
 * The digest example end to end, in headless Chromium through drove's balancer: on embedded
 * defaults (SQLite), on PostgreSQL + Redis, and with a worker SIGKILLed mid-job.
 */
import { readdirSync } from 'node:fs';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../examples/digest/src/db.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { userJourney } from './flow.js';
import {
  type FileServer,
  type Formation,
  launchBrowser,
  startFileServer,
  startFormation,
} from './harness.js';

describe('digest example', () => {
  let browser: Browser;
  let files: FileServer;
  const formations: Formation[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    files = await startFileServer(50, 10);
  });
  afterAll(async () => {
    await Promise.all(formations.map((f) => f.stop()));
    await browser?.close();
    await files?.close();
  });

  it('survives a web crash and a worker restart on embedded SQLite', async () => {
    const formation = await startFormation('sqlite', {});
    formations.push(formation);
    await userJourney(browser, formation, files, 'sqlite');
  }, 240_000);

  describe('on PostgreSQL and Redis', () => {
    let database: TestDatabase;
    let redis: RedisServer;
    beforeAll(async () => {
      database = await createTestDatabase();
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
      await database?.drop();
    });

    it('runs the same journey', async () => {
      const formation = await startFormation('postgres-redis', {
        DATABASE_URL: database.url,
        SESSION_STORE_URL: redis.url,
      });
      formations.push(formation);
      await userJourney(browser, formation, files, 'postgres-redis');
      await formation.stop();
    }, 240_000);
  });

  it('finishes a job exactly once after its worker is SIGKILLed mid-download, and sweeps its scratch', async () => {
    const formation = await startFormation('worker-kill', { DIGEST_LEASE_MS: '2000' });
    formations.push(formation);
    const db = await openDatabase(formation.env.DATABASE_URL!);
    try {
      await db.run(
        "INSERT INTO digests (user_id, source, name, status, created_at) VALUES (1, 'url', ?, 'queued', ?)",
        [`${files.url}/big.bin`, Date.now()],
      );
      const progressing = async () => {
        const [row] = await db.query<{ progress_bytes: number; status: string }>(
          'SELECT * FROM digests',
        );
        return row!.status === 'running' && Number(row!.progress_bytes) > 0;
      };
      await waitFor('the worker to be downloading', progressing, { timeoutMs: 30_000 });
      const scratch = formation.env.DROVE_SCRATCH_DIR!;
      const leftBehind = readdirSync(scratch);
      expect(leftBehind.length).toBeGreaterThan(0);
      const killed = await formation.crash('worker.1');

      await waitFor(
        'the job to finish',
        async () => {
          const [row] = await db.query<{ status: string }>('SELECT status FROM digests');
          return row!.status === 'done' || row!.status === 'failed';
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      const [row] = await db.query<{
        status: string;
        result: string;
        result_writes: number;
        attempts: number;
      }>('SELECT * FROM digests');
      expect(row).toMatchObject({ status: 'done', result_writes: 1, attempts: 2 });
      expect(JSON.parse(row!.result).sha256).toBe(files.big.sha256);
      const worker = (await formation.ps()).find((r) => r.name === 'worker.1');
      expect(worker?.pid).not.toBe(killed.pid);
      // The dead worker's directory was swept by its successor; the successor's own is gone too.
      for (const name of leftBehind) expect(readdirSync(scratch)).not.toContain(name);
      expect(readdirSync(scratch).filter((n) => !n.startsWith('.'))).toEqual([]);
    } finally {
      await db.close();
      await formation.stop();
    }
  }, 180_000);
});
