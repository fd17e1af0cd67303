import { describe, expect, it } from 'vitest';
import { chooseCoding, ifNoneMatchHits, parseAcceptEncoding } from './negotiate.js';

describe('chooseCoding', () => {
  const both = ['br', 'gzip'] as const;
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br', 'br'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0.5, gzip;q=0.9', 'gzip'],
    ['br;q=0.9, gzip;q=0.9', 'br'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['identity, gzip;q=0.1', 'identity'],
    ['identity;q=0, *;q=0', 'identity'],
    ['br;q=2', 'identity'],
    ['br;q=abc, gzip', 'gzip'],
    ['deflate', 'identity'],
  ])('Accept-Encoding %j -> %s', (header, expected) => {
    expect(chooseCoding(header, both)).toBe(expected);
  });

  it('only picks codings the file has', () => {
    expect(chooseCoding('br, gzip', ['gzip'])).toBe('gzip');
    expect(chooseCoding('br', ['gzip'])).toBe('identity');
    expect(chooseCoding('br, gzip', [])).toBe('identity');
  });

  it('parses q-values, keeping the first mention of a coding', () => {
    expect([...parseAcceptEncoding(' br ; q=0.8 ,gzip;Q=1.000, br')]).toEqual([
      ['br', 0.8],
      ['gzip', 1],
    ]);
  });
});

describe('ifNoneMatchHits', () => {
  it('compares weakly, accepts lists and *', () => {
    expect(ifNoneMatchHits('"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('W/"a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('"b", "a"', '"a"')).toBe(true);
    expect(ifNoneMatchHits('*', '"a"')).toBe(true);
    expect(ifNoneMatchHits('"b"', '"a"')).toBe(false);
    expect(ifNoneMatchHits('a', '"a"')).toBe(false);
  });
});
