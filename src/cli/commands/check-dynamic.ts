/**
 * `drove check -- TEST_COMMAND...` and `drove check --scenario FILE`: the dynamic check, which
 * runs the app's tests against an adversarial herd (src/check/). See docs/check.md.
 *
 * The static check (`drove check --static`, check.ts) shares the command name: when both are
 * present, `check` dispatches here unless `--static` is given, through {@link runDynamicCheck}.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_RESTART_EVERY, runCheck } from '../../check/index.js';
import { formatReport } from '../../check/report.js';
import { splitList } from '../../runner/index.js';

/** The options of the dynamic check, as commander parses them. */
export interface DynamicCheckOptions {
  procfile?: string;
  env?: string[];
  formation?: string;
  restartEvery?: number;
  kill?: boolean;
  hosts?: boolean;
  scenario?: string;
  sessionCookie?: string;
  ready?: string;
  json?: boolean;
  verbose?: boolean;
}

function whole(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Add the dynamic check's options to a command (`check`, or the lead's joined one). */
export function dynamicCheckOptions(command: Command): Command {
  return command
    .option('-f, --procfile <file>', 'Procfile to read', 'Procfile')
    .option('-e, --env <files>', 'env files, comma separated, later wins (default: .env)', collect)
    .option('-m, --formation <spec>', 'instances per type; web at least 2 (default: web=2)')
    .option(
      '--restart-every <n>',
      `restart a web instance every N requests, 0 never (default: ${DEFAULT_RESTART_EVERY})`,
      whole,
    )
    .option('--kill', 'restart by SIGKILL of a drained instance, not a rolling restart')
    .option('--hosts', 'each instance in its own copy of the app folder, TMPDIR and HOME')
    .option(
      '--scenario <file>',
      'a JSON or YAML file of requests and expectations, instead of a command',
    )
    .option('--session-cookie <name>', 'the session cookie (default: any named like sid/sess)')
    .option('--ready <how>', 'when a web instance gets traffic: port | explicit | /health/path')
    .option('--json', 'print the report as JSON')
    .option('--verbose', "show the formations' logs and the tests' output on stderr");
}

/**
 * Run the dynamic check and print its report; sets the exit code (0 stateless, 1 findings,
 * 2 could not run). `command` is what follows `--`.
 */
export async function runDynamicCheck(
  command: string[],
  o: DynamicCheckOptions,
): Promise<0 | 1 | 2> {
  const report = await runCheck({
    ...(o.procfile !== undefined ? { procfile: o.procfile } : {}),
    envFiles: splitList(o.env),
    formation: o.formation,
    restartEvery: o.restartEvery,
    kill: Boolean(o.kill),
    hosts: Boolean(o.hosts),
    command,
    scenario: o.scenario,
    cookieName: o.sessionCookie,
    ready: o.ready,
    log: o.verbose ? process.stderr : undefined,
    echo: o.verbose ? process.stderr : undefined,
  });
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.exitCode;
  return report.exitCode;
}

/** Register `drove check` (the dynamic check) on the program. */
export function register(program: Command): void {
  dynamicCheckOptions(
    program
      .command('check')
      .description("run the app's tests against an adversarial herd: find hidden per-process state")
      .argument('[command...]', 'the test command, after --'),
  )
    .passThroughOptions()
    .action(async (command: string[], o: DynamicCheckOptions) => {
      await runDynamicCheck(command, o);
    });
}
