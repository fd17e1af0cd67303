// `drove start` as a real process: signals, exit codes, no orphans, release, crash loops.
import { afterEach, describe, expect, it } from 'vitest';
import {
  drove,
  FIXTURES,
  freeBase,
  get,
  membersOf,
  processesMatching,
  ps,
  type Runner,
  scratch,
  startRunner,
  waitFor,
} from './helpers.js';

const APP = `node ${FIXTURES}app.mjs`;
const WORKER = `node ${FIXTURES}worker.mjs`;
let running: Runner | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});

/** A formation with a web type, a worker leaving a grandchild, and `sh -c 'sleep 600 & wait'`. */
async function startTree(marker: string): Promise<{ runner: Runner; pgids: number[] }> {
  const dir = scratch({
    Procfile: `web: ${APP}\nworker: ${WORKER}\ntree: sh -c 'sleep 600 & wait' # ${marker}\n`,
  });
  const base = await freeBase();
  const runner = startRunner(dir, base, ['-m', 'web=2', '-t', '3']);
  running = runner;
  const rows = await waitFor('every instance up', async () => {
    const r = await ps(runner);
    return r.length === 4 && r.every((x) => x.state === 'up') && r;
  });
  const pgids = rows.map((r) => r.pgid!);
  // web x2 (watchdog, node exec'd by sh), worker (+ sleep), tree (watchdog, sh, sh, sleep): all
  // in their groups.
  await waitFor('grandchildren started', () => membersOf(pgids).length >= 11);
  for (const row of rows) expect(row.pgid).not.toBe(runner.child.pid);
  return { runner, pgids };
}

