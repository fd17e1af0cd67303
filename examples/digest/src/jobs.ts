/**
 * The job table protocol the workers follow, on SQLite or PostgreSQL:
 * - claim: one statement picks the oldest queued job (or a running one whose lease expired) and
 *   takes it with a fresh lease token; PostgreSQL adds FOR UPDATE SKIP LOCKED so workers never
 *   wait on each other, SQLite serialises writers anyway;
 * - heartbeat: extends the lease and stores progress, only while the token still matches;
 * - finish/fail: write the result only while the token still matches, so a stalled worker whose
 *   lease was taken over cannot write — exactly one result per job, from the current holder.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from './db.js';

export type DigestStatus = 'queued' | 'running' | 'done' | 'failed';

export interface DigestRow {
  id: number;
  user_id: number;
  source: 'url' | 'upload';
  name: string;
  status: DigestStatus;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  worker: string | null;
  phase: string | null;
  progress_bytes: number;
  total_bytes: number | null;
  error: string | null;
  result: string | null;
  result_writes: number;
  created_at: number;
  finished_at: number | null;
}

export interface Lease {
  id: number;
  token: string;
  row: DigestRow;
}

export async function enqueueUrl(db: Database, userId: number, url: string): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO digests (user_id, source, name, status, created_at) VALUES (?, 'url', ?, 'queued', ?) RETURNING id`,
    [userId, url, Date.now()],
  );
  return Number(row!.id);
}

/** An upload is processed inside the web request: it starts out running, leased to that request. */
export async function startUpload(
  db: Database,
  userId: number,
  name: string,
  worker: string,
): Promise<Lease> {
  const token = randomUUID();
  const [row] = await db.query<DigestRow>(
    `INSERT INTO digests (user_id, source, name, status, attempts, lease_token, lease_expires_at, worker, phase, created_at)
     VALUES (?, 'upload', ?, 'running', 1, ?, ?, ?, 'uploading', ?) RETURNING *`,
    [userId, name, token, Date.now() + 10 * 60_000, worker, Date.now()],
  );
  return { id: Number(row!.id), token, row: row! };
}

export async function claim(
  db: Database,
  worker: string,
  leaseMs: number,
): Promise<Lease | undefined> {
  const token = randomUUID();
  const now = Date.now();
  const lock = db.kind === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
  const [row] = await db.query<DigestRow>(
    `UPDATE digests
        SET status = 'running', attempts = attempts + 1, lease_token = ?, lease_expires_at = ?,
            worker = ?, phase = 'queued', progress_bytes = 0, error = NULL
      WHERE id = (SELECT id FROM digests
                   WHERE source = 'url' AND attempts < max_attempts
                     AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ?))
                   ORDER BY id LIMIT 1 ${lock})
      RETURNING *`,
    [token, now + leaseMs, worker, now],
  );
  return row ? { id: Number(row.id), token, row } : undefined;
}

/** Extend the lease and record progress. False when the lease was lost (taken over or finished). */
export async function heartbeat(
  db: Database,
  lease: Lease,
  leaseMs: number,
  progress: { phase: string; bytes: number; total: number | undefined },
): Promise<boolean> {
  const changed = await db.run(
    `UPDATE digests SET lease_expires_at = ?, phase = ?, progress_bytes = ?, total_bytes = ?
      WHERE id = ? AND lease_token = ? AND status = 'running'`,
    [
      Date.now() + leaseMs,
      progress.phase,
      progress.bytes,
      progress.total ?? null,
      lease.id,
      lease.token,
    ],
  );
  return changed === 1;
}

/** Store the result, fenced by the lease token. False when this worker no longer holds the job. */
export async function finish(db: Database, lease: Lease, result: unknown): Promise<boolean> {
  const changed = await db.run(
    `UPDATE digests SET status = 'done', phase = 'done', result = ?, result_writes = result_writes + 1,
            finished_at = ?, lease_token = NULL, lease_expires_at = NULL, error = NULL
      WHERE id = ? AND lease_token = ? AND status = 'running'`,
    [JSON.stringify(result), Date.now(), lease.id, lease.token],
  );
  return changed === 1;
}

/** Record a failure, fenced by the lease token: permanent ones end the job, others requeue it. */
export async function fail(
  db: Database,
  lease: Lease,
  message: string,
  permanent: boolean,
): Promise<void> {
  await db.run(
    `UPDATE digests
        SET status = CASE WHEN ? OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
            phase = NULL, error = ?, lease_token = NULL, lease_expires_at = NULL, finished_at = ?
      WHERE id = ? AND lease_token = ? AND status = 'running'`,
    [permanent, message, Date.now(), lease.id, lease.token],
  );
}

/**
 * Jobs nobody will finish: a URL job whose last allowed lease expired, or an upload whose web
 * process died mid-request (uploads are never retried: the bytes are gone with the request).
 * A worker that crashes records why itself (worker.ts); one killed outright cannot, so the
 * message says what it was doing, from its last heartbeat.
 */
export async function failAbandoned(db: Database): Promise<number> {
  const now = Date.now();
  return db.run(
    `UPDATE digests SET status = 'failed', phase = NULL, lease_token = NULL, finished_at = ?,
            error = CASE WHEN source = 'upload' THEN 'The upload was interrupted; please upload the file again.'
                         ELSE 'The worker processing this file stopped ' || attempts || ' times without a word'
                              || CASE WHEN phase IN ('downloading', 'digesting')
                                      THEN ' (the last time while ' || phase || ', after ' || progress_bytes || ' bytes)'
                                      ELSE '' END
                              || '; giving up.' END
      WHERE status = 'running' AND lease_expires_at < ? AND (source = 'upload' OR attempts >= max_attempts)`,
    [now, now],
  );
}

export async function listForUser(db: Database, userId: number): Promise<DigestRow[]> {
  return db.query<DigestRow>('SELECT * FROM digests WHERE user_id = ? ORDER BY id DESC LIMIT 50', [
    userId,
  ]);
}

/** Give a job back without spending an attempt (a worker stopping on purpose). */
export async function release(db: Database, lease: Lease): Promise<void> {
  await db.run(
    `UPDATE digests SET status = 'queued', attempts = attempts - 1, phase = NULL,
            lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND lease_token = ? AND status = 'running'`,
    [lease.id, lease.token],
  );
}

/** A submission refused before any work (not a URL, wrong scheme): shown in the list as failed. */
export async function recordRejected(
  db: Database,
  userId: number,
  text: string,
  message: string,
): Promise<void> {
  await db.run(
    `INSERT INTO digests (user_id, source, name, status, error, created_at, finished_at)
     VALUES (?, 'url', ?, 'failed', ?, ?, ?)`,
    [userId, text.slice(0, 500) || '(empty)', message, Date.now(), Date.now()],
  );
}
