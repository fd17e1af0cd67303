/**
 * The conformance suite against a private memcached (outages through a loopback relay), plus what
 * is particular to Memcached: keys spread over two servers, and the server's own item size limit.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroveError } from '../../src/errors.js';
import { createStore } from '../../src/stores/index.js';
import { createMemcachedStore } from '../../src/stores/memcached.js';
import { type MemcachedServer, startMemcached } from '../helpers/memcached.js';
import { testStore } from './conformance.js';

let server: MemcachedServer;
let second: MemcachedServer;
const address = { host: '127.0.0.1', port: 0 };

beforeAll(async () => {
  [server, second] = await Promise.all([startMemcached(), startMemcached()]);
  address.port = server.port;
});
afterAll(async () => {
  await Promise.all([server?.stop(), second?.stop()]);
});

testStore({
  name: 'memcached',
  create: (options) => createStore(`memcached://127.0.0.1:${server.port}`, options),
  createVia: (relay, options) =>
    createMemcachedStore({ ...options, servers: [{ host: relay.host, port: relay.port }] }),
  server: address,
  expirySlackMs: 1000,
});

describe('memcached specifics', () => {
  it('spreads keys over two servers, and every key reads back', async () => {
    const url = `memcached://127.0.0.1:${server.port},127.0.0.1:${second.port}`;
    const prefix = `two${randomUUID().slice(0, 8)}:`;
    const both = createStore(url, { prefix });
    const onlyFirst = createStore(`memcached://127.0.0.1:${server.port}`, { prefix });
    const onlySecond = createStore(`memcached://127.0.0.1:${second.port}`, { prefix });
    try {
      await both.ready();
      const keys = Array.from({ length: 40 }, (_, i) => `spread-${i}`);
      for (const key of keys) {
        expect((await both.create(key, key, { ttlMs: 30_000, owner: 'u1' })).ok).toBe(true);
      }
      for (const key of keys) expect((await both.get(key))?.value.toString()).toBe(key);
      const onFirst = (await Promise.all(keys.map((k) => onlyFirst.get(k)))).filter(Boolean);
      const onSecond = (await Promise.all(keys.map((k) => onlySecond.get(k)))).filter(Boolean);
      // Each key on exactly one server, and both servers used.
      expect(onFirst.length + onSecond.length).toBe(keys.length);
      expect(onFirst.length).toBeGreaterThan(0);
      expect(onSecond.length).toBeGreaterThan(0);
      // The owner index may live on either server; it still lists keys from both.
      expect(await both.ownedBy('u1')).toEqual([...keys].sort());
      // The order of the servers in the URL does not matter.
      const reversed = createStore(
        `memcached://127.0.0.1:${second.port},127.0.0.1:${server.port}`,
        { prefix },
      );
      try {
        for (const key of keys) expect((await reversed.get(key))?.value.toString()).toBe(key);
      } finally {
        await reversed.close();
      }
    } finally {
      await Promise.all([both.close(), onlyFirst.close(), onlySecond.close()]);
    }
  });

  it('refuses a value over the server item size with DROVE_ERR_VALUE_TOO_LARGE and keeps the old one', async () => {
    // memcached's default item size is 1 MiB, the store's default maxValueSize is 1 MiB too.
    const store = createStore(`memcached://127.0.0.1:${server.port}`, {
      prefix: `big${randomUUID().slice(0, 8)}:`,
    });
    try {
      await store.ready();
      const created = await store.create('k', 'small', { ttlMs: 30_000 });
      if (!created.ok) throw new Error('create failed');
      const err = await store
        .update('k', Buffer.alloc(1024 * 1024), { version: created.version, ttlMs: 30_000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DroveError);
      expect((err as DroveError).code).toBe('DROVE_ERR_VALUE_TOO_LARGE');
      // memcached itself would have dropped the old item on an oversized set: it was never sent.
      expect((await store.get('k'))?.value.toString()).toBe('small');
      const large = Buffer.alloc(1024 * 1024 - 4096, 7);
      const updated = await store.update('k', large, { version: created.version, ttlMs: 30_000 });
      expect(updated.ok).toBe(true);
      expect((await store.get('k'))?.value.equals(large)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('an entry moved to another owner leaves the first index and joins the second', async () => {
    const store = createStore(`memcached://127.0.0.1:${server.port}`, {
      prefix: `own${randomUUID().slice(0, 8)}:`,
    });
    try {
      const created = await store.create('s', 'x', { ttlMs: 30_000, owner: 'alice' });
      if (!created.ok) throw new Error('create failed');
      const moved = await store.update('s', 'y', {
        version: created.version,
        ttlMs: 30_000,
        owner: 'bob',
      });
      expect(moved.ok).toBe(true);
      expect(await store.ownedBy('alice')).toEqual([]);
      expect(await store.ownedBy('bob')).toEqual(['s']);
      expect(await store.deleteOwned('alice')).toBe(0);
      expect((await store.get('s'))?.owner).toBe('bob');
    } finally {
      await store.close();
    }
  });

  it('converts a TTL over 30 days to the absolute time memcached expects', async () => {
    const store = createStore(`memcached://127.0.0.1:${server.port}`, {
      prefix: `ttl${randomUUID().slice(0, 8)}:`,
    });
    try {
      const days40 = 40 * 24 * 3600 * 1000;
      const created = await store.create('long', 'x', { ttlMs: days40 });
      expect(created.ok).toBe(true);
      const entry = await store.get('long');
      // Sent as a relative TTL, memcached would read it as a date in 1970 and drop the entry.
      expect(entry?.value.toString()).toBe('x');
      expect(entry!.expiresAt).toBeGreaterThan(Date.now() + days40 - 60_000);
      const touched = await store.touch('long', days40 * 2);
      expect(touched).toBeGreaterThan(Date.now() + days40 * 2 - 60_000);
      expect((await store.get('long'))!.expiresAt).toBeGreaterThan(
        Date.now() + days40 * 2 - 60_000,
      );
    } finally {
      await store.close();
    }
  });
});
