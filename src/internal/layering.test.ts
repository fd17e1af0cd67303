/**
 * The layering of docs/architecture.md, checked on the real import graph of src/: which folder may
 * import which, that nothing imports another folder's `_private` module, that only the CLI
 * imports the CLI, and that adapters take only types from their framework.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..');

/** The folders each part of the library may import (besides itself). `.` is src/errors.ts and src/index.ts. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  '.': ['.'],
  internal: ['.'],
  stores: ['.', 'internal'],
  session: ['.', 'internal', 'stores'],
  scratch: ['.', 'internal'],
  assets: ['.', 'internal'],
  runner: ['.', 'internal'],
  process: ['.', 'internal', 'runner'],
  // The CLI is the application on top of the library: it may import any part, nothing imports it.
  export: ['.', 'internal', 'runner'],
  check: ['.', 'internal', 'runner', 'stores', 'session', 'eslint'],
  eslint: ['.', 'internal'],
  cli: [
    '.',
    'internal',
    'stores',
    'session',
    'scratch',
    'assets',
    'runner',
    'process',
    'export',
    'check',
    'eslint',
  ],
};

/**
 * The modules of a part that other parts may import: its entry points and its declared contracts.
 * The CLI too goes through them (the runner's index, not its files).
 */
const PUBLIC_MODULES: Record<string, readonly string[]> = {
  stores: ['index.ts', 'types.ts'],
  runner: ['index.ts', 'protocol.ts'],
  internal: [], // every module of internal/ is shared by design
};

/** Adapter files, which may import their framework for types only. */
const ADAPTERS = ['node.ts', 'express.ts', 'fastify.ts', 'hono.ts'].flatMap((file) =>
  ['session', 'scratch', 'assets'].map((part) => `${part}/${file}`),
);

interface Edge {
  from: string;
  /** A src/-relative path (`../…` when outside src/), or a package name when `external`. */
  to: string;
  typeOnly: boolean;
  external?: boolean;
}

/** Relative imports and re-exports (static and dynamic) of one source file, as src/-relative paths. */
function importsOf(file: string, source: string): Edge[] {
  const edges: Edge[] = [];
  const pattern =
    /\b(?:import|export)\s+(type\s+)?[^'";]*?\bfrom\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm;
  // Doc comments hold example imports (`import express from 'express'`) that are not edges.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const match of code.matchAll(pattern)) {
    const spec = match[2] ?? match[3] ?? match[4]!;
    const typeOnly = match[1] !== undefined;
    if (!spec.startsWith('.')) {
      edges.push({ from: file, to: spec, typeOnly, external: true });
      continue;
    }
    const target = join(dirname(file), spec).split(sep).join('/').replace(/\.js$/, '.ts');
    edges.push({ from: file, to: target, typeOnly });
  }
  return edges;
}

/** The part a src/-relative path belongs to: its first folder, or `.` for top-level files. */
function partOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? '.' : path.slice(0, slash);
}

