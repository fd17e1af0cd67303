/**
 * Who owns a scratch directory, written into its name so that a later process can tell whether
 * the owner is still alive without any shared state. Pids are reused, so the name also carries
 * the owner's start time; a directory is only ever trusted to a process with both the same pid and
 * the same start time, on the same host.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** What a scratch directory name says about its owner. */
export interface DirOwner {
  /** First 8 hex digits of SHA-256(hostname): pids only mean something on their own host. */
  host: string;
  pid: number;
  /** `p<ticks>` from /proc/<pid>/stat (verifiable), or `m<epoch ms>` elsewhere (not verifiable). */
  start: string;
  /** Creation time of the directory, epoch ms. */
  created: number;
}

const NAME = /^([0-9a-f]{8})-(\d+)-([pm]\d+)-([0-9a-z]+)-[0-9a-f]{12}$/;

/**
 * Read a process's start time (clock ticks since boot, field 22 of /proc/<pid>/stat) and whether
 * it is still running. Returns undefined when /proc cannot tell (not Linux, or no such process).
 */
export function procStat(pid: number): { start: string; zombie: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const ticks = fields[19];
  if (state === undefined || ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
  return { start: `p${ticks}`, zombie: state === 'Z' || state === 'X' };
}

let self: { host: string; pid: number; start: string } | undefined;

/** This process's identity, computed once. */
export function selfOwner(): { host: string; pid: number; start: string } {
  if (self === undefined) {
    const stat = process.platform === 'linux' ? procStat(process.pid) : undefined;
    self = {
      host: hostTag(),
      pid: process.pid,
      start: stat?.start ?? `m${Math.round(Date.now() - process.uptime() * 1000)}`,
    };
  }
  return self;
}

function hostTag(): string {
  return createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
}

/**
 * A fresh, unique, unguessable directory name owned by this process. (randomUUID draws from a
 * buffered entropy pool: a tenth of the cost of randomBytes per request.)
 */
export function newDirName(now = Date.now()): string {
  const me = selfOwner();
  const random = randomUUID().replaceAll('-', '').slice(0, 12);
  return `${me.host}-${me.pid}-${me.start}-${now.toString(36)}-${random}`;
}

/** Parse a directory name; undefined for anything drove did not create. */
export function parseDirName(name: string): DirOwner | undefined {
  const m = NAME.exec(name);
  if (m === null) return undefined;
  const created = Number.parseInt(m[4]!, 36);
  if (!Number.isSafeInteger(created)) return undefined;
  return { host: m[1]!, pid: Number(m[2]), start: m[3]!, created };
}

/**
 * Whether the process that created a directory may still be running. Errs on the side of
 * "alive" when it cannot tell (another host, or a platform without /proc): such directories are
 * only removed by age.
 */
export function ownerMayBeAlive(owner: DirOwner): boolean {
  const me = selfOwner();
  if (owner.host !== me.host) return true;
  if (owner.pid === me.pid) return owner.start === me.start;
  if (owner.start.startsWith('p')) {
    const stat = procStat(owner.pid);
    if (stat !== undefined) return !stat.zombie && stat.start === owner.start;
    // No /proc entry: on Linux that means no such process; elsewhere fall through to kill(0).
    if (process.platform === 'linux') return false;
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
