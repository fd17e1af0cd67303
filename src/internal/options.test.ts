import { describe, expect, it } from 'vitest';
import { DroveError } from '../errors.js';
import { positive } from './options.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DroveError ? err.code : 'not a DroveError';
  }
  return undefined;
}

describe('positive()', () => {
  it('returns a positive value, or the fallback when the value is undefined', () => {
    expect(positive('a', 5)).toBe(5);
    expect(positive('a', undefined, { fallback: 7 })).toBe(7);
    expect(positive('a', 0.5, { fallback: 7 })).toBe(0.5);
  });

  it('refuses zero, negatives, NaN, a missing value without fallback, and Infinity unless allowed', () => {
    for (const bad of [0, -1, Number.NaN, Infinity, undefined]) {
      expect(
        code(() => positive('someOption', bad)),
        String(bad),
      ).toBe('DROVE_ERR_INVALID_OPTION');
    }
    expect(positive('a', Infinity, { allowInfinity: true })).toBe(Infinity);
    expect(code(() => positive('a', Number.NaN, { allowInfinity: true }))).toBe(
      'DROVE_ERR_INVALID_OPTION',
    );
  });

  it('names the option in the error', () => {
    expect(() => positive('maxBytes', -3)).toThrow(/maxBytes/);
  });
});
