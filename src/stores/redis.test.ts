import { describe, expect, it } from 'vitest';
import { DroveError } from '../errors.js';
import { createStore } from './index.js';
import { createRedisStore } from './redis.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DroveError);
    return (err as DroveError).code;
  }
  return 'no throw';
};

describe('createRedisStore()', () => {
  it('names the driver after the topology', () => {
    expect(createRedisStore({ url: 'redis://127.0.0.1:6379' }).name).toBe('redis');
    expect(createStore('redis+cluster://127.0.0.1:7000,127.0.0.1:7001').name).toBe('redis-cluster');
    expect(createRedisStore({ url: 'redis://127.0.0.1:7000', cluster: true }).name).toBe(
      'redis-cluster',
    );
  });

  it('refuses a URL that is not redis:// or rediss://, and an empty seed list', () => {
    expect(codeOf(() => createRedisStore({ url: 'http://127.0.0.1:6379' }))).toBe(
      'DROVE_ERR_STORE_URL',
    );
    expect(codeOf(() => createRedisStore({ cluster: [] }))).toBe('DROVE_ERR_INVALID_OPTION');
  });

  it('checks arguments before connecting', async () => {
    const store = createRedisStore({ url: 'redis://127.0.0.1:1' });
    await expect(store.get('has space')).rejects.toMatchObject({ code: 'DROVE_ERR_INVALID_KEY' });
    await expect(store.create('k', 'v', { ttlMs: 0 })).rejects.toMatchObject({
      code: 'DROVE_ERR_INVALID_OPTION',
    });
    await store.close();
    await expect(store.get('k')).rejects.toMatchObject({ code: 'DROVE_ERR_STORE_CLOSED' });
  });
});