describe('stopping the runner leaves no process behind', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: graceful stop, exit ${code}`, async () => {
      const { runner, pgids } = await startTree(`stop-${signal}`);
      runner.child.kill(signal);
      expect(await runner.exited).toBe(code);
      expect(membersOf(pgids)).toEqual([]);
      expect(runner.output()).toMatch(/web\.1 +\| web\.1 shutdown hook ran/);
      expect(runner.output()).toContain(`${signal} received: stopping`);
    });
  }

  it('SIGKILL: the watchdogs kill every group, grandchildren included', async () => {
    const { runner, pgids } = await startTree('stop-SIGKILL');
    const before = membersOf(pgids).length;
    runner.child.kill('SIGKILL');
    await runner.exited;
    const t0 = Date.now();
    await waitFor('every group gone', () => membersOf(pgids).length === 0, 10_000);
    console.log(
      `after SIGKILL of the runner, ${before} processes were gone in ${Date.now() - t0} ms`,
    );
    expect(processesMatching('stop-SIGKILL')).toEqual([]);
  });
});

describe('second Ctrl-C and output', () => {
  it('a second SIGINT kills processes that ignore SIGTERM at once', async () => {
    const dir = scratch({
      Procfile: "stubborn: trap '' TERM INT; sleep 600 & wait # stubborn-marker\n",
    });
    running = startRunner(dir, await freeBase(), ['-t', '600']);
    const runner = running;
    const [row] = await waitFor('stubborn up', async () => {
      const rows = await ps(runner);
      return rows[0]?.state === 'up' && membersOf([rows[0].pgid!]).length >= 3 && rows;
    });
    runner.child.kill('SIGINT');
    await waitFor('graceful stop begun', () => runner.output().includes('SIGINT received'));
    runner.child.kill('SIGINT');
    expect(await runner.exited).toBe(130);
    expect(runner.output()).toContain('second interrupt: killing every process now');
    expect(membersOf([row!.pgid!])).toEqual([]);
  });

  it('flushes a last line without a newline; runs only the types named', async () => {
    const dir = scratch({
      Procfile: `web: ${APP}\npartial: printf 'no newline at the end'; sleep 0.2\n`,
    });
    running = startRunner(dir, await freeBase(), ['partial', '--no-restart']);
    expect(await running.exited).toBe(0);
    expect(running.output()).toMatch(/partial\.1 +\| no newline at the end\n/);
    expect(running.output()).not.toContain('web.1');
  });
});

describe('exit codes', () => {
  it('--no-restart: the first exit stops all, with its code', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\ncrash: sleep 1; exit 3\n` });
    running = startRunner(dir, await freeBase(), ['--no-restart']);
    expect(await running.exited).toBe(3);
    expect(running.output()).toContain('crash.1 exited with code 3');
  });

  it('crash loop: the instance is errored; with nothing else left, exit 1', async () => {
    const dir = scratch({ Procfile: 'crash: exit 4\n' });
    running = startRunner(dir, await freeBase(), ['--restart-delay', '1', '--max-restarts', '5']);
    expect(await running.exited).toBe(1);
    const out = running.output();
    expect(out).toContain('crash.1 is crash-looping (5 quick exits in a row)');
    expect(out.match(/crash\.1 exited with code 4/g)).toHaveLength(5);
    expect(out).toContain('restarting crash.1 in 1 ms');
    expect(out).toContain('restarting crash.1 in 2 ms');
  });

  it('a failing release aborts the start with its exit code; nothing else runs', async () => {
    const dir = scratch({ Procfile: `release: echo migrating; exit 7\nweb: ${APP}\n` });
    running = startRunner(dir, await freeBase());
    expect(await running.exited).toBe(7);
    const out = running.output();
    expect(out).toMatch(/release +\| migrating/);
    expect(out).toContain('DROVE_ERR_RELEASE_FAILED');
    expect(out).not.toContain('listening on');
  });

  it('a successful release runs once, before the formation; release gets no instance port', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\nrelease: echo "release PORT=[$PORT]"\n` });
    const base = await freeBase();
    running = startRunner(dir, base);
    const runner = running;
    await waitFor('web up', () => runner.output().includes('web.1 is ready'));
    const out = runner.output();
    expect(out, out).toMatch(/release +\| release PORT=\[\][\s\S]*web\.1 +\| web\.1 listening/);
    expect(out.match(/\| release PORT=\[\]/g), out).toHaveLength(1);
    const res = await get(`http://127.0.0.1:${base}/`);
    expect(res.body.name, `${res.status} ${out}`).toBe('web.1');
  });

  it('a port in use is a clear error naming port and owner', async () => {
    const { createServer } = await import('node:net');
    const base = await freeBase();
    const blocker = createServer().listen(base + 1, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const dir = scratch({ Procfile: `web: ${APP}\n` });
      const result = await drove(dir, ['start', '-p', String(base)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${base + 1}`);
      expect(result.stderr).toContain('web.1');
      expect(result.stderr).toContain('DROVE_ERR_PORT_IN_USE');
    } finally {
      blocker.close();
    }
  });

  it('Procfile errors name file and line', async () => {
    const dir = scratch({ Procfile: 'web: a\nweb: b\n' });
    const result = await drove(dir, ['start']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Procfile:2: process type "web" is already defined on line 1');
    const bad = await drove(dir, ['start', '-f', 'Nope']);
    expect(bad.stderr).toContain('DROVE_ERR_PROCFILE_MISSING');
    const unknown = await drove(scratch({ Procfile: 'web: a\n' }), ['start', '-m', 'wbe=2']);
    expect(unknown.stderr).toContain('DROVE_ERR_FORMATION');
  });
});

describe('drove run', () => {
  it('runs a command with .env under the real environment, and passes its exit code', async () => {
    const dir = scratch({ Procfile: 'web: echo from-procfile\n', '.env': 'A=file\nB=file\n' });
    const result = await drove(dir, ['run', 'echo "A=$A B=$B PORT=$PORT"; exit 5'], {
      ...process.env,
      B: 'real',
    });
    expect(result.stdout).toBe('A=file B=real PORT=5000\n');
    expect(result.code).toBe(5);
    expect((await drove(dir, ['run', 'web'])).stdout).toBe('from-procfile\n');
    expect(
      (await drove(dir, ['run', 'node', '-e', 'console.log(process.argv.length)'])).stdout,
    ).toBe('1\n');
  });
});
