/**
 * The store deadline (same contract as `withDeadline` in _utils.ts) without a timer per call.
 *
 * `withDeadline` arms and clears a timer and races two promises on every call; on the Redis read
 * path that alone cost 12–14% of the raw client's throughput (bench/stores/redis.ts). Every call
 * of one store has the same timeout, so deadlines come due in the order calls start: a FIFO of
 * pending calls and ONE timer, armed for the oldest pending call, do the same job.
 */
import { StoreUnavailableError } from '../errors.js';
import { asUnavailable } from './_utils.js';

interface Pending {
  at: number;
  done: boolean;
  reject: (err: Error) => void;
}

/** Runs operations under a fixed deadline: the result, or DROVE_ERR_STORE_UNAVAILABLE in time. */
export type DeadlineRunner = <T>(operation: () => Promise<T>) => Promise<T>;

export function createDeadlineRunner(store: string, timeoutMs: number): DeadlineRunner {
  let queue: Pending[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  const sweep = () => {
    timer = undefined;
    const now = Date.now();
    while (head < queue.length) {
      const pending = queue[head]!;
      if (!pending.done) {
        if (pending.at > now) break;
        pending.done = true;
        pending.reject(
          new StoreUnavailableError({ store, reason: `no answer within ${timeoutMs} ms` }),
        );
      }
      head++;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
      return;
    }
    if (head > 1024) {
      queue = queue.slice(head);
      head = 0;
    }
    arm(queue[head]!.at - now);
  };

  const arm = (delay: number) => {
    timer = setTimeout(sweep, Math.max(0, delay));
    // The client's sockets keep the process alive while calls are pending; this timer need not.
    timer.unref();
  };

  return <T>(operation: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const pending: Pending = { at: Date.now() + timeoutMs, done: false, reject };
      queue.push(pending);
      if (timer === undefined) arm(timeoutMs);
      const fail = (err: unknown) => {
        if (pending.done) return;
        pending.done = true;
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
        if (pending.done) return;
        pending.done = true;
        resolve(value);
      }, fail);
    });
}
