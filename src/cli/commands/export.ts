/**
 * `drove export kubernetes|compose|systemd|dockerfile`: the Procfile formation for an engine.
 * See docs/deploy.md.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type BackingService, exportFormation, TARGETS, writeExport } from '../../export/index.js';
import { splitList } from '../../runner/index.js';

function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected whole seconds >= 1');
  return n;
}

function services(value: string): BackingService[] {
  const names = value.split(',').filter((s) => s.length > 0);
  for (const name of names) {
    if (name !== 'redis' && name !== 'postgres')
      throw new InvalidArgumentError('expected redis, postgres or both (redis,postgres)');
  }
  return names as BackingService[];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Register `drove export` on the program. */
export function register(program: Command): void {
  program
    .command('export')
    .description(
      'write the formation as Kubernetes manifests, a Compose file, systemd units or a Dockerfile',
    )
    .argument('<target>', TARGETS.join(' | '))
    .option('-f, --procfile <file>', 'Procfile to read', 'Procfile')
    .option(
      '-e, --env <files>',
      'env files whose variable NAMES are referenced (default: .env)',
      collect,
    )
    .option(
      '-m, --formation <spec>',
      'instances per type: web=3,worker=2 or all=N (default 1 each)',
    )
    .option('--app <name>', 'app name (default: package.json name, else the folder name)')
    .option('--image <image>', 'image the containers run (default: APP:latest)')
    .option('--base-image <image>', 'base image of the Dockerfile', 'node:24-slim')
    .option('--out <dir>', 'output folder, replaced as a whole (default: deploy/TARGET)')
    .option('-t, --timeout <seconds>', 'grace between SIGTERM and SIGKILL', wholeSeconds, 30)
    .option('--health-path <path>', 'HTTP path for probes and health checks (else a TCP check)')
    .option('--allow-local', 'export even when a .env variable is a sqlite: URL (warns)')
    .option('--with-services [list]', 'compose: add redis and/or postgres services', services)
    .option('--workdir <dir>', 'systemd: where the app is installed (default: /srv/APP)')
    .action((target: string, o) => {
      const result = exportFormation(target, {
        procfile: o.procfile,
        envFiles: splitList(o.env),
        formation: o.formation,
        app: o.app,
        image: o.image,
        baseImage: o.baseImage,
        out: o.out,
        shutdownTimeoutSeconds: o.timeout,
        healthPath: o.healthPath,
        allowLocal: Boolean(o.allowLocal),
        // The flag alone (no list) means both.
        withServices: o.withServices === true ? ['postgres', 'redis'] : o.withServices,
        workdir: o.workdir,
      });
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      writeExport(result.out, result.target, result.files);
      process.stdout.write(
        `wrote ${result.files.length} files to ${result.out}: ${result.files.map((f) => f.path).join(', ')}\n`,
      );
    });
}
