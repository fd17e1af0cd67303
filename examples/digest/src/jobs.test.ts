import { describe, expect, it } from 'vitest';
import { openDatabase } from './db.js';
import { claim, enqueueUrl, fail, failAbandoned, finish, heartbeat, listForUser } from './jobs.js';
import { migrate } from './migrate.js';

async function freshDb() {
  const db = await openDatabase('sqlite::memory:');
  await migrate(db);
  return db;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('job table protocol (SQLite)', () => {
  it('claim() hands each queued job to exactly one worker', async () => {
    const db = await freshDb();
    for (let i = 0; i < 5; i++) await enqueueUrl(db, 1, `https://example.com/${i}`);
    const leases = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claim(db, `w${i}`, 60_000)),
    );
    const ids = leases.filter((l) => l !== undefined).map((l) => l.id);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  it('a stalled worker whose lease was taken over cannot heartbeat or write its result', async () => {
    const db = await freshDb();
    const id = await enqueueUrl(db, 1, 'https://example.com/big');
    const stalled = await claim(db, 'slow', 50);
    expect(stalled?.id).toBe(id);
    await sleep(80);
    const current = await claim(db, 'fast', 60_000);
    expect(current?.id).toBe(id);
    expect(current?.row.attempts).toBe(2);
    expect(
      await heartbeat(db, stalled!, 60_000, { phase: 'downloading', bytes: 1, total: 2 }),
    ).toBe(false);
    expect(await finish(db, stalled!, { sha256: 'stale' })).toBe(false);
    expect(await finish(db, current!, { sha256: 'fresh' })).toBe(true);
    expect(await finish(db, current!, { sha256: 'twice' })).toBe(false);
    const [row] = await listForUser(db, 1);
    expect(row).toMatchObject({ status: 'done', result_writes: 1, worker: 'fast' });
    expect(JSON.parse(row!.result!)).toEqual({ sha256: 'fresh' });
  });

  it('fail() ends a job on a permanent error and requeues it on a transient one until attempts run out', async () => {
    const db = await freshDb();
    await enqueueUrl(db, 1, 'ftp://nope');
    const first = await claim(db, 'w', 60_000);
    await fail(db, first!, 'Only http:// and https:// URLs can be digested', true);
    expect((await listForUser(db, 1))[0]).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('http'),
    });
    expect(await claim(db, 'w', 60_000)).toBeUndefined();

    await enqueueUrl(db, 2, 'https://example.com/flaky');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const lease = await claim(db, 'w', 60_000);
      expect(lease?.row.attempts).toBe(attempt);
      await fail(db, lease!, 'connection reset', false);
    }
    expect((await listForUser(db, 2))[0]!.status).toBe('failed');
    expect(await claim(db, 'w', 60_000)).toBeUndefined();
  });

  it('failAbandoned() fails a job whose last allowed lease expired', async () => {
    const db = await freshDb();
    await enqueueUrl(db, 1, 'https://example.com/crashy');
    for (let i = 0; i < 3; i++) {
      expect(await claim(db, 'w', 1)).toBeDefined();
      await sleep(5);
    }
    expect(await claim(db, 'w', 1)).toBeUndefined();
    expect(await failAbandoned(db)).toBe(1);
    expect((await listForUser(db, 1))[0]).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('3 times'),
    });
  });

  it('failAbandoned() says what a killed worker was doing, from its last heartbeat', async () => {
    const db = await freshDb();
    await enqueueUrl(db, 1, 'https://example.com/killed');
    for (let i = 0; i < 3; i++) {
      const lease = await claim(db, 'w', 1);
      expect(lease).toBeDefined();
      await heartbeat(db, lease!, 1, { phase: 'downloading', bytes: 1234 + i, total: undefined });
      await sleep(5);
    }
    expect(await failAbandoned(db)).toBe(1);
    expect((await listForUser(db, 1))[0]!.error).toBe(
      'The worker processing this file stopped 3 times without a word (the last time while downloading, after 1236 bytes); giving up.',
    );
  });
});
