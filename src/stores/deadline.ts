/**
 * The store deadline, one mechanism for every driver: each store call settles within the store's
 * `timeoutMs` (DROVE_ERR_STORE_UNAVAILABLE otherwise), and a write whose reply was lost is
 * resolved truthfully (see `fencedWrite`).
 *
 * No timer per call: arming and clearing a timer and racing two promises on every call cost
 * 12–14% of the raw Redis client's throughput on the read path (bench/stores/redis.ts). Every call
 * of one runner has the same timeout, so deadlines come due in the order calls start: the set of
 * pending calls (in insertion order) and ONE timer, armed for the oldest pending call, do the job.
 */
import { DroveError, StoreOutcomeUnknownError, StoreUnavailableError } from '../errors.js';

/** Wrap a backend failure as DROVE_ERR_STORE_UNAVAILABLE unless it is already a coded error. */
export function asUnavailable(store: string, err: unknown): Error {
  if (err instanceof DroveError) return err;
  const reason = err instanceof Error ? err.message || err.name : String(err);
  return new StoreUnavailableError({ store, reason }, { cause: err });
}

interface Pending {
  at: number;
  done: boolean;
  reject: (err: Error) => void;
}

/**
 * Runs an operation under the runner's fixed deadline: its result (passed through `map`, which
 * saves the hot path a promise), or DROVE_ERR_STORE_UNAVAILABLE in time. The operation gets its
 * deadline (ms since the epoch, this host's clock), so that inner loops and fences stop there too.
 */
export type DeadlineRunner = <T, R = T>(
  operation: (deadline: number) => Promise<T>,
  map?: (value: T) => R,
) => Promise<R>;

/**
 * A deadline runner for one store. `toError` turns an operation's failure into the error the
 * caller sees (default: `asUnavailable`).
 */
