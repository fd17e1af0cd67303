/**
 * `drove start`, `run`, `ps`, `restart`, `scale`: the Procfile runner's commands.
 * See docs/runner.md.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  callControl,
  findControlSocket,
  type InstanceStatus,
  parseReadiness,
  runOneOff,
  STRATEGIES,
  splitList,
  start,
} from '../../runner/index.js';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected seconds, e.g. 5 or 0.5');
  return Math.round(n * 1000);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `-f` and `-e`, where `start` and `run` read the formation's Procfile and environment. */
function withSource(command: Command): Command {
  return command
    .option('-f, --procfile <file>', 'Procfile to read', 'Procfile')
    .option('-e, --env <files>', 'env files, comma separated, later wins (default: .env)', collect);
}

/** Register the runner's commands on the `drove` program. */
export function register(program: Command): void {
  program.enablePositionalOptions();

  withSource(
    program
      .command('start')
      .description('run the Procfile formation behind a non-sticky balancer')
      .argument('[types...]', 'only these process types (others get 0 instances)'),
  )
    .option('-m, --formation <spec>', 'instances per type: web=3,worker=2 or all=N')
    .option(
      '-p, --port <port>',
      'balancer port; instances get PORT+100*i+n (default: $PORT or 5000)',
      integer,
    )
    .addOption(
      new Option('-t, --timeout <seconds>', 'grace between SIGTERM and SIGKILL')
        .argParser(seconds)
        .default(5000, '5'),
    )
    .option('--no-restart', 'do not restart crashed processes; the first exit stops all (foreman)')
    .option(
      '--host <host>',
      'balancer interface; 0.0.0.0 in a container (default: $HOST or 127.0.0.1)',
    )
    .option('--json', 'log one JSON object per line')
    .addOption(
      new Option('--strategy <name>', 'balancing strategy')
        .choices(Object.keys(STRATEGIES))
        .default('round-robin'),
    )
    .option(
      '--trust-proxy',
      'keep client X-Forwarded-*, Forwarded, X-Real-IP and like headers (only behind your own proxy)',
    )
    .addOption(
      new Option(
        '--headers-timeout <seconds>',
        'a client must send its request headers (an instance its response head) within this',
      )
        .argParser(seconds)
        .default(60_000, '60'),
    )
    .option(
      '--ready <how>',
      'when a web instance gets traffic: port | explicit | /health/path',
      'port',
    )
    .option(
      '--restart-delay <ms>',
      'first crash-restart delay (grows x1.5 up to 15 s)',
      integer,
      100,
    )
    .option(
      '--max-restarts <n>',
      'quick crashes in a row before an instance is errored',
      integer,
      16,
    )
    .action(async (types: string[], o) => {
      process.exitCode = await start({
        types,
        procfile: o.procfile,
        envFiles: splitList(o.env),
        formation: o.formation,
        port: o.port,
        host: o.host,
        shutdownTimeoutMs: o.timeout,
        restart: o.restart,
        json: Boolean(o.json),
        strategy: o.strategy,
        trustProxy: Boolean(o.trustProxy),
        headersTimeoutMs: o.headersTimeout,
        readiness: parseReadiness(o.ready),
        policy: { initialDelayMs: o.restartDelay, maxQuickCrashes: o.maxRestarts },
      });
    });

  withSource(
    program
      .command('run')
      .description('run a one-off command (or a Procfile type) with the formation environment')
      .argument('<command...>', 'command and arguments'),
  )
    .passThroughOptions()
    .action(async (args: string[], o) => {
      process.exitCode = await runOneOff(args, {
        procfile: o.procfile,
        envFiles: splitList(o.env),
      });
    });

  program
    .command('ps')
    .description('list the instances of the formation running here (or in a directory above)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const rows = (await callControl(findControlSocket(), { cmd: 'ps' })) as (InstanceStatus & {
        inFlight: number | null;
      })[];
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(formatTable(rows));
    });

  program
    .command('restart')
    .description('rolling, zero-downtime restart of everything, a type, or one instance (web.2)')
    .argument('[target]', 'TYPE or TYPE.N')
    .action(async (target: string | undefined) => {
      const request =
        target === undefined ? { cmd: 'restart' as const } : { cmd: 'restart' as const, target };
      const result = (await callControl(findControlSocket(), request)) as { restarted: string[] };
      process.stdout.write(`restarted: ${result.restarted.join(', ') || '(nothing)'}\n`);
    });

  program
    .command('scale')
    .description('change instance counts of the running formation, e.g. web=4,worker=0')
    .argument('<formation>', 'TYPE=N,... or all=N')
    .action(async (formation: string) => {
      const counts = await callControl(findControlSocket(), { cmd: 'scale', formation });
      const text = Object.entries(counts as Record<string, number>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      process.stdout.write(`formation: ${text}\n`);
    });
}

/** `4242`, or `4242 (sh 4241)` when a `sh -c` wrapper sits between the runner and the app. */
function pidCell(r: InstanceStatus): string {
  if (r.pid === null) return '-';
  if (r.appPid === null || r.appPid === r.pid) return String(r.pid);
  return `${r.appPid} (sh ${r.pid})`;
}

function formatTable(rows: (InstanceStatus & { inFlight: number | null })[]): string {
  const header = ['NAME', 'STATE', 'PID', 'PORT', 'UPTIME', 'RESTARTS', 'IN-FLIGHT'];
  const body = rows.map((r) => [
    r.name,
    r.state,
    pidCell(r),
    String(r.port),
    r.uptimeMs === null ? '-' : `${Math.floor(r.uptimeMs / 1000)}s`,
    String(r.restarts),
    r.inFlight === null ? '-' : String(r.inFlight),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [header, ...body]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}
