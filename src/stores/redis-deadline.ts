/**
 * The store deadline (same contract as `withDeadline` in _utils.ts) without a timer per call.
 *
 * `withDeadline` arms and clears a timer and races two promises on every call; on the Redis read
 * path that alone cost 12–14% of the raw client's throughput (bench/stores/redis.ts). Every call
 * of one store has the same timeout, so deadlines come due in the order calls start: the set of
 * pending calls (in insertion order) and ONE timer, armed for the oldest pending call, do the
 * same job.
 */
import { StoreUnavailableError } from '../errors.js';
import { asUnavailable } from './_utils.js';

interface Pending {
  at: number;
  done: boolean;
  reject: (err: Error) => void;
}

/**
 * Runs an operation under a fixed deadline: its result (passed through `map`, which saves the
 * hot path a promise), or DROVE_ERR_STORE_UNAVAILABLE in time.
 */
export type DeadlineRunner = <T, R = T>(
  operation: () => Promise<T>,
  map?: (value: T) => R,
) => Promise<R>;

export function createDeadlineRunner(store: string, timeoutMs: number): DeadlineRunner {
  // Insertion order is deadline order. A call leaves the set as soon as it settles, so entries
  // die young: a queue that kept settled entries until the next sweep kept ~1 s of calls alive
  // and the garbage collector ate more than the per-call timer it replaced.
  const pending = new Set<Pending>();
  let timer: NodeJS.Timeout | undefined;

  const sweep = () => {
    timer = undefined;
    const now = Date.now();
    for (const call of pending) {
      if (call.at > now) {
        arm(call.at - now);
        return;
      }
      pending.delete(call);
      call.done = true;
      call.reject(new StoreUnavailableError({ store, reason: `no answer within ${timeoutMs} ms` }));
    }
  };

  const arm = (delay: number) => {
    timer = setTimeout(sweep, Math.max(0, delay));
    // The client's sockets keep the process alive while calls are pending; this timer need not.
    timer.unref();
  };

  return <T, R = T>(operation: () => Promise<T>, map?: (value: T) => R): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      const call: Pending = { at: Date.now() + timeoutMs, done: false, reject };
      pending.add(call);
      if (timer === undefined) arm(timeoutMs);
      const fail = (err: unknown) => {
        if (call.done) return;
        call.done = true;
        pending.delete(call);
        reject(asUnavailable(store, err));
      };
      let started: Promise<T>;
      try {
        started = operation();
      } catch (err) {
        fail(err);
        return;
      }
      started.then((value) => {
        if (call.done) return;
        let mapped: R;
        try {
          mapped = map === undefined ? (value as unknown as R) : map(value);
        } catch (err) {
          fail(err);
          return;
        }
        call.done = true;
        pending.delete(call);
        resolve(mapped);
      }, fail);
    });
}
