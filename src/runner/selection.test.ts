import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  isStrategy,
  leastOutstanding,
  type PickRequest,
  roundRobin,
  Selector,
  type Strategy,
} from './selection.js';

interface Fake extends Candidate {
  inFlight: number;
}

const instances = (...ids: string[]): Fake[] => ids.map((id) => ({ id, inFlight: 0 }));

function selector(strategy: Strategy<Fake> = roundRobin(), clock = { t: 0 }) {
  return new Selector<Fake>({ strategy, quarantineMs: 100, now: () => clock.t });
}

/** The ids of `n` picks in a row. */
function picks(s: Selector<Fake>, n: number, request: PickRequest<Fake> = {}): string[] {
  return Array.from({ length: n }, () => s.pick(request)?.id ?? '-');
}

describe('Selector', () => {
  it('round robin goes through the instances in the order they were added', () => {
    const s = selector();
    for (const i of instances('a', 'b', 'c')) s.add(i);
    expect(picks(s, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('picks nothing when no instance is up', () => {
    const s = selector();
    expect(s.pick()).toBeUndefined();
    const [a] = instances('a') as [Fake];
    s.add(a);
    s.markDown(a);
    expect(s.pick()).toBeUndefined();
  });

  it('least outstanding takes the least busy, ties in rotation order', () => {
    const s = selector(leastOutstanding());
    const [a, b, c] = instances('a', 'b', 'c') as [Fake, Fake, Fake];
    for (const i of [a, b, c]) s.add(i);
    a.inFlight = 3;
    b.inFlight = 1;
    c.inFlight = 1;
    expect(s.pick()?.id).toBe('b');
    expect(s.pick()?.id).toBe('c');
    c.inFlight = 5;
    expect(s.pick()?.id).toBe('b');
  });

  it('avoids the instance a connection used last while another is available', () => {
    const s = selector();
    const [a, b] = instances('a', 'b') as [Fake, Fake];
    s.add(a);
    s.add(b);
    expect(picks(s, 4, { avoid: a })).toEqual(['b', 'b', 'b', 'b']);
    s.markDown(b);
    expect(s.pick({ avoid: a })?.id).toBe('a');
  });

  it('never picks an excluded instance (one the request already failed on)', () => {
    const s = selector();
    const [a, b] = instances('a', 'b') as [Fake, Fake];
    s.add(a);
    s.add(b);
    expect(picks(s, 3, { exclude: [a] })).toEqual(['b', 'b', 'b']);
    expect(s.pick({ exclude: [a, b] })).toBeUndefined();
  });

  it('quarantine keeps an instance back until it ends, as a last resort meanwhile', () => {
    const clock = { t: 0 };
    const s = selector(roundRobin(), clock);
    const [a, b] = instances('a', 'b') as [Fake, Fake];
    s.add(a);
    s.add(b);
    expect(s.quarantine(a)).toBe(true);
    expect(s.quarantine(a)).toBe(false); // already quarantined: extended, not new
    expect(picks(s, 3)).toEqual(['b', 'b', 'b']);
    expect(s.pick({ exclude: [b] })?.id).toBe('a');
    // A quarantined instance loses to the one the connection used last.
    expect(s.pick({ avoid: b })?.id).toBe('b');
    clock.t = 99;
    expect(s.isQuarantined(a)).toBe(true);
    clock.t = 100;
    expect(s.isQuarantined(a)).toBe(false);
    expect(picks(s, 2)).toEqual(['a', 'b']);
  });

  it('markDown takes an instance out of rotation at once, markUp puts it back in its place', () => {
    const s = selector();
    const [a, b, c] = instances('a', 'b', 'c') as [Fake, Fake, Fake];
    for (const i of [a, b, c]) s.add(i);
    expect(s.pick()?.id).toBe('a');
    s.markDown(b);
    expect(s.isDown(b)).toBe(true);
    expect(picks(s, 4)).not.toContain('b');
    s.markUp(b);
    expect(s.isDown(b)).toBe(false);
    expect(new Set(picks(s, 3))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('replace keeps the rotation place; remove forgets the instance and its quarantine', () => {
    const s = selector();
    const [a, b, c, b2] = instances('a', 'b', 'c', 'b') as [Fake, Fake, Fake, Fake];
    for (const i of [a, b, c]) s.add(i);
    s.quarantine(b);
    s.replace(b, b2);
    expect(s.isQuarantined(b2)).toBe(false);
    const seq = [];
    for (let k = 0; k < 3; k++) seq.push(s.pick());
    expect(seq).toEqual([a, b2, c]);
    s.remove(b2);
    expect(picks(s, 4)).toEqual(['a', 'c', 'a', 'c']);
  });

  it('a strategy is a small object: cost Infinity rules out, chosen sees every pick', () => {
    // Never the instance that served the same client last (what an adversarial check does).
    const last = new Map<string, Candidate>();
    const seen: string[] = [];
    const notTheSame: Strategy<Fake> = {
      cost: (instance, request) =>
        request.client !== undefined && last.get(request.client) === instance
          ? Number.POSITIVE_INFINITY
          : 0,
      chosen: (instance, request) => {
        seen.push(`${request.client}:${instance.id}`);
        if (request.client !== undefined) last.set(request.client, instance);
      },
      forget: (instance) => {
        for (const [client, i] of last) if (i === instance) last.delete(client);
      },
    };
    const s = selector(notTheSame);
    const [a, b] = instances('a', 'b') as [Fake, Fake];
    s.add(a);
    s.add(b);
    expect(s.pick({ client: 'x' })?.id).toBe('a');
    expect(s.pick({ client: 'y' })?.id).toBe('b');
    expect(s.pick({ client: 'y' })?.id).toBe('a');
    expect(s.pick({ client: 'y' })?.id).toBe('b');
    s.remove(a);
    expect(s.pick({ client: 'y' })).toBeUndefined(); // only b is left and it served y last
    expect(s.pick({ client: 'x' })?.id).toBe('b');
    expect(seen).toEqual(['x:a', 'y:b', 'y:a', 'y:b', 'x:b']);
  });

  it('knows the strategies by name', () => {
    expect(isStrategy('round-robin')).toBe(true);
    expect(isStrategy('least-outstanding')).toBe(true);
    expect(isStrategy('sticky')).toBe(false);
    expect(isStrategy('toString')).toBe(false);
  });
});
