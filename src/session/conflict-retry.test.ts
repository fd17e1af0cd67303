import { describe, expect, it } from 'vitest';
import { RetryLanes } from './conflict-retry.js';

describe('RetryLanes', () => {
  it('gives turns on one key in arrival order, and other keys do not wait', async () => {
    const lanes = new RetryLanes();
    const order: string[] = [];
    const endA = await lanes.enter('k', 10_000);
    const b = lanes.enter('k', 10_000).then((end) => {
      order.push('b');
      return end;
    });
    const c = lanes.enter('k', 10_000).then((end) => {
      order.push('c');
      end();
    });
    (await lanes.enter('other', 10_000))();
    expect(order).toEqual([]);
    endA();
    (await b)();
    await c;
    expect(order).toEqual(['b', 'c']);
  });

  it('a turn never waits past its budget, even if the holder never ends its turn', async () => {
    const lanes = new RetryLanes();
    await lanes.enter('k', 10_000); // never ended
    const end = await lanes.enter('k', 5);
    expect(typeof end).toBe('function');
  });
});
