import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonSerializer } from './codec.js';

/** The replacer-only reference the fast path must agree with. */
const reference = (value: unknown) =>
  JSON.stringify(value, function replaceDates(this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return raw instanceof Date ? { '$drove:date': raw.toISOString() } : v;
  });

/** The reviver-only reference the fast path must agree with. */
const referenceParse = (text: string) =>
  JSON.parse(text, (_key, v) =>
    v !== null && typeof v === 'object' && Object.keys(v).length === 1 && '$drove:date' in v
      ? new Date(v['$drove:date'])
      : v,
  );

const withDates = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('jsonSerializer', () => {
  it('writes what the Date replacer writes, with or without Dates', () => {
    fc.assert(
      fc.property(withDates, (value) => {
        expect(jsonSerializer.stringify(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back what the reviver reads back, and leaves look-alike strings alone', () => {
    fc.assert(
      fc.property(withDates, (value) => {
        const back = jsonSerializer.parse(jsonSerializer.stringify(value));
        expect(back).toEqual(referenceParse(reference(value)));
      }),
      { numRuns: 500 },
    );
    expect(jsonSerializer.parse('{"a":"$drove:date"}')).toEqual({ a: '$drove:date' });
  });

  it('honours toJSON, whose output may hold Dates', () => {
    const value = { x: { toJSON: () => ({ when: new Date(7) }) } };
    expect(jsonSerializer.stringify(value)).toBe(reference(value));
  });

  it('fails on a cycle as JSON does, not with a stack overflow', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonSerializer.stringify(cyclic)).toThrow(TypeError);
  });
});
