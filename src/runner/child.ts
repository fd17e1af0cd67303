/**
 * One running command, in its own process group led by a watchdog (see watchdog.ts).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { FormationLog } from './log.js';
import type { WatchdogJob, WatchdogMessage } from './watchdog.js';

/** How a process ended. `code` is the shell-style status: the exit code, or 128 + signal. */
export interface ExitStatus {
  code: number;
  signal: NodeJS.Signals | null;
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

/**
 * A command run as `sh -c` in a fresh process group, behind a watchdog that kills the group if
 * this runner dies. Signals go to the whole group.
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
  /** Resolves when the whole group has gone and all output was logged. */
  readonly exited: Promise<ExitStatus>;
  /** When the command was started (ms since epoch). */
  readonly startedAt = Date.now();
  private commandPid: number | undefined;
  private readonly watchdog: ChildProcess;
  private done = false;

  constructor(options: GroupProcessOptions) {
    this.name = options.name;
    // Run from the TypeScript sources (unit tests): load tsx from here, not from the child's cwd.
    const execArgv = watchdogUrl.pathname.endsWith('.ts')
      ? ['--import', import.meta.resolve('tsx')]
      : [];
    this.watchdog = spawn(process.execPath, [...execArgv, watchdogUrl.pathname], {
      detached: true,
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.pgid = this.watchdog.pid ?? -1;
    const lifeline = this.watchdog.stdio[3] as Socket;
    const job: WatchdogJob = {
      command: options.command,
      env: options.env,
      cwd: options.cwd,
      graceMs: options.graceMs,
    };
    lifeline.write(`${JSON.stringify(job)}\n`);
    let reported: ExitStatus | undefined;
    let buffer = '';
    lifeline.on('error', () => {});
    lifeline.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, nl)) as WatchdogMessage;
        buffer = buffer.slice(nl + 1);
        if ('pid' in message) this.commandPid = message.pid;
        else reported = toStatus(message.exit, message.signal as NodeJS.Signals | null);
      }
    });
    const output = Promise.all([
      options.log.attach(this.name, this.watchdog.stdout!, 'stdout'),
      options.log.attach(this.name, this.watchdog.stderr!, 'stderr'),
    ]);
    const watchdogExit = new Promise<ExitStatus>((resolve) => {
      this.watchdog.once('error', (err) => {
        options.log.system(`${this.name}: cannot start: ${err.message}`);
        resolve({ code: 127, signal: null });
      });
      this.watchdog.once('exit', (code, signal) => resolve(toStatus(code, signal)));
    });
    this.exited = watchdogExit.then(async (own) => {
      this.done = true;
      // The group may outlive its leader; make sure nothing is left, then wait for the output.
      this.signal('SIGKILL');
      lifeline.destroy();
      await Promise.race([output, new Promise((r) => setTimeout(r, 5000))]);
      return reported ?? own;
    });
  }

  /** Pid of the command itself (the shell, or what it exec'd), once known. */
  get pid(): number | undefined {
    return this.commandPid;
  }

  /** Whether the group has gone. */
  get finished(): boolean {
    return this.done;
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
