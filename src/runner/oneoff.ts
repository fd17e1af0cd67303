/**
 * `drove run`: one command with the formation's environment, in the foreground.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadEnv } from './env.js';
import { ignoredLineWarning, readProcfile } from './procfile.js';
import { signalExitCode } from './start.js';

/** Options of {@link runOneOff}. */
export interface RunOptions {
  procfile?: string;
  envFiles?: string[];
  cwd?: string;
}

/**
 * Run `args` with the same environment `drove start` would give (`.env` files under the real
 * environment; PORT defaults to 5000). A single argument naming a Procfile type runs that type's
 * command; a single other argument is a shell command line; several arguments are quoted for
 * `sh -c` one by one. Resolves with the command's exit status.
 *
 * @example
 * ```ts
 * process.exitCode = await runOneOff(['node', 'scripts/migrate.js']);
 * ```
 */
export async function runOneOff(args: string[], options: RunOptions = {}): Promise<number> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const { env } = loadEnv(options.envFiles, process.env, cwd);
  env.PORT ??= '5000';
  env.PS ??= 'run.1';
  env.DYNO ??= 'run.1';
  let command = args.length === 1 ? args[0]! : args.map(shellQuote).join(' ');
  const procfile = resolve(cwd, options.procfile ?? 'Procfile');
  if (args.length === 1 && existsSync(procfile)) {
    const warn = (i: { line: number; text: string }) =>
      process.stderr.write(`drove: ${ignoredLineWarning(options.procfile ?? 'Procfile', i)}\n`);
    const entry = readProcfile(procfile, warn).find((e) => e.name === args[0]);
    if (entry) command = entry.command;
  }
  const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: 'inherit' });
  // The terminal sends Ctrl-C to the child too; other signals are passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  try {
    return await new Promise<number>((ok) => {
      child.once('error', () => ok(127));
      child.once('exit', (code, signal) => ok(code ?? signalExitCode(signal ?? 'SIGTERM')));
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
    process.off('SIGHUP', forward);
  }
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-./=:,@%+]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
