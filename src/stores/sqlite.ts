import { InvalidOptionError } from '../errors.js';
import type { Store, StoreOptions } from './types.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions {
  /** Database file, or `:memory:`. */
  path: string;
}

/** PLACEHOLDER: being implemented. */
export function createSqliteStore(_options: SqliteStoreOptions): Store {
  throw new InvalidOptionError({ option: 'sqlite', reason: 'not implemented yet' });
}
