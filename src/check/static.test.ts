import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DroveError } from '../errors.js';
import { rules } from '../eslint/index.js';
import { checkStatic, exitCodeOf, formatStatic } from './static.js';

const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(root, 'test/check/static');

describe('checkStatic on the fixture apps (one per rule, and a clean twin)', () => {
  const names = readdirSync(fixtures).filter((n) => !n.startsWith('.'));

  it('has a fixture pair for every rule', () => {
    expect(names.sort()).toEqual(Object.keys(rules).sort());
  });

  for (const name of Object.keys(rules)) {
    it(`${name}: the app is flagged by that rule only, with file:line and a fix`, async () => {
      const report = await checkStatic({ cwd: path.join(fixtures, name, 'app') });
      expect(report.failures).toEqual([]);
      expect(report.findings.length).toBeGreaterThan(0);
      for (const finding of report.findings) {
        expect(finding.rule).toBe(`drove/${name}`);
        expect(finding.line).toBeGreaterThan(0);
        expect(finding.fix.length).toBeGreaterThan(20);
        expect(finding.problem).not.toContain('Fix:');
      }
      expect(exitCodeOf(report)).toBe(1);
      const text = formatStatic(report);
      const first = report.findings[0]!;
      expect(text).toContain(`${first.file}:${first.line}:${first.column}  drove/${name}`);
      expect(text).toContain(`  fix: ${first.fix}`);
    });

    it(`${name}: the clean twin passes`, async () => {
      const report = await checkStatic({ cwd: path.join(fixtures, name, 'clean') });
      expect(report.files).toBeGreaterThan(0);
      expect(report.findings).toEqual([]);
      expect(report.failures).toEqual([]);
      expect(exitCodeOf(report)).toBe(0);
    });
  }

  it('finds the exact places in the module-state app (TypeScript through typescript-eslint)', async () => {
    const report = await checkStatic({ cwd: path.join(fixtures, 'no-module-state', 'app') });
    expect(report.findings.map((f) => `${f.file}:${f.line}`)).toEqual([
      'server.ts:18',
      'server.ts:19',
    ]);
    expect(report.findings.map((f) => f.problem.match(/`(\w+)`/)?.[1])).toEqual([
      'nextId',
      'todos',
    ]);
  });
});

describe('checkStatic on the example app', () => {
  it('finds nothing in examples/digest/src', async () => {
    const report = await checkStatic({ cwd: path.join(root, 'examples/digest'), paths: ['src'] });
    expect(report.files).toBeGreaterThan(5);
    expect(report.failures).toEqual([]);
    expect(report.findings).toEqual([]);
  });
});

describe('checkStatic on code of every shape', () => {
  it("runs over express's, fastify's and hono's own sources without a rule crashing", async () => {
    let files = 0;
    for (const dir of ['express', 'fastify/lib', 'hono/dist/cjs']) {
      const report = await checkStatic({ cwd: path.join(root, 'node_modules', dir) });
      expect(report.failures, dir).toEqual([]);
      files += report.files;
    }
    expect(files).toBeGreaterThan(150);
  }, 120_000);
});

describe('checkStatic errors', () => {
  it('rejects a path that does not exist with DROVE_ERR_INVALID_OPTION', async () => {
    await expect(checkStatic({ cwd: fixtures, paths: ['no-such-folder'] })).rejects.toMatchObject({
      code: 'DROVE_ERR_INVALID_OPTION',
    });
  });

  it('without eslint installed, fails with DROVE_ERR_MISSING_PEER and the install command', async () => {
    const eslint = 'eslint-drove-never-installed';
    const cwd = path.join(fixtures, 'no-memory-session-store', 'app');
    const err = await checkStatic({ cwd, peers: { eslint } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroveError);
    expect((err as DroveError).code).toBe('DROVE_ERR_MISSING_PEER');
    expect((err as DroveError).message).toContain(`npm install ${eslint}`);
  });

  it('without typescript-eslint, checks JavaScript but fails on TypeScript with the install command', async () => {
    const peers = { typescriptEslint: 'typescript-eslint-drove-never-installed' };
    const js = await checkStatic({ cwd: path.join(fixtures, 'no-runtime-assets', 'app'), peers });
    expect(js.findings.length).toBeGreaterThan(0);
    const cwd = path.join(fixtures, 'no-module-state', 'app');
    const err = await checkStatic({ cwd, peers }).catch((e: unknown) => e);
    expect((err as DroveError).code).toBe('DROVE_ERR_MISSING_PEER');
    expect((err as DroveError).message).toContain('npm install typescript-eslint');
  });

  it('honours eslint-disable comments for drove rules, and ignores those for rules it does not run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drove-check-disable-'));
    writeFileSync(
      path.join(dir, 'metrics.js'),
      '/* eslint-disable @typescript-eslint/no-explicit-any */\nlet hits = 0;\n' +
        "app.get('/', (req, res) => {\n" +
        '  // eslint-disable-next-line drove/no-module-state -- a per-process metric, scraped per instance\n' +
        '  hits++;\n  res.end();\n});\n' +
        "app.get('/b', (req, res) => { hits = 0; res.end(); });\n",
    );
    const report = await checkStatic({ cwd: dir }).finally(() => rmSync(dir, { recursive: true }));
    expect(report.failures).toEqual([]);
    // The second write, not disabled, is the one reported.
    expect(report.findings.map((f) => `${f.file}:${f.line}`)).toEqual(['metrics.js:8']);
  });

  it('parses a CommonJS file that is not a valid ES module as CommonJS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drove-check-cjs-'));
    writeFileSync(
      path.join(dir, 'server.js'),
      "var session = require('express-session');\n" +
        'if (require.main !== module) return;\n' +
        "app.use(session({ secret: 's' }));\n",
    );
    const report = await checkStatic({ cwd: dir }).finally(() => rmSync(dir, { recursive: true }));
    expect(report.failures).toEqual([]);
    expect(report.findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
      'server.js:3 drove/no-memory-session-store',
    ]);
  });

  it('reports a file it cannot parse as a failure, exit 2', async () => {
    // Written at run time: a broken file in the tree would break the formatter's run.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drove-check-broken-'));
    writeFileSync(path.join(dir, 'broken.js'), '// not JavaScript\nconst = 1;\n');
    // Configuration comments for rules drove does not run are not failures.
    writeFileSync(
      path.join(dir, 'fine.js'),
      '/* eslint no-unused-vars: "off" */\n/* eslint no-unused-vars: "off" */\nexport const a = 1;\n',
    );
    const report = await checkStatic({ cwd: dir }).finally(() => rmSync(dir, { recursive: true }));
    expect(report.files).toBe(2);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({ file: 'broken.js', line: 2 });
    expect(exitCodeOf(report)).toBe(2);
  });
});
