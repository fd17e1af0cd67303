/**
 * express-session and connect-pg-simple for tests, loaded without their types:
 * @types/express-session augments Express.Request with its own `session`, which would clash
 * with drove's augmentation in this one TypeScript program. The packages are the real ones.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type Callback = (err: unknown, value?: unknown) => void;

/** An express-session store, as the old apps use them. */
export interface OldStore {
  get(sid: string, callback: Callback): void;
  set(sid: string, session: unknown, callback: Callback): void;
  destroy(sid: string, callback: Callback): void;
}

export const expressSession = require('express-session') as { MemoryStore: new () => OldStore };

type PgStoreClass = new (options: {
  pool: unknown;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false;
}) => OldStore;
export const connectPgSimple = require('connect-pg-simple') as (session: unknown) => PgStoreClass;
