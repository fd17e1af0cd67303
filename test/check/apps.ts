/**
 * Fixture apps for the `drove check` suites, each set up as a user's app would be: its own folder
 * (a temporary copy of test/check/fixtures/<name> and _lib.mjs) whose node_modules holds the
 * repository's packages and `drovejs` itself, so `import 'drovejs/session/node'` resolves, also
 * from the copies `--hosts` makes. And `drove check` run as the real command.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CheckReport } from '../../src/check/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = resolve(import.meta.dirname, 'fixtures');
const CLI = join(ROOT, 'dist/cli/main.js');

/** A temporary place for fixture apps, their shared node_modules, and their shared databases. */
export class Workspace {
  readonly root = mkdtempSync(join(tmpdir(), 'drove-check-test-'));
  readonly #modules = join(this.root, 'node_modules');

  constructor() {
    mkdirSync(this.#modules);
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry.startsWith('.')) continue;
      symlinkSync(join(ROOT, 'node_modules', entry), join(this.#modules, entry));
    }
    symlinkSync(ROOT, join(this.#modules, 'drovejs'), 'dir');
  }

  /** A fresh copy of fixture `name`, as an app folder with its node_modules. */
  app(name: string): string {
    const dir = join(this.root, 'apps', `${name}-${Math.random().toString(36).slice(2, 8)}`);
    cpSync(join(FIXTURES, name), dir, { recursive: true });
    copyFileSync(join(FIXTURES, '_lib.mjs'), join(dir, '_lib.mjs'));
    symlinkSync(this.#modules, join(dir, 'node_modules'), 'dir');
    return dir;
  }

  /** A copy of any app folder (the example), set up the same way. */
  copy(dir: string, name: string): string {
    const target = join(this.root, 'apps', name);
    cpSync(dir, target, { recursive: true, filter: (src) => !src.endsWith('/.drove') });
    symlinkSync(this.#modules, join(target, 'node_modules'), 'dir');
    return target;
  }

  /** A path for a database file every instance shares (outside any app folder). */
  file(name: string): string {
    return join(this.root, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** How `drove check` ended: its exit code, its report (with --json) or its text. */
export interface CheckRun {
  code: number;
  stdout: string;
  stderr: string;
  report: CheckReport | undefined;
}

/** Run `drove check ARGS` in `cwd` (add `--json` to get `report`). */
export function droveCheck(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CheckRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, 'check', ...args],
      { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        let report: CheckReport | undefined;
        try {
          report = JSON.parse(stdout) as CheckReport;
        } catch {
          report = undefined;
        }
        done({ code, stdout, stderr, report });
      },
    );
  });
}
