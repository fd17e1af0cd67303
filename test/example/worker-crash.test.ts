/**
 * A digest worker that crashes mid-job tells the user why: the real worker process, on a real
 * SQLite file, is made to throw an uncaught exception while it downloads (a preload turns
 * SIGUSR2 into one), and the job's row then carries the reason instead of the bare "stopped 3
 * times; giving up" a crash used to leave.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../examples/digest/src/db.js';
import { enqueueUrl, listForUser } from '../../examples/digest/src/jobs.js';
import { migrate } from '../../examples/digest/src/migrate.js';
import { waitFor } from '../helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'digest-worker-crash-'));
let server: Server;
let base: string;

beforeAll(async () => {
  // Sends a little of a large file and then nothing: the worker stays in its download.
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': 10_000_000 });
    res.write(Buffer.alloc(1000, 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

it('records the crash and the phase it happened in on the job, then exits 1', async () => {
  const databaseUrl = `sqlite:${join(dir, 'digest.db')}`;
  const db = await openDatabase(databaseUrl);
  await migrate(db);
  await enqueueUrl(db, 1, `${base}/big.csv`);
  const preload = `data:text/javascript,${encodeURIComponent(
    'process.on("SIGUSR2", () => { throw new Error("boom in the worker"); });',
  )}`;
  const worker = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', preload, 'examples/digest/src/worker.ts'],
    {
      cwd: join(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl,
        DIGEST_LEASE_MS: '600',
        DROVE_SCRATCH_DIR: join(dir, 'scratch'),
        PS: 'worker.1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  worker.stdout!.on('data', (c) => {
    output += c;
  });
  const exited = once(worker, 'exit');
  try {
    await waitFor(
      'the worker to be downloading',
      async () => (await listForUser(db, 1))[0]?.phase === 'downloading',
    );
    worker.kill('SIGUSR2');
    const [code] = await exited;
    expect(code).toBe(1);
    const [row] = await listForUser(db, 1);
    // Requeued for another attempt, with the reason the user sees in the list meanwhile.
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row!.error).toMatch(
      /^The worker stopped while downloading \(\d+ bytes\): boom in the worker$/,
    );
    expect(output).toContain('worker crashed: Error: boom in the worker');
  } finally {
    worker.kill('SIGKILL');
    await db.close();
  }
});
