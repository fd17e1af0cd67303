/**
 * `drove start`: read the Procfile and env, run `release`, start the balancer and the formation,
 * serve the control socket, and stop everything on a signal.
 * @module
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { constants } from 'node:os';
import { relative, resolve } from 'node:path';
import {
  AlreadyRunningError,
  FormationError,
  InvalidOptionError,
  PortInUseError,
  ReleaseFailedError,
} from '../errors.js';
import type { RestartPolicyOptions } from './backoff.js';
import { type Balancer, type BalancerStrategy, createBalancer } from './balancer.js';
import { describeExit, GroupProcess } from './child.js';
import { callControl, controlSocketPath, serveControl } from './control.js';
import { loadEnv } from './env.js';
import { parseFormation, RELEASE } from './formation.js';
import { FormationLog } from './log.js';
import { ignoredLineWarning, type ProcfileEntry, readProcfile } from './procfile.js';
import type { ControlRequest } from './protocol.js';
import { portIsFree, type Readiness } from './readiness.js';
import { type ProcessType, Supervisor } from './supervisor.js';

/** Options of {@link start}, as `drove start` passes them. */
export interface StartOptions {
  /** Only these process types (the others get 0 instances). */
  types?: string[];
  /** Default `Procfile`. */
  procfile?: string;
  /** `.env` files, lowest precedence first. Default `.env` when it exists. */
  envFiles?: string[];
  /** `web=3,worker=2` or `all=N`. */
  formation?: string;
  /** Balancer port; instances get ports above it. Default: env PORT, else 5000. */
  port?: number;
  /** Balancer interface. Default: HOST from the env files or environment, else 127.0.0.1. */
  host?: string;
  /** TERM-to-KILL grace in ms. Default 5000. */
  shutdownTimeoutMs?: number;
  /** Restart crashed instances. Default true. */
  restart?: boolean;
  json?: boolean;
  strategy?: BalancerStrategy;
  trustProxy?: boolean;
  /** The balancer's headers timeout (request headers, response head). Default 60 s, as nginx's. */
  headersTimeoutMs?: number;
  readiness?: Readiness;
  policy?: RestartPolicyOptions;
  cwd?: string;
}

/** Exit code for a stop caused by `signal` (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Run a formation until it is told to stop or cannot go on. Resolves with the exit code: 130/143
 * after SIGINT/SIGTERM, 1 when every instance is errored, or (without restarts) the status of the
 * first process that exited.
 *
 * @example
 * ```ts
 * process.exitCode = await start({ formation: 'web=2,worker=1', port: 5000 });
 * ```
 */
export async function start(options: StartOptions = {}): Promise<number> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const procfile = options.procfile ?? 'Procfile';
  const log = new FormationLog({ json: options.json ?? false });
  const procfilePath = resolve(cwd, procfile);
  const shownPath = relative(cwd, procfilePath) || procfile;
  const warnings: string[] = [];
  const entries = readProcfile(procfilePath, (ignored) =>
    warnings.push(ignoredLineWarning(shownPath, ignored)),
  );
  const socketPath = controlSocketPath(cwd);
  await refuseSecondRunner(socketPath);
  for (const warning of warnings) log.system(warning);
  const { env } = loadEnv(options.envFiles, process.env, cwd);
  const basePort = options.port ?? portFromEnv(env.PORT);
  const host = options.host ?? (env.HOST || '127.0.0.1');
  const timeout = options.shutdownTimeoutMs ?? 5_000;

  const types = processTypes(entries, shownPath);
  const counts = selectTypes(
    parseFormation(
      options.formation,
      types.map((t) => t.name),
    ),
    options.types,
  );
  for (const [name, count] of counts) if (count > 0) log.reserve(`${name}.${count}`);

  const hasWeb = types.some((t) => t.name === 'web');
  const balancer: Balancer | undefined = hasWeb
    ? createBalancer({
        port: basePort,
        host,
        strategy: options.strategy ?? 'round-robin',
        trustProxy: options.trustProxy ?? false,
        ...(options.headersTimeoutMs === undefined
          ? {}
          : { headersTimeoutMs: options.headersTimeoutMs }),
        log: (msg) => log.line('balancer', msg, 'system'),
      })
    : undefined;

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((r) => {
    finish = r;
  });
  let announced = false;
  const supervisor = new Supervisor({
    types,
    env,
    cwd,
    basePort,
    shutdownTimeoutMs: timeout,
    restart: options.restart ?? true,
    ...(options.policy ? { policy: options.policy } : {}),
    readiness: options.readiness ?? { kind: 'port' },
    ...(balancer ? { balancer } : {}),
    log,
    controlSocket: socketPath,
    onReady: () => {
      if (announced) return;
      announced = true;
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      log.system(`open http://${shown.includes(':') ? `[${shown}]` : shown}:${basePort}/`);
    },
    onFatal: ({ code, message }) => {
      log.system(`stopping: ${message}`);
      void shutdown(code);
    },
  });

  let control: Server | undefined;
  let stopping: Promise<void> | undefined;
  let exitCode = 0;
  const shutdown = (code: number): Promise<void> => {
    if (stopping) return stopping;
    exitCode = code;
    stopping = (async () => {
      await Promise.all([balancer?.close(timeout), supervisor.stop()]);
      control?.close();
      rmSync(pidFile(socketPath), { force: true });
      for (const e of supervisor.escapees()) {
        log.system(
          `still running outside its process group: process ${e.pid} (${e.command}), from ${e.instance}`,
        );
      }
      log.system(`all processes have stopped; exiting with code ${exitCode}`);
      finish(exitCode);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGINT') {
        log.system('second interrupt: killing every process now');
        supervisor.kill();
      }
      return;
    }
    log.system(`${signal} received: stopping (grace ${timeout} ms, Ctrl-C again to kill now)`);
    void shutdown(signalExitCode(signal));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  try {
    await checkPorts(supervisor, counts, basePort, host, hasWeb);
    control = await serveControl(socketPath, (request) =>
      handleControl(request, supervisor, balancer, types),
    );
    writeFileSync(pidFile(socketPath), `${process.pid}\n`, { mode: 0o600 });
    if (balancer) await balancer.listen();
    log.system(
      `${hasWeb ? `balancer on http://${host}:${basePort}, ` : ''}control socket ${socketPath}`,
    );
    const release = entries.find((e) => e.name === RELEASE);
    if (release) await runRelease(release, env, cwd, timeout, log, () => stopping !== undefined);
    if (!stopping) await supervisor.scale(counts);
  } catch (err) {
    await Promise.all([balancer?.close(0).catch(() => {}), supervisor.stop(0)]);
    if (control) {
      control.close();
      rmSync(pidFile(socketPath), { force: true });
    }
    for (const s of signals) process.off(s, onSignal);
    throw err;
  }
  const code = await finished;
  for (const s of signals) process.off(s, onSignal);
  return code;
}

function portFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return 5000;
  const port = Number(value);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new InvalidOptionError({ option: 'PORT', reason: `not a port number: ${value}` });
  }
  return port;
}

/**
 * Procfile entries minus `release`, each keeping its position among them for the port scheme:
 * `release` runs once and listens on nothing, so it takes no port block.
 */
export function processTypes(entries: ProcfileEntry[], file = 'Procfile'): ProcessType[] {
  return entries
    .filter((e) => e.name !== RELEASE)
    .map((e, index) => ({ name: e.name, command: e.command, index, source: `${file}:${e.line}` }));
}

/** Where a runner records its pid, beside its control socket. */
function pidFile(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '.pid');
}

/** A formation answering on this directory's control socket: say which, before anything else. */
async function refuseSecondRunner(socketPath: string): Promise<void> {
  const answers = await callControl(socketPath, { cmd: 'ps' }).then(
    () => true,
    () => false,
  );
  if (!answers) return;
  let pid: number | null = null;
  try {
    pid = Number.parseInt(readFileSync(pidFile(socketPath), 'utf8'), 10) || null;
  } catch {
    // a runner from before pid files, or the file was removed
  }
  throw new AlreadyRunningError({ pid, socket: socketPath });
}

function selectTypes(counts: Map<string, number>, only: string[] | undefined): Map<string, number> {
  if (!only || only.length === 0) return counts;
  for (const name of only) {
    if (!counts.has(name)) {
      throw new FormationError({
        source: `drove start ${only.join(' ')}`,
        reason: `unknown process type ${JSON.stringify(name)}; the Procfile defines: ${[...counts.keys()].join(', ')}`,
      });
    }
  }
  return new Map([...counts].map(([name, n]) => [name, only.includes(name) ? n : 0]));
}

async function checkPorts(
  supervisor: Supervisor,
  counts: Map<string, number>,
  basePort: number,
  host: string,
  hasWeb: boolean,
): Promise<void> {
  const wanted = supervisor.plannedPorts(counts);
  if (hasWeb) wanted.unshift({ port: basePort, owner: 'the balancer' });
  for (const { port, owner } of wanted) {
    const bindHost = owner === 'the balancer' ? host : '0.0.0.0';
    if (port > 65535 || !(await portIsFree(port, bindHost))) {
      throw new PortInUseError({ port, host: bindHost, owner });
    }
  }
}

async function runRelease(
  entry: ProcfileEntry,
  env: Record<string, string>,
  cwd: string,
  timeout: number,
  log: FormationLog,
  cancelled: () => boolean,
): Promise<void> {
  log.system(`release phase: ${entry.command}`);
  const proc = new GroupProcess({
    name: RELEASE,
    command: entry.command,
    env: { ...env, PS: 'release.1', DYNO: 'release.1' },
    cwd,
    graceMs: timeout,
    log,
  });
  const watch = setInterval(() => {
    if (cancelled()) void proc.stop(timeout);
  }, 100);
  const status = await proc.exited;
  clearInterval(watch);
  if (cancelled()) return;
  if (status.code !== 0) {
    process.exitCode = status.code;
    throw new ReleaseFailedError({ command: entry.command, exitCode: status.code });
  }
  log.system(`release phase ${describeExit(status)}`);
}

async function handleControl(
  request: ControlRequest,
  supervisor: Supervisor,
  balancer: Balancer | undefined,
  types: ProcessType[],
): Promise<unknown> {
  switch (request.cmd) {
    case 'ps': {
      const routed = new Map((balancer?.list() ?? []).map((b) => [b.id, b]));
      return supervisor.status().map((row) => {
        const lb = routed.get(`${row.name}@${row.port}`);
        return { ...row, routed: lb ? lb.state : null, inFlight: lb ? lb.inFlight : null };
      });
    }
    case 'restart':
      return { restarted: await supervisor.restart(request.target) };
    case 'scale': {
      const counts = parseFormation(
        request.formation,
        types.map((t) => t.name),
        `drove scale ${request.formation}`,
        false,
      );
      await supervisor.scale(counts);
      return Object.fromEntries(supervisor.counts());
    }
    case 'ready':
      return { accepted: supervisor.markReady(request.instance, request.token) };
    default:
      throw new Error(`unknown command ${JSON.stringify((request as { cmd: string }).cmd)}`);
  }
}
