import { InvalidOptionError } from '../errors.js';
import type { Store, StoreOptions } from './types.js';

/** Options of the Memcached store. */
export interface MemcachedStoreOptions extends StoreOptions {
  /** Servers; keys are spread over them by a hash of the key. */
  servers: { host: string; port: number }[];
}

/** PLACEHOLDER: being implemented. */
export function createMemcachedStore(_options: MemcachedStoreOptions): Store {
  throw new InvalidOptionError({ option: 'memcached', reason: 'not implemented yet' });
}