/** Every edge that breaks the rules, described for a failure message. */
function forbiddenEdges(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const { from, to, typeOnly, external } of edges) {
    const isTest = from.endsWith('.test.ts');
    if (external) {
      // Adapters take their framework's types only: importing drovejs never loads a framework.
      const framework = ['express', 'fastify', 'hono'].includes(to);
      if (framework && ADAPTERS.includes(from) && !typeOnly) {
        problems.push(`${from} imports ${to} at run time (adapters take types only)`);
      }
      continue;
    }
    if (to.startsWith('../')) continue; // test helpers outside src/
    const [fromPart, toPart] = [partOf(from), partOf(to)];
    const name = to.slice(to.lastIndexOf('/') + 1);
    if (toPart === 'cli' && fromPart !== 'cli') problems.push(`${from} imports the CLI (${to})`);
    if (fromPart === toPart) continue;
    if (name.startsWith('_')) problems.push(`${from} imports ${to}, private to ${toPart}/`);
    if (isTest) continue; // unit tests may build on other parts (a real store under a session test)
    if (!(MAY_IMPORT[fromPart] ?? []).includes(toPart)) {
      problems.push(`${from} imports ${to}: ${fromPart}/ may not import ${toPart}/`);
      continue;
    }
    const open = PUBLIC_MODULES[toPart];
    if (open && open.length > 0 && !open.includes(to.slice(toPart.length + 1))) {
      problems.push(
        `${from} imports ${to}: outside ${toPart}/ only ${open.join(', ')} may be imported`,
      );
    }
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('layering of src/', () => {
  const edges = sourceFiles(SRC).flatMap((path) =>
    importsOf(relative(SRC, path).split(sep).join('/'), readFileSync(path, 'utf8')),
  );

  it('reads the real import graph (the checks below have something to check)', () => {
    expect(edges.some((e) => e.from === 'session/otel.ts' && e.to === 'internal/peer.ts')).toBe(
      true,
    );
    expect(edges.some((e) => e.from === 'session/express.ts' && e.to === 'express')).toBe(true);
  });

  it('has no forbidden edge', () => {
    expect(forbiddenEdges(edges)).toEqual([]);
  });

  it('flags each kind of forbidden edge', () => {
    const edge = (from: string, to: string, typeOnly = false): Edge => ({
      from,
      to,
      typeOnly,
      external: !to.includes('/'),
    });
    expect(
      forbiddenEdges([
        edge('session/otel.ts', 'stores/_utils.ts'),
        edge('runner/start.ts', 'cli/main.ts'),
        edge('scratch/scratch.ts', 'session/index.ts'),
        edge('session/context.ts', 'stores/redis.ts'),
        edge('assets/hono.ts', 'hono'),
        edge('stores/sqlite.test.ts', 'session/_x.ts'),
        edge('cli/commands/runner.ts', 'runner/start.ts'),
      ]),
    ).toEqual([
      'session/otel.ts imports stores/_utils.ts, private to stores/',
      'session/otel.ts imports stores/_utils.ts: outside stores/ only index.ts, types.ts may be imported',
      'runner/start.ts imports the CLI (cli/main.ts)',
      'runner/start.ts imports cli/main.ts: runner/ may not import cli/',
      'scratch/scratch.ts imports session/index.ts: scratch/ may not import session/',
      'session/context.ts imports stores/redis.ts: outside stores/ only index.ts, types.ts may be imported',
      'assets/hono.ts imports hono at run time (adapters take types only)',
      'stores/sqlite.test.ts imports session/_x.ts, private to session/',
      'cli/commands/runner.ts imports runner/start.ts: outside runner/ only index.ts, protocol.ts may be imported',
    ]);
    expect(
      forbiddenEdges([
        edge('stores/sqlite.ts', 'stores/_utils.ts'),
        edge('session/otel.ts', 'internal/peer.ts'),
        edge('session/context.ts', 'stores/types.ts', true),
        edge('assets/hono.ts', 'hono', true),
        edge('cli/commands/runner.ts', 'runner/index.ts'),
        edge('session/sessions.test.ts', 'stores/sqlite.ts'),
      ]),
    ).toEqual([]);
  });
});

describe('one adapter convention', () => {
  const pkg = JSON.parse(readFileSync(resolve(SRC, '../package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
  };

  it('reaches every adapter as drovejs/<feature>/<framework>, built from src/<feature>/<framework>.ts', () => {
    for (const feature of ['session', 'scratch', 'assets']) {
      for (const framework of ['node', 'express', 'fastify', 'hono']) {
        const entry = pkg.exports[`./${feature}/${framework}`];
        expect(entry, `./${feature}/${framework}`).toEqual({
          types: `./dist/${feature}/${framework}.d.ts`,
          default: `./dist/${feature}/${framework}.js`,
        });
        expect(existsSync(resolve(SRC, feature, `${framework}.ts`))).toBe(true);
      }
    }
  });

  it('keeps framework code out of the feature cores', () => {
    for (const feature of ['session', 'scratch', 'assets']) {
      const core = importsOf(
        `${feature}/index.ts`,
        readFileSync(resolve(SRC, feature, 'index.ts'), 'utf8'),
      );
      const adapters = core.filter(
        (e) => ADAPTERS.includes(e.to) || ['express', 'fastify', 'hono'].includes(e.to),
      );
      expect(adapters, `${feature}/index.ts`).toEqual([]);
    }
  });
});
