/**
 * `drove balance --upstream web:5000`: drove's non-sticky balancer on its own, in front of
 * replicas an engine runs. See docs/deploy.md and docs/balancer.md.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseUpstreams, signalExitCode, startStandaloneBalancer } from '../../runner/index.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected seconds, e.g. 30');
  return Math.round(n * 1000);
}

/** Register `drove balance` on the program. */
export function register(program: Command): void {
  program
    .command('balance')
    .description('run the non-sticky balancer alone, in front of replicas found by DNS or listed')
    .requiredOption('--upstream <list>', 'HOST:PORT[,HOST:PORT...]; host names are re-resolved')
    .option('-p, --port <port>', 'port to listen on (default: $PORT or 5000)', port)
    .option('--host <host>', 'interface to bind (default: $HOST or 127.0.0.1)')
    .addOption(
      new Option('-t, --timeout <seconds>', 'grace for in-flight requests on SIGTERM')
        .argParser(seconds)
        .default(30_000, '30'),
    )
    .option('--resolve-every <seconds>', 'how often host names are resolved again', seconds, 2_000)
    .addOption(
      new Option('--strategy <name>', 'balancing strategy')
        .choices(['round-robin', 'least-outstanding'])
        .default('round-robin'),
    )
    .option('--trust-proxy', 'keep client X-Forwarded-* headers (only behind your own proxy)')
    .action(async (o) => {
      const upstreams = parseUpstreams(o.upstream);
      const listenPort = o.port ?? (process.env.PORT ? port(process.env.PORT) : 5000);
      const host = o.host ?? (process.env.HOST || '127.0.0.1');
      const log = (msg: string) => process.stdout.write(`${msg}\n`);
      const lb = await startStandaloneBalancer({
        port: listenPort,
        host,
        upstreams,
        strategy: o.strategy,
        trustProxy: Boolean(o.trustProxy),
        resolveIntervalMs: o.resolveEvery,
        drainMs: o.timeout,
        log,
      });
      const where = lb.balancer.address();
      log(`balance: listening on ${where.host}:${where.port}, upstream ${o.upstream}`);
      process.exitCode = await new Promise<number>((done) => {
        const stop = (signal: NodeJS.Signals) => {
          log(`balance: ${signal} received: finishing in-flight requests`);
          void lb.close(o.timeout).then(() => done(signalExitCode(signal)));
        };
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, stop);
      });
    });
}
