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
  readonly #lanes: RetryLanes;
  readonly #key: string;
  #conflicts = 0;
  #endTurn: (() => void) | undefined;

  /** `key`: the store key written, whose lane in `lanes` the retries take turns in. */
  constructor(policy: ConflictRetryPolicy, lanes: RetryLanes, key: string) {
    this.#policy = policy;
    this.#lanes = lanes;
    this.#key = key;
  }

  /** Conflicts seen so far. */
  get conflicts(): number {
    return this.#conflicts;
  }

  /** Budget left, in ms. */
  get leftMs(): number {
    return this.#policy.budgetMs - (performance.now() - this.#start);
  }

  /**
   * Record a lost race, take this key's turn in this process (the first time), then wait a random time in [0, min(max, base · 2^(n-1))) — never past the
   * budget. Throws DROVE_ERR_SESSION_CONFLICT when the budget is spent.
   */
  async afterConflict(): Promise<void> {
    this.#conflicts++;
    this.#endTurn ??= await this.#lanes.enter(this.#key, this.leftMs);
    const { budgetMs, baseDelayMs, maxDelayMs } = this.#policy;
    const elapsed = performance.now() - this.#start;
    const left = budgetMs - elapsed;
    if (left <= 0) {
      throw new SessionConflictError({ attempts: this.#conflicts, elapsedMs: Math.round(elapsed) });
    }
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.#conflicts - 1, 30));
    await sleep(Math.min(left, Math.random() * ceiling));
  }

  /** The write is over (written, given up or gone): the next retrier of this key may go. */
  done(): void {
    this.#endTurn?.();
  }
}

/**
 * Per-key lanes for the retries of one process: writers of one session that already lost a race
 * take turns instead of racing each other again, so a retry in this process wins unless another
 * process wrote meanwhile. Only an optimization (the conditional write keeps it correct), so a
 * turn never waits past the caller's budget, and the uncontended path never enters a lane.
 */
export class RetryLanes {
  readonly #tails = new Map<string, Promise<void>>();

  /** Wait for the turn on `key` (at most `waitMs`); returns the function that ends the turn. */
  async enter(key: string, waitMs: number): Promise<() => void> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    if (previous) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, waitMs));
      });
      await Promise.race([previous, timeout]);
      clearTimeout(timer);
    }
    return release;
  }
}
