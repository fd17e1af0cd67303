/**
 * Configuration, only from the environment (twelve-factor III). Defaults are the embedded ones:
 * SQLite files under .drove/ next to the Procfile, so `npm start` needs no server.
 */
export interface Config {
  databaseUrl: string;
  sessionStoreUrl: string;
  /** Largest upload or download, in bytes. */
  maxBytes: number;
  /** Private, loopback and reserved download targets: development and tests only. */
  allowPrivateTargets: boolean;
  downloadTimeoutMs: number;
  leaseMs: number;
  /** Name of this process in logs and in the job table (`web.1`, `worker.1`). */
  processName: string;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function readConfig(env = process.env): Config {
  const mode = env.NODE_ENV ?? 'production';
  return {
    databaseUrl: env.DATABASE_URL || 'sqlite:.drove/digest.db',
    sessionStoreUrl: env.SESSION_STORE_URL || 'sqlite:.drove/sessions.db',
    maxBytes: integer(env, 'DIGEST_MAX_BYTES', 1024 ** 3),
    allowPrivateTargets:
      env.DIGEST_ALLOW_PRIVATE_TARGETS === '1' || mode === 'development' || mode === 'test',
    downloadTimeoutMs: integer(env, 'DIGEST_DOWNLOAD_TIMEOUT_MS', 120_000),
    leaseMs: integer(env, 'DIGEST_LEASE_MS', 15_000),
    processName: env.PS ?? env.DYNO ?? `pid-${process.pid}`,
  };
}
