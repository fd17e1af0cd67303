import { describe, expect, it } from 'vitest';
import { TrackedPromise } from './tracked.js';

const failing = () => Promise.reject(new Error('store down'));
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TrackedPromise', () => {
  it('reports a failure nobody listens to, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const missed: unknown[] = [];
    try {
      TrackedPromise.track(failing(), (err) => missed.push(err));
      await settle();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(missed).toHaveLength(1);
    expect(unhandled).toEqual([]);
  });

  it('an awaited or caught failure is observed and reaches its listener', async () => {
    const missed: unknown[] = [];
    await expect(TrackedPromise.track(failing(), (err) => missed.push(err))).rejects.toThrow(
      'store down',
    );
    const caught = await TrackedPromise.track(failing(), (err) => missed.push(err)).catch(
      (err: Error) => err.message,
    );
    expect(caught).toBe('store down');
    await settle();
    expect(missed).toEqual([]);
  });

  it('resolves like the promise it tracks; derived promises are plain', async () => {
    const tracked = TrackedPromise.track(Promise.resolve(42), () => {});
    const derived = tracked.then((v) => v + 1);
    expect(derived).not.toBeInstanceOf(TrackedPromise);
    expect(await derived).toBe(43);
    expect(tracked.observed).toBe(true);
  });
});
