/**
 * What must never happen: a secret value in an export, a half-written output folder, a
 * `sqlite:` URL exported silently. Bad input is a typed error and nothing is written.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/runner/env.js';
import { CASES, corpus, everyRendering, fixtures, here, listFiles } from './cases.js';

const cli = join(here, '../../dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'drove-export-bad-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh project folder with these files. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'p-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function drove(cwd: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('secrets', () => {
  it('no .env value reaches any file of any target; the names do', () => {
    let checked = 0;
    for (const { c, target, files } of everyRendering()) {
      const cwd = c.options.cwd!;
      const envFiles = c.options.envFiles ?? (existsSync(join(cwd, '.env')) ? ['.env'] : []);
      for (const file of envFiles) {
        const env = parseEnv(readFileSync(join(cwd, file)));
        for (const [name, value] of Object.entries(env)) {
          // Short values (4, production) also occur as ordinary words.
          if (value.length < 8 || value === 'production') continue;
          for (const out of files) {
            expect(out.text, `${c.name}/${target}/${out.path} holds ${name}'s value`).not.toContain(
              value,
            );
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    const saleor = everyRendering().filter((r) => r.c.name === 'saleor');
    const web = saleor
      .find((r) => r.target === 'kubernetes')!
      .files.find((f) => f.path === 'web.yaml')!;
    for (const name of ['SECRET_KEY', 'DATABASE_URL', 'REDIS_URL', 'CELERY_CONCURRENCY']) {
      expect(web.text).toContain(`key: ${name}\n`);
    }
    // PORT is drove's to set: the .env's 9999 is not referenced.
    expect(web.text).not.toContain('key: PORT');
    expect(web.text).not.toContain('9999');
  });
});

describe('bad input: a typed error, nothing written', () => {
  const cases: {
    name: string;
    files: Record<string, string>;
    args: string[];
    code: string;
    says: RegExp;
  }[] = [
    {
      name: 'unknown type in -m',
      files: { Procfile: 'web: node web.js\n' },
      args: ['--app', 'app', '-m', 'web=2,wrker=1'],
      code: 'DROVE_ERR_FORMATION',
      says: /unknown process type "wrker"; the Procfile defines: web/,
    },
    {
      name: 'release scaled',
      files: { Procfile: 'release: node migrate.js\nweb: node web.js\n' },
      args: ['--app', 'app', '-m', 'release=2'],
      code: 'DROVE_ERR_FORMATION',
      says: /release/,
    },
    {
      name: 'bad app name',
      files: { Procfile: 'web: node web.js\n' },
      args: ['--app', 'My_App'],
      code: 'DROVE_ERR_EXPORT_NAME',
      says: /app name \(--app\) "My_App"/,
    },
    {
      name: 'app name from a folder-like package name',
      files: { Procfile: 'web: node web.js\n', 'package.json': '{"name":"9lives"}' },
      args: [],
      code: 'DROVE_ERR_EXPORT_NAME',
      says: /package\.json name/,
    },
    {
      name: 'two types that become one name',
      files: { Procfile: 'worker_beat: celery beat\nworker-beat: celery beat -l info\n' },
      args: ['--app', 'app'],
      code: 'DROVE_ERR_EXPORT_NAME',
      says: /both become "worker-beat"/,
    },
    {
      name: 'missing Procfile',
      files: {},
      args: ['--app', 'app'],
      code: 'DROVE_ERR_PROCFILE_MISSING',
      says: /Procfile/,
    },
    {
      name: 'sqlite: URL',
      files: {
        Procfile: 'web: node web.js\n',
        '.env':
          'DATABASE_URL=postgres://db/app\nSESSION_STORE_URL=sqlite:.drove/sessions-secret-path.db\n',
      },
      args: ['--app', 'app'],
      code: 'DROVE_ERR_EXPORT_LOCAL_STATE',
      says: /\.env: SESSION_STORE_URL is a sqlite: URL/,
    },
    {
      name: 'missing env file',
      files: { Procfile: 'web: node web.js\n' },
      args: ['--app', 'app', '-e', '.env.nope'],
      code: 'DROVE_ERR_ENV_FILE',
      says: /\.env\.nope/,
    },
    {
      name: 'bad health path',
      files: { Procfile: 'web: node web.js\n' },
      args: ['--app', 'app', '--health-path', 'healthz'],
      code: 'DROVE_ERR_INVALID_OPTION',
      says: /--health-path/,
    },
  ];

  it.each(cases)('$name', ({ files, args, code, says }) => {
    for (const target of ['kubernetes', 'compose', 'systemd', 'dockerfile']) {
      const dir = project(files);
      const run = drove(dir, 'export', target, ...args);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toContain(`(${code})`);
      expect(run.stderr).toMatch(says);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(run.stderr).not.toContain('sessions-secret-path');
      expect(listFiles(dir).filter((p) => !(p in files))).toEqual([]);
    }
  });

  it('--with-services alone adds both services; an unknown one is refused', () => {
    const dir = project({ Procfile: 'web: node web.js\n' });
    expect(drove(dir, 'export', 'compose', '--app', 'app', '--with-services').status).toBe(0);
    const compose = readFileSync(join(dir, 'deploy/compose/compose.yaml'), 'utf8');
    expect(compose).toContain('  postgres:\n    image: postgres:17\n');
    expect(compose).toContain('  redis:\n    image: redis:7\n');
    const other = project({ Procfile: 'web: node web.js\n' });
    const run = drove(other, 'export', 'compose', '--app', 'app', '--with-services', 'mysql');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('expected redis, postgres or both');
    expect(listFiles(other)).toEqual(['Procfile']);
  });

  it('unknown target', () => {
    const dir = project({ Procfile: 'web: node web.js\n' });
    const run = drove(dir, 'export', 'nomad', '--app', 'app');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('(DROVE_ERR_EXPORT_TARGET)');
    expect(run.stderr).toContain('kubernetes, compose, systemd, dockerfile');
    expect(listFiles(dir)).toEqual(['Procfile']);
  });

  it('a real Procfile with a duplicate type (huginn): the file and line, nothing written', () => {
    const dir = project({});
    copyFileSync(corpus('001-huginn-huginn-Procfile.txt'), join(dir, 'Procfile'));
    const run = drove(dir, 'export', 'kubernetes', '--app', 'huginn');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('(DROVE_ERR_PROCFILE_DUPLICATE)');
    expect(run.stderr).toMatch(/Procfile:20: process type "web" is already defined on line 6/);
    expect(listFiles(dir)).toEqual(['Procfile']);
  });

  it('a failed re-export leaves the previous export as it was', () => {
    const dir = project({ Procfile: 'web: node web.js\nworker: node worker.js\n' });
    expect(drove(dir, 'export', 'compose', '--app', 'app', '-m', 'web=2').status).toBe(0);
    const before = readFileSync(join(dir, 'deploy/compose/compose.yaml'), 'utf8');
    const run = drove(dir, 'export', 'compose', '--app', 'app', '-m', 'web=3,nope=1');
    expect(run.stderr).toContain('(DROVE_ERR_FORMATION)');
    expect(readFileSync(join(dir, 'deploy/compose/compose.yaml'), 'utf8')).toBe(before);
    expect(listFiles(join(dir, 'deploy'))).toEqual([
      'compose/.drove-export',
      'compose/compose.yaml',
    ]);
  });

  it('an output folder drove did not write is refused and left alone', () => {
    const dir = project({ Procfile: 'web: node web.js\n' });
    mkdirSync(join(dir, 'k8s'));
    writeFileSync(join(dir, 'k8s', 'mine.yaml'), 'kind: Mine\n');
    const run = drove(dir, 'export', 'kubernetes', '--app', 'app', '--out', 'k8s');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('(DROVE_ERR_EXPORT_OUTPUT)');
    expect(listFiles(dir)).toEqual(['Procfile', 'k8s/mine.yaml']);
  });

  it('--allow-local exports a sqlite: URL with a warning naming the variable only', () => {
    const dir = join(work, 'local');
    mkdirSync(dir);
    for (const f of ['Procfile', '.env']) copyFileSync(join(fixtures, 'local', f), join(dir, f));
    const run = drove(dir, 'export', 'compose', '--app', 'local', '--allow-local');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe(
      'warning: .env: SESSION_STORE_URL is a sqlite: URL; every host reads its own file (--allow-local)\n',
    );
    const compose = readFileSync(join(dir, 'deploy/compose/compose.yaml'), 'utf8');
    expect(compose).not.toContain('sqlite');
    expect(compose).toContain('env_file:\n      - ../../.env\n');
  });
});

it('every case of the suite has its fixture folder', () => {
  for (const c of CASES) expect(existsSync(c.options.cwd!), c.name).toBe(true);
});
