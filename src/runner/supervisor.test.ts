// Crash restarts driven by an injected clock: the backoff delays are read off the fake timers,
// and fired by hand, so no test waits for them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Clock } from './backoff.js';
import { FormationLog } from './log.js';
import { Supervisor } from './supervisor.js';

function fakeClock() {
  const timers: { fn: () => void; ms: number }[] = [];
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      const timer = { fn, ms };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      const i = timers.indexOf(handle as (typeof timers)[number]);
      if (i !== -1) timers.splice(i, 1);
    },
  };
  return { clock, timers };
}

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Supervisor restarts with backoff', () => {
  it('schedules 100, 150, 225 ms restarts, then marks a crash loop errored and gives up', async () => {
    const { clock, timers } = fakeClock();
    const lines: string[] = [];
    const fatal: { code: number; message: string }[] = [];
    const sup = new Supervisor({
      types: [{ name: 'crash', command: 'exit 9', index: 0 }],
      env: { PATH: process.env.PATH ?? '' },
      cwd: mkdtempSync(join(tmpdir(), 'drove-sup-')),
      basePort: 40_000,
      shutdownTimeoutMs: 1000,
      restart: true,
      // Under load a start can take seconds: count every run as quick.
      policy: { maxQuickCrashes: 4, minUptimeMs: 600_000 },
      readiness: { kind: 'port' },
      log: new FormationLog({ out: { write: (s: string) => lines.push(s) } }),
      clock,
      onFatal: (reason) => fatal.push(reason),
    });
    await sup.scale(new Map([['crash', 1]]));
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      await until(() => timers.length === 1);
      const timer = timers.shift()!;
      delays.push(timer.ms);
      expect(sup.status()[0]!.state).toBe('backoff');
      timer.fn();
    }
    expect(delays).toEqual([100, 150, 225]);
    await until(() => fatal.length === 1);
    expect(fatal[0]).toEqual({ code: 1, message: 'every instance is errored' });
    expect(sup.status()[0]).toMatchObject({
      state: 'errored',
      restarts: 3,
      lastExit: 'exited with code 9',
    });
    expect(lines.join('')).toContain('crash.1 is crash-looping (4 quick exits in a row)');
    expect(timers).toHaveLength(0);
    await sup.stop();
  });
});
