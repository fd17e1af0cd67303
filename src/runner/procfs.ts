/**
 * What Linux's /proc says about processes: groups, parents, and who holds a pipe. The runner uses
 * it to find a group's members, the app behind a `sh -c` wrapper, and processes that left their
 * group but still hold an instance's output. Elsewhere (no /proc) every answer is empty.
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** One live (not zombie) process. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
}

/** Every live process, from /proc/PID/stat. */
export function processes(): ProcessInfo[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: ProcessInfo[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may itself contain blanks and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      found.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        pgid: Number(fields[2]),
        sid: Number(fields[3]),
      });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Live members of process group `pgid`, other than `except`. */
export function groupMembers(pgid: number, except?: number): number[] {
  return processes()
    .filter((p) => p.pgid === pgid && p.pid !== except)
    .map((p) => p.pid);
}

/** Live children of `pid`, oldest first. */
export function childrenOf(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** The command line of `pid` as one string, or `?` when it cannot be read. */
export function commandLine(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '');
    return text.replace(/\0/g, ' ') || '?';
  } catch {
    return '?';
  }
}

/**
 * Processes other than `except` that have an open file descriptor on one of these pipes or
 * sockets, named as /proc/PID/fd links name them (`pipe:[123]`, `socket:[456]`).
 */
export function pipeHolders(links: string[], except: number): ProcessInfo[] {
  const wanted = new Set(links.filter((l) => /^(pipe|socket):\[\d+\]$/.test(l)));
  if (wanted.size === 0) return [];
  return processes().filter((p) => {
    if (p.pid === except) return false;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      return false;
    }
    return fds.some((fd) => {
      try {
        return wanted.has(readlinkSync(`/proc/${p.pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
  });
}
