/**
 * The conformance suite against a private standalone redis-server, with outages through a
 * loopback relay, plus Redis-specific checks: the entry and its tombstone are one key, touch
 * sends no value, and a stopped server fails fast and heals.
 */
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { DroveError } from '../../src/errors.js';
import { createStore } from '../../src/stores/index.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { waitFor } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';
import { testStore } from './conformance.js';

const server = await startRedis();
afterAll(async () => {
  await server.stop();
});

testStore({
  name: 'redis',
  create: (options) => createStore(server.url, options),
  createVia: (relay, options) => createStore(`redis://${relay.host}:${relay.port}`, options),
  server: { host: server.host, port: server.port },
});

// The same semantics with ioredis auto-pipelining (commands of one tick share a write).
testStore({
  name: 'redis',
  create: (options) => createStore(server.url, { ...options, autoPipelining: true }),
});

describe('redis store specifics', () => {
  it('keeps an entry and its tombstone in one key, and touch never rewrites the value', async () => {
    const prefix = `spec${Date.now()}:`;
    const store = createRedisStore({ url: server.url, prefix, tombstoneTtlMs: 60_000 });
    const raw = new Redis(server.url);
    try {
      await store.ready();
      const created = await store.create('k', 'value', { ttlMs: 30_000, owner: 'u1' });
      expect(created.ok).toBe(true);
      expect(await raw.keys(`${prefix}*`)).toEqual(
        expect.arrayContaining([`${prefix}e:k`, `${prefix}o:u1`]),
      );
      expect(await raw.hget(`${prefix}e:k`, 'v')).toBe('value');
      // MONITOR the server while touching: only the touch script and no value travel.
      const monitor = await raw.duplicate().monitor();
      const seen: string[] = [];
      monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
      expect(await store.touch('k', 60_000)).toBeGreaterThan(Date.now() + 50_000);
      await new Promise((r) => setTimeout(r, 200));
      monitor.disconnect();
      expect(seen.some((line) => line.includes('value'))).toBe(false);
      expect(seen.some((line) => /pexpire/i.test(line))).toBe(true);
      expect(await raw.pttl(`${prefix}o:u1`)).toBeGreaterThan(50_000);

      await store.delete('k');
      expect(await raw.hgetall(`${prefix}e:k`)).toEqual({ gone: '1' });
      expect(await raw.pttl(`${prefix}e:k`)).toBeGreaterThan(50_000);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('reads with one plain HMGET, and expiry comes from the stored exp, a past one, or PTTL', async () => {
    const prefix = `read${Date.now()}:`;
    const store = createRedisStore({ url: server.url, prefix });
    const raw = new Redis(server.url);
    try {
      await store.ready();
      const created = await store.create('k', 'value', { ttlMs: 30_000 });
      if (!created.ok) throw new Error('create refused');
      expect(Number(await raw.hget(`${prefix}e:k`, 'exp'))).toBe(created.expiresAt);
      const monitor = await raw.duplicate().monitor();
      const seen: string[] = [];
      monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
      const entry = await store.get('k');
      await new Promise((r) => setTimeout(r, 200));
      monitor.disconnect();
      expect(entry?.expiresAt).toBe(created.expiresAt);
      expect(seen.filter((line) => line.includes(`${prefix}e:k`))).toEqual([
        `hmget ${prefix}e:k v ver own exp`,
      ]);

      // A writer whose clock runs ahead wrote an exp that is already past here: still live.
      await raw.hset(`${prefix}e:k`, 'exp', String(Date.now() - 60_000));
      const skewed = await store.get('k');
      expect(skewed?.value.toString()).toBe('value');
      expect(skewed!.expiresAt).toBeGreaterThan(Date.now() - 5);

      // An entry written without exp (an older drove) reads its expiry from the key's TTL.
      await raw.hdel(`${prefix}e:k`, 'exp');
      const legacy = await store.get('k');
      expect(legacy?.expiresAt).toBeGreaterThan(Date.now() + 25_000);
      expect(legacy!.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000);

      // Touch and update keep exp in step with the returned expiry.
      const touched = await store.touch('k', 50_000);
      expect(Number(await raw.hget(`${prefix}e:k`, 'exp'))).toBe(touched);
      const updated = await store.update('k', 'next', { version: entry!.version, ttlMs: 40_000 });
      if (!updated.ok) throw new Error('update refused');
      expect(Number(await raw.hget(`${prefix}e:k`, 'exp'))).toBe(updated.expiresAt);
      expect((await store.get('k'))?.expiresAt).toBe(updated.expiresAt);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('commands issued together while replies are owed leave in fewer socket writes', async () => {
    const own = await startRedis();
    const store = createRedisStore({ url: own.url });
    const raw = new Redis(own.url);
    try {
      await store.ready();
      const reads = async () =>
        Number(/total_reads_processed:(\d+)/.exec(await raw.info('stats'))?.[1]);
      const before = await reads();
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.get(`k${i}`)));
      // One read by the server per batch (the INFO calls add two); without coalescing, ~200.
      expect((await reads()) - before).toBeLessThan(20);
    } finally {
      raw.disconnect();
      await store.close();
      await own.stop();
    }
  });

  it('a stopped server fails fast with DROVE_ERR_STORE_UNAVAILABLE, and the store heals when it is back', async () => {
    // A throwaway server of its own, stopped and restarted on the same port.
    const own = await startRedis();
    const store = createRedisStore({ url: own.url, timeoutMs: 500 });
    try {
      await store.ready();
      await own.kill();
      const started = Date.now();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.get(`k${i}`)),
      );
      expect(Date.now() - started).toBeLessThan(5000);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as DroveError).code).toBe(
          'DROVE_ERR_STORE_UNAVAILABLE',
        );
      }
      await own.start();
      await waitFor('the store to heal', async () => {
        try {
          return (await store.create('back', 'yes', { ttlMs: 30_000 })).ok;
        } catch {
          return false;
        }
      });
      expect((await store.get('back'))?.value.toString()).toBe('yes');
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('a connection that goes silent without closing is abandoned within the timeout, then the store heals', async () => {
    // Unlike the relay's blackhole (which breaks open connections), this proxy keeps the open
    // socket and silently drops bytes: only the store's own silence watchdog can notice.
    let frozen = false;
    const proxy = createServer((client) => {
      const upstream = createConnection({ host: server.host, port: server.port });
      client.on('data', (chunk) => frozen || upstream.write(chunk));
      upstream.on('data', (chunk) => frozen || client.write(chunk));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) socket.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    const store = createStore(`redis://127.0.0.1:${port}`, { timeoutMs: 500, prefix: 'silent:' });
    try {
      await store.ready();
      expect((await store.create('k', 'v', { ttlMs: 30_000 })).ok).toBe(true);
      frozen = true;
      const err = await store.get('k').then(
        () => undefined,
        (e: DroveError) => e,
      );
      expect(err?.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
      // Long enough for the watchdog to give up on the silent socket.
      await new Promise((r) => setTimeout(r, 1500));
      frozen = false;
      const entry = await waitFor('the store to heal', async () => {
        try {
          return await store.get('k');
        } catch {
          return undefined;
        }
      });
      expect(entry.value.toString()).toBe('v');
      // A socket that lost bytes must not be reused: replies would go to the wrong callers.
      for (let i = 0; i < 3; i++) {
        expect(await store.get('absent')).toBeUndefined();
        expect((await store.get('k'))?.value.toString()).toBe('v');
      }
    } finally {
      await store.close();
      proxy.close();
    }
  });

  it('ready() fails at boot on an unreachable server', async () => {
    const store = createStore('redis://127.0.0.1:1', { timeoutMs: 500 });
    try {
      const err = await store.ready().then(
        () => undefined,
        (e: DroveError) => e,
      );
      expect(err?.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });
});
