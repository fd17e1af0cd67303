/**
 * The `worker` process type: claims URL jobs from the database, one at a time, under a lease it
 * keeps alive with a heartbeat. Nothing is kept between jobs: each runs in its own scratch
 * transaction, and a SIGKILLed worker's directory is swept by the next process that starts.
 */
import { onShutdown, ready } from 'drovejs/process';
import { scratchJob, sweepScratch } from 'drovejs/scratch';
import { readConfig } from './config.js';
import { openDatabase } from './db.js';
import { claim, fail, failAbandoned, finish, heartbeat, type Lease, release } from './jobs.js';
import { digestUrl, explain, type Progress } from './process-file.js';

const config = readConfig();
const db = await openDatabase(config.databaseUrl);
const log = (message: string) => console.log(message);

let resolveIdle: () => void = () => {};
const idle = new Promise<void>((resolve) => {
  resolveIdle = resolve;
});

let stopping = false;
let current: AbortController | undefined;
onShutdown(async () => {
  stopping = true;
  current?.abort(new Error('worker is stopping'));
  await idle;
  await db.close();
});

const swept = await sweepScratch();
if (swept.removed.length > 0)
  log(`swept ${swept.removed.length} scratch directories left by dead processes`);

/** The job in hand, so a crash can still tell its user why the job stopped. */
let holding: { lease: Lease; progress: Progress } | undefined;
let crashing = false;
async function crashed(err: unknown): Promise<void> {
  if (crashing) return;
  crashing = true;
  const message = err instanceof Error ? err.message : String(err);
  log(`worker crashed: ${err instanceof Error ? err.stack : message}`);
  if (holding) {
    const { lease, progress } = holding;
    const reason = `The worker stopped while ${progress.phase} (${progress.bytes} bytes): ${message}`;
    await fail(db, lease, reason, false).catch(() => {});
  }
  process.exit(1);
}
process.on('uncaughtException', (err) => void crashed(err));
process.on('unhandledRejection', (err) => void crashed(err));

const run = scratchJob(async (lease: Lease) => {
  const lost = new AbortController();
  current = lost;
  let progress: Progress = { phase: 'starting', bytes: 0, total: undefined };
  holding = { lease, progress };
  const beat = setInterval(
    () => {
      heartbeat(db, lease, config.leaseMs, progress).then(
        (held) => {
          if (!held) lost.abort(new Error('lease lost'));
        },
        (err: Error) => log(`heartbeat failed: ${err.message}`),
      );
    },
    Math.max(100, Math.floor(config.leaseMs / 3)),
  );
  try {
    const result = await digestUrl(
      lease.row.name,
      config,
      (p) => {
        progress = p;
        if (holding) holding.progress = p;
      },
      lost.signal,
    );
    if (await finish(db, lease, result)) log(`digest ${lease.id}: done, sha256 ${result.sha256}`);
    else log(`digest ${lease.id}: lease was taken over; result discarded`);
  } catch (err) {
    if (stopping) {
      await release(db, lease);
      log(`digest ${lease.id}: released for another worker (stopping)`);
    } else if (lost.signal.aborted) {
      log(`digest ${lease.id}: lease lost, stopped`);
    } else {
      const { message, permanent } = explain(err, config);
      await fail(db, lease, message, permanent);
      log(`digest ${lease.id}: ${permanent ? 'failed' : 'will retry'}: ${message}`);
    }
  } finally {
    clearInterval(beat);
    current = undefined;
    holding = undefined;
  }
});

await ready();
log(`worker ${config.processName} polling ${db.kind} for jobs`);
while (!stopping) {
  try {
    await failAbandoned(db);
    const lease = await claim(db, config.processName, config.leaseMs);
    if (lease) {
      log(`digest ${lease.id}: claimed (attempt ${lease.row.attempts})`);
      await run(lease);
      continue;
    }
  } catch (err) {
    log(`job loop: ${(err as Error).message}`);
  }
  await new Promise((r) => setTimeout(r, 250));
}
resolveIdle();
