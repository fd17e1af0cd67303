/**
 * One running command, in its own process group led by a watchdog (see watchdog.ts).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { FormationLog } from './log.js';
import { childrenOf, commandLine, pipeHolders } from './procfs.js';
import { shellCommand } from './shell.js';
import type { WatchdogJob, WatchdogMessage } from './watchdog.js';

/** How a process ended. `code` is the shell-style status: the exit code, or 128 + signal. */
export interface ExitStatus {
  code: number;
  signal: NodeJS.Signals | null;
}

/** A process that left its instance's group but still holds the instance's output open. */
export interface Escapee {
  pid: number;
  command: string;
}

/** Options for {@link GroupProcess}. */
export interface GroupProcessOptions {
  /** Log name, e.g. `web.1`. */
  name: string;
  command: string;
  env: Record<string, string>;
  cwd: string;
  /** How long the watchdog waits between TERM and KILL when it has to clean up alone. */
  graceMs: number;
  log: FormationLog;
}

const watchdogUrl = new URL(
  import.meta.url.endsWith('.ts') ? './watchdog.ts' : './watchdog.js',
  import.meta.url,
);

/** After the group has gone, how long output already written by escapees may still be read. */
const ESCAPEE_DRAIN_MS = 100;

/**
 * A command run as `sh -c` in a fresh process group, behind a watchdog that kills the group if
 * this runner dies. Signals go to the whole group. A simple command line is exec'd by the shell,
 * so {@link pid} is the app's own; otherwise it is the wrapper's and {@link appPid} the app's.
 *
 * @example
 * ```ts
 * const p = new GroupProcess({ name: 'web.1', command: 'node server.js', env, cwd, graceMs: 5000, log });
 * p.signal('SIGTERM');
 * const { code } = await p.exited;
 * ```
 */
export class GroupProcess {
  readonly name: string;
  /** Process group id (the watchdog's pid). */
  readonly pgid: number;
  /** Whether the shell execs the command (no wrapper stays between the runner and the app). */
  readonly execd: boolean;
  /** Resolves when the process the runner started (wrapper or app) has exited. */
  readonly commandExited: Promise<ExitStatus>;
  /** Resolves when the whole group has gone and all output was logged. */
  readonly exited: Promise<ExitStatus>;
  /** When the command was started (ms since epoch). */
  readonly startedAt = Date.now();
  #commandPid: number | undefined;
  #commandDone = false;
  #outputs: string[] = [];
  #escapees: Escapee[] = [];
  readonly #watchdog: ChildProcess;
  #done = false;

