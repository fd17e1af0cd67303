// Issue 11: stopping is as fast as the processes allow, and nothing the app leaves behind can
// make the runner hang. Order of events only: the grace periods are far longer than the
// bounded waits, so a runner that waited for them would fail these tests.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  freeBase,
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
const HERE = fileURLToPath(new URL('./fixtures/', import.meta.url));
let running: Runner | undefined;
const leftovers: string[] = [];

afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  for (const marker of leftovers.splice(0)) {
    for (const pid of processesMatching(marker)) process.kill(pid, 'SIGKILL');
  }
});

function lastLines(out: string, n: number): string[] {
  return out.trimEnd().split('\n').slice(-n);
}

describe('Ctrl-C', () => {
  it('exits once the last process is gone, long before a 600 s grace, with a final line', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\nworker: ${WORKER}\n` });
    running = startRunner(dir, await freeBase(), ['-t', '600']);
    const runner = running;
    const rows = await waitFor('all up', async () => {
      const r = await ps(runner);
      return r.length === 2 && r.every((x) => x.state === 'up') && r;
    });
    runner.child.kill('SIGINT');
    expect(await runner.exited).toBe(130);
    const out = runner.output();
    expect(membersOf(rows.map((r) => r.pgid!))).toEqual([]);
    const [last] = lastLines(out, 1);
    expect(last, out).toMatch(/system +\| all processes have stopped; exiting with code 130$/);
    // The final line comes after every instance's exit line.
    expect(out.indexOf('all processes have stopped')).toBeGreaterThan(out.indexOf('web.1 '));
    expect(out).not.toMatch(/SIGKILL/);
  }, 60_000);

  it('start() leaves nothing that keeps the process alive once it resolved', async () => {
    const dir = scratch({ Procfile: `web: ${APP}\nworker: ${WORKER}\n` });
    const report = join(dir, 'report.json');
    const child = spawn(
      process.execPath,
      [`${HERE}start-then-interrupt.mjs`, dir, String(await freeBase()), report],
      { stdio: 'ignore' },
    );
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const result = JSON.parse(readFileSync(report, 'utf8')) as {
      code: number;
      resources: string[];
    };
    expect(result.code).toBe(130);
    expect(result.resources).toEqual([]);
  }, 60_000);
});

describe('a daemonised grandchild', () => {
  it('does not hang the stop; the last lines name the process that escaped its group', async () => {
    const duration = `603.${process.pid}${Math.floor(Math.random() * 1000)}`;
    leftovers.push(`sleep ${duration}`);
    const dir = scratch({
      Procfile: `web: ${APP}\nescaper: sh -c 'setsid sleep ${duration} & wait'\n`,
    });
    running = startRunner(dir, await freeBase(), ['-t', '600']);
    const runner = running;
    await waitFor('all up', async () => {
      const r = await ps(runner);
      return r.length === 2 && r.every((x) => x.state === 'up') && r;
    });
    const escapee = await waitFor('the escapee runs', () =>
      processesMatching(`sleep ${duration}`).find((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'),
      ),
    );
    runner.child.kill('SIGINT');
    expect(await runner.exited).toBe(130);
    const out = runner.output();
    const tail = lastLines(out, 2).join('\n');
    expect(tail, out).toContain(`process ${escapee} (sleep ${duration})`);
    expect(out).toContain(
      `escaper.1: process ${escapee} (sleep ${duration}) left its process group and still holds its output`,
    );
    expect(lastLines(out, 1)[0]).toMatch(/all processes have stopped; exiting with code 130$/);
    // drove does not kill what deliberately left the group: it is still there for cleanup.
    expect(processesMatching(`sleep ${duration}`)).toContain(escapee);
  }, 60_000);
});
