/**
 * One formation for `drove check`: the Procfile's processes behind a balancer that records every
 * request it routes (who asked, which instance answered, the status, a digest of the body) and,
 * in the adversarial mode, keeps each client off its previous instance and restarts instances
 * every N requests. Built on the runner's library API (`drovejs/runner`), like `drove start`.
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import {
  type Balancer,
  createBalancer,
  FormationLog,
  type ProcessType,
  type Readiness,
  Supervisor,
} from '../runner/index.js';
import { adversarial, adversarialKey, type ClientKeys, unpackKeys } from './strategy.js';

/** One request the balancer routed. */
export interface RequestRecord {
  /** Order of arrival, from 1. */
  seq: number;
  method: string;
  path: string;
  /** The status sent; undefined when the exchange was cut before an answer. */
  status: number | undefined;
  client: ClientKeys;
  /** `web.1@5001`; undefined when no instance was ready. */
  instance: string | undefined;
  /** sha1 of the response body, to tell two answers with one status apart. */
  body: string | undefined;
  /** How many restarts had begun when it arrived. */
  restartsBefore: number;
}

/** One restart the check made. */
export interface RestartRecord {
  /** The requests that had arrived when it began. */
  afterRequest: number;
  instance: string;
  how: 'graceful' | 'kill';
}

/** Options of {@link startHerd}. */
export interface HerdOptions {
  cwd: string;
  types: ProcessType[];
  env: Record<string, string>;
  counts: Map<string, number>;
  /** Keep clients off their previous instance (else round robin). */
  adversarial: boolean;
  /** The session cookie's name; default: any session-like name (strategy.ts). */
  cookieName?: string | undefined;
  /** Restart a web instance every N routed requests; 0: never. */
  restartEvery: number;
  /** Restart by SIGKILL of a drained instance, not by a rolling restart. */
  kill: boolean;
  readiness: Readiness;
  shutdownTimeoutMs: number;
  /** How long the formation may take to get every web instance ready. */
  readyTimeoutMs: number;
  /** Where the formation's log goes (the last lines are kept for the report anyway). */
  log?: { write(chunk: string): unknown } | undefined;
}

/** A running formation. */
export interface Herd {
  /** The balancer's base URL. */
  url: string;
  records: RequestRecord[];
  restarts: RestartRecord[];
  /** The formation log's last lines. */
  logTail(): string[];
  stop(): Promise<void>;
}

/** The app could not be started: why, and its last log lines. */
export class HerdStartError extends Error {
  readonly logTail: string[];
  constructor(message: string, logTail: string[]) {
    super(message);
    this.name = 'HerdStartError';
    this.logTail = logTail;
  }
}

const WEB = 'web';
const TAIL = 60;
/** Crash restarts of a web instance before it was ever ready, after which the app "does not start". */
const CRASHES_BEFORE_READY = 3;
/**
 * An instance younger than this is not killed: the runner counts an exit within 1 s of a start
 * as a quick crash, and a kill must never make it give up on an instance.
 */
const MIN_UPTIME_TO_KILL_MS = 1_500;

