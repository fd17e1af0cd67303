/**
 * The formations the export suites render: the digest example, real Procfiles from
 * ../shared/corpus, and small ones for the cases the corpus lacks (no web, `%` and quotes).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExportFile } from '../../src/export/files.js';
import { type ExportFormationOptions, exportFormation, TARGETS } from '../../src/export/index.js';

export const here = fileURLToPath(new URL('.', import.meta.url));
export const fixtures = join(here, 'fixtures');
const corpusDir = fileURLToPath(new URL('../../../shared/corpus/procfiles/', import.meta.url));
if (!existsSync(corpusDir)) {
  throw new Error(`test corpus missing: ${corpusDir} (see ../shared/corpus)`);
}

/** A Procfile of the corpus, by its file name. */
export function corpus(name: string): string {
  return join(corpusDir, name);
}

export interface Case {
  name: string;
  options: ExportFormationOptions;
}

export const CASES: Case[] = [
  {
    name: 'digest',
    options: {
      cwd: fileURLToPath(new URL('../../examples/digest/', import.meta.url)),
      app: 'digest',
      formation: 'web=3,worker=1',
      healthPath: '/healthz',
      image: 'digest:1.0.0',
    },
  },
  {
    // release + web on :$PORT + a worker with ${VAR:-default}; .env full of secrets.
    name: 'saleor',
    options: {
      cwd: join(fixtures, 'saleor'),
      procfile: corpus('017-saleor-saleor-Procfile.txt'),
      app: 'saleor',
      formation: 'web=2',
      shutdownTimeoutSeconds: 20,
      image: 'registry.example.com/saleor:3.20',
    },
  },
  {
    // Seven types, underscores in their names, trailing blanks, no release.
    name: 'diaspora',
    options: {
      cwd: join(fixtures, 'forem'),
      procfile: corpus('018-diaspora-diaspora-Procfile.txt'),
      app: 'diaspora',
      formation: 'all=2,web=4,http=0',
      envFiles: [],
    },
  },
  {
    // `VAR=value cmd` in release; the app name comes from package.json (scope dropped).
    name: 'forem',
    options: {
      cwd: join(fixtures, 'forem'),
      procfile: corpus('059-forem-forem-Procfile.txt'),
      healthPath: '/api/health_checks/app',
      baseImage: 'node:22-slim',
    },
  },
  {
    // Two env files, backing services for Compose.
    name: 'discourse',
    options: {
      cwd: join(fixtures, 'discourse'),
      procfile: corpus('060-discourse-discourse-Procfile.txt'),
      app: 'discourse',
      envFiles: ['.env', '.env.production'],
      withServices: ['redis', 'postgres'],
      workdir: '/opt/discourse',
    },
  },
  {
    // No web; a compound command, a `%` and quotes (systemd escaping).
    name: 'clock',
    options: { cwd: join(fixtures, 'clock'), app: 'clock', formation: 'mailer=2' },
  },
];

/** Render one case for one target. */
export function render(c: Case, target: string): ExportFile[] {
  return exportFormation(target, c.options).files;
}

/** Every (case, target) pair. */
export function everyRendering(): { c: Case; target: string; files: ExportFile[] }[] {
  return CASES.flatMap((c) => TARGETS.map((target) => ({ c, target, files: render(c, target) })));
}

/** Files under `dir`, relative, sorted (dot files included). */
export function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory()
        ? listFiles(path, `${prefix}${name}/`)
        : [`${prefix}${name}`];
    });
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
