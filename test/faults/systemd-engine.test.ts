/**
 * The systemd export on a real systemd (issue 17), in `npm run faults`: the exported units in a
 * Debian rootfs (scripts/engines/systemd-rootfs.sh) with the digest example's /app and Node,
 * booted with systemd as PID 1 in a container of a private dockerd, Redis and PostgreSQL beside
 * it. Every instance answers; Restart=always brings a killed one back; stopping the target stops
 * every unit (they are PartOf= it).
 */
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE, type Dockerd, startDockerd } from '../engines/helpers/dockerd.js';
import {
  APP_IMAGE,
  buildDigestImage,
  digestContext,
  exportDigest,
  NODE_IMAGE,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  ROOT,
} from '../engines/helpers/images.js';
import { run, until } from '../engines/helpers/run.js';

const SYSTEMD_BASE = 'drove-engines/systemd:bookworm';
const SYSTEMD_IMAGE = 'drove-engines/digest-systemd:test';
const NETWORK = 'drove-systemd';
const BOX = 'digest-systemd';
const WEB = ['digest-web@5101.service', 'digest-web@5102.service', 'digest-web@5103.service'];
const UNITS = [
  ...WEB,
  'digest-worker@5201.service',
  'digest-balancer.service',
  'digest-release.service',
];

let d: Dockerd;
let boxIp: string;

/** The host's cgroup tmpfs: its entries and mount options, which the run must not change. */
function hostCgroupRoot(): string {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((line) => line.split(' ')[4] === '/sys/fs/cgroup');
  return `${readdirSync('/sys/fs/cgroup').sort().join(' ')} | ${mount?.split(' - ')[1] ?? 'no mount'}`;
}
const hostCgroupsBefore = hostCgroupRoot();

function inBox(args: string[], ok = [0]): string {
  return d.docker(['exec', BOX, ...args], { ok });
}

function show(unit: string, property: string): string {
  return inBox(['systemctl', 'show', unit, '-p', property, '--value']).trim();
}

/** Ask an instance from inside the container (web instances bind 127.0.0.1 there). */
function askInside(port: number): string {
  const script = `fetch('http://127.0.0.1:${port}/healthz').then(async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.cause?.code ?? e))`;
  return inBox(['/usr/local/bin/node', '-e', script]).trim();
}

beforeAll(async () => {
  const ctx = digestContext();
  d = await startDockerd();
  buildDigestImage(d, ctx);
  const tar = run('bash', [join(ROOT, 'scripts', 'engines', 'systemd-rootfs.sh')], {
    timeoutMs: 600_000,
  })
    .stdout.trim()
    .split('\n')
    .pop()!;
  const label = `drove.tar=${tar}:${run('stat', ['-c', '%Y', tar]).stdout.trim()}`;
  if (
    d.docker(['image', 'inspect', '-f', '{{.Comment}}', SYSTEMD_BASE], { ok: [0, 1] }).trim() !==
    label
  ) {
    d.docker(['import', '-m', label, tar, SYSTEMD_BASE], { timeoutMs: 600_000 });
  }
  // The units as `drove export systemd` writes them, the app from the image the Dockerfile built.
  const password = randomBytes(12).toString('hex');
  writeFileSync(
    join(ctx, '.env'),
    `SESSION_STORE_URL=redis://redis:6379\nDATABASE_URL=postgres://postgres:${password}@postgres:5432/postgres\n`,
  );
  const units = exportDigest(ctx, 'systemd', ['-e', '.env']);
  const box = join(CACHE, 'systemd-context');
  rmSync(box, { recursive: true, force: true });
  mkdirSync(box, { recursive: true });
  cpSync(units, join(box, 'units'), {
    recursive: true,
    filter: (src) => !src.endsWith('.drove-export'),
  });
  cpSync(join(ctx, '.env'), join(box, 'env'));
  writeFileSync(
    join(box, 'Dockerfile'),
    [
      `FROM ${SYSTEMD_BASE}`,
      `COPY --from=${NODE_IMAGE} /usr/local/bin/node /usr/local/bin/node`,
      `COPY --from=${APP_IMAGE} /app /srv/digest`,
      'COPY env /srv/digest/.env',
      'COPY units/ /etc/systemd/system/',
      // The user the units run as (`User=digest`), and the target enabled as docs/deploy.md says.
      'RUN useradd --system --no-create-home digest && systemctl enable digest.target',
      'CMD ["/lib/systemd/systemd"]',
      '',
    ].join('\n'),
  );
  d.docker(['build', '-q', '-t', SYSTEMD_IMAGE, box], { timeoutMs: 600_000 });
  d.docker(['network', 'create', NETWORK]);
  d.docker(['run', '-d', '--name', 'redis', '--network', NETWORK, REDIS_IMAGE]);
  d.docker([
    'run',
    '-d',
    '--name',
    'postgres',
    '--network',
    NETWORK,
    '-e',
    `POSTGRES_PASSWORD=${password}`,
    POSTGRES_IMAGE,
  ]);
  await until('postgres accepts connections', () =>
    d
      .docker(['exec', 'postgres', 'pg_isready', '-U', 'postgres'], { ok: [0, 1, 2] })
      .includes('accepting')
      ? true
      : undefined,
  );
  // systemd as PID 1: its cgroups, /run on tmpfs, and the signal that makes it shut down. The
  // hierarchies it writes are bound one by one onto a tmpfs of the container's own: given the
  // host's /sys/fs/cgroup, systemd adds its controller links to that tmpfs and remounts it
  // read-only, for the whole machine (podman then fails: "read-only file system").
  const hierarchies = ['systemd', 'unified'].filter((h) => existsSync(`/sys/fs/cgroup/${h}`));
  d.docker([
    'run',
    '-d',
    '--name',
    BOX,
    '--network',
    NETWORK,
    '--cap-add',
    'SYS_ADMIN',
    '--security-opt',
    'seccomp=unconfined',
    '--cgroupns=host',
    '--tmpfs',
    '/sys/fs/cgroup:rw,mode=755',
    ...hierarchies.flatMap((h) => ['-v', `/sys/fs/cgroup/${h}:/sys/fs/cgroup/${h}:rw`]),
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/run/lock',
    '--stop-signal',
    'SIGRTMIN+3',
    SYSTEMD_IMAGE,
  ]);
  boxIp = d
    .docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', BOX])
    .trim();
  await until(
    'systemd has booted',
    () => {
      const state = inBox(['systemctl', 'is-system-running'], [0, 1]).trim();
      return state === 'running' || state === 'degraded' ? state : undefined;
    },
    240,
  );
}, 900_000);

