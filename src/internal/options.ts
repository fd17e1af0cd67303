/** Option checks shared by every feature, so one option means the same thing everywhere. */
import { InvalidOptionError } from '../errors.js';

/** How {@link positive} treats a missing value and Infinity. */
export interface PositiveRule {
  /** Used when the value is undefined; without it, undefined is refused. */
  fallback?: number;
  /** Accept `Infinity`, for options documented as "`Infinity` for none". Default false. */
  allowInfinity?: boolean;
}

/**
 * The one rule for numeric options: a number above zero and finite (NaN, 0, negatives and,
 * unless the rule allows it, Infinity are refused with DROVE_ERR_INVALID_OPTION naming the option).
 */
export function positive(
  option: string,
  value: number | undefined,
  rule: PositiveRule = {},
): number {
  const checked = value ?? rule.fallback;
  const finiteEnough =
    typeof checked === 'number' &&
    (Number.isFinite(checked) || (rule.allowInfinity === true && checked === Infinity));
  if (!finiteEnough || !(checked > 0)) {
    throw new InvalidOptionError({ option, reason: `expected a positive number, got ${checked}` });
  }
  return checked;
}
