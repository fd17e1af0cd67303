/**
 * `drove check --static` on real code nobody here wrote, installed from the npm registry:
 * the express-generator skeleton (plus express-session as its README shows it), json-server's
 * published source, and fastify-cli's app templates (plus @fastify/rate-limit as its README
 * shows it). The expected findings were written down from reading the code before the first
 * run; the test (real-apps.test.ts) compares, and docs/check.md records the outcome.
 *
 * Tarballs and npm's cache live under node_modules/.cache/drove-check-real-apps, so only the
 * first run needs the network; the apps are unpacked into a fresh temp folder each time.
 *
 * Run by hand: `npx tsx test/check/real-apps.ts` (after `npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkStatic, type StaticFinding } from '../../src/check/static.js';

const root = path.resolve(import.meta.dirname, '../..');
export const cacheDir = path.join(root, 'node_modules/.cache/drove-check-real-apps');

export interface Expected {
  file: string;
  rule: string;
  why: string;
}

export interface RealApp {
  name: string;
  /** package@version on the npm registry. */
  spec: string;
  /** Folders to check, relative to the prepared app. */
  paths: string[];
  expected: Expected[];
}

export const apps: RealApp[] = [
  {
    name: 'express-generator skeleton',
    spec: 'express-generator@4.16.1',
    paths: ['.'],
    expected: [
      {
        file: 'app.js',
        rule: 'drove/no-memory-session-store',
        why: 'express-session added without a store, as its README shows: the default MemoryStore',
      },
      {
        file: 'app.js',
        rule: 'drove/no-runtime-assets',
        why: 'generated with --css=sass: node-sass-middleware compiles styles in the running app',
      },
    ],
  },
  {
    name: 'json-server',
    spec: 'json-server@0.17.4',
    paths: ['lib'],
    expected: [
      {
        file: 'lib/server/router/index.js',
        rule: 'drove/no-local-files',
        why: "the router opens the JSON file database with lowdb's FileSync adapter",
      },
      {
        file: 'lib/cli/utils/load.js',
        rule: 'drove/no-local-files',
        why: "the CLI opens the JSON file database with lowdb's FileAsync adapter",
      },
    ],
  },
  {
    name: 'fastify-cli app templates',
    spec: 'fastify-cli@8.0.2',
    paths: ['templates/app', 'templates/app-esm', 'templates/app-ts'],
    expected: [
      {
        file: 'templates/app-ts/src/plugins/rate-limit.ts',
        rule: 'drove/no-memory-limiter-or-cache',
        why: "@fastify/rate-limit registered as its README's first example: the in-memory store",
      },
    ],
  },
];

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const npmFlags = (cache: string) => [
  '--cache',
  cache,
  '--prefer-offline',
  '--no-audit',
  '--no-fund',
  '--ignore-scripts',
  '--loglevel=error',
];

/** The package's tarball, downloaded once into the cache. */
export function tarball(spec: string): string {
  mkdirSync(cacheDir, { recursive: true });
  const [name, version] = [
    spec.slice(0, spec.lastIndexOf('@')),
    spec.slice(spec.lastIndexOf('@') + 1),
  ];
  const file = path.join(cacheDir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(file)) {
    run(
      'npm',
      ['pack', spec, '--pack-destination', cacheDir, ...npmFlags(path.join(cacheDir, 'npm'))],
      cacheDir,
    );
  }
  return file;
}

function unpack(spec: string, into: string): string {
  mkdirSync(into, { recursive: true });
  run('tar', ['-xzf', tarball(spec), '-C', into], into);
  return path.join(into, 'package');
}

/** Insert `lines` after the first line that contains `anchor`; fail loudly if it moved. */
function insertAfter(file: string, anchor: string, lines: string): void {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(anchor);
  if (at === -1) throw new Error(`${file}: no line with ${JSON.stringify(anchor)} to add to`);
  const end = text.indexOf('\n', at) + 1;
  writeFileSync(file, text.slice(0, end) + lines + text.slice(end));
}

/** Prepare one app in `work`; returns the folder to check. */
export function prepare(app: RealApp, work: string): string {
  if (app.spec.startsWith('express-generator@')) {
    const gen = path.join(work, 'generator');
    mkdirSync(gen, { recursive: true });
    run(
      'npm',
      [
        'install',
        '--no-save',
        '--prefix',
        gen,
        tarball(app.spec),
        ...npmFlags(path.join(cacheDir, 'npm')),
      ],
      gen,
    );
    const dir = path.join(work, 'express-app');
    const bin = path.join(gen, 'node_modules/express-generator/bin/express-cli.js');
    run(process.execPath, [bin, '--view=pug', '--css=sass', '--git', dir], work);
    // What express-session's README tells its users to add.
    insertAfter(
      path.join(dir, 'app.js'),
      'app.use(cookieParser());',
      "var session = require('express-session');\n" +
        "app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true }));\n",
    );
    return dir;
  }
  const dir = unpack(app.spec, path.join(work, app.name.replace(/\W+/g, '-')));
  if (app.spec.startsWith('fastify-cli@')) {
    // What @fastify/rate-limit's README shows first, as a plugin of the TypeScript template.
    writeFileSync(
      path.join(dir, 'templates/app-ts/src/plugins/rate-limit.ts'),
      "import fp from 'fastify-plugin'\nimport rateLimit from '@fastify/rate-limit'\n\n" +
        'export default fp(async (fastify) => {\n' +
        "  await fastify.register(rateLimit, { max: 100, timeWindow: '1 minute' })\n})\n",
    );
  }
  return dir;
}

export interface Outcome {
  app: RealApp;
  files: number;
  findings: StaticFinding[];
  /** Expected findings that were found. */
  found: Expected[];
  missed: Expected[];
  /** Findings nobody expected: false positives until shown otherwise. */
  unexpected: StaticFinding[];
}

/** Prepare every app in a fresh temp folder, check it, and compare with the expectations. */
export async function checkRealApps(): Promise<Outcome[]> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'drove-real-apps-'));
  try {
    const outcomes: Outcome[] = [];
    for (const app of apps) {
      const dir = prepare(app, work);
      const report = await checkStatic({ cwd: dir, paths: app.paths });
      if (report.failures.length > 0)
        throw new Error(`${app.name}: could not check ${JSON.stringify(report.failures)}`);
      const matches = (e: Expected, f: StaticFinding) => e.file === f.file && e.rule === f.rule;
      outcomes.push({
        app,
        files: report.files,
        findings: report.findings,
        found: app.expected.filter((e) => report.findings.some((f) => matches(e, f))),
        missed: app.expected.filter((e) => !report.findings.some((f) => matches(e, f))),
        unexpected: report.findings.filter((f) => !app.expected.some((e) => matches(e, f))),
      });
    }
    return outcomes;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const o of await checkRealApps()) {
    process.stdout.write(
      `${o.app.name} (${o.app.spec}): ${o.files} files, ${o.findings.length} findings, ` +
        `${o.found.length}/${o.app.expected.length} expected found, ${o.unexpected.length} unexpected\n`,
    );
    for (const f of o.findings) process.stdout.write(`  ${f.file}:${f.line}  ${f.rule}\n`);
    for (const m of o.missed) process.stdout.write(`  MISSED ${m.file} ${m.rule}: ${m.why}\n`);
  }
}
