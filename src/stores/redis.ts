import { InvalidOptionError } from '../errors.js';
import type { Store, StoreOptions } from './types.js';

/** Options of the Redis store (standalone or Cluster). */
export interface RedisStoreOptions extends StoreOptions {
  /** `redis://` or `rediss://` URL of a standalone server (or a cluster seed with `cluster: true`). */
  url?: string;
  /** Redis Cluster: the seed nodes, or `true` to use `url` as the seed. */
  cluster?: boolean | { host: string; port: number }[];
}

/** PLACEHOLDER: being implemented. */
export function createRedisStore(_options: RedisStoreOptions): Store {
  throw new InvalidOptionError({ option: 'redis', reason: 'not implemented yet' });
}
