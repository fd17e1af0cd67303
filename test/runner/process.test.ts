// drove/process on its own (no runner): SIGTERM lets an in-flight request finish, refuses new
// connections, runs the shutdown hooks and exits 0. ready() is a no-op outside drove.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FIXTURES, freeBase, get, waitFor } from './helpers.js';

describe('drovejs/process gracefulShutdown', () => {
  it('finishes in-flight requests, refuses new ones, runs hooks, exits 0', async () => {
    const port = (await freeBase()) + 1;
    const child = spawn(process.execPath, [`${FIXTURES}app.mjs`], {
      env: { ...process.env, PORT: String(port), DYNO: 'solo.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor('listening', () => out.includes('listening'));
    const slow = get(`http://127.0.0.1:${port}/?delay=1500`);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    await waitFor('server closed', () =>
      get(`http://127.0.0.1:${port}/`).then(
        () => false,
        () => true,
      ),
    );
    expect((await slow).status).toBe(200);
    expect(await exited).toBe(0);
    expect(out).toContain('solo.1 shutdown hook ran');
  });
});
