/**
 * The schema, applied by the release phase (`release:` in the Procfile) before any process
 * starts. Idempotent: every statement is CREATE ... IF NOT EXISTS.
 */
import type { Database } from './db.js';

export async function migrate(db: Database): Promise<void> {
  const id = db.kind === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  const statements = [
    `CREATE TABLE IF NOT EXISTS users (
       id ${id},
       email TEXT NOT NULL UNIQUE,
       password_hash TEXT NOT NULL,
       created_at BIGINT NOT NULL)`,
    // One row per submitted file: the job and, once done, its result (written once, fenced by
    // the lease token of the worker that computed it).
    `CREATE TABLE IF NOT EXISTS digests (
       id ${id},
       user_id BIGINT NOT NULL,
       source TEXT NOT NULL,
       name TEXT NOT NULL,
       status TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       max_attempts INTEGER NOT NULL DEFAULT 3,
       lease_token TEXT,
       lease_expires_at BIGINT,
       worker TEXT,
       phase TEXT,
       progress_bytes BIGINT NOT NULL DEFAULT 0,
       total_bytes BIGINT,
       error TEXT,
       result TEXT,
       result_writes INTEGER NOT NULL DEFAULT 0,
       created_at BIGINT NOT NULL,
       finished_at BIGINT)`,
    'CREATE INDEX IF NOT EXISTS digests_user ON digests (user_id, id)',
    'CREATE INDEX IF NOT EXISTS digests_claim ON digests (status, lease_expires_at)',
  ];
  for (const sql of statements) await db.run(sql);
}
