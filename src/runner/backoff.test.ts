import { describe, expect, it } from 'vitest';
import { RestartPolicy } from './backoff.js';

describe('RestartPolicy', () => {
  it('grows x1.5 from 100 ms and caps at 15 s', () => {
    const policy = new RestartPolicy({ maxQuickCrashes: 1000 });
    const delays = Array.from({ length: 16 }, () => {
      const d = policy.onExit(5_000);
      return d.action === 'restart' ? d.delayMs : -1;
    });
    expect(delays.slice(0, 5)).toEqual([100, 150, 225, 338, 506]);
    expect(delays.at(-1)).toBe(15_000);
    expect(Math.max(...delays)).toBe(15_000);
  });

  it('starts again from 100 ms after 30 s up', () => {
    const policy = new RestartPolicy();
    policy.onExit(10);
    policy.onExit(10);
    expect(policy.onExit(30_000)).toEqual({ action: 'restart', delayMs: 100, quickCrashes: 0 });
  });

  it('marks the instance errored after 16 quick crashes in a row', () => {
    const policy = new RestartPolicy();
    const decisions = Array.from({ length: 16 }, () => policy.onExit(50));
    expect(decisions.slice(0, 15).every((d) => d.action === 'restart')).toBe(true);
    expect(decisions[15]).toEqual({ action: 'errored', quickCrashes: 16 });
  });

  it('a run longer than the minimum uptime clears the quick-crash count', () => {
    const policy = new RestartPolicy({ maxQuickCrashes: 3 });
    policy.onExit(10);
    policy.onExit(10);
    policy.onExit(2_000);
    policy.onExit(10);
    expect(policy.onExit(10).action).toBe('restart');
    expect(policy.onExit(10).action).toBe('errored');
  });
});
