/**
 * A private dockerd for the engine suites: its own data root (in the cache, so imported and built
 * images are reused by the next run), its own exec root, socket and pidfile, no iptables rules,
 * no default bridge, published ports on 127.0.0.1 only. `stop()` removes every container and
 * network it made, stops the daemon and checks that nothing is left mounted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cgroupFolders, removeCgroups, run, tail, until } from './run.js';

export const CACHE = join(
  process.env.DROVE_CI_CACHE ?? join(homedir(), '.cache', 'drove-ci'),
  'engines',
);
/** Debian's docker CLI (20.10, the daemon's own version), not any other one on PATH. */
export const DOCKER = '/usr/bin/docker';

export interface Dockerd {
  /** Environment for docker and docker compose: DOCKER_HOST and DOCKER_CONFIG (Compose v2). */
  env: NodeJS.ProcessEnv;
  docker(args: string[], options?: { ok?: number[]; input?: string; timeoutMs?: number }): string;
  stop(): Promise<void>;
}

function which(binary: string): void {
  const found = run('sh', ['-c', `command -v ${binary} || true`]).stdout.trim();
  if (!found) throw new Error(`${binary} is not installed: run scripts/setup-machine.sh as root`);
}

/** Start the daemon; throws with its log when it cannot start. */
export async function startDockerd(name = 'docker'): Promise<Dockerd> {
  which('dockerd');
  if (!existsSync(DOCKER)) throw new Error(`${DOCKER} missing: apt-get install docker.io`);
  const dataRoot = join(CACHE, `${name}-data`);
  // dockerd's cgroupfs parent (/docker) stays behind, empty, when it stops: removed in stop().
  const cgroupsBefore = cgroupFolders('docker');
  mkdirSync(dataRoot, { recursive: true });
  // The exec root holds sockets: a short path (a socket path has at most 108 bytes).
  const execBase = mkdtempSync('/tmp/drove-dockerd.');
  const sock = join(execBase, 'docker.sock');
  const pidfile = join(execBase, 'dockerd.pid');
  const logPath = join(execBase, 'dockerd.log');
  const log = openSync(logPath, 'a');
  const daemon: ChildProcess = spawn(
    'nice',
    [
      '-n',
      '10',
      'dockerd',
      '--data-root',
      dataRoot,
      '--exec-root',
      join(execBase, 'exec'),
      '--pidfile',
      pidfile,
      '--host',
      `unix://${sock}`,
      '--iptables=false',
      '--ip6tables=false',
      '--ip',
      '127.0.0.1',
      '--bridge',
      'none',
      '--containerd-namespace',
      `drove-${name}`,
      '--containerd-plugins-namespace',
      `drove-${name}-plugins`,
    ],
    { stdio: ['ignore', log, log] },
  );
  let exited: string | undefined;
  daemon.on('exit', (code, signal) => {
    exited = `dockerd exited (${signal ?? code})`;
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${sock}`,
    // Compose v2 as a CLI plugin of this config folder (scripts/engines/compose-v2.sh).
    DOCKER_CONFIG: CACHE,
    DOCKER_BUILDKIT: '0',
  };
  const docker: Dockerd['docker'] = (args, options = {}) =>
    run(DOCKER, args, { env, ...options }).stdout;
  try {
    await until(
      'dockerd ready',
      () => {
        if (exited) throw new Error(exited);
        docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
        return true;
      },
      60,
    );
  } catch (err) {
    daemon.kill('SIGTERM');
    throw new Error(`${String(err)}\n${tail(readFileSync(logPath, 'utf8'))}`);
  }

  async function stop(): Promise<void> {
    const problems: string[] = [];
    try {
      const ids = docker(['ps', '-aq']).trim();
      if (ids) docker(['rm', '-f', '-v', ...ids.split('\n')]);
      docker(['network', 'prune', '-f']);
      docker(['volume', 'prune', '-f']);
    } catch (err) {
      problems.push(String(err));
    }
    if (!exited) {
      daemon.kill('SIGTERM');
      await until('dockerd stopped', () => (exited ? true : undefined), 120);
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(dataRoot) || line.includes(execBase));
    if (mounts.length > 0) problems.push(`left mounted:\n${mounts.join('\n')}`);
    if (existsSync(pidfile)) problems.push(`pidfile left: ${pidfile}`);
    problems.push(...removeCgroups('docker', cgroupsBefore));
    rmSync(execBase, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`dockerd left things behind: ${problems.join('\n')}`);
  }
  return { env, docker, stop };
}
