/**
 * Test-side store decorators around REAL stores: one counts round trips, the other runs the
 * store's expiry on the test's fake clock (the entries still live in the real backend).
 */
import type { Store } from '../../src/stores/types.js';

export interface CountingStore extends Store {
  /** Store calls since the last reset, by operation. */
  calls: string[];
  reset(): void;
}

/** Every call except ready/close is recorded, so tests can assert round trips per request. */
export function countingStore(inner: Store): CountingStore {
  const calls: string[] = [];
  const wrap =
    (name: keyof Store) =>
    (...args: unknown[]) => {
      calls.push(name);
      return (inner[name] as (...a: unknown[]) => unknown).apply(inner, args);
    };
  return {
    name: inner.name,
    calls,
    reset: () => {
      calls.length = 0;
    },
    ready: () => inner.ready(),
    close: () => inner.close(),
    get: wrap('get') as Store['get'],
    create: wrap('create') as Store['create'],
    update: wrap('update') as Store['update'],
    touch: wrap('touch') as Store['touch'],
    delete: wrap('delete') as Store['delete'],
    ownedBy: wrap('ownedBy') as Store['ownedBy'],
    deleteOwned: wrap('deleteOwned') as Store['deleteOwned'],
  };
}

/**
 * The store seen through a fake clock: each entry's expiry is reported as (fake time of its last
 * write or touch) + ttl, and entries past that are reported absent. The data itself lives in the
 * real store; only the passing of time is simulated, because real backends use their own clocks.
 */
export function fakeClockStore(inner: Store, now: () => number): Store {
  const expiry = new Map<string, number>();
  const live = (key: string) => {
    const at = expiry.get(key);
    return at !== undefined && at > now();
  };
  return {
    ...inner,
    ready: () => inner.ready(),
    close: () => inner.close(),
    ownedBy: (owner) => inner.ownedBy(owner),
    deleteOwned: (owner, options) => inner.deleteOwned(owner, options),
    delete: (key) => inner.delete(key),
    async get(key) {
      const entry = await inner.get(key);
      if (!entry || !live(key)) return undefined;
      return { ...entry, expiresAt: expiry.get(key)! };
    },
    async create(key, value, options) {
      const result = await inner.create(key, value, options);
      if (!result.ok) return result;
      expiry.set(key, now() + options.ttlMs);
      return { ...result, expiresAt: expiry.get(key)! };
    },
    async update(key, value, options) {
      if (!live(key)) return { ok: false, reason: 'missing' };
      const result = await inner.update(key, value, options);
      if (!result.ok) return result;
      expiry.set(key, now() + options.ttlMs);
      return { ...result, expiresAt: expiry.get(key)! };
    },
    async touch(key, ttlMs) {
      if (!live(key)) return undefined;
      const result = await inner.touch(key, ttlMs);
      if (result === undefined) return undefined;
      expiry.set(key, now() + ttlMs);
      return expiry.get(key);
    },
  };
}
