/**
 * The supervisor: keeps each process type at its instance count, restarts crashed instances with
 * backoff, feeds ready `web` instances to the balancer, and does rolling restarts and scaling.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InstanceUnknownError, PortInUseError } from '../errors.js';
import { type Clock, RestartPolicy, type RestartPolicyOptions, systemClock } from './backoff.js';
import type { Balancer } from './balancer.js';
import { describeExit, type Escapee, type ExitStatus, GroupProcess } from './child.js';
import { portFor } from './formation.js';
import type { FormationLog } from './log.js';
import { INSTANCE_ENV } from './protocol.js';
import { portIsFree, type Readiness, waitReady } from './readiness.js';

/** A process type of the Procfile. */
export interface ProcessType {
  name: string;
  command: string;
  /** Position among the Procfile's entries other than `release` (from 0); decides the port block. */
  index: number;
  /** Where it is defined, e.g. `Procfile:3`, for messages. */
  source?: string;
}

/** Life cycle of an instance as `drove ps` shows it. */
export type InstanceState = 'starting' | 'up' | 'backoff' | 'errored' | 'stopping' | 'stopped';

/** One row of `drove ps --json`. */
export interface InstanceStatus {
  name: string;
  type: string;
  state: InstanceState;
  /** The process the runner started: the app when exec'd, else the `sh -c` wrapper. */
  pid: number | null;
  /** The app: `pid` when exec'd, else the wrapper's child. */
  appPid: number | null;
  pgid: number | null;
  port: number;
  uptimeMs: number | null;
  restarts: number;
  lastExit: string | null;
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  types: ProcessType[];
  env: Record<string, string>;
  cwd: string;
  basePort: number;
  shutdownTimeoutMs: number;
  /** Restart crashed instances (default). false: the first exit stops the formation. */
  restart: boolean;
  policy?: RestartPolicyOptions;
  readiness: Readiness;
  /** Give up a rolling restart's replacement that is not ready within this. Default 60 s. */
  readyTimeoutMs?: number;
  balancer?: Balancer;
  log: FormationLog;
  clock?: Clock;
  /** Path given to instances as DROVE_CONTROL_SOCKET (for `ready()`; see protocol.ts). */
  controlSocket?: string;
  /** Called each time a `web` instance becomes ready (and is routed to). */
  onReady?: (instance: string, port: number) => void;
  /** Called once when the formation should end: every instance errored, or (no restart) one exited. */
  onFatal: (reason: { code: number; message: string }) => void;
}

interface Instance {
  type: ProcessType;
  n: number;
  name: string;
  state: InstanceState;
  proc: GroupProcess | undefined;
  port: number;
  alternate: boolean;
  token: string;
  restarts: number;
  policy: RestartPolicy;
  timer: unknown;
  lastExit: string | null;
}

const WEB = 'web';

