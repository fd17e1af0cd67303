import { describe, expect, it } from 'vitest';
import { type DroveError, InvalidKeyError } from '../errors.js';
import {
  createDeadlineRunner,
  type FencedWrite,
  fencedWrite,
  fenceMargin,
  LATE,
  measureClock,
  serverDeadline,
} from './deadline.js';

const never = () => new Promise<never>(() => {});
const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: DroveError) => e.code,
  );

describe('createDeadlineRunner()', () => {
  it('passes results through and keeps coded errors as they are', async () => {
    const run = createDeadlineRunner('redis', 1000);
    expect(await run(() => later(5, 'a'))).toBe('a');
    const coded = new InvalidKeyError({ key: 'x', reason: 'bad' });
    await expect(run(() => Promise.reject(coded))).rejects.toBe(coded);
  });

  it('turns other failures, thrown or rejected, into DROVE_ERR_STORE_UNAVAILABLE', async () => {
    const run = createDeadlineRunner('redis', 1000);
    expect(await codeOf(run(() => Promise.reject(new Error('ECONNRESET'))))).toBe(
      'DROVE_ERR_STORE_UNAVAILABLE',
    );
    expect(
      await codeOf(
        run(() => {
          throw new Error('sync');
        }),
      ),
    ).toBe('DROVE_ERR_STORE_UNAVAILABLE');
  });

  it('rejects calls that never settle, while faster calls around them still resolve', async () => {
    const run = createDeadlineRunner('redis', 100);
    const results = await Promise.all([
      codeOf(run(never)),
      run(() => later(10, 'fast')),
      codeOf(run(never)),
      run(() => later(20, 'also fast')),
    ]);
    expect(results).toEqual([
      'DROVE_ERR_STORE_UNAVAILABLE',
      'fast',
      'DROVE_ERR_STORE_UNAVAILABLE',
      'also fast',
    ]);
    // The runner keeps working after its queue drained.
    expect(await codeOf(run(never))).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    expect(await run(() => later(1, 'again'))).toBe('again');
  });
});

describe('fencedWrite()', () => {
  const run = createDeadlineRunner('redis', 50);
  const write = (
    send: (sent: () => void) => Promise<string | typeof LATE>,
    readBack?: () => Promise<string | undefined>,
  ): FencedWrite<string> => ({
    operation: 'update',
    send: (_deadline, sent) => send(sent),
    ...(readBack && { readBack }),
  });

  it('passes a result through, and a fence refusal is "not applied"', async () => {
    expect(
      await fencedWrite(
        'redis',
        run,
        50,
        write(async () => 'ok'),
      ),
    ).toBe('ok');
    expect(
      await codeOf(
        fencedWrite(
          'redis',
          run,
          50,
          write(async () => LATE),
        ),
      ),
    ).toBe('DROVE_ERR_STORE_UNAVAILABLE');
  });

  it('a failure before the write was sent is "not applied", with no read-back', async () => {
    const readBacks: string[] = [];
    const failed = fencedWrite(
      'redis',
      run,
      50,
      write(
        () => Promise.reject(new Error('not connected')),
        async () => {
          readBacks.push('read');
          return 'ok';
        },
      ),
    );
    expect(await codeOf(failed)).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    expect(readBacks).toEqual([]);
  });

  it('a lost reply is read back: applied, not applied, or unknown when the read-back fails', async () => {
    const lost = (sent: () => void) => {
      sent();
      return never();
    };
    expect(
      await fencedWrite(
        'redis',
        run,
        50,
        write(lost, async () => 'landed'),
      ),
    ).toBe('landed');
    expect(
      await codeOf(
        fencedWrite(
          'redis',
          run,
          50,
          write(lost, async () => undefined),
        ),
      ),
    ).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    expect(await codeOf(fencedWrite('redis', run, 50, write(lost, never)))).toBe(
      'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
    );
    expect(await codeOf(fencedWrite('redis', run, 50, write(lost)))).toBe(
      'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
    );
  });
});

describe('serverDeadline()', () => {
  it('converts through the offset, minus the uncertainty and the margin', () => {
    const clock = { offset: 5000, uncertainty: 2 };
    expect(serverDeadline(1_000_000, clock, 1000)).toBe(1_000_000 + 5000 - 2 - fenceMargin(1000));
    expect(fenceMargin(1000)).toBe(50);
    expect(fenceMargin(20)).toBe(5);
  });

  it('measureClock() takes the midpoint of the round trip', async () => {
    const clock = await measureClock(async () => Date.now() + 10_000);
    expect(clock.offset).toBeGreaterThan(9_000);
    expect(clock.uncertainty).toBeGreaterThanOrEqual(0);
  });
});
