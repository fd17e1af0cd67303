import { InvalidOptionError } from '../errors.js';
import type { Store, StoreOptions } from './types.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://` or `postgresql://` connection string. */
  connectionString: string;
  /** Table name. Default `drove_store`. */
  table?: string;
  /** Create the table and indexes on `ready()` under an advisory lock. Default true; set false when a release phase runs the SQL. */
  migrate?: boolean;
}

/** PLACEHOLDER: being implemented. */
export function createPostgresStore(_options: PostgresStoreOptions): Store {
  throw new InvalidOptionError({ option: 'postgres', reason: 'not implemented yet' });
}
