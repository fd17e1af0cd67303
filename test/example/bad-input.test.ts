/**
 * The digest worker's handling of bad input, on the real download path inside a scratch
 * transaction: each case gives the user a clear message, marks the job failed, and leaves
 * nothing in scratch.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withScratch } from 'drovejs/scratch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../examples/digest/src/config.js';
import { openDatabase } from '../../examples/digest/src/db.js';
import { claim, enqueueUrl, fail, listForUser } from '../../examples/digest/src/jobs.js';
import { migrate } from '../../examples/digest/src/migrate.js';
import { digestUrl, explain } from '../../examples/digest/src/process-file.js';

let server: Server;
let base: string;
let port: number;
const scratchDir = mkdtempSync(join(tmpdir(), 'digest-bad-input-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': 5 * 1024 * 1024 });
      res.end(Buffer.alloc(5 * 1024 * 1024));
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': 1024 * 1024 });
      res.write(Buffer.alloc(1000));
    } else if (req.url === '/redirect') {
      // To the same host on another port: the guard below refuses every port but this one.
      res.writeHead(302, { location: `http://127.0.0.1:${port + 1}/secret` }).end();
    } else {
      res.end('ok\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(scratchDir, { recursive: true, force: true });
});

async function runJob(
  url: string,
  env: Record<string, string>,
  guard?: (address: string, family: number, url: URL) => boolean | undefined,
) {
  const config = readConfig({
    NODE_ENV: 'production',
    DIGEST_MAX_BYTES: String(1024 * 1024),
    ...env,
  });
  const db = await openDatabase('sqlite::memory:');
  await migrate(db);
  await enqueueUrl(db, 1, url);
  const lease = await claim(db, 'w', 60_000);
  await withScratch(
    async (scratch) => {
      try {
        await digestUrl(lease!.row.name, config, () => {}, scratch.signal, guard);
        throw new Error('expected the job to fail');
      } catch (err) {
        const { message, permanent } = explain(err, config);
        await fail(db, lease!, message, permanent);
      }
    },
    { dir: scratchDir },
  );
  const [row] = await listForUser(db, 1);
  await db.close();
  return row!;
}

describe('digest worker, bad input', () => {
  it('refuses a URL that is not http(s)', async () => {
    const row = await runJob('file:///etc/passwd', {});
    expect(row.status).toBe('failed');
    expect(row.error).toContain('Only http:// and https://');
  });

  it('refuses a loopback target outside development and tests', async () => {
    const row = await runJob(`${base}/ok`, {});
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/download failed/i);
    expect(row.error).toContain('127.0.0.1');
  });

  it('refuses a file over the size limit', async () => {
    const row = await runJob(`${base}/big`, { DIGEST_ALLOW_PRIVATE_TARGETS: '1' });
    expect(row).toMatchObject({
      status: 'failed',
      error: 'The file is larger than the limit of 1 MiB.',
    });
  });

  it('gives up on a download that stalls', async () => {
    const row = await runJob(`${base}/stall`, {
      DIGEST_ALLOW_PRIVATE_TARGETS: '1',
      DIGEST_DOWNLOAD_TIMEOUT_MS: '500',
    });
    expect(row).toMatchObject({ status: 'failed' });
    expect(row.error).toContain('stalled');
  });

  it('checks the address again on a redirect', async () => {
    const onlyFirstServer = (_address: string, _family: number, url: URL) =>
      url.port === String(port);
    const row = await runJob(`${base}/redirect`, {}, onlyFirstServer);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/download failed/i);
  });

  it('leaves nothing in scratch after any of them', () => {
    expect(readdirSync(scratchDir).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});
