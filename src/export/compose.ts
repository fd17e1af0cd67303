/**
 * Compose target: a service per process type with `deploy.replicas`, the release as a one-shot
 * service the others wait for, and drove's standalone balancer in front of web (it re-resolves
 * the `web` name, which Compose's DNS answers with every replica). Validated in the tests
 * against the Compose specification's JSON schema.
 * @module
 */
import { relative, resolve } from 'node:path';
import { argvFor, literalPort } from './command.js';
import { type ExportFile, header, toYaml } from './files.js';
import type { Formation, ProcessPlan } from './model.js';

type Obj = Record<string, unknown>;

/** Where drove's CLI is inside the image the Dockerfile target builds (WORKDIR /app). */
export const DROVE_IN_IMAGE = 'node_modules/drovejs/dist/cli/main.js';

/** Render `compose.yaml`. `outDir` and `cwd` place the `env_file` paths. */
export function renderCompose(f: Formation, outDir: string, cwd: string): ExportFile[] {
  const envFiles = f.envFiles.map((file) => relative(outDir, resolve(cwd, file)) || '.env');
  const services: Obj = {};
  const backing = backingServices(f);
  const waitForBacking: Obj = {};
  for (const name of Object.keys(backing)) waitForBacking[name] = { condition: 'service_healthy' };

  if (f.release) {
    services[f.release.slug] = {
      // No restart policy (Compose's default "no"): it runs once per `up`.
      ...common(f, f.release, envFiles),
      healthcheck: { disable: true },
      ...(Object.keys(waitForBacking).length > 0 ? { depends_on: waitForBacking } : {}),
    };
  }
  for (const plan of f.types) {
    const dependsOn: Obj = { ...waitForBacking };
    if (f.release) dependsOn[f.release.slug] = { condition: 'service_completed_successfully' };
    const service: Obj = {
      ...common(f, plan, envFiles),
      restart: 'unless-stopped',
      deploy: { replicas: plan.count },
    };
    if (plan === f.web) {
      // No host port per replica: only the balancer publishes one.
      service.expose = [String(f.port)];
      service.healthcheck = { test: ['CMD', ...healthCommand(f)], ...HEALTH_TIMING };
    } else service.healthcheck = { disable: true };
    if (Object.keys(dependsOn).length > 0) service.depends_on = dependsOn;
    services[plan.slug] = service;
  }
  if (f.web) services.balancer = balancer(f, f.web);
  Object.assign(services, backing);

  const doc: Obj = { name: f.app, services };
  if (f.withServices.includes('postgres')) doc.volumes = { 'postgres-data': {} };
  const notes = [
    `# Needs Compose v2 (docker compose): v1 ignores deploy.replicas.`,
    `# The balancer on port ${f.port} spreads requests over the ${f.web ? `${f.web.slug} ` : ''}replicas, non-sticky.`,
  ];
  return [
    { path: 'compose.yaml', text: `${header('compose')}${notes.join('\n')}\n${toYaml(doc)}` },
  ];
}

/** Fields every app service has. */
function common(f: Formation, plan: ProcessPlan, envFiles: string[]): Obj {
  const environment: Obj = { PS: plan.name };
  if (plan === f.web) environment.PORT = String(f.port);
  const service: Obj = {
    image: f.image,
    command: argvFor(plan.form, literalPort(f.port)).map(escapeInterpolation),
    environment,
  };
  if (envFiles.length > 0) service.env_file = envFiles;
  service.stop_signal = 'SIGTERM';
  service.stop_grace_period = `${f.shutdownTimeoutSeconds}s`;
  return service;
}

/** Compose reads `$NAME` in the file itself; the command's own `$` must reach the shell. */
function escapeInterpolation(word: string): string {
  return word.replaceAll('$', '$$$$');
}

const HEALTH_TIMING = { interval: '5s', timeout: '3s', retries: 3, start_period: '10s' };

/**
 * A health check a minimal image can run: Node itself (no curl, no nc). Exit 0 when the health
 * path answers 2xx, or (without one) when the port accepts a connection.
 */
export function healthCommand(f: Formation): string[] {
  const script = f.healthPath
    ? `fetch('http://127.0.0.1:${f.port}${f.healthPath}').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`
    : `require('node:net').connect(${f.port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
  return ['node', '-e', script];
}

function balancer(f: Formation, web: ProcessPlan): Obj {
  return {
    image: f.image,
    command: [
      'node',
      DROVE_IN_IMAGE,
      'balance',
      '--upstream',
      `${web.slug}:${f.port}`,
      '--host',
      '0.0.0.0',
      '--port',
      String(f.port),
      '--timeout',
      String(f.shutdownTimeoutSeconds),
    ],
    ports: [{ target: f.port, published: String(f.port), protocol: 'tcp' }],
    restart: 'unless-stopped',
    healthcheck: { disable: true },
    depends_on: { [web.slug]: { condition: 'service_started' } },
    stop_signal: 'SIGTERM',
    stop_grace_period: `${f.shutdownTimeoutSeconds}s`,
  };
}

function backingServices(f: Formation): Obj {
  const services: Obj = {};
  if (f.withServices.includes('postgres')) {
    services.postgres = {
      image: 'postgres:17',
      environment: {
        // A reference, never a value: Compose takes it from the shell or the .env beside this file.
        POSTGRES_PASSWORD: '$' + '{POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}',
      },
      volumes: ['postgres-data:/var/lib/postgresql/data'],
      restart: 'unless-stopped',
      healthcheck: { test: ['CMD', 'pg_isready', '-U', 'postgres'], ...HEALTH_TIMING },
    };
  }
  if (f.withServices.includes('redis')) {
    services.redis = {
      image: 'redis:7',
      restart: 'unless-stopped',
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], ...HEALTH_TIMING },
    };
  }
  return services;
}
