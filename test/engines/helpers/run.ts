/**
 * Run an engine's command line and fail with what it printed: an engine that cannot do what the
 * suite asks is a failure with the reason, never a skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Exit codes that are not a failure. Default [0]. */
  ok?: number[];
  /** Default 300 s: the suite's budget, not a timing assertion. */
  timeoutMs?: number;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd args` under `nice` (the machine is shared) and return its output. */
export function run(cmd: string, args: string[], options: RunOptions = {}): RunResult {
  const result = spawnSync('nice', ['-n', '10', cmd, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 300_000,
  });
  const status = result.status ?? -1;
  if (result.error || !(options.ok ?? [0]).includes(status)) {
    const why = result.error ? String(result.error) : `exit ${status}`;
    throw new Error(
      `${cmd} ${args.join(' ')}: ${why}\n${tail(result.stderr ?? '')}\n${tail(result.stdout ?? '')}`,
    );
  }
  return { status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** The same, asynchronously: for commands that run while the test sends requests. */
export function runAsync(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '10', cmd, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const status = code ?? -1;
      if ((options.ok ?? [0]).includes(status)) resolve({ status, stdout, stderr });
      else
        reject(
          new Error(`${cmd} ${args.join(' ')}: exit ${status}\n${tail(stderr)}\n${tail(stdout)}`),
        );
    });
  });
}

export function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Poll `check` until it returns a value (not undefined); throw `what` with the last error. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  attempts = 120,
  pauseMs = 500,
): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what}: not reached${last ? ` (last error: ${String(last)})` : ''}`);
}

/** The cgroup folders named `name` at the top of every hierarchy (v1 controllers and v2). */
export function cgroupFolders(name: string): string[] {
  const roots = ['/sys/fs/cgroup', ...listDirs('/sys/fs/cgroup')];
  return roots.map((root) => `${root}/${name}`).filter((dir) => existsSync(dir));
}

/**
 * Remove the cgroup folders an engine made under `name` (the ones in `before` were there first),
 * deepest first; a folder with a process in it cannot be removed and is reported.
 */
export function removeCgroups(name: string, before: string[]): string[] {
  const problems: string[] = [];
  for (const dir of cgroupFolders(name)) {
    if (before.includes(dir)) continue;
    const result = spawnSync('find', [dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], {
      encoding: 'utf8',
    });
    if (existsSync(dir)) problems.push(`cgroup ${dir} left: ${result.stderr.trim()}`);
  }
  return problems;
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${dir}/${e.name}`);
  } catch {
    return [];
  }
}
