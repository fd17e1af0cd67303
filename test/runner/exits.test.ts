// Issue 11: what the runner does when an instance's process exits: the pid `drove ps` shows is
// the one to kill, commands that cannot run are not retried, and an exit 0 of a web process that
// never listened says so. Order of events only (the grace is 600 s, far beyond the waits).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  freeBase,
  type PsRow,
  ps,
  type Runner,
  scratch,
  startRunner,
  waitFor,
} from './helpers.js';

const APP = `node ${FIXTURES}app.mjs`;
const EVENTS_APP = fileURLToPath(new URL('./fixtures/events-app.mjs', import.meta.url));
let running: Runner | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    // These formations run with a 600 s grace: a SIGKILL of the runner alone would leave its
    // watchdogs waiting that long. A second SIGINT kills every group at once (sent apart: two
    // signals sent at once may arrive as one).
    running.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    running.child.kill('SIGINT');
    const stopped = await Promise.race([
      running.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
    ]);
    if (!stopped) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
  }
  running = undefined;
});

type Row = PsRow & { appPid: number | null };

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
}

function events(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

async function startEvents(
  command: string,
  extraEnv = '',
): Promise<{ runner: Runner; log: string }> {
  const dir = scratch({ Procfile: `web: ${command}\n` });
  const log = join(dir, 'events.log');
  writeFileSync(join(dir, '.env'), `EVENTS=${log}\n${extraEnv}`);
  running = startRunner(dir, await freeBase(), ['-t', '600']);
  return { runner: running, log };
}

async function upRow(runner: Runner, restarts: number): Promise<Row> {
  return waitFor(
    `web.1 up after ${restarts} restarts`,
    async () => {
      const [row] = (await ps(runner)) as Row[];
      return row && row.state === 'up' && row.restarts === restarts && row;
    },
    20_000,
  );
}

describe('the pid drove ps shows', () => {
  it("a simple command is exec'd: kill -9 of that pid TERMs the group and restarts", async () => {
    const { runner, log } = await startEvents(`node ${EVENTS_APP}`, 'KEEP_CHILD=1\n');
    const before = await upRow(runner, 0);
    expect(cmdline(before.pid!)).toContain('events-app.mjs');
    expect(before.appPid).toBe(before.pid);
    // The app's own short-lived child exiting does not stop the group.
    await waitFor('helper and long-lived child ran', () => {
      const e = events(log).join('\n');
      return e.includes('helper-done') && e.includes('child ');
    });
    expect((await upRow(runner, 0)).pid).toBe(before.pid);

    process.kill(before.pid!, 'SIGKILL');
    const after = await upRow(runner, 1);
    expect(after.pid).not.toBe(before.pid);
    const seen = events(log);
    const child = seen.find((e) => e.startsWith('child '))!.split(' ')[1];
    const order = [
      `child ${child} SIGTERM`,
      `child ${child} clean-exit`,
      `app ${after.pid} start`,
    ].map((e) => seen.indexOf(e));
    expect(order, seen.join('\n')).toEqual([...order].sort((a, b) => a - b));
    expect(order).not.toContain(-1);
    expect(runner.output()).not.toContain('at the end of the grace period');
  }, 60_000);

  it('a shell command line shows wrapper and app pid; kill -9 of the wrapper stops the app gracefully and restarts', async () => {
    const hold = join(tmpdir(), `drove-hold-${process.pid}-${Date.now()}`);
    const { runner, log } = await startEvents(`cd . && node ${EVENTS_APP}`, `HOLD_FILE=${hold}\n`);
    const before = await upRow(runner, 0);
    expect(cmdline(before.pid!)).toMatch(/^\/bin\/sh -c /);
    expect(before.appPid).not.toBe(before.pid);
    expect(cmdline(before.appPid!)).toContain('events-app.mjs');
    const table = await runner.drove('ps');
    expect(table.stdout).toContain(`${before.appPid} (sh ${before.pid})`);

    process.kill(before.pid!, 'SIGKILL');
    // While the app shuts down, ps no longer calls the instance up with the dead wrapper's pid.
    await waitFor('the app got SIGTERM', () =>
      events(log).includes(`app ${before.appPid} SIGTERM`),
    );
    const [stopping] = (await ps(runner)) as Row[];
    expect(stopping).toMatchObject({ state: 'stopping', pid: null, restarts: 0 });
    writeFileSync(hold, '');
    const after = await upRow(runner, 1);
    rmSync(hold);
    const seen = events(log);
    const order = [
      `app ${before.appPid} SIGTERM`,
      `app ${before.appPid} clean-exit`,
      `app ${after.appPid} start`,
    ].map((e) => seen.indexOf(e));
    expect(order, seen.join('\n')).not.toContain(-1);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(runner.output()).not.toContain('at the end of the grace period');
  }, 60_000);
});

describe('commands that cannot run', () => {
  it('exit 127 and 126: said once with the Procfile line, instance errored, no retries', async () => {
    const missing = `nosuchcommand-${process.pid}`;
    const dir = scratch({
      Procfile: `web: ${APP}\nbroken: ${missing} --flag\nnoexec: ./script.sh\n`,
      'script.sh': '#!/bin/sh\necho never\n',
    });
    running = startRunner(dir, await freeBase());
    const runner = running;
    await waitFor(
      'both errored',
      async () => {
        const rows = await ps(runner);
        return rows.filter((r) => r.state === 'errored').length === 2 && rows;
      },
      15_000,
    );
    const out = runner.output();
    expect(out).toContain(`broken.1: command not found: ${missing} --flag (Procfile:2)`);
    expect(out).toContain('noexec.1: command not executable: ./script.sh (Procfile:3)');
    expect(out.match(/broken\.1 exited with code 127/g)).toHaveLength(1);
    expect(out.match(/noexec\.1 exited with code 126/g)).toHaveLength(1);
    expect(out).not.toContain('restarting broken.1');
    // The formation goes on with the instances that can run.
    await waitFor(
      'web.1 up',
      async () => (await ps(runner)).find((r) => r.name === 'web.1')?.state === 'up',
    );
  }, 60_000);
});

describe('a web process that exits 0', () => {
  it('without ever listening on $PORT is told so', async () => {
    const dir = scratch({ Procfile: 'web: echo started\n' });
    const base = await freeBase();
    running = startRunner(dir, base, ['--restart-delay', '1', '--max-restarts', '2']);
    expect(await running.exited).toBe(1);
    expect(running.output()).toContain(
      `web.1 exited with code 0 without ever listening on its port ${base + 1} ($PORT)`,
    );
  }, 60_000);
});
