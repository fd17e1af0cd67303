/**
 * Formation: how many instances of each process type run, and the port each one gets.
 * @module
 */
import { FormationError } from '../errors.js';

/** The reserved process type that runs once before the formation starts. */
export const RELEASE = 'release';

/**
 * Parse `web=3,worker=2` or `all=2,web=3` into counts per type. `all=N` sets the default for
 * types not named; without it every type gets 1 (with `fillDefaults` false, as for `drove scale`,
 * only the types named, or all of them with `all=N`, appear in the result). An unknown type, a bad count or `release` is a
 * `DROVE_ERR_FORMATION` naming the flag.
 *
 * @example
 * ```ts
 * parseFormation('web=3,worker=0', ['web', 'worker', 'clock']);
 * // Map { 'web' => 3, 'worker' => 0, 'clock' => 1 }
 * parseFormation('web=3', ['web', 'worker'], 'drove scale', false); // Map { 'web' => 3 }
 * ```
 */
export function parseFormation(
  spec: string | undefined,
  types: readonly string[],
  source = `-m ${spec ?? ''}`,
  fillDefaults = true,
): Map<string, number> {
  const counts = new Map<string, number>();
  let fallback = 1;
  const explicit = new Map<string, number>();
  for (const part of (spec ?? '').split(',')) {
    if (part.trim() === '') continue;
    const match = /^\s*([A-Za-z0-9_-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match) {
      throw new FormationError({
        source,
        reason: `expected TYPE=COUNT, got ${JSON.stringify(part)}`,
      });
    }
    const [, name, count] = match as unknown as [string, string, string];
    const n = Number(count);
    if (n > MAX_INSTANCES_PER_TYPE) {
      throw new FormationError({
        source,
        reason: `count for ${name} must be 0..${MAX_INSTANCES_PER_TYPE} (each type owns a block of 100 ports, half of them for rolling-restart replacements)`,
      });
    }
    if (name === 'all') fallback = n;
    else if (name === RELEASE) {
      throw new FormationError({
        source,
        reason: '"release" runs once before start; it cannot be scaled',
      });
    } else if (!types.includes(name)) {
      throw new FormationError({
        source,
        reason: `unknown process type ${JSON.stringify(name)}; the Procfile defines: ${types.join(', ')}`,
      });
    } else explicit.set(name, n);
  }
  if (!fillDefaults) {
    const hasAll = /(^|,)\s*all\s*=/.test(spec ?? '');
    for (const type of types) {
      const n = explicit.get(type) ?? (hasAll ? fallback : undefined);
      if (n !== undefined) counts.set(type, n);
    }
    return counts;
  }
  for (const type of types) counts.set(type, explicit.get(type) ?? fallback);
  return counts;
}

/**
 * Port for instance `n` (from 1) of the type at Procfile position `typeIndex` (from 0, not
 * counting `release`, which takes no port block):
 * `base + 100 × typeIndex + n`. `alternate` is the slot a rolling restart's replacement uses
 * while the old instance still holds the primary one: `+ 50`.
 *
 * @example
 * ```ts
 * portFor(5000, 0, 1); // 5001 (web.1 when web is first)
 * portFor(5000, 1, 1); // 5101
 * portFor(5000, 0, 1, true); // 5051
 * ```
 */
export function portFor(base: number, typeIndex: number, n: number, alternate = false): number {
  return base + 100 * typeIndex + n + (alternate ? 50 : 0);
}

/** Most instances of one type whose ports stay inside the type's block of 100. */
export const MAX_INSTANCES_PER_TYPE = 49;
