/**
 * `drove check`: find process-local state. Two modes share the command:
 * - `drove check --static [PATHS...]` lints the sources with drove's ESLint rules (src/check/static.ts);
 * - `drove check [options] -- TEST_COMMAND...` (or `--scenario FILE`), the dynamic mode, runs the
 *   app's own tests against an adversarial herd (src/check/, check-dynamic.ts).
 *
 * Exit codes, in both modes: 0 nothing found, 1 findings, 2 the check could not run.
 */
import type { Command } from 'commander';
import { DroveError } from '../../errors.js';
import { type DynamicCheckOptions, dynamicCheckOptions, runDynamicCheck } from './check-dynamic.js';

export interface CheckOptions extends DynamicCheckOptions {
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

/** Register the `check` command. */
export function register(program: Command): void {
  dynamicCheckOptions(
    program
      .command('check')
      .description(
        'find process-local state: run your tests against an adversarial herd (-- CMD, or ' +
          '--scenario FILE), or lint the sources (--static: in-memory sessions, module state, ' +
          'local files, in-memory limiters and caches, sticky sessions, run-time assets)',
      )
      .argument(
        '[args...]',
        'the test command (after --), or with --static the files or folders to lint',
      )
      .option('--static', "lint the sources with drove's ESLint rules (drovejs/eslint)")
      .option('-C, --cwd <dir>', 'with --static: the app folder; PATHS are relative to it', '.'),
  )
    .passThroughOptions()
    .action(async (args: string[], options: CheckOptions) => {
      try {
        if (options.static) await runStatic(args, options);
        else await runDynamicCheck(args, options);
      } catch (err) {
        const reason =
          err instanceof DroveError
            ? `${err.message} (${err.code})`
            : String((err as Error)?.message ?? err);
        couldNotRun(reason);
      }
    });
}
