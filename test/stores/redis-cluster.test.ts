/**
 * The conformance suite against a real local 3-master Redis Cluster (no relay: cluster nodes
 * announce their own ports, so a relay cannot stand in front of them), plus a second throwaway
 * cluster whose nodes are all killed: the store must fail fast, not hang.
 */
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { DroveError } from '../../src/errors.js';
import { createStore } from '../../src/stores/index.js';
import { startRedisCluster } from '../helpers/redis.js';
import { testStore } from './conformance.js';

const cluster = await startRedisCluster();
afterAll(async () => {
  await cluster.stop();
});

testStore({
  name: 'redis-cluster',
  create: (options) => createStore(cluster.url, options),
});

describe('redis-cluster store specifics', () => {
  it('spreads entries and owner indexes over several masters', async () => {
    const prefix = `spread${Date.now()}:`;
    const store = createStore(cluster.url, { prefix });
    const raw = new Cluster(cluster.nodes);
    try {
      await store.ready();
      for (let i = 0; i < 30; i++) {
        await store.create(`k${i}`, `v${i}`, { ttlMs: 30_000, owner: `u${i % 3}` });
      }
      const slots = new Set(
        await Promise.all(
          Array.from({ length: 30 }, (_, i) => raw.cluster('KEYSLOT', `${prefix}e:k${i}`)),
        ),
      );
      // 30 keys in one slot would mean the scripts were never tested across nodes.
      expect(slots.size).toBeGreaterThan(3);
      expect(await store.ownedBy('u0')).toHaveLength(10);
      expect(await store.deleteOwned('u1')).toBe(10);
      expect(await store.ownedBy('u1')).toEqual([]);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a cluster whose nodes are all killed fails fast with DROVE_ERR_STORE_UNAVAILABLE', async () => {
    const doomed = await startRedisCluster();
    const store = createStore(doomed.url, { timeoutMs: 500 });
    try {
      await store.ready();
      expect((await store.create('k', 'v', { ttlMs: 30_000 })).ok).toBe(true);
      await doomed.stop();
      for (let round = 0; round < 3; round++) {
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
      }
    } finally {
      await store.close();
      await doomed.stop();
    }
  });
});
