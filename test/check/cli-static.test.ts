/**
 * `drove check --static` as a user runs it: the built CLI in a child process, its output and
 * its exit code (0 clean, 1 findings, 2 could not run).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const cli = path.join(root, 'dist/cli/main.js');
const fixtures = path.join(root, 'test/check/static');

function drove(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('drove check --static', () => {
  it('exits 1 and prints file:line, the rule and the fix for each finding', () => {
    const r = drove(['check', '--static', 'no-memory-session-store/app'], fixtures);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^no-memory-session-store\/app\/app\.js:7:9 {2}drove\/no-memory-session-store\n {2}express-session without a `store` keeps sessions/m,
    );
    expect(r.stdout).toMatch(/\n {2}fix: pass a shared, expiring store/);
    expect(r.stdout).toContain('drove check --static: 1 finding in 1 of 1 file');
  });

  it('exits 0 on a clean app, and on the example app', () => {
    const clean = drove(['check', '--static', '-C', path.join(fixtures, 'no-module-state/clean')]);
    expect(clean.stdout).toContain('no findings in 1 file');
    expect(clean.code).toBe(0);
    const example = drove(['check', '--static', 'src'], path.join(root, 'examples/digest'));
    expect(example.stdout).toMatch(/no findings in \d+ files/);
    expect(example.code).toBe(0);
  });

  it('checks several paths at once and prints JSON with --json', () => {
    const r = drove(
      ['check', '--static', '--json', 'no-runtime-assets/app', 'no-sticky-sessions/app'],
      fixtures,
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { files: number; findings: Array<{ rule: string }> };
    expect(report.files).toBe(3);
    expect(new Set(report.findings.map((f) => f.rule))).toEqual(
      new Set(['drove/no-runtime-assets', 'drove/no-sticky-sessions']),
    );
  });

  it('exits 2 with the reason when it cannot run', () => {
    const missing = drove(['check', '--static', 'no/such/dir']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'no such file or folder: no/such/dir (DROVE_ERR_INVALID_OPTION)',
    );
    const empty = drove(['check', '--static', 'docs/images']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no JavaScript or TypeScript files to check');
  });

  it('without --static says the dynamic mode is not available, exit 2', () => {
    const r = drove(['check', '--', 'npm', 'test']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dynamic mode');
    expect(r.stderr).toContain('drove check --static');
  });
});
