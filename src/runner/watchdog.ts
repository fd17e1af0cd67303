/**
 * Watchdog: the leader of one instance's process group.
 *
 * The runner spawns this script detached (so it leads a new session and process group) with a
 * socket on fd 3, its "lifeline". The first line on fd 3 is the job (`{command, env, cwd,
 * graceMs}`); the watchdog runs `sh -c command` inside its own group and reports the child's pid
 * and exit status back on fd 3. When the lifeline closes (the runner died, even by SIGKILL) it
 * sends SIGTERM to its group, waits up to `graceMs`, then SIGKILLs the group, itself included. When
 * the child exits it reaps whatever the child left behind in the group the same way.
 *
 * Signals the runner sends to the whole group reach the child directly; the watchdog ignores them
 * and exits once the child has gone.
 * @module
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';

/** The job the runner sends as the first line of the lifeline. */
export interface WatchdogJob {
  command: string;
  env: Record<string, string>;
  cwd: string;
  graceMs: number;
}

/** Messages the watchdog sends back, one JSON object per line. */
export type WatchdogMessage = { pid: number } | { exit: number | null; signal: string | null };

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Other live members of the process group led by this process (Linux /proc). */
function otherMembers(): number {
  const me = process.pid;
  let count = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === me) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === me) count++;
    } catch {
      // the process ended while we looked
    }
  }
  return count;
}

function signalGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // group already gone
  }
}

let reaping = false;
/**
 * TERM the group, wait until only we are left (or grace passes), KILL the rest, exit. When the
 * command died of a signal, the group already got that signal: a second TERM would cut short the
 * graceful shutdown its other processes are running, so they only get the grace period.
 */
async function reapAndExit(graceMs: number, code: number, alreadySignalled = false): Promise<void> {
  if (reaping) return;
  reaping = true;
  if (otherMembers() > 0) {
    if (!alreadySignalled) signalGroup('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (otherMembers() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    if (otherMembers() > 0) signalGroup('SIGKILL');
  }
  process.exit(code);
}

function main(): void {
  for (const signal of SIGNALS) process.on(signal, () => {});
  const lifeline = new Socket({ fd: 3, readable: true, writable: true });
  let graceMs = 5_000;
  let started = false;
  let exitCode = 0;
  let childDone = false;
  let buffer = '';
  const send = (message: WatchdogMessage) => {
    if (!lifeline.destroyed) lifeline.write(`${JSON.stringify(message)}\n`);
  };
  const onLifelineGone = () => {
    if (!childDone) void reapAndExit(graceMs, 1);
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
      send({ exit: 127, signal: null });
      void reapAndExit(graceMs, 127);
    });
    if (child.pid !== undefined) send({ pid: child.pid });
    child.on('exit', (code, signal) => {
      childDone = true;
      exitCode = code ?? 128 + signalNumber(signal);
      send({ exit: code, signal });
      // Give the message a moment to leave before we possibly SIGKILL ourselves with the group.
      const bySignal = signal !== null;
      lifeline.end(() => void reapAndExit(graceMs, exitCode, bySignal));
      setTimeout(() => void reapAndExit(graceMs, exitCode, bySignal), 200).unref();
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 1;
}

main();
