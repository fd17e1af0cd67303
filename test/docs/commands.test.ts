/**
 * The shell blocks of README.md and docs/ tagged `run=test/docs/commands.test.ts` run as written:
 * each `npm` script they name exists, each file they hand to `node` or `bash` exists, and each
 * `drove` subcommand exists and takes every option the line passes (its `--help` lists it). The
 * long commands (benchmarks, a formation) are not run here; their parts are checked.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOf } from './blocks.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SELF = 'run=test/docs/commands.test.ts';
const PAGES = [
  'README.md',
  'docs/assets.md',
  'docs/benchmarks.md',
  'docs/runner.md',
  'docs/check.md',
];
const CLI = join(ROOT, 'dist/cli/main.js');

function scripts(dir: string): Record<string, string> {
  return (
    (
      JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        scripts?: Record<string, string>;
      }
    ).scripts ?? {}
  );
}

const helpCache = new Map<string, string>();
function help(sub: string): string {
  let text = helpCache.get(sub);
  if (text === undefined) {
    const run = spawnSync(process.execPath, [CLI, sub, '--help'], { encoding: 'utf8' });
    // An unknown subcommand prints the program's own help: only `Usage: drove SUB` counts.
    text = run.status === 0 && run.stdout.startsWith(`Usage: drove ${sub} `) ? run.stdout : '';
    helpCache.set(sub, text);
  }
  return text;
}

/** Why one command of a block would not run as written, or undefined. */
function problemOf(command: string, cwd: string): { problem?: string; cwd: string } {
  const words = command.trim().split(/\s+/);
  const [first, second] = words;
  if (first === 'cd') {
    const next = resolve(cwd, second ?? '');
    return existsSync(next) ? { cwd: next } : { problem: `no directory ${second}`, cwd };
  }
  if (first === 'npm') {
    let dir = cwd;
    let rest = words.slice(1);
    if (rest[0] === '--prefix') {
      dir = resolve(cwd, rest[1] ?? '');
      rest = rest.slice(2);
    }
    const [verb, name] = rest;
    if (verb === 'install' || verb === 'ci') return { cwd };
    if (verb === 'test' || verb === 'start') {
      return scripts(dir)[verb] ? { cwd } : { problem: `no npm ${verb} script`, cwd };
    }
    if (verb === 'run' && name) {
      return scripts(dir)[name]
        ? { cwd }
        : { problem: `no script ${name} in ${relative(ROOT, dir) || '.'}`, cwd };
    }
    return { problem: `unknown npm use: ${command}`, cwd };
  }
  if (first === 'node' || first === 'bash') {
    return existsSync(resolve(cwd, second ?? '')) ? { cwd } : { problem: `no file ${second}`, cwd };
  }
  const drove =
    first === 'npx' && second === 'drove'
      ? words.slice(2)
      : first === 'drove'
        ? words.slice(1)
        : undefined;
  if (drove) {
    const sub = drove[0] ?? '';
    const text = help(sub);
    if (!text) return { problem: `no drove subcommand ${sub}`, cwd };
    for (const flag of drove.filter((w) => /^--?[a-zA-Z]/.test(w))) {
      const name = flag.split('=')[0] as string;
      if (!new RegExp(`(^|[ ,])${name.replace(/[-]/g, '\\-')}([ ,=<]|$)`, 'm').test(text)) {
        return { problem: `drove ${sub} has no option ${name}`, cwd };
      }
    }
    return { cwd };
  }
  return { problem: `not a command this test knows: ${command}`, cwd };
}

describe('shell blocks tagged run=test/docs/commands.test.ts', () => {
  const blocks = PAGES.filter((p) => existsSync(join(ROOT, p))).flatMap((page) =>
    blocksOf(page, readFileSync(join(ROOT, page), 'utf8')).filter((b) => b.tags.includes(SELF)),
  );

  it('finds them', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it('every command in them would run as written', () => {
    const problems: string[] = [];
    for (const block of blocks) {
      let cwd = ROOT;
      for (const raw of block.body.split('\n')) {
        const line = raw.replace(/\s+#.*$/, '').trim();
        if (!line || line.startsWith('#')) continue;
        for (const command of line.split(/\s*&&\s*/)) {
          const result = problemOf(command, cwd);
          cwd = result.cwd;
          if (result.problem) problems.push(`${block.page}:${block.line}: ${result.problem}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('catches a command that would not run', () => {
    expect(problemOf('npm run no-such-script', ROOT).problem).toMatch(/no script/);
    expect(problemOf('drove start --no-such-flag', ROOT).problem).toMatch(/no option/);
    expect(problemOf('drove nosuch', ROOT).problem).toMatch(/no drove subcommand/);
  });
});
