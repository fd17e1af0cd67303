/**
 * Crash-restart policy: PM2's exponential backoff and crash-loop detection, as pure functions of
 * uptime so they can be tested without waiting.
 * @module
 */

/** Tuning of the restart policy. Defaults follow PM2's `exp_backoff_restart_delay`. */
export interface RestartPolicyOptions {
  /** First delay in ms. Default 100. */
  initialDelayMs?: number;
  /** Growth per consecutive crash. Default 1.5. */
  factor?: number;
  /** Ceiling of the delay in ms. Default 15 000. */
  maxDelayMs?: number;
  /** Uptime after which the delay starts again from `initialDelayMs`. Default 30 000. */
  resetAfterMs?: number;
  /** A run shorter than this is a "quick crash". Default 1 000. */
  minUptimeMs?: number;
  /** This many consecutive quick crashes mark the instance errored. Default 16. */
  maxQuickCrashes?: number;
}

/** What to do after an instance exited. */
export type RestartDecision =
  | { action: 'restart'; delayMs: number; quickCrashes: number }
  | { action: 'errored'; quickCrashes: number };

/**
 * Restart state of one instance.
 *
 * @example
 * ```ts
 * const policy = new RestartPolicy();
 * policy.onExit(50);  // { action: 'restart', delayMs: 100, quickCrashes: 1 }
 * policy.onExit(50);  // { action: 'restart', delayMs: 150, quickCrashes: 2 }
 * policy.onExit(60_000); // { action: 'restart', delayMs: 100, quickCrashes: 0 }
 * ```
 */
export class RestartPolicy {
  readonly options: Required<RestartPolicyOptions>;
  #nextDelay: number;
  #quick = 0;

  constructor(options: RestartPolicyOptions = {}) {
    this.options = {
      initialDelayMs: options.initialDelayMs ?? 100,
      factor: options.factor ?? 1.5,
      maxDelayMs: options.maxDelayMs ?? 15_000,
      resetAfterMs: options.resetAfterMs ?? 30_000,
      minUptimeMs: options.minUptimeMs ?? 1_000,
      maxQuickCrashes: options.maxQuickCrashes ?? 16,
    };
    this.#nextDelay = this.options.initialDelayMs;
  }

  /** Record an exit after `uptimeMs` of running and decide what happens next. */
  onExit(uptimeMs: number): RestartDecision {
    const o = this.options;
    if (uptimeMs >= o.resetAfterMs) this.#nextDelay = o.initialDelayMs;
    this.#quick = uptimeMs < o.minUptimeMs ? this.#quick + 1 : 0;
    if (this.#quick >= o.maxQuickCrashes) return { action: 'errored', quickCrashes: this.#quick };
    const delayMs = Math.round(Math.min(this.#nextDelay, o.maxDelayMs));
    this.#nextDelay = Math.min(this.#nextDelay * o.factor, o.maxDelayMs);
    return { action: 'restart', delayMs, quickCrashes: this.#quick };
  }

  /** Forget the history (after a deliberate restart or scale). */
  reset(): void {
    this.#nextDelay = this.options.initialDelayMs;
    this.#quick = 0;
  }
}

/** Timers the supervisor uses; inject a fake one to test restarts without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