export function createDeadlineRunner(
  store: string,
  timeoutMs: number,
  toError: (err: unknown) => Error = (err) => asUnavailable(store, err),
): DeadlineRunner {
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
      call.reject(unanswered(store, timeoutMs));
    }
  };

  const arm = (delay: number) => {
    timer = setTimeout(sweep, Math.max(0, delay));
    // The client's sockets keep the process alive while calls are pending; this timer need not.
    timer.unref();
  };

  return <T, R = T>(operation: (deadline: number) => Promise<T>, map?: (value: T) => R) =>
    new Promise<R>((resolve, reject) => {
      const call: Pending = { at: Date.now() + timeoutMs, done: false, reject };
      pending.add(call);
      if (timer === undefined) arm(timeoutMs);
      const fail = (err: unknown) => {
        if (call.done) return;
        call.done = true;
        pending.delete(call);
        reject(toError(err));
      };
      let started: Promise<T>;
      try {
        started = operation(call.at);
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

function unanswered(store: string, timeoutMs: number): Error {
  return new StoreUnavailableError({ store, reason: `no answer within ${timeoutMs} ms` });
}

/** What a fenced write returns when its fence refused it: the deadline had passed on the server. */
export const LATE = Symbol('late');

/**
 * A conditional write carrying a server-clock fence: the backend applies it only while the
 * server's clock is before the caller's deadline (converted by `ServerClock`), so once the
 * deadline has passed here, the write has either landed already or never will.
 */
export interface FencedWrite<T> {
  /** What the call is, for errors: `update`, `create`, … */
  operation: string;
  /**
   * Send the write with this deadline (this host's clock). Call `sent()` once it has been handed
   * to a connection (before that, a failure means it cannot have landed). Resolves with the
   * result, or LATE when the fence refused it.
   */
  send(deadline: number, sent: () => void): Promise<T | typeof LATE>;
  /**
   * After the reply was lost: the result if the write landed, undefined if it did not. Only
   * called after the write's deadline, when the fence has made the answer final. Writes that
   * cannot be recognised afterwards (no version of their own) leave it out.
   */
  readBack?(): Promise<T | undefined>;
}

/** Pause between read-back attempts while the store is still away. */
const READ_BACK_RETRY_MS = 50;

/**
 * Run a fenced write so that its caller's answer is the truth:
 * - the result, when the reply came (or when a read-back found the write applied);
 * - DROVE_ERR_STORE_UNAVAILABLE only when the write did not land and never will: it never reached
 *   a connection, its fence refused it, or a read-back after its deadline found it absent;
 * - DROVE_ERR_STORE_OUTCOME_UNKNOWN when the reply was lost and the store did not answer a
 *   read-back within a second `timeoutMs`: it may have landed before its deadline (never after).
 */
export async function fencedWrite<T>(
  store: string,
  run: DeadlineRunner,
  timeoutMs: number,
  write: FencedWrite<T>,
): Promise<T> {
  let sent = false;
  let result: T | typeof LATE;
  try {
    result = await run((deadline) =>
      write.send(deadline, () => {
        sent = true;
      }),
    );
  } catch (err) {
    if (!sent || !(err instanceof StoreUnavailableError)) throw err;
    return resolveLost(store, run, timeoutMs, write, err);
  }
  if (result === LATE) {
    throw new StoreUnavailableError({
      store,
      reason: `${write.operation} reached the server after its deadline and was not applied`,
    });
  }
  return result;
}

async function resolveLost<T>(
  store: string,
  run: DeadlineRunner,
  timeoutMs: number,
  write: FencedWrite<T>,
  lost: Error,
): Promise<T> {
  const readBack = write.readBack;
  const until = Date.now() + timeoutMs;
  while (readBack && Date.now() < until) {
    let landed: T | undefined | typeof LATE;
    try {
      landed = await raceUntil(
        run(() => readBack()),
        until,
      );
    } catch {
      await new Promise((resolve) => setTimeout(resolve, READ_BACK_RETRY_MS));
      continue;
    }
    if (landed === LATE) break;
    if (landed !== undefined) return landed;
    throw new StoreUnavailableError(
      { store, reason: `the reply to ${write.operation} was lost; read back: not applied` },
      { cause: lost },
    );
  }
  throw new StoreOutcomeUnknownError(
    { store, operation: write.operation, reason: lost.message },
    { cause: lost },
  );
}

/** The promise's value, or LATE once `until` (ms since the epoch) has passed. */
function raceUntil<T>(promise: Promise<T>, until: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), Math.max(0, until - Date.now()));
  });
  // The loser may still fail later: that failure is not the caller's any more.
  promise.catch(() => undefined);
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One connection's view of the server's clock, measured when it connects: `offset` = server
 * minus local (ms), known to ± `uncertainty` (half the round trip of the measurement).
 */
export interface ServerClock {
  offset: number;
  uncertainty: number;
}

/**
 * Measure a server clock: `now()` asks the server for its time in ms since the epoch. The
 * reply was produced somewhere between sending and receiving, so the midpoint is the estimate and
 * half the round trip its error bound.
 */
export async function measureClock(now: () => Promise<number>): Promise<ServerClock> {
  const before = Date.now();
  const server = await now();
  const after = Date.now();
  return { offset: server - (before + after) / 2, uncertainty: (after - before) / 2 };
}

/**
 * The fence margin, in ms: room for clock drift since the measurement and for the reply's way
 * back, so that a write landing at its fence usually still answers before its deadline.
 */
export function fenceMargin(timeoutMs: number): number {
  return Math.max(5, Math.floor(timeoutMs / 20));
}

/**
 * A local deadline in the server's clock, minus the uncertainty and the margin: a write that
 * runs before this server time provably ran before the caller's deadline.
 */
export function serverDeadline(deadline: number, clock: ServerClock, timeoutMs: number): number {
  return Math.floor(deadline + clock.offset - clock.uncertainty - fenceMargin(timeoutMs));
}