/**
 * Runs a formation.
 *
 * @example
 * ```ts
 * const sup = new Supervisor({ types, env, cwd, basePort: 5000, shutdownTimeoutMs: 5000,
 *   restart: true, readiness: { kind: 'port' }, balancer, log, onFatal });
 * await sup.scale(new Map([['web', 2]]));
 * await sup.restart('web');
 * await sup.stop();
 * ```
 */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #clock: Clock;
  readonly #instances = new Map<string, Instance>();
  readonly #retiring = new Set<GroupProcess>();
  readonly #escaped: (Escapee & { instance: string })[] = [];
  readonly #waiters = new Map<string, () => void>();
  #stopping = false;
  #fatal = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Every port instance `n` of each type could use, for checking before start. */
  plannedPorts(counts: Map<string, number>): { port: number; owner: string }[] {
    const ports: { port: number; owner: string }[] = [];
    for (const type of this.#o.types) {
      for (let n = 1; n <= (counts.get(type.name) ?? 0); n++) {
        ports.push({ port: portFor(this.#o.basePort, type.index, n), owner: `${type.name}.${n}` });
      }
    }
    return ports;
  }

  /** Bring each type to its count: start missing instances, retire extra ones (highest first). */
  async scale(counts: Map<string, number>): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const [typeName, count] of counts) {
      const type = this.#o.types.find((t) => t.name === typeName);
      if (!type) throw new InstanceUnknownError({ name: typeName });
      const current = this.#ofType(typeName);
      for (let n = current.length + 1; n <= count; n++) {
        const inst = this.#create(type, n);
        this.#spawn(inst, false);
      }
      for (const inst of current.filter((i) => i.n > count).reverse()) {
        jobs.push(this.#retire(inst));
      }
    }
    await Promise.all(jobs);
  }

  /** Current instance counts per type. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const type of this.#o.types) counts.set(type.name, this.#ofType(type.name).length);
    return counts;
  }

  /**
   * Rolling restart of everything, a type (`web`) or one instance (`web.2`), one instance at a
   * time: start the replacement on the alternate port, wait until ready, route to it, drain the
   * old one, TERM, grace, KILL.
   */
  async restart(target?: string): Promise<string[]> {
    const chosen = [...this.#instances.values()].filter(
      (i) => target === undefined || i.type.name === target || i.name === target,
    );
    if (target !== undefined && chosen.length === 0) {
      if (!this.#o.types.some((t) => t.name === target) && !this.#instances.has(target)) {
        throw new InstanceUnknownError({ name: target });
      }
    }
    const done: string[] = [];
    for (const inst of chosen) {
      if (this.#stopping || !this.#instances.has(inst.name)) continue;
      await this.#replace(inst);
      done.push(inst.name);
    }
    return done;
  }

  /** Mark the instance holding `token` ready (from `ready()` in drove/process). */
  markReady(instance: string, token: string): boolean {
    const waiter = this.#waiters.get(`${instance}#${token}`);
    waiter?.();
    return waiter !== undefined;
  }

  /** Rows for `drove ps`. */
  status(): InstanceStatus[] {
    const now = this.#clock.now();
    return [...this.#instances.values()].map((i) => ({
      name: i.name,
      type: i.type.name,
      state: i.state,
      pid: (i.proc && !i.proc.commandFinished ? i.proc.pid : undefined) ?? null,
      appPid: i.proc?.appPid ?? null,
      pgid: i.proc && !i.proc.finished ? i.proc.pgid : null,
      port: i.port,
      uptimeMs: i.proc && !i.proc.finished ? now - i.proc.startedAt : null,
      restarts: i.restarts,
      lastExit: i.lastExit,
    }));
  }

  /** Processes that left an instance's group and were still running when it ended. */
  escapees(): readonly (Escapee & { instance: string })[] {
    return this.#escaped;
  }

  /** Process group ids of every live process (for tests and `ps`). */
  groups(): number[] {
    const all = [...this.#instances.values()].map((i) => i.proc).concat([...this.#retiring]);
    return all.filter((p): p is GroupProcess => !!p && !p.finished).map((p) => p.pgid);
  }

  /**
   * Graceful stop: cancel restarts, TERM every group, KILL what is left after the timeout.
   * Resolves when every group has gone.
   */
  async stop(timeoutMs = this.#o.shutdownTimeoutMs): Promise<void> {
    this.#stopping = true;
    const procs: GroupProcess[] = [...this.#retiring];
    for (const inst of this.#instances.values()) {
      this.#clock.clearTimeout(inst.timer);
      if (inst.proc && !inst.proc.finished) {
        inst.state = 'stopping';
        procs.push(inst.proc);
      }
    }
    await Promise.all(procs.map((p) => p.stop(timeoutMs)));
    for (const inst of this.#instances.values()) inst.state = 'stopped';
  }

  /** SIGKILL every group at once (second Ctrl-C). */
  kill(): void {
    this.#stopping = true;
    for (const inst of this.#instances.values()) inst.proc?.signal('SIGKILL');
    for (const p of this.#retiring) p.signal('SIGKILL');
  }

  #ofType(typeName: string): Instance[] {
    return [...this.#instances.values()]
      .filter((i) => i.type.name === typeName)
      .sort((a, b) => a.n - b.n);
  }

  #create(type: ProcessType, n: number): Instance {
    const name = `${type.name}.${n}`;
    const inst: Instance = {
      type,
      n,
      name,
      state: 'starting',
      proc: undefined,
      port: portFor(this.#o.basePort, type.index, n),
      alternate: false,
      token: '',
      restarts: 0,
      policy: new RestartPolicy(this.#o.policy),
      timer: undefined,
      lastExit: null,
    };
    this.#instances.set(name, inst);
    this.#o.log.reserve(name);
    return inst;
  }

  #balancerId(inst: Instance, port: number): string {
    return `${inst.name}@${port}`;
  }

  /**
   * Start a process for `inst` on the primary or alternate port. Returns the process and a
   * promise that resolves true once it is ready (false if it exited first or was given up).
   */
  #spawn(inst: Instance, alternate: boolean): { proc: GroupProcess; ready: Promise<boolean> } {
    const port = portFor(this.#o.basePort, inst.type.index, inst.n, alternate);
    const token = randomBytes(8).toString('hex');
    const env: Record<string, string> = {
      ...this.#o.env,
      PORT: String(port),
      PS: inst.name,
      DYNO: inst.name,
      [INSTANCE_ENV.instance]: inst.name,
      [INSTANCE_ENV.readyToken]: token,
    };
    if (this.#o.controlSocket) env[INSTANCE_ENV.controlSocket] = this.#o.controlSocket;
    const proc = new GroupProcess({
      name: inst.name,
      command: inst.type.command,
      env,
      cwd: this.#o.cwd,
      graceMs: this.#o.shutdownTimeoutMs,
      log: this.#o.log,
    });
    portByProc.set(proc, port);
    const isCurrent = () => inst.proc === proc;
    if (!this.#replacing.has(inst.name)) {
      inst.proc = proc;
      inst.port = port;
      inst.alternate = alternate;
      inst.token = token;
      inst.state = 'starting';
    }
    const ready = this.#watchReady(inst, proc, port, token);
    void proc.commandExited.then(() => this.#onCommandExit(inst, proc, port));
    void proc.exited.then((status) => this.#onExit(inst, proc, status, isCurrent));
    return { proc, ready };
  }

  readonly #replacing = new Set<string>();

  async #watchReady(
    inst: Instance,
    proc: GroupProcess,
    port: number,
    token: string,
  ): Promise<boolean> {
    const gone = () => proc.finished || this.#stopping || this.#retiring.has(proc);
    const isWeb = inst.type.name === WEB;
    let ready: boolean;
    if (!isWeb) {
      ready = !gone();
    } else if (this.#o.readiness.kind === 'explicit') {
      ready = await new Promise<boolean>((resolve) => {
        const key = `${inst.name}#${token}`;
        this.#waiters.set(key, () => resolve(true));
        void proc.exited.then(() => resolve(false));
      }).finally(() => this.#waiters.delete(`${inst.name}#${token}`));
    } else {
      ready = await waitReady(this.#o.readiness, '127.0.0.1', port, gone);
    }
    if (!ready || gone()) return false;
    everReady.add(proc);
    if (isWeb) {
      this.#o.balancer?.add({ id: this.#balancerId(inst, port), host: '127.0.0.1', port });
      this.#o.log.system(`${inst.name} is ready on port ${port}`);
      this.#o.onReady?.(inst.name, port);
    }
    if (inst.proc === proc) inst.state = 'up';
    return true;
  }

  /**
   * The process the runner started has exited (the watchdog now TERMs the rest of the group and
   * lets the grace period run): the instance is no longer up, and gets no more traffic.
   */
  #onCommandExit(inst: Instance, proc: GroupProcess, port: number): void {
    if (proc.finished) return;
    if (inst.type.name === WEB) this.#o.balancer?.remove(this.#balancerId(inst, port));
    if (inst.proc === proc && (inst.state === 'up' || inst.state === 'starting')) {
      inst.state = 'stopping';
    }
  }

  #onExit(inst: Instance, proc: GroupProcess, status: ExitStatus, isCurrent: () => boolean): void {
    if (inst.type.name === WEB)
      this.#o.balancer?.remove(this.#balancerId(inst, portOf(proc, inst)));
    for (const e of proc.escapees) this.#escaped.push({ instance: inst.name, ...e });
    if (this.#retiring.delete(proc)) return;
    const current = isCurrent();
    inst.lastExit = describeExit(status);
    if (this.#stopping) {
      this.#o.log.system(`${inst.name} ${describeExit(status)}`);
      return;
    }
    if (!current) {
      // A rolling restart's replacement that died before taking over.
      this.#o.log.system(`${inst.name} (replacement) ${describeExit(status)}`);
      return;
    }
    const exit = `${inst.name} ${describeExit(status)}${this.#neverReady(inst, proc, status)}`;
    this.#o.log.system(exit);
    const cannotRun = cannotRunMessage(inst, status);
    if (cannotRun) this.#o.log.system(cannotRun);
    if (!this.#o.restart) {
      this.#fail({ code: status.code, message: exit });
      return;
    }
    if (cannotRun) {
      // The shell could not find or execute the command: retrying cannot help.
      inst.state = 'errored';
      inst.proc = undefined;
      this.#o.log.system(`${inst.name} is marked errored, not restarting`);
      this.#failIfAllErrored();
      return;
    }
    const decision = inst.policy.onExit(this.#clock.now() - proc.startedAt);
    if (decision.action === 'errored') {
      inst.state = 'errored';
      inst.proc = undefined;
      this.#o.log.system(
        `${inst.name} is crash-looping (${decision.quickCrashes} quick exits in a row): marked errored, not restarting`,
      );
      this.#failIfAllErrored();
      return;
    }
    inst.state = 'backoff';
    this.#o.log.system(`restarting ${inst.name} in ${decision.delayMs} ms`);
    inst.timer = this.#clock.setTimeout(() => {
      if (this.#stopping || this.#instances.get(inst.name) !== inst || inst.state !== 'backoff')
        return;
      inst.restarts++;
      this.#spawn(inst, false);
    }, decision.delayMs);
  }

  #failIfAllErrored(): void {
    const all = [...this.#instances.values()];
    if (all.length > 0 && all.every((i) => i.state === 'errored')) {
      this.#fail({ code: 1, message: 'every instance is errored' });
    }
  }

  /** For a web instance that exited 0 before it was ever ready: what it never did. */
  #neverReady(inst: Instance, proc: GroupProcess, status: ExitStatus): string {
    if (inst.type.name !== WEB || status.code !== 0 || status.signal || everReady.has(proc)) {
      return '';
    }
    const port = portOf(proc, inst);
    const r = this.#o.readiness;
    if (r.kind === 'http') return ` without ever answering GET ${r.path} on its port ${port}`;
    if (r.kind === 'explicit') return ' without ever calling ready()';
    return ` without ever listening on its port ${port} ($PORT)`;
  }

  #fail(reason: { code: number; message: string }): void {
    if (this.#fatal) return;
    this.#fatal = true;
    this.#o.onFatal(reason);
  }

  /** Deliberately stop one instance (scale down): drain it, TERM, grace, KILL, forget it. */
  async #retire(inst: Instance): Promise<void> {
    this.#instances.delete(inst.name);
    this.#clock.clearTimeout(inst.timer);
    inst.state = 'stopping';
    const proc = inst.proc;
    if (!proc || proc.finished) return;
    await this.#retireProcess(inst, proc, inst.port);
  }

  async #retireProcess(inst: Instance, proc: GroupProcess, port: number): Promise<void> {
    this.#retiring.add(proc);
    if (inst.type.name === WEB && this.#o.balancer) {
      const id = this.#balancerId(inst, port);
      await this.#o.balancer.drain(id, this.#o.shutdownTimeoutMs);
      this.#o.balancer.remove(id);
    }
    await proc.stop(this.#o.shutdownTimeoutMs);
  }

  async #replace(inst: Instance): Promise<void> {
    const old = inst.proc;
    inst.policy.reset();
    if (!old || old.finished || inst.state === 'errored' || inst.state === 'backoff') {
      this.#clock.clearTimeout(inst.timer);
      if (old && !old.finished) await this.#retireProcess(inst, old, inst.port);
      inst.restarts++;
      await this.#spawn(inst, false).ready;
      return;
    }
    const alternate = !inst.alternate;
    const port = portFor(this.#o.basePort, inst.type.index, inst.n, alternate);
    if (!(await portIsFree(port))) {
      throw new PortInUseError({ port, host: '0.0.0.0', owner: `${inst.name} (replacement)` });
    }
    this.#replacing.add(inst.name);
    let next: { proc: GroupProcess; ready: Promise<boolean> };
    try {
      next = this.#spawn(inst, alternate);
    } finally {
      this.#replacing.delete(inst.name);
    }
    const timeout = this.#o.readyTimeoutMs ?? 60_000;
    let timer: unknown;
    const ready = await Promise.race([
      next.ready,
      new Promise<boolean>((r) => {
        timer = this.#clock.setTimeout(() => r(false), timeout);
      }),
    ]);
    this.#clock.clearTimeout(timer);
    if (!ready) {
      this.#retiring.add(next.proc);
      await next.proc.stop(this.#o.shutdownTimeoutMs);
      this.#o.log.system(`${inst.name}: the replacement never became ready; kept the old one`);
      return;
    }
    const oldPort = inst.port;
    inst.proc = next.proc;
    inst.port = port;
    inst.alternate = alternate;
    inst.state = 'up';
    inst.restarts++;
    this.#o.log.system(`${inst.name} replaced (port ${oldPort} -> ${port}); draining the old one`);
    await this.#retireProcess(inst, old, oldPort);
  }
}

function portOf(proc: GroupProcess, inst: Instance): number {
  return portByProc.get(proc) ?? inst.port;
}

/** Exit 127/126 of `sh -c`: the command was not found, or is not executable. */
function cannotRunMessage(inst: Instance, status: ExitStatus): string | undefined {
  if (status.signal !== null || (status.code !== 127 && status.code !== 126)) return undefined;
  const what = status.code === 127 ? 'command not found' : 'command not executable';
  const where = inst.type.source ? ` (${inst.type.source})` : '';
  return `${inst.name}: ${what}: ${inst.type.command}${where}`;
}

/** Processes that were ready at least once (a web instance that exits 0 before never was). */
const everReady = new WeakSet<GroupProcess>();

/** The port each process was started on (an instance's port changes across rolling restarts). */
const portByProc = new WeakMap<GroupProcess, number>();
