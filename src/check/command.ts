/**
 * The user's own test command, run against one formation with its URL in BASE_URL and DROVE_URL.
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** How one run of the test command ended. */
export interface CommandOutcome {
  /** The exit code (128 + n when a signal ended it). */
  code: number;
  /** Its output, stdout and stderr interleaved, last lines only. */
  outputTail: string[];
  /** The command could not be started at all (not found, not executable). */
  missing: boolean;
}

const TAIL = 40;

/**
 * Run `args` (one argument: a shell command line, as `drove run` takes it; several: the program
 * and its arguments) in `cwd`, with `url` given as BASE_URL and DROVE_URL (unless empty: the
 * release phase).
 */
export function runTestCommand(
  args: readonly string[],
  url: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; echo?: { write(s: string): unknown } },
): Promise<CommandOutcome> {
  const [program, ...rest] = args.length === 1 ? ['sh', '-c', args[0] ?? ''] : args;
  const tail: string[] = [];
  let partial = '';
  const take = (chunk: Buffer) => {
    options.echo?.write(chunk.toString());
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    tail.push(...lines);
    if (tail.length > TAIL) tail.splice(0, tail.length - TAIL);
  };
  return new Promise((resolve) => {
    const child = spawn(program ?? '', rest, {
      cwd: options.cwd,
      env: url === '' ? options.env : { ...options.env, BASE_URL: url, DROVE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (err) => {
      resolve({ code: 127, outputTail: [err.message], missing: true });
    });
    child.once('close', (code, signal) => {
      if (partial) tail.push(partial);
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      // `sh -c` says 127 when the program is not found, 126 when it cannot run.
      const missing = args.length === 1 && (status === 127 || status === 126);
      resolve({ code: status, outputTail: tail.slice(-TAIL), missing });
    });
  });
}
