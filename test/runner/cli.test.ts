// Issue 11, the smaller things a new user hit: --version, a second start, the "open" line,
// mistyped Procfile lines, release and ports, and `drove ps` from another directory.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  drove,
  FIXTURES,
  freeBase,
  get,
  ps,
  type Runner,
  scratch,
  startRunner,
  waitFor,
} from './helpers.js';

const APP = `node ${FIXTURES}app.mjs`;
let running: Runner | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});

describe('drove --version', () => {
  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const result = await drove(scratch({}), ['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });
});

describe('drove start', () => {
  it('a second start in the same directory says the first is already running', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\n` });
    const base = await freeBase();
    running = startRunner(dir, base);
    const runner = running;
    await waitFor('web up', async () => (await ps(runner))[0]?.state === 'up');
    const second = await drove(dir, ['start', '-p', String(base)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `already running (pid ${runner.child.pid}, control socket ${join(dir, '.drove', 'control.sock')})`,
    );
    expect(second.stderr).toContain('DROVE_ERR_ALREADY_RUNNING');
    expect((await ps(runner))[0]?.state).toBe('up');
  });

  it('says "open http://..." once, after the first web instance is ready', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\n` });
    const base = await freeBase();
    running = startRunner(dir, base, ['-m', 'web=2']);
    const runner = running;
    await waitFor('both ready', () => runner.output().match(/web\.\d is ready/g)?.length === 2);
    const out = runner.output();
    const open = `open http://127.0.0.1:${base}/`;
    expect(out.split(open)).toHaveLength(2);
    expect(out.indexOf(open)).toBeGreaterThan(out.indexOf('is ready on port'));
  });

  it('ignores mistyped Procfile lines as foreman does, warning with file and line', async () => {
    const dir = scratch({
      Procfile: `# comment\nweb node server.js\nweb2 : node x.js\nweb: ${APP}\n`,
    });
    running = startRunner(dir, await freeBase());
    const runner = running;
    await waitFor('web up', () => runner.output().includes('web.1 is ready'));
    const out = runner.output();
    expect(out).toContain(
      'Procfile:2: ignored, not a "name: command" line: "web node server.js" (did you mean "web: node server.js"?)',
    );
    expect(out).toContain(
      'Procfile:3: ignored, not a "name: command" line: "web2 : node x.js" (did you mean "web2: node x.js"?)',
    );
    expect(out).not.toContain('Procfile:1:');
    expect((await ps(runner)).map((r) => r.name)).toEqual(['web.1']);
  });

  it('release takes no port block: with release first, web.1 is PORT + 1', async () => {
    const dir = scratch({ Procfile: `release: echo released\nweb: ${APP}\nworker: sleep 600\n` });
    const base = await freeBase();
    running = startRunner(dir, base);
    const runner = running;
    await waitFor('web up', () => runner.output().includes('web.1 is ready'));
    const rows = await ps(runner);
    expect(rows.map((r) => [r.name, r.port])).toEqual([
      ['web.1', base + 1],
      ['worker.1', base + 101],
    ]);
    expect((await get(`http://127.0.0.1:${base}/`)).body.port).toBe(base + 1);
  });
});

describe('drove ps from another directory', () => {
  it('looks upwards for the control socket, as git does for .git', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\n` });
    running = startRunner(dir, await freeBase());
    const runner = running;
    await waitFor('web up', async () => (await ps(runner))[0]?.state === 'up');
    const deeper = join(dir, 'src', 'lib');
    mkdirSync(deeper, { recursive: true });
    const result = await drove(deeper, ['ps', '--json']);
    expect(result.stderr).toBe('');
    expect((JSON.parse(result.stdout) as { name: string }[]).map((r) => r.name)).toEqual(['web.1']);
  });

  it('with no formation here or above, says so', async () => {
    const dir = scratch({});
    const result = await drove(dir, ['ps']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `no formation is running in ${dir} or any directory above it (no .drove/control.sock)`,
    );
    expect(result.stderr).toContain('DROVE_ERR_NOT_RUNNING');
  });
});
