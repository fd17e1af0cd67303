/**
 * The Compose export on a real engine (issue 17): a private dockerd, Compose v2, the digest
 * example's image built by the exported Dockerfile, Redis and PostgreSQL images made from the
 * machine's binaries. One cookie jar through the exported standalone balancer: requests spread
 * over the three web replicas with the session kept, a replica replaced under load with no
 * session lost, and the release run once.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Dockerd, startDockerd } from './helpers/dockerd.js';
import { type Answer, CookieJar, signUp } from './helpers/http.js';
import {
  APP_IMAGE,
  buildDigestImage,
  digestContext,
  exportDigest,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  ROOT,
} from './helpers/images.js';
import { run, runAsync, until } from './helpers/run.js';

let d: Dockerd;
let out: string;
let base: string;
let env: NodeJS.ProcessEnv;
const project = 'digest';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

function compose(args: string[], ok = [0]): string {
  return run(
    '/usr/bin/docker',
    [
      'compose',
      '-p',
      project,
      '-f',
      join(out, 'compose.yaml'),
      '-f',
      join(out, 'engines.override.yaml'),
      ...args,
    ],
    { env, ok, timeoutMs: 300_000 },
  ).stdout;
}

/** The web replicas' container ids, oldest first. */
function webContainers(): string[] {
  return compose(['ps', '-q', 'web']).trim().split('\n').filter(Boolean);
}

beforeAll(async () => {
  run('bash', [join(ROOT, 'scripts', 'engines', 'compose-v2.sh')]);
  const ctx = digestContext();
  d = await startDockerd();
  buildDigestImage(d, ctx);
  const password = randomBytes(12).toString('hex');
  // Names only in the export; the values are the test's. Redis and PostgreSQL by service name.
  writeFileSync(
    join(ctx, '.env'),
    [
      'SESSION_STORE_URL=redis://redis:6379',
      `DATABASE_URL=postgres://postgres:${password}@postgres:5432/postgres`,
      '',
    ].join('\n'),
  );
  out = exportDigest(ctx, 'compose', ['-e', '.env', '--with-services', 'redis,postgres']);
  const port = await freePort();
  // What the test changes, beside the export: the images of the backing services (made here,
  // not pulled), the balancer's host port (a free one, on 127.0.0.1), and the name web reports
  // in X-Served-By (its container's hostname, so the test sees which replica answered).
  writeFileSync(
    join(out, 'engines.override.yaml'),
    [
      'services:',
      `  redis: { image: ${REDIS_IMAGE} }`,
      `  postgres: { image: ${POSTGRES_IMAGE} }`,
      '  balancer:',
      `    ports: !override ["127.0.0.1:${port}:5000"]`,
      '  web:',
      '    command: ["/bin/sh", "-c", "PS=web.$$(hostname) exec node build/web.js"]',
      '',
    ].join('\n'),
  );
  env = { ...d.env, POSTGRES_PASSWORD: password };
  base = `http://127.0.0.1:${port}`;
  compose(['config', '-q']);
  compose(['up', '-d']);
}, 600_000);

afterEach((context) => {
  // What the engine says when a check fails: the containers and their last lines.
  if (context.task.result?.state === 'fail' && out) {
    console.error(compose(['ps', '-a']), compose(['logs', '--no-color', '--tail', '30'], [0, 1]));
  }
});

afterAll(async () => {
  try {
    if (out) compose(['down', '-v', '--remove-orphans', '-t', '10']);
  } finally {
    await d?.stop();
  }
}, 300_000);

