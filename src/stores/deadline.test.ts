import { describe, expect, it } from 'vitest';
import { type DroveError, InvalidKeyError } from '../errors.js';
import { createDeadlineRunner } from './deadline.js';

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
