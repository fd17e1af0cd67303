/**
 * Retrying a conditional write that lost the race: exponential backoff with full jitter, bounded
 * by a time budget rather than an attempt count. Under heavy contention (many parallel writers of
 * one session) a fixed attempt count gives up while the budget still has room; a budget keeps
 * retrying as long as the wait stays reasonable, and the capped random backoff spreads the
 * writers out so that each retry has a fair chance to win.
 */
import { InvalidOptionError, SessionConflictError } from '../errors.js';

/** How a save or `update()` retries after losing the race to a parallel writer. */
export interface ConflictRetryOptions {
  /**
   * How long a save or `update()` keeps retrying, counted from its first conflict, before it fails
   * with DROVE_ERR_SESSION_CONFLICT. Default 3000 ms (three default store timeouts).
   */
  budgetMs?: number;
  /** Backoff ceiling after the first conflict; it doubles with every conflict. Default 2 ms. */
  baseDelayMs?: number;
  /** Largest backoff ceiling. Default 100 ms. */
  maxDelayMs?: number;
}

export type ConflictRetryPolicy = Required<ConflictRetryOptions>;

const DEFAULTS: ConflictRetryPolicy = { budgetMs: 3000, baseDelayMs: 2, maxDelayMs: 100 };

/** The options with defaults, checked. */
export function conflictRetryPolicy(options: ConflictRetryOptions = {}): ConflictRetryPolicy {
  const policy = { ...DEFAULTS, ...options };
  for (const name of Object.keys(DEFAULTS) as (keyof ConflictRetryPolicy)[]) {
    const value = policy[name];
    if (!(value >= 0 && Number.isFinite(value))) {
      throw new InvalidOptionError({
        option: `conflictRetry.${name}`,
        reason: `expected a finite number ≥ 0, got ${value}`,
      });
    }
  }
  return policy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One write's retries. Created at its first conflict only, so the uncontended path (one
 * conditional write) pays nothing for it.
 */
export class ConflictBackoff {
  readonly #policy: ConflictRetryPolicy;
  readonly #start = performance.now();
  #conflicts = 0;

  constructor(policy: ConflictRetryPolicy) {
    this.#policy = policy;
  }

  /** Conflicts seen so far. */
  get conflicts(): number {
    return this.#conflicts;
  }

  /**
   * Record a lost race, then wait a random time in [0, min(max, base · 2^(n-1))) — never past the
   * budget. Throws DROVE_ERR_SESSION_CONFLICT when the budget is spent.
   */
  async afterConflict(): Promise<void> {
    this.#conflicts++;
    const { budgetMs, baseDelayMs, maxDelayMs } = this.#policy;
    const elapsed = performance.now() - this.#start;
    const left = budgetMs - elapsed;
    if (left <= 0) {
      throw new SessionConflictError({ attempts: this.#conflicts, elapsedMs: Math.round(elapsed) });
    }
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.#conflicts - 1, 30));
    await sleep(Math.min(left, Math.random() * ceiling));
  }
}
