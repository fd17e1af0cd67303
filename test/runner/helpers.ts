/**
 * Helpers for the runner's process tests: a scratch directory with a Procfile, free ports, a
 * running `drove start`, and a look at which processes of a formation are still alive.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/runner/', import.meta.url));

/** A fresh directory holding `files` (e.g. { Procfile: 'web: ...' }). */
export function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'drove-rt-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** A base port whose balancer port and instance ports (3 types x 4, both slots) are free. */
export async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const wanted = [base];
    for (let i = 0; i < 3; i++)
      for (let n = 1; n <= 4; n++) wanted.push(base + 100 * i + n, base + 100 * i + 50 + n);
    let ok = true;
    for (const port of wanted) if (!(await free(port))) ok = false;
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

type Falsy = false | null | undefined | 0 | '';

/** Poll `check` until it returns a truthy value or `ms` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | Falsy> | T | Falsy,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
}

/** A running `drove start`. */
export interface Runner {
  child: ChildProcess;
  dir: string;
  base: number;
  output: () => string;
  exited: Promise<number | null>;
  drove: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Start `drove start -p base ...args` in `dir`. */
export function startRunner(dir: string, base: number, args: string[] = []): Runner {
  const child = spawn(process.execPath, [CLI, 'start', '-p', String(base), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, dir, base, output: () => out, exited, drove: (...a) => drove(dir, a) };
}

/** Run a drove CLI command to completion. */
export function drove(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, env, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `drove ps --json` rows. */
export async function ps(runner: Runner): Promise<PsRow[]> {
  const { code, stdout, stderr } = await runner.drove('ps', '--json');
  if (code !== 0) throw new Error(stderr);
  return JSON.parse(stdout) as PsRow[];
}

export interface PsRow {
  name: string;
  type: string;
  state: string;
  pid: number | null;
  pgid: number | null;
  port: number;
  restarts: number;
}

/** Pids of live (non-zombie) processes in any of these process groups. */
export function membersOf(pgids: number[]): number[] {
  const wanted = new Set(pgids);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && wanted.has(Number(fields[2]))) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** Pids of live processes whose command line mentions `marker`. */
export function processesMatching(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z' && cmd.includes(marker))
        found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** GET a URL on a fresh connection; resolves with status and JSON body. */
export function get(
  url: string,
): Promise<{ status: number; body: { name?: string; pid?: number; port?: number } }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => {
        let body = {};
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}
