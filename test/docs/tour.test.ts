/**
 * The README tour runs as written: README.md shows examples/tour/server.js verbatim (a `file=`
 * block, checked by blocks.test.ts); this runs that app with the README's own `drove start` line
 * and then the README's own curl lines (their `# {...}` comments are the answers expected), then
 * more requests with a cookie jar: visits counted across both instances, a sign-in seen by both,
 * a download digested.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freeBase, waitFor } from '../runner/helpers.js';
import { blocksOf } from './blocks.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const [startBlock, curlBlock] = blocksOf('README.md', README).filter((b) =>
  b.tags.includes('run=test/docs/tour.test.ts'),
);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repository, so that `drovejs/...` resolves to this package as it does in the tour.
const DIR = join(ROOT, 'test/artifacts', `tour-${process.pid}`);
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** fetch with one cookie jar (the session cookie), as a browser would keep it. */
function jar(base: string) {
  let cookie = '';
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        origin: base,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const set = res.headers.getSetCookie();
    if (set.length > 0) cookie = set.map((c) => c.split(';')[0]).join('; ');
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
}

describe('the README tour (examples/tour)', () => {
  it('runs under drove start: sessions across instances, a download digested', async () => {
    // The README's start line is the one run here, in a copy of examples/tour.
    expect(startBlock?.body.trim()).toBe(
      'cd examples/tour && NODE_ENV=development npx drove start -m web=2',
    );
    mkdirSync(DIR, { recursive: true });
    cpSync(join(ROOT, 'examples/tour'), DIR, { recursive: true });
    cleanups.push(() => rmSync(DIR, { recursive: true, force: true }));
    const base = await freeBase();
    const runner = spawn(
      process.execPath,
      [join(ROOT, 'dist/cli/main.js'), 'start', '-m', 'web=2'],
      {
        cwd: DIR,
        detached: true,
        env: { ...process.env, PORT: String(base), NODE_ENV: 'development', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    runner.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    runner.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    cleanups.push(async () => {
      const ended = new Promise((r) => runner.once('exit', r));
      try {
        process.kill(-(runner.pid as number), 'SIGINT');
      } catch {}
      await ended;
    });
    await waitFor(
      'the tour to be open',
      () => out.includes(`open http://127.0.0.1:${base}/`),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
    await waitFor(
      'both instances ready',
      () => (out.match(/web\.\d is ready on port/g) ?? []).length >= 2,
    );

    // The README's curl lines, as written but for the port, with their expected answers.
    const jarDir = mkdtempSync(join(tmpdir(), 'drove-tour-jar-'));
    cleanups.push(() => rmSync(jarDir, { recursive: true, force: true }));
    const lines = (curlBlock?.body ?? '').split('\n').filter((l) => l.startsWith('curl '));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const [command = '', expected = ''] = line.split(/\s+#\s+/);
      const args = (command.match(/'[^']*'|\S+/g) ?? [])
        .slice(1)
        .map((a) => a.replace(/^'|'$/g, '').replace('127.0.0.1:5000', `127.0.0.1:${base}`));
      const answer = execFileSync('curl', args, { cwd: jarDir, encoding: 'utf8' });
      expect(JSON.parse(answer), line).toMatchObject(JSON.parse(expected));
    }

    const call = jar(`http://127.0.0.1:${base}`);
    const served = new Set<unknown>();
    for (let n = 1; n <= 4; n++) {
      const visit = await call('POST', '/visit');
      expect(visit.status).toBe(200);
      expect(visit.json.visits).toBe(n);
      served.add(visit.json.servedBy);
    }
    expect([...served].sort()).toEqual(['web.1', 'web.2']);

    expect((await call('POST', '/login', { user: 'ada' })).json).toEqual({ signedIn: 'ada' });
    const me: { json: Record<string, unknown> }[] = [];
    for (let i = 0; i < 6; i++) me.push(await call('GET', '/me'));
    expect(me.map((r) => r.json.userId)).toEqual(Array(6).fill('ada'));
    expect(new Set(me.map((r) => r.json.servedBy)).size).toBe(2);
    // regenerate() started a new session at sign-in: the visits before it stay with the old one.
    expect((await call('POST', '/visit')).json.visits).toBe(1);

    const file = randomBytes(300_000);
    const server = createServer((_req, res) => res.end(file));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/big.bin`;
    const digest = await call('POST', '/digest', { url });
    expect(digest).toEqual({
      status: 200,
      json: { bytes: file.length, sha256: createHash('sha256').update(file).digest('hex') },
    });
  }, 120_000);
});
