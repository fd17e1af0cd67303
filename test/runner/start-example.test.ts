// `npm start` (scripts/start-example.mjs) offers the address only once the example can answer:
// the "open http://..." line comes from drove start, after a web instance is ready.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freeBase, get, waitFor } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start', () => {
  it('prints "open http://..." once, after a web instance is ready', async () => {
    const base = await freeBase();
    // Detached: its own process group, so the test can press Ctrl-C the way a terminal does.
    const child = spawn(process.execPath, ['scripts/start-example.mjs'], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, PORT: String(base), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const open = `open http://127.0.0.1:${base}/`;
    try {
      await waitFor('the open line', () => out.includes(open), 120_000);
      expect(out.split(open), out).toHaveLength(2);
      expect(out.indexOf(open)).toBeGreaterThan(out.search(/web\.\d is ready on port/));
      expect(out.search(/web\.\d is ready on port/)).toBeGreaterThan(-1);
      expect((await get(`http://127.0.0.1:${base}/`)).status).toBeLessThan(500);
    } finally {
      const ended = new Promise((r) => child.stdout!.once('end', r));
      process.kill(-child.pid!, 'SIGINT');
      await ended;
    }
    expect(out).toContain('all processes have stopped');
  }, 180_000);
});
