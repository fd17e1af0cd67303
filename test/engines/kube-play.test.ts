/**
 * The Kubernetes export on podman (issue 17): `podman kube play` of the exported Deployments,
 * every replica answering on its own pod IP. What podman 4.3 cannot take as exported, the test
 * changes and says why: `ports:` is dropped (podman gives each containerPort a host port, so
 * only one replica could start), and the release Job (a kind podman does not play) runs as a Pod
 * with the Job's pod template, first, as apply.sh orders it. Probes are checked by schema only
 * (test/export/schemas.test.ts): podman does not gate on readiness (podman issue 12417) and runs
 * an HTTP/TCP probe with curl/nc inside the container.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { startDockerd } from './helpers/dockerd.js';
import {
  buildDigestImage,
  digestContext,
  exportDigest,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  rootfsTars,
  savedDigestImage,
} from './helpers/images.js';
import { type Podman, startPodman } from './helpers/podman.js';
import { until } from './helpers/run.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed manifests, read by their known paths
type Doc = Record<string, any>;

let p: Podman;
let out: string;
let releasePod: string;

function documents(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** Play `docs` (written beside the export as NAME.play.yaml) on the suite's network. */
function play(name: string, docs: Doc[]): void {
  const file = join(out, `${name}.play.yaml`);
  writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  p.podman(['kube', 'play', '--network', p.network, file]);
}

function withoutPorts(docs: Doc[]): Doc[] {
  for (const doc of docs) {
    if (doc.kind !== 'Deployment') continue;
    for (const container of doc.spec.template.spec.containers) delete container.ports;
  }
  return docs;
}

function inspect(container: string, format: string): string {
  return p.podman(['inspect', '-f', format, container]).trim();
}

beforeAll(async () => {
  const ctx = digestContext();
  // The app image is built once by the private dockerd, then loaded into podman.
  const d = await startDockerd();
  let image: string;
  try {
    buildDigestImage(d, ctx);
    image = savedDigestImage(d);
  } finally {
    await d.stop();
  }
  p = startPodman();
  p.podman(['load', '-q', '-i', image]);
  const tars = rootfsTars();
  const path = 'ENV PATH=/usr/local/bin:/usr/lib/postgresql/bin:/usr/bin:/bin';
  p.podman(['import', '-q', '-c', path, join(tars, 'redis.tar'), REDIS_IMAGE]);
  p.podman([
    'import',
    '-q',
    '-c',
    path,
    '-c',
    'ENV TZ=UTC',
    '-c',
    'USER postgres',
    join(tars, 'postgres.tar'),
    POSTGRES_IMAGE,
  ]);
  // The backing services at fixed addresses of the network (there is no Service DNS here).
  const password = randomBytes(12).toString('hex');
  const redisIp = p.fixedIp(2);
  const postgresIp = p.fixedIp(3);
  p.podman([
    'run',
    '-d',
    '--name',
    'redis',
    '--network',
    p.network,
    '--ip',
    redisIp,
    REDIS_IMAGE,
    'redis-server',
    '--protected-mode',
    'no',
    '--save',
    '',
  ]);
  p.podman([
    'run',
    '-d',
    '--name',
    'postgres',
    '--network',
    p.network,
    '--ip',
    postgresIp,
    '-e',
    `POSTGRES_PASSWORD=${password}`,
    POSTGRES_IMAGE,
    'postgres-entrypoint',
  ]);
  const env = {
    SESSION_STORE_URL: `redis://${redisIp}:6379`,
    DATABASE_URL: `postgres://postgres:${password}@${postgresIp}:5432/postgres`,
  };
  writeFileSync(
    join(ctx, '.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  out = exportDigest(ctx, 'kubernetes', ['-e', '.env']);
  // The Secret the manifests reference by name, as podman 4.3 reads one: a podman secret
  // holding a JSON object of base64 values.
  const secret = Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  writeFileSync(join(out, 'secret.json'), JSON.stringify(secret));
  p.podman(['secret', 'create', 'digest-env', join(out, 'secret.json')]);
  await until('postgres accepts connections', () =>
    p
      .podman(['exec', 'postgres', 'pg_isready', '-U', 'postgres'], { ok: [0, 1, 2] })
      .includes('accepting')
      ? true
      : undefined,
  );

  const [job] = documents(join(out, 'release.yaml'));
  if (job?.kind !== 'Job') throw new Error('release.yaml has no Job');
  releasePod = job.metadata.name;
  play('release', [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: releasePod, labels: job.metadata.labels },
      spec: job.spec.template.spec,
    },
  ]);
  const container = `${releasePod}-release`;
  await until(
    'the release pod finishes',
    () => (inspect(container, '{{.State.Status}}') === 'exited' ? true : undefined),
    240,
  );
  play('worker', withoutPorts(documents(join(out, 'worker.yaml'))));
  play('web', withoutPorts(documents(join(out, 'web.yaml'))));
}, 600_000);

afterAll(() => {
  p?.stop();
});

describe('kubernetes: the exported manifests on podman kube play', () => {
  it("ran the release Job's pod once, to completion, before the Deployments", () => {
    const container = `${releasePod}-release`;
    expect(inspect(container, '{{.State.ExitCode}}')).toBe('0');
    const logs = p.podman(['logs', container]);
    expect(logs.match(/release: schema ready on postgres/g)).toHaveLength(1);
    const pods = p.podman(['pod', 'ps', '--format', '{{.Name}}']).trim().split('\n');
    expect(pods.filter((name) => name.startsWith(releasePod))).toHaveLength(1);
  });

  it('starts every replica of the Deployments (web=3, worker=1)', () => {
    const pods = p
      .podman(['pod', 'ps', '--format', '{{.Name}} {{.Status}}'])
      .trim()
      .split('\n')
      .sort();
    expect(pods.filter((line) => line.startsWith('digest-'))).toEqual(
      expect.arrayContaining([
        'digest-web-pod-0 Running',
        'digest-web-pod-1 Running',
        'digest-web-pod-2 Running',
        'digest-worker-pod-0 Running',
      ]),
    );
  });

  it('every web replica answers on its own pod IP, DYNO from metadata.name', async () => {
    const replicas = [0, 1, 2].map((i) => `digest-web-pod-${i}-web`);
    const ips = replicas.map((c) =>
      inspect(c, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'),
    );
    expect(new Set(ips).size).toBe(3);
    for (const [i, ip] of ips.entries()) {
      const health = await until(`replica ${i} on ${ip}`, async () => {
        const response = await fetch(`http://${ip}:5000/healthz`, {
          signal: AbortSignal.timeout(5000),
        });
        return response.ok ? ((await response.json()) as { ok: boolean }) : undefined;
      });
      expect(health.ok).toBe(true);
      // A page that reads the session store (Redis): the replica is fully up, not just listening.
      const page = await fetch(`http://${ip}:5000/`, { signal: AbortSignal.timeout(5000) });
      expect(page.status).toBe(200);
      expect(page.headers.get('x-served-by')).toBe('web');
      expect(p.podman(['exec', replicas[i]!, 'sh', '-c', 'echo "$DYNO"']).trim()).toBe(
        `digest-web-pod-${i}`,
      );
    }
  });
});
