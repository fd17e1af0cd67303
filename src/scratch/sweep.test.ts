import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withScratch } from './context.js';
import { newDirName, ownerMayBeAlive, parseDirName, procStat, selfOwner } from './owner.js';
import { sweepScratch } from './sweep.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drove-sweep-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A directory name as another process (pid, start, host) would have written it. */
function nameFor(o: { host?: string; pid: number; start: string; created?: number }): string {
  const host = o.host ?? selfOwner().host;
  return `${host}-${o.pid}-${o.start}-${(o.created ?? Date.now()).toString(36)}-0123456789ab`;
}

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('owner names', () => {
  it('newDirName() round-trips through parseDirName()', () => {
    const parsed = parseDirName(newDirName(1_700_000_000_000));
    expect(parsed).toEqual({ ...selfOwner(), created: 1_700_000_000_000 });
  });

  it('parseDirName() ignores names drove did not write', () => {
    for (const name of ['', 'foo', 'abcdefgh-1-x1-1-0123456789ab', '../etc', 'drove-scratch']) {
      expect(parseDirName(name)).toBeUndefined();
    }
  });

  it.runIf(process.platform === 'linux')('procStat() reads the start time from /proc', () => {
    const stat = procStat(process.pid);
    expect(stat?.start).toMatch(/^p\d+$/);
    expect(stat?.zombie).toBe(false);
    expect(selfOwner().start).toBe(stat?.start);
  });

  it('ownerMayBeAlive(): this process yes; a dead pid, or our pid with another start time, no', () => {
    const me = selfOwner();
    expect(ownerMayBeAlive({ ...me, created: Date.now() })).toBe(true);
    expect(ownerMayBeAlive({ ...me, start: `${me.start}1`, created: Date.now() })).toBe(false);
    expect(ownerMayBeAlive({ ...me, pid: deadPid(), created: Date.now() })).toBe(false);
    // A live process (our parent) whose recorded start time is not its real one: the pid was reused.
    if (process.platform === 'linux') {
      expect(ownerMayBeAlive({ ...me, pid: process.ppid, start: 'p1', created: Date.now() })).toBe(
        false,
      );
      const parent = procStat(process.ppid)!;
      expect(ownerMayBeAlive({ ...me, pid: process.ppid, start: parent.start, created: 0 })).toBe(
        true,
      );
    }
    // Another host: cannot tell, so it is left to the age limit.
    expect(ownerMayBeAlive({ ...me, host: 'ffffffff', pid: deadPid(), created: 0 })).toBe(true);
  });
});

describe('sweepScratch()', () => {
  it('removes dead owners’ and too-old directories, keeps live ones and foreign entries', async () => {
    const me = selfOwner();
    const dead = nameFor({ pid: deadPid(), start: 'p12345' });
    const reused = nameFor({ pid: me.pid, start: `${me.start}9` });
    const old = nameFor({ host: 'ffffffff', pid: 1, start: 'p1', created: Date.now() - 10_000 });
    const otherHost = nameFor({ host: 'ffffffff', pid: 1, start: 'p1' });
    const mine = nameFor({ pid: me.pid, start: me.start });
    for (const name of [dead, reused, old, otherHost, mine, 'unrelated']) {
      await mkdir(join(root, name));
      await writeFile(join(root, name, 'file'), 'x');
    }
    const report = await sweepScratch({ dir: root, maxAgeMs: 5_000 });
    expect(report.removed.sort()).toEqual([dead, reused, old].map((n) => join(root, n)).sort());
    expect(report.kept).toBe(2);
    expect((await readdir(root)).sort()).toEqual([mine, otherHost, 'unrelated'].sort());
  });

  it('returns an empty report for a root that does not exist', async () => {
    expect(await sweepScratch({ dir: join(root, 'missing') })).toEqual({ removed: [], kept: 0 });
  });

  it('never removes a live transaction of this process, even past the age limit', async () => {
    await withScratch(
      async (scratch) => {
        await scratch.write('f', 'x');
        await new Promise((r) => setTimeout(r, 20));
        const report = await sweepScratch({ dir: root, maxAgeMs: 1 });
        expect(report.removed).toEqual([]);
        expect(existsSync(scratch.file('f'))).toBe(true);
      },
      { dir: root },
    );
  });

  it('runs on the first transaction of a root in this process', async () => {
    const dead = nameFor({ pid: deadPid(), start: 'p777' });
    await mkdir(join(root, dead));
    await withScratch(() => {}, { dir: root });
    expect(existsSync(join(root, dead))).toBe(false);
  });
});