afterAll(async () => {
  if (!d) return;
  try {
    d.docker(['stop', '-t', '30', BOX], { ok: [0, 1] });
  } finally {
    await d.stop();
  }
  expect(hostCgroupRoot()).toBe(hostCgroupsBefore);
  // systemd made its units' cgroups under the container's: none may outlive it.
  expect(
    run('sh', ['-c', 'find /sys/fs/cgroup -type d -name "digest-*" | head -n 5']).stdout.trim(),
  ).toBe('');
}, 300_000);

describe('systemd: the exported units with systemd as PID 1', () => {
  it('starts every unit of the target, the release once and first', async () => {
    await until(
      'every unit active',
      () => (UNITS.every((u) => show(u, 'ActiveState') === 'active') ? true : undefined),
      240,
    );
    const release = inBox([
      'journalctl',
      '-u',
      'digest-release.service',
      '--no-pager',
      '-o',
      'cat',
    ]);
    expect(release.match(/release: schema ready on postgres/g)).toHaveLength(1);
    expect(show('digest-release.service', 'ExecMainStatus')).toBe('0');
    // Started after the release finished (After=), per systemd's own clock.
    const released = Number(show('digest-release.service', 'ExecMainExitTimestampMonotonic'));
    for (const unit of WEB) {
      expect(Number(show(unit, 'ExecMainStartTimestampMonotonic'))).toBeGreaterThan(released);
    }
  });

  it('every instance answers, and the balancer spreads over them', async () => {
    for (const port of [5101, 5102, 5103]) {
      expect(
        await until(`web@${port}`, () => {
          const answer = askInside(port);
          return answer.startsWith('200 ') ? answer : undefined;
        }),
      ).toContain('"ok":true');
    }
    expect(show('digest-worker@5201.service', 'SubState')).toBe('running');
    // The balancer binds 0.0.0.0:5000 in the container; the test reaches it on its address.
    const seen = new Set<string>();
    await until('the balancer reaches all three', async () => {
      const response = await fetch(`http://${boxIp}:5000/`, { signal: AbortSignal.timeout(5000) });
      expect(response.status).toBe(200);
      seen.add(response.headers.get('x-served-by') ?? '');
      return seen.size === 3 ? true : undefined;
    });
    expect([...seen].sort()).toEqual(['web.5101', 'web.5102', 'web.5103']);
  });

  it('Restart=always brings a killed instance back', async () => {
    const unit = 'digest-web@5102.service';
    const before = show(unit, 'MainPID');
    const restarts = Number(show(unit, 'NRestarts'));
    inBox(['systemctl', 'kill', '-s', 'KILL', unit]);
    await until('the instance is back', () => {
      const pid = show(unit, 'MainPID');
      return show(unit, 'ActiveState') === 'active' && pid !== '0' && pid !== before
        ? pid
        : undefined;
    });
    expect(Number(show(unit, 'NRestarts'))).toBe(restarts + 1);
    await until('it answers again', () => (askInside(5102).startsWith('200 ') ? true : undefined));
    // The release is not run again for a restarted instance.
    const release = inBox([
      'journalctl',
      '-u',
      'digest-release.service',
      '--no-pager',
      '-o',
      'cat',
    ]);
    expect(release.match(/release: schema ready on postgres/g)).toHaveLength(1);
  });

  it('systemctl stop digest.target stops every unit (PartOf=)', async () => {
    inBox(['systemctl', 'stop', 'digest.target']);
    const states = () =>
      Object.fromEntries(UNITS.map((u) => [u, `${show(u, 'ActiveState')}/${show(u, 'Result')}`]));
    let last: Record<string, string> = {};
    await until('every unit stopped', () => {
      last = states();
      return Object.values(last).every(
        (s) => !/^(active|activating|deactivating|reloading)\//.test(s),
      )
        ? true
        : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    expect(last).toEqual(Object.fromEntries(UNITS.map((u) => [u, 'inactive/success'])));
    for (const port of [5101, 5102, 5103]) expect(askInside(port)).toBe('error ECONNREFUSED');
  });
});