  constructor(options: GroupProcessOptions) {
    this.name = options.name;
    const { script, exec } = shellCommand(options.command);
    this.execd = exec;
    // Run from the TypeScript sources (unit tests): load tsx from here, not from the child's cwd.
    const execArgv = watchdogUrl.pathname.endsWith('.ts')
      ? ['--import', import.meta.resolve('tsx')]
      : [];
    this.#watchdog = spawn(process.execPath, [...execArgv, watchdogUrl.pathname], {
      detached: true,
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.pgid = this.#watchdog.pid ?? -1;
    const lifeline = this.#watchdog.stdio[3] as Socket;
    const job: WatchdogJob = {
      command: script,
      env: options.env,
      cwd: options.cwd,
      graceMs: options.graceMs,
    };
    lifeline.write(`${JSON.stringify(job)}\n`);
    let reported: ExitStatus | undefined;
    let onCommandExit: (status: ExitStatus) => void = () => {};
    this.commandExited = new Promise((resolve) => {
      onCommandExit = (status) => {
        this.#commandDone = true;
        resolve(status);
      };
    });
    let buffer = '';
    lifeline.on('error', () => {});
    lifeline.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, nl)) as WatchdogMessage;
        buffer = buffer.slice(nl + 1);
        if ('pid' in message) {
          this.#commandPid = message.pid;
          this.#outputs = message.outputs;
        } else if ('killing' in message) {
          options.log.system(
            `${this.name}: ${message.killing} process(es) of its group still running at the end of the grace period (${options.graceMs} ms): SIGKILL`,
          );
        } else {
          reported = toStatus(message.exit, message.signal as NodeJS.Signals | null);
          onCommandExit(reported);
        }
      }
    });
    const stdout = this.#watchdog.stdout!;
    const stderr = this.#watchdog.stderr!;
    const output = Promise.all([
      options.log.attach(this.name, stdout, 'stdout'),
      options.log.attach(this.name, stderr, 'stderr'),
    ]);
    const watchdogExit = new Promise<ExitStatus>((resolve) => {
      this.#watchdog.once('error', (err) => {
        options.log.system(`${this.name}: cannot start: ${err.message}`);
        resolve({ code: 127, signal: null });
      });
      this.#watchdog.once('exit', (code, signal) => resolve(toStatus(code, signal)));
    });
    this.exited = watchdogExit.then(async (own) => {
      this.#done = true;
      // The group may outlive its leader; make sure nothing is left, then wait for the output.
      this.signal('SIGKILL');
      lifeline.destroy();
      await this.#drain(output, [stdout, stderr], options);
      const status = reported ?? own;
      onCommandExit(status);
      return status;
    });
  }

  /**
   * Wait for the end of the output, but not for processes that left the group (`setsid`) and
   * still hold it: name them and stop reading. Bounded by the grace period either way, so that
   * nothing the app leaves behind can keep the runner waiting.
   */
  async #drain(output: Promise<unknown>, streams: Readable[], options: GroupProcessOptions) {
    const holders = pipeHolders(this.#outputs, process.pid).filter((p) => p.pgid !== this.pgid);
    this.#escapees = holders.map((p) => ({ pid: p.pid, command: commandLine(p.pid) }));
    for (const e of this.#escapees) {
      options.log.system(
        `${this.name}: process ${e.pid} (${e.command}) left its process group and still holds its output; not waiting for it (it is still running)`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = this.#escapees.length > 0 ? ESCAPEE_DRAIN_MS : options.graceMs;
    await Promise.race([output, new Promise((r) => (timer = setTimeout(r, limit)))]);
    clearTimeout(timer);
    for (const stream of streams) stream.destroy();
  }

  /** Pid of the process the runner started (the shell, or the app it exec'd), once known. */
  get pid(): number | undefined {
    return this.#commandPid;
  }

  /**
   * Pid of the app: the same as {@link pid} when exec'd, else the wrapper's oldest live child
   * (undefined while it has none).
   */
  get appPid(): number | undefined {
    if (this.#commandPid === undefined || this.#commandDone) return undefined;
    return this.execd ? this.#commandPid : childrenOf(this.#commandPid)[0];
  }

  /** Whether the process the runner started has exited (the group may still be shutting down). */
  get commandFinished(): boolean {
    return this.#commandDone;
  }

  /** Processes found holding this instance's output after its group had gone. */
  get escapees(): readonly Escapee[] {
    return this.#escapees;
  }

  /** Whether the group has gone. */
  get finished(): boolean {
    return this.#done;
  }

  /** Send `signal` to every process of the group. Returns false when the group is gone. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.pgid <= 0) return false;
    try {
      process.kill(-this.pgid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** TERM the group, then KILL it after `timeoutMs` unless it exited. Resolves when gone. */
  async stop(timeoutMs: number): Promise<ExitStatus> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
}

function toStatus(code: number | null, signal: NodeJS.Signals | null): ExitStatus {
  if (code !== null) return { code, signal: null };
  return { code: 128 + ((signal && constants.signals[signal]) || 0), signal };
}

/** "exited with code 1" / "terminated by SIGTERM", for log lines. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `terminated by ${status.signal}` : `exited with code ${status.code}`;
}
