/**
 * Which instance gets the next request: the balancer's rotation, its strategies and quarantine,
 * with no sockets in sight (the balancer feeds it instances and asks it to pick).
 *
 * Every pick walks the instances in rotation order, starting after the last one picked, and takes
 * the one of lowest cost. The cost is the strategy's, plus two penalties that make fallbacks of
 * an instance the client connection used last (`avoid`) and, above that, of a quarantined one.
 * So round robin (cost 0 for all) takes the next acceptable one in rotation, least outstanding
 * the least busy with ties in rotation order, and a quarantined instance is tried only when no
 * other is left. A strategy is a small object: see {@link Strategy} and {@link STRATEGIES}.
 * @module
 */

/** What selection needs to know of an instance. */
export interface Candidate {
  /** Unique name, e.g. `web.1@5001`. */
  readonly id: string;
  /** Requests sent to it and not yet answered in full. */
  readonly inFlight: number;
}

/** One pick: what is known of the request it is for. */
export interface PickRequest<T extends Candidate = Candidate> {
  /**
   * Who is asking, for strategies that tell clients apart (the balancer gives one key per client
   * connection). Opaque: equal keys mean the same client.
   */
  readonly client?: string;
  /** Chosen only when nothing else is available (the instance that served this connection last). */
  readonly avoid?: T | undefined;
  /** Never chosen (instances this request already failed on). */
  readonly exclude?: readonly T[] | undefined;
}

/**
 * A balancing strategy. `cost` ranks the instances for one request: the lowest wins, ties go to
 * rotation order. Costs are ≥ 0 (0 ends the search at once); `Infinity` rules an instance out.
 */
export interface Strategy<T extends Candidate = Candidate> {
  cost(instance: T, request: PickRequest<T>): number;
  /** Told of each pick, for a strategy that remembers who served whom. */
  chosen?(instance: T, request: PickRequest<T>): void;
  /** An instance left the rotation for good: forget what is kept about it. */
  forget?(instance: T): void;
}

/** Next in rotation. */
export const roundRobin = (): Strategy => ({ cost: () => 0 });

/** The fewest requests in flight. */
export const leastOutstanding = (): Strategy => ({ cost: (instance) => instance.inFlight });

/** The strategies by the name the `strategy` option (`drove start --strategy`) takes. */
export const STRATEGIES = {
  'round-robin': roundRobin,
  'least-outstanding': leastOutstanding,
} as const satisfies Record<string, () => Strategy>;

/** How the next instance is chosen. */
export type BalancerStrategy = keyof typeof STRATEGIES;

/** Whether `name` is one of {@link STRATEGIES}. */
export function isStrategy(name: unknown): name is BalancerStrategy {
  return typeof name === 'string' && Object.hasOwn(STRATEGIES, name);
}

/** Penalties that rank fallbacks after every acceptable instance. */
const AVOID_PENALTY = 1e6;
const QUARANTINE_PENALTY = 1e9;

/** Options of {@link Selector}. */
export interface SelectorOptions<T extends Candidate> {
  strategy: Strategy<T>;
  /** How long `quarantine()` keeps an instance back. */
  quarantineMs: number;
  /** Milliseconds clock. Default `Date.now`. */
  now?: () => number;
}

/** The instances that may get requests, their rotation, up/down state and quarantine. */
export class Selector<T extends Candidate> {
  readonly #strategy: Strategy<T>;
  readonly #quarantineMs: number;
  readonly #now: () => number;
  /** Every instance, in the order they were added. */
  #members: T[] = [];
  /** Out of rotation (draining, or gone) until `markUp`. */
  readonly #down = new Set<T>();
  /** Quarantined instances and when their quarantine ends. */
  readonly #quarantinedUntil = new Map<T, number>();
  /** The members that are up, in rotation order. */
  #rotation: T[] = [];
  #cursor = 0;

  constructor(options: SelectorOptions<T>) {
    this.#strategy = options.strategy;
    this.#quarantineMs = options.quarantineMs;
    this.#now = options.now ?? Date.now;
  }

  /** Put an instance in rotation, last. */
  add(instance: T): void {
    this.#members.push(instance);
    this.#refresh();
  }

  /** Put `next` in the place of `previous` in the rotation (an instance with the same id moved). */
  replace(previous: T, next: T): void {
    const i = this.#members.indexOf(previous);
    if (i === -1) {
      this.add(next);
      return;
    }
    this.#members[i] = next;
    this.#forget(previous);
    this.#refresh();
  }

  /** Take an instance out for good. */
  remove(instance: T): void {
    const i = this.#members.indexOf(instance);
    if (i === -1) return;
    this.#members.splice(i, 1);
    this.#forget(instance);
    this.#refresh();
  }

  /** No new requests for this instance (it drains, or its process exited) until `markUp`. */
  markDown(instance: T): void {
    this.#down.add(instance);
    this.#refresh();
  }

  /** Back in rotation, in its old place. */
  markUp(instance: T): void {
    if (this.#down.delete(instance)) this.#refresh();
  }

  /** Whether the instance is out of rotation (`markDown`). */
  isDown(instance: T): boolean {
    return this.#down.has(instance);
  }

  /**
   * Keep the instance back for `quarantineMs` (from now: a second quarantine extends the first);
   * it is then picked only when no other is left. Returns true when it was not quarantined yet.
   */
  quarantine(instance: T): boolean {
    const fresh = !this.isQuarantined(instance);
    this.#quarantinedUntil.set(instance, this.#now() + this.#quarantineMs);
    return fresh;
  }

  isQuarantined(instance: T): boolean {
    const until = this.#quarantinedUntil.get(instance);
    if (until === undefined) return false;
    if (this.#now() < until) return true;
    this.#quarantinedUntil.delete(instance);
    return false;
  }

  /** The instance for this request, or undefined when none is up (or all are excluded). */
  pick(request: PickRequest<T> = {}): T | undefined {
    const rotation = this.#rotation;
    const n = rotation.length;
    if (n === 0) return undefined;
    const { avoid, exclude } = request;
    let best: T | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (this.#cursor + k) % n;
      const candidate = rotation[index] as T;
      if (exclude?.includes(candidate)) continue;
      let cost = this.#strategy.cost(candidate, request);
      if (candidate === avoid) cost += AVOID_PENALTY;
      if (this.#quarantinedUntil.size > 0 && this.isQuarantined(candidate))
        cost += QUARANTINE_PENALTY;
      if (cost < bestCost) {
        best = candidate;
        bestCost = cost;
        bestIndex = index;
        if (cost === 0) break;
      }
    }
    if (!best) return undefined;
    this.#cursor = (bestIndex + 1) % n;
    this.#strategy.chosen?.(best, request);
    return best;
  }

  #forget(instance: T): void {
    this.#down.delete(instance);
    this.#quarantinedUntil.delete(instance);
    this.#strategy.forget?.(instance);
  }

  #refresh(): void {
    this.#rotation = this.#members.filter((m) => !this.#down.has(m));
  }
}
