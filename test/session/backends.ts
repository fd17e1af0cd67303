/** The real backends the session suite runs on, each started privately for the test file. */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { startMemcached } from '../helpers/memcached.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';

export type BackendName = 'sqlite' | 'redis' | 'memcached' | 'postgres';

export interface Backend {
  name: BackendName;
  /** The store URL (for spawned processes). */
  url: string;
  /** A new store with a private key prefix. */
  create(prefix?: string): Store;
  stop(): Promise<void>;
}

export async function startBackend(name: BackendName): Promise<Backend> {
  const prefixed =
    (url: string) =>
    (prefix = `s${randomUUID().slice(0, 8)}:`) =>
      createStore(url, { prefix, timeoutMs: 3000 });
  switch (name) {
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'drove-session-'));
      const url = `sqlite:${join(dir, 'sessions.db')}`;
      return {
        name,
        url,
        create: prefixed(url),
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case 'redis': {
      const server = await startRedis();
      return { name, url: server.url, create: prefixed(server.url), stop: () => server.stop() };
    }
    case 'memcached': {
      const server = await startMemcached();
      const url = `memcached://${server.host}:${server.port}`;
      return { name, url, create: prefixed(url), stop: () => server.stop() };
    }
    case 'postgres': {
      const db = await createTestDatabase();
      return { name, url: db.url, create: prefixed(db.url), stop: () => db.drop() };
    }
  }
}
