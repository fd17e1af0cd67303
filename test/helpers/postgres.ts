/**
 * Throwaway PostgreSQL databases on the machine's server (127.0.0.1:5432, user postgres, trust
 * auth): one `drove_test_<random>` database per test file, dropped in teardown. An unreachable
 * server fails loudly with the command that starts it; tests never skip silently.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_SERVER = { host: '127.0.0.1', port: 5432 };
const ADMIN_URL = `postgres://postgres@${POSTGRES_SERVER.host}:${POSTGRES_SERVER.port}/test`;

export interface TestDatabase {
  name: string;
  /** Connection string of the new database. */
  url: string;
  /** The same database reached through another host and port (a relay). */
  urlVia(address: { host: string; port: number }): string;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${(err as Error).message}). Start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect 15 main start`, or install it with ' +
        '`apt-get install -y postgresql` (or bash scripts/setup-machine.sh). The database "test" must exist.',
      { cause: err },
    );
  }
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh, empty database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `drove_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  const urlVia = ({ host, port }: { host: string; port: number }) =>
    `postgres://postgres@${host}:${port}/${name}`;
  return {
    name,
    url: urlVia(POSTGRES_SERVER),
    urlVia,
    drop: () =>
      admin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}
