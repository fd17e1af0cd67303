/**
 * `drove check`: find process-local state. Two modes share the command:
 * - `drove check --static [PATHS...]` lints the sources with drove's ESLint rules (src/check/static.ts);
 * - `drove check [options] -- TEST_COMMAND...`, the dynamic mode (issue 18), runs the app's own
 *   tests against an adversarial herd. It is not built yet: without `--static` the command says so
 *   and exits 2. The dynamic mode adds its options here and its runner beside static.ts.
 *
 * Exit codes, in both modes: 0 nothing found, 1 findings, 2 the check could not run.
 */
import type { Command } from 'commander';
import { DroveError } from '../../errors.js';

export interface CheckOptions {
  static?: boolean;
  json?: boolean;
  cwd: string;
}

function couldNotRun(reason: string): void {
  process.stderr.write(`drove check: could not run: ${reason}\n`);
  process.exitCode = 2;
}

async function runStatic(paths: string[], options: CheckOptions): Promise<void> {
  // Loaded here, not at the top: other commands never load the ESLint plugin.
  const { checkStatic, exitCodeOf, formatStatic } = await import('../../check/static.js');
  const report = await checkStatic({ paths, cwd: options.cwd });
  process.stdout.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatic(report),
  );
  if (report.files === 0)
    couldNotRun(
      'no JavaScript or TypeScript files to check (node_modules, build output, public/ and tests are skipped)',
    );
  else process.exitCode = exitCodeOf(report);
}

async function runDynamic(command: string[]): Promise<void> {
  couldNotRun(
    `the dynamic mode (running ${command.length ? `"${command.join(' ')}"` : 'your tests'} against a herd) ` +
      'is not available in this version; use `drove check --static [PATHS...]`',
  );
}

/** Register the `check` command. */
export function register(program: Command): void {
  program
    .command('check')
    .description(
      'find process-local state (in-memory sessions, module state, local files, in-memory ' +
        'limiters and caches, sticky sessions, run-time asset compilation) before it ships',
    )
    .argument('[args...]', 'with --static: files or folders to lint (default: the current folder)')
    .option('--static', "lint the sources with drove's ESLint rules (drovejs/eslint)")
    .option('--json', 'print the report as JSON')
    .option('-C, --cwd <dir>', 'the app folder; PATHS are relative to it', '.')
    .action(async (args: string[], options: CheckOptions) => {
      try {
        if (options.static) await runStatic(args, options);
        else await runDynamic(args);
      } catch (err) {
        const reason =
          err instanceof DroveError
            ? `${err.message} (${err.code})`
            : String((err as Error)?.message ?? err);
        couldNotRun(reason);
      }
    });
}
