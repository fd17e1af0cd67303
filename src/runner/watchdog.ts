/**
 * Watchdog: the leader of one instance's process group.
 *
 * The runner spawns this script detached (so it leads a new session and process group) with a
 * socket on fd 3, its "lifeline". The first line on fd 3 is the job (`{command, env, cwd,
 * graceMs}`); the watchdog runs `sh -c command` inside its own group and reports the child's pid
 * (and the pipes its output goes to) and exit status back on fd 3. When the lifeline closes (the
 * runner died, even by SIGKILL) it sends SIGTERM to its group, waits up to `graceMs`, then
 * SIGKILLs the group, itself included.
 *
 * When the child (the process the runner started: the `sh -c` wrapper, or the app it exec'd)
 * exits, the instance is over: the watchdog TERMs the group, lets the grace period run while the
 * other members shut down, and SIGKILLs what is left. The only case it does not TERM again is when
 * the group itself already got a signal (the watchdog, a member, received it too): a second TERM
 * would interrupt the graceful shutdown the others are running. A signal sent to one pid (an
 * operator's `kill -9`, the OOM killer) never reaches the watchdog, so the group gets its TERM.
 * The exits of other members (an app's own short-lived `git` call) do not concern the watchdog.
 *
 * Signals the runner sends to the whole group reach the child directly; the watchdog ignores them
 * and exits once the child has gone.
 * @module
 */
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { groupMembers } from './procfs.js';

/** The job the runner sends as the first line of the lifeline. */
export interface WatchdogJob {
  command: string;
  env: Record<string, string>;
  cwd: string;
  graceMs: number;
}

/**
 * Messages the watchdog sends back, one JSON object per line: the child's pid and what its fd 1
 * and 2 are (to find processes that left the group but hold the output), its exit,
 * and how many members were still running when the grace period ended (then SIGKILLed).
 */
export type WatchdogMessage =
  | { pid: number; outputs: string[] }
  | { exit: number | null; signal: string | null }
  | { killing: number };

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Other live members of the process group led by this process. */
function otherMembers(): number {
  return groupMembers(process.pid, process.pid).length;
}

function signalGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // group already gone
  }
}

/** What fd 1 and 2 are, as /proc names them (`socket:[123]`: Node's pipes are socket pairs). */
function outputLinks(): string[] {
  const links: string[] = [];
  for (const fd of [1, 2]) {
    try {
      links.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // no /proc, or closed
    }
  }
  return links;
}

/** Whether the group already received a terminating signal (we are in it, so we got it too). */
let groupSignalled = false;
let reaping = false;

/**
 * TERM the group (unless it was already signalled), wait until only we are left or the grace
 * passes, then tell the runner and KILL the rest, and exit.
 */
async function reapAndExit(
  graceMs: number,
  code: number,
  tell: (message: WatchdogMessage, then: () => void) => void,
): Promise<void> {
  if (reaping) return;
  reaping = true;
  if (otherMembers() > 0) {
    if (!groupSignalled) signalGroup('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (otherMembers() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const left = otherMembers();
    if (left > 0) {
      await new Promise<void>((r) => tell({ killing: left }, r));
      signalGroup('SIGKILL');
    }
  }
  process.exit(code);
}

function main(): void {
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (signal !== 'SIGUSR1' && signal !== 'SIGUSR2') groupSignalled = true;
    });
  }
  const lifeline = new Socket({ fd: 3, readable: true, writable: true });
  let graceMs = 5_000;
  let started = false;
  let childDone = false;
  let buffer = '';
  const send = (message: WatchdogMessage) => {
    if (!lifeline.destroyed) lifeline.write(`${JSON.stringify(message)}\n`);
  };
  // Write, then continue once the message has left (or at once when the runner is gone).
  const tell = (message: WatchdogMessage, then: () => void) => {
    if (lifeline.destroyed || !lifeline.writable) return then();
    const timer = setTimeout(then, 200);
    lifeline.write(`${JSON.stringify(message)}\n`, () => {
      clearTimeout(timer);
      then();
    });
  };
  const onLifelineGone = () => {
    if (!childDone) {
      // The runner is gone: nobody signalled the group on its behalf.
      groupSignalled = false;
      void reapAndExit(graceMs, 1, (_m, then) => then());
    }
  };
  lifeline.on('error', onLifelineGone);
  lifeline.on('close', onLifelineGone);
  lifeline.on('end', onLifelineGone);
  lifeline.on('data', (chunk: Buffer) => {
    if (started) return;
    buffer += chunk.toString('utf8');
    const nl = buffer.indexOf('\n');
    if (nl === -1) return;
    started = true;
    const job = JSON.parse(buffer.slice(0, nl)) as WatchdogJob;
    graceMs = job.graceMs;
    const child = spawn('/bin/sh', ['-c', job.command], {
      cwd: job.cwd,
      env: job.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) => {
      process.stderr.write(`drove watchdog: cannot start /bin/sh: ${err.message}\n`);
      childDone = true;
      tell({ exit: 127, signal: null }, () => void reapAndExit(graceMs, 127, tell));
    });
    if (child.pid !== undefined) send({ pid: child.pid, outputs: outputLinks() });
    child.on('exit', (code, signal) => {
      childDone = true;
      const exitCode = code ?? 128 + signalNumber(signal);
      tell({ exit: code, signal }, () => void reapAndExit(graceMs, exitCode, tell));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}

main();