/** Start the formation and wait until every web instance is ready. */
export async function startHerd(o: HerdOptions): Promise<Herd> {
  const tail: string[] = [];
  const out = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') tail.push(line);
      if (tail.length > TAIL) tail.splice(0, tail.length - TAIL);
      o.log?.write(chunk);
    },
  };
  const log = new FormationLog({ out, colour: false });
  const webCount = o.counts.get(WEB) ?? 0;
  const basePort = await freeBase(o.types, o.counts);
  const records: RequestRecord[] = [];
  const restarts: RestartRecord[] = [];
  let restarting: Promise<void> | undefined;
  let stopping = false;
  let fatal: string | undefined;

  const balancer: Balancer = createBalancer({
    port: 0,
    strategy: o.adversarial ? adversarial() : 'round-robin',
    ...(o.adversarial ? { clientKey: adversarialKey(o.cookieName) } : {}),
    log: (msg) => log.line('balancer', msg, 'system'),
    onRouted: (req, res, route) => {
      const record: RequestRecord = {
        seq: records.length + 1,
        method: req.method ?? '',
        path: req.url ?? '',
        status: undefined,
        client: unpackKeys(route.client),
        instance: route.instance,
        body: undefined,
        restartsBefore: restarts.length,
      };
      records.push(record);
      digestBody(req, res, record);
      if (o.restartEvery > 0 && record.seq % o.restartEvery === 0 && !restarting && !stopping) {
        restarting = restartNext(record.seq).finally(() => {
          restarting = undefined;
        });
      }
    },
  });
  const supervisor = new Supervisor({
    types: o.types,
    env: o.env,
    cwd: o.cwd,
    basePort,
    shutdownTimeoutMs: o.shutdownTimeoutMs,
    restart: true,
    policy: { initialDelayMs: 50 },
    readiness: o.readiness,
    balancer,
    log,
    onFatal: ({ message }) => {
      fatal = message;
    },
  });

  let turn = 0;
  /** Restart the next web instance in turn: rolling, or drained then SIGKILLed. */
  async function restartNext(afterRequest: number): Promise<void> {
    // Called as a request is routed: let it reach its instance first, so in-flight counts are true.
    await new Promise((r) => setImmediate(r));
    const webs = supervisor.status().filter((r) => r.type === WEB && r.state === 'up');
    if (webs.length === 0) return;
    const row = webs[turn++ % webs.length];
    if (!row) return;
    if (!o.kill) {
      restarts.push({ afterRequest, instance: row.name, how: 'graceful' });
      log.system(`drove check: rolling restart of ${row.name} after request ${afterRequest}`);
      await supervisor.restart(row.name);
      return;
    }
    if ((row.uptimeMs ?? 0) < MIN_UPTIME_TO_KILL_MS || row.pgid === null) return;
    // A kill leaves its instance down until the runner has it back: killing another one meanwhile
    // can take the last, and the next request finds no instance (a 503 of the check, not of the
    // app). Kill only a whole herd: every web instance up and ready.
    const ready = balancer.list().filter((b) => b.state === 'ready').length;
    if (webs.length < webCount || ready < webCount) return;
    const id = `${row.name}@${row.port}`;
    await balancer.drain(id, o.shutdownTimeoutMs);
    const busy = balancer.list().find((b) => b.id === id)?.inFlight ?? 0;
    if (busy > 0 || stopping) {
      // Still answering: a kill now would be an in-flight error, not a state finding.
      balancer.add({ id, host: '127.0.0.1', port: row.port });
      return;
    }
    restarts.push({ afterRequest, instance: row.name, how: 'kill' });
    log.system(`drove check: SIGKILL of drained ${row.name} after request ${afterRequest}`);
    try {
      process.kill(-row.pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  const stop = async () => {
    stopping = true;
    await restarting?.catch(() => {});
    await Promise.all([balancer.close(o.shutdownTimeoutMs), supervisor.stop()]);
  };

  try {
    await balancer.listen();
    await supervisor.scale(o.counts);
    const deadline = Date.now() + o.readyTimeoutMs;
    for (;;) {
      if (fatal) throw new HerdStartError(`the app does not start: ${fatal}`, [...tail]);
      // A check must fail fast on an app that does not start, not back off for minutes.
      const crashed = supervisor
        .status()
        .find((r) => r.type === WEB && r.restarts >= CRASHES_BEFORE_READY);
      if (crashed) {
        throw new HerdStartError(
          `the app does not start: ${crashed.name} exited ${crashed.restarts + 1} times before it was ready (${crashed.lastExit ?? 'no status'})`,
          [...tail],
        );
      }
      const ready = balancer.list().filter((b) => b.state === 'ready').length;
      if (ready >= webCount) break;
      if (Date.now() > deadline) {
        throw new HerdStartError(
          `the app does not start: ${ready} of ${webCount} web instances ready after ${o.readyTimeoutMs} ms`,
          [...tail],
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const { port } = balancer.address();
  return { url: `http://127.0.0.1:${port}`, records, restarts, logTail: () => [...tail], stop };
}

/** Follow the response: its status and a digest of its body, once it is over. */
function digestBody(_req: IncomingMessage, res: ServerResponse, record: RequestRecord): void {
  const hash = createHash('sha1');
  type Writer = (chunk?: unknown, ...rest: unknown[]) => unknown;
  const feed = (chunk: unknown) => {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) hash.update(chunk);
  };
  const write = res.write.bind(res) as Writer;
  const end = res.end.bind(res) as Writer;
  (res as unknown as { write: Writer }).write = (chunk, ...rest) => {
    feed(chunk);
    return write(chunk, ...rest);
  };
  (res as unknown as { end: Writer }).end = (chunk, ...rest) => {
    if (typeof chunk !== 'function') feed(chunk);
    return end(chunk, ...rest);
  };
  res.once('close', () => {
    record.status = res.headersSent ? res.statusCode : undefined;
    record.body = hash.digest('hex');
  });
}

/** A base port whose instance ports (primary and rolling-restart slots) are all free now. */
async function freeBase(types: ProcessType[], counts: Map<string, number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 100 * Math.floor(Math.random() * 350);
    const ports: number[] = [];
    for (const t of types) {
      for (let n = 1; n <= (counts.get(t.name) ?? 0); n++) {
        ports.push(base + 100 * t.index + n, base + 100 * t.index + n + 50);
      }
    }
    if (ports.every((p) => p < 65_536) && (await allFree(ports))) return base;
  }
  throw new HerdStartError('no free block of ports for the instances', []);
}

async function allFree(ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await isFree(port))) return false;
  return true;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0' }, () => server.close(() => resolve(true)));
  });
}
