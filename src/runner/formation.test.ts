import { describe, expect, it } from 'vitest';
import { FormationError } from '../errors.js';
import { parseFormation, portFor } from './formation.js';

const types = ['web', 'worker', 'clock'];

describe('parseFormation', () => {
  it('defaults every type to 1', () => {
    expect([...parseFormation(undefined, types)]).toEqual([
      ['web', 1],
      ['worker', 1],
      ['clock', 1],
    ]);
  });

  it('reads counts, all=N and zeros', () => {
    expect(Object.fromEntries(parseFormation('all=2,web=3,clock=0', types))).toEqual({
      web: 3,
      worker: 2,
      clock: 0,
    });
  });

  it('refuses unknown types, release, bad syntax and too many instances', () => {
    expect(() => parseFormation('web=1,wrker=2', types)).toThrow(FormationError);
    expect(() => parseFormation('web=1,wrker=2', types)).toThrow(/unknown process type "wrker"/);
    expect(() => parseFormation('release=1', types)).toThrow(FormationError);
    expect(() => parseFormation('web:3', types)).toThrow(/expected TYPE=COUNT/);
    expect(() => parseFormation('web=50', types)).toThrow(/0\.\.49/);
  });

  it('for scale, names only the types given', () => {
    expect(Object.fromEntries(parseFormation('web=4', types, 'scale', false))).toEqual({ web: 4 });
    expect(Object.fromEntries(parseFormation('all=0', types, 'scale', false))).toEqual({
      web: 0,
      worker: 0,
      clock: 0,
    });
  });
});

describe('portFor', () => {
  it('is PORT + 100 x Procfile position + n, with the alternate slot at +50', () => {
    expect(portFor(5000, 0, 1)).toBe(5001);
    expect(portFor(5000, 0, 2)).toBe(5002);
    expect(portFor(5000, 1, 1)).toBe(5101);
    expect(portFor(5000, 0, 1, true)).toBe(5051);
  });
});
