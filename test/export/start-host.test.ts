/**
 * `drove start` binds its balancer where HOST (from the environment or a .env file) says, so
 * that in a container `HOST=0.0.0.0` makes a published port reach it. Before, it always bound
 * 127.0.0.1 unless --host was given. 127.0.0.7 stands for "not the default interface".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.js';
import { here } from './cases.js';

const cli = join(here, '../../dist/cli/main.js');
const app = join(here, '../fixtures/runner/app.mjs');
const dir = mkdtempSync(join(tmpdir(), 'drove-start-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port whose next one (web.1's) is free too: other suites run on this machine. */
async function freeBlock(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = createServer();
    const free = await new Promise<boolean>((resolve) => {
      next.once('error', () => resolve(false));
      next.listen(port + 1, '0.0.0.0', () => next.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

it('HOST from .env is the balancer interface', { timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'Procfile'), `web: node ${app}\n`);
  writeFileSync(join(dir, '.env'), 'HOST=127.0.0.7\n');
  const port = await freeBlock();
  const child = spawn(process.execPath, [cli, 'start', '-p', String(port)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const body = await waitFor<{ name: string } | undefined>(
      'the balancer on 127.0.0.7',
      async () => {
        if (child.exitCode !== null) return { name: `exited: ${output}` };
        try {
          const res = await fetch(`http://127.0.0.7:${port}/`);
          return res.ok ? ((await res.json()) as { name: string }) : undefined;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 20_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; drove start said: ${output}`);
    });
    expect(body.name, output).toBe('web.1');
    expect(output).toContain(`balancer on http://127.0.0.7:${port}`);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(143);
});
