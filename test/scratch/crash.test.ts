/**
 * Crash safety with real processes: a worker SIGKILLed in the middle of a download cannot clean
 * up, so its directory stays; the next process to start a transaction on the same root removes it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';

const fixture = join(import.meta.dirname, '../fixtures/scratch/child.ts');
let server: Server;
let url: string;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drove-crash-test-'));
  // Sends the first 64 KiB of a "large file" and then nothing: the download is mid-flight for ever.
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': 100_000_000 });
    res.write(Buffer.alloc(65_536, 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

function start(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    cwd: join(import.meta.dirname, '../..'),
    env: { ...process.env, DROVE_SCRATCH_DIR: root },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function firstLine(child: ChildProcess): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`child exited (${code}) before printing anything`);
  });
  const line = once(lines, 'line').then(([text]) => JSON.parse(text as string));
  return Promise.race([line, exited]);
}

it('a worker SIGKILLed mid-download leaves a directory that the next start removes', async () => {
  const victim = start('download', url);
  const { dir, pid, bytes } = (await firstLine(victim)) as {
    dir: string;
    pid: number;
    bytes: number;
  };
  expect(bytes).toBeGreaterThan(0);
  expect(dir.startsWith(root)).toBe(true);
  expect(dir).toContain(`-${pid}-`);
  victim.kill('SIGKILL');
  const [, signal] = await once(victim, 'exit');
  expect(signal).toBe('SIGKILL');

  // Nothing ran on the way out: the directory and the partial file are still there.
  expect(existsSync(dir)).toBe(true);
  expect(statSync(join(dir, 'big.bin')).size).toBeGreaterThan(0);

  const next = start('start');
  const { dir: own } = (await firstLine(next)) as { dir: string };
  const [code] = await once(next, 'exit');
  expect(code).toBe(0);
  expect(existsSync(dir)).toBe(false);
  expect(existsSync(own)).toBe(false);
  expect(readdirSync(root)).toEqual([]);
});

it('a process that exits normally mid-transaction removes its directory on the way out', async () => {
  const child = start('exit');
  const { dir } = (await firstLine(child)) as { dir: string };
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  expect(existsSync(dir)).toBe(false);
});