describe('compose: the exported stack on dockerd with Compose v2', () => {
  it('runs the app image the exported Dockerfile built, web=3 worker=1 with deploy.replicas', () => {
    expect(
      d
        .docker(['image', 'inspect', '-f', '{{.Config.User}} {{.Config.WorkingDir}}', APP_IMAGE])
        .trim(),
    ).toBe('1000:1000 /app');
    expect(webContainers()).toHaveLength(3);
    expect(compose(['ps', '-q', 'worker']).trim().split('\n')).toHaveLength(1);
  });

  it('spreads one client over every replica through the balancer, the session kept', async () => {
    const jar = new CookieJar();
    await until('the balancer answers', async () => {
      const answer = await jar.request(`${base}/healthz`);
      return answer.status === 200 ? true : undefined;
    });
    await signUp(jar, base, 'compose@example.test');
    const replicas = webContainers().map((id) => `web.${id.slice(0, 12)}`);
    const answers: Answer[] = [];
    const seen = () => new Set(answers.map((a) => a.servedBy));
    // The balancer learns the replicas from Compose's DNS: ask until it has sent to all three.
    await until(
      'requests reach all three replicas',
      async () => {
        answers.push(await jar.request(`${base}/`));
        return seen().size >= 3 ? true : undefined;
      },
      300,
      50,
    );
    expect([...seen()].sort()).toEqual([...replicas].sort());
    // Every one of them found the session in Redis: signed in, whichever replica answered.
    const bad = answers.filter((a) => a.status !== 200 || !a.body.includes('compose@example.test'));
    expect(bad).toEqual([]);
  });

  it('replaces a replica under load and loses no session', async () => {
    const jar = new CookieJar();
    await signUp(jar, base, 'rolling@example.test');
    const [leaving, ...staying] = webContainers();
    if (!leaving) throw new Error('no web replica');
    const leavingName = `web.${leaving.slice(0, 12)}`;
    const answers: Answer[] = [];
    const events: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        answers.push(
          await jar.request(`${base}/`).catch((err: unknown) => ({
            status: -1,
            servedBy: null,
            body: String(err),
          })),
        );
      }
    };
    const load = Promise.all([client(), client(), client()]);
    onTestFinished(async () => {
      stop = true;
      await load;
    });
    await until('load reaches the leaving replica', () =>
      answers.some((a) => a.servedBy === leavingName) ? true : undefined,
    );
    events.push('stop');
    // SIGTERM (the export's stop_signal): web stops accepting and finishes what it serves; the
    // balancer retries refused connections on the others and drops the address from the DNS.
    await runAsync('/usr/bin/docker', ['stop', leaving], { env });
    await runAsync('/usr/bin/docker', ['rm', leaving], { env });
    const afterStop = answers.length;
    events.push('up');
    // Back to deploy.replicas: one new container. --no-deps: the release is not started again;
    // --no-recreate: the two others are left alone (--no-deps alone changes their config hash).
    await runAsync(
      '/usr/bin/docker',
      [
        'compose',
        '-p',
        project,
        '-f',
        join(out, 'compose.yaml'),
        '-f',
        join(out, 'engines.override.yaml'),
        'up',
        '-d',
        '--no-deps',
        '--no-recreate',
        'web',
      ],
      { env },
    );
    const fresh = webContainers().filter((id) => id !== leaving && !staying.includes(id));
    expect(fresh).toHaveLength(1);
    const freshName = `web.${fresh[0]!.slice(0, 12)}`;
    await until(
      'load reaches the new replica',
      () => (answers.slice(afterStop).some((a) => a.servedBy === freshName) ? true : undefined),
      240,
    );
    events.push('new replica served');
    stop = true;
    await load;
    expect(events).toEqual(['stop', 'up', 'new replica served']);
    const bad = answers.filter((a) => a.status !== 200 || !a.body.includes('rolling@example.test'));
    expect(bad.map((a) => `${a.status} ${a.servedBy} ${a.body.slice(0, 80)}`)).toEqual([]);
    expect(answers.slice(afterStop).some((a) => a.servedBy === leavingName)).toBe(false);
  });

  it('ran the release once, before web, and not again for the new replica', () => {
    const releases = compose(['ps', '-a', '-q', 'release']).trim().split('\n').filter(Boolean);
    expect(releases).toHaveLength(1);
    expect(
      d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', releases[0]!]).trim(),
    ).toBe('exited 0');
    const logs = compose(['logs', '--no-color', '--no-log-prefix', 'release']);
    expect(logs.match(/release: schema ready on postgres/g)).toHaveLength(1);
  });
});
