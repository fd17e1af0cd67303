/**
 * systemd target: `APP.target` wanting every instance, a template unit per process type
 * (`APP-web@.service`, the instance name is its PORT), the release as a oneshot unit the
 * instances require and start after, and drove's standalone balancer in front of web.
 * Every unit is `PartOf=` the target, so stopping or restarting the target reaches them all
 * (`Wants=` alone would leave them running).
 * @module
 */
import { resolve } from 'node:path';
import { portFor } from '../runner/index.js';
import { argvFor, PORT_MARK } from './command.js';
import { DROVE_IN_IMAGE } from './compose.js';
import { type ExportFile, header } from './files.js';
import type { Formation, ProcessPlan } from './model.js';

/** How an ExecStart word reads the instance's PORT (systemd expands it, no shell needed). */
const SYSTEMD_PORT = '$' + '{PORT}';

/** The port the systemd balancer listens on; instances get the runner's ports above it. */
const BASE_PORT = 5000;

/** Ports of the instances of `plan`, as `drove start` numbers them. */
export function instancePorts(plan: ProcessPlan): number[] {
  return Array.from({ length: plan.count }, (_, i) => portFor(BASE_PORT, plan.index, i + 1));
}

/** Render the unit files. */
export function renderSystemd(f: Formation): ExportFile[] {
  const files: ExportFile[] = [];
  const release = f.release ? `${f.app}-release.service` : undefined;
  const wanted: string[] = [];
  if (release && f.release) {
    wanted.push(release);
    files.push({ path: release, text: unit(releaseUnit(f, f.release)) });
  }
  for (const plan of f.types) {
    files.push({ path: `${f.app}-${plan.slug}@.service`, text: unit(template(f, plan, release)) });
    for (const port of instancePorts(plan)) wanted.push(`${f.app}-${plan.slug}@${port}.service`);
  }
  if (f.web) {
    files.push({ path: `${f.app}-balancer.service`, text: unit(balancerUnit(f, f.web)) });
    wanted.push(`${f.app}-balancer.service`);
  }
  const target = [
    section('Unit', [
      ['Description', `${f.app}: the whole formation`],
      ['Wants', wanted.join(' ')],
      ['After', 'network-online.target'],
    ]),
    section('Install', [['WantedBy', 'multi-user.target']]),
  ];
  files.unshift({ path: `${f.app}.target`, text: unit(target) });
  return files;
}

type Entry = [string, string];

function section(name: string, entries: Entry[]): string {
  return `[${name}]\n${entries.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

function unit(sections: string[]): string {
  return `${header('systemd')}\n${sections.join('\n')}`;
}

/** Lines every process unit has. */
function serviceEntries(f: Formation, plan: ProcessPlan, port: string | undefined): Entry[] {
  const entries: Entry[] = [
    ['User', f.app],
    ['Group', f.app],
    ['WorkingDirectory', f.workdir],
  ];
  for (const file of f.envFiles) entries.push(['EnvironmentFile', resolve(f.workdir, file)]);
  const own = [
    `PS=${plan.name}${port ? `.${port}` : ''}`,
    `DYNO=${plan.name}${port ? `.${port}` : ''}`,
  ];
  if (port) own.unshift('PORT=%i');
  entries.push(['Environment', own.join(' ')]);
  const argv = argvFor(plan.form, (w) => w);
  // systemd takes an absolute path or a bare name (looked up in its PATH), never `bin/x`.
  if (argv[0]?.includes('/') && !argv[0].startsWith('/')) argv[0] = resolve(f.workdir, argv[0]);
  entries.push(['ExecStart', execStart(argv)]);
  return entries;
}

function stopEntries(f: Formation): Entry[] {
  return [
    // SIGTERM to the main process only, so it can drain; SIGKILL to the whole group after
    // TimeoutStopSec. KillMode=process would leave children behind.
    ['KillMode', 'mixed'],
    ['KillSignal', 'SIGTERM'],
    // 128 + the signal: how drove's balancer (and many programs) report that a SIGINT/SIGTERM
    // stopped them. systemd counts a death BY the signal as clean, not this exit code: without
    // it, `systemctl stop` leaves the unit "failed".
    ['SuccessExitStatus', '130 143'],
    ['TimeoutStopSec', `${f.shutdownTimeoutSeconds}s`],
  ];
}

function template(f: Formation, plan: ProcessPlan, release: string | undefined): string[] {
  const after = ['network-online.target'];
  const unitEntries: Entry[] = [
    ['Description', `${f.app} ${plan.name} (instance %i)`],
    ['PartOf', `${f.app}.target`],
  ];
  if (release) {
    // A failed release leaves the instances stopped, like `drove start`.
    unitEntries.push(['Requires', release]);
    after.unshift(release);
  }
  unitEntries.push(['After', after.join(' ')], ['Wants', 'network-online.target']);
  return [
    section('Unit', unitEntries),
    section('Service', [
      ['Type', 'simple'],
      ...serviceEntries(f, plan, '%i'),
      ['Restart', 'always'],
      ['RestartSec', '1s'],
      ...stopEntries(f),
    ]),
  ];
}

function releaseUnit(f: Formation, plan: ProcessPlan): string[] {
  return [
    section('Unit', [
      ['Description', `${f.app} release phase (once per start of ${f.app}.target)`],
      ['PartOf', `${f.app}.target`],
      ['After', 'network-online.target'],
      ['Wants', 'network-online.target'],
    ]),
    section('Service', [
      ['Type', 'oneshot'],
      // Stays "active" once done, so the instances' Requires= holds until the next restart.
      ['RemainAfterExit', 'yes'],
      ...serviceEntries(f, plan, undefined),
      ['TimeoutStartSec', '1h'],
      ...stopEntries(f),
    ]),
  ];
}

function balancerUnit(f: Formation, web: ProcessPlan): string[] {
  const upstream = instancePorts(web)
    .map((port) => `127.0.0.1:${port}`)
    .join(',');
  const argv = [
    'node',
    DROVE_IN_IMAGE,
    'balance',
    '--upstream',
    upstream,
    '--host',
    '0.0.0.0',
    '--port',
    String(BASE_PORT),
    '--timeout',
    String(f.shutdownTimeoutSeconds),
  ];
  return [
    section('Unit', [
      ['Description', `${f.app} balancer on port ${BASE_PORT} (non-sticky, over ${web.name})`],
      ['PartOf', `${f.app}.target`],
      ['After', 'network-online.target'],
      ['Wants', 'network-online.target'],
    ]),
    section('Service', [
      ['Type', 'simple'],
      ['User', f.app],
      ['Group', f.app],
      ['WorkingDirectory', f.workdir],
      ['ExecStart', execStart(argv)],
      ['Restart', 'always'],
      ['RestartSec', '1s'],
      ...stopEntries(f),
    ]),
  ];
}

/**
 * An ExecStart line. systemd expands `%` specifiers and `$NAME` itself: a literal `%` or `$` is
 * doubled, except PORT, which systemd fills in from `Environment=PORT=%i`.
 */
function execStart(argv: string[]): string {
  return argv
    .map((word) => {
      const escaped = word
        .replaceAll('%', '%%')
        .replaceAll('$', '$$$$')
        .replaceAll(PORT_MARK, SYSTEMD_PORT);
      return /^[A-Za-z0-9_./:=@%+,${}-]+$/.test(escaped)
        ? escaped
        : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    })
    .join(' ');
}
