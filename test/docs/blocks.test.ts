/**
 * Every fenced block of README.md and docs/ says what it is, so that a block that claims to run
 * is known to run:
 *
 * - `file=PATH`: the block is the file PATH of this repository, verbatim; a suite runs that file
 *   (the README tour: test/docs/tour.test.ts runs examples/tour/ under `drove start`).
 * - `run=TEST`: commands that the test file TEST runs as written (it must name this page).
 * - `fragment`: part of a program (an excerpt, a signature, a pattern), shown and not run.
 * - `output`: what a program prints or writes, or a diagram; not a program.
 *
 * A block with no tag fails this test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocksOf, pages } from './blocks.js';

const ROOT = resolve(import.meta.dirname, '../..');

const all = pages(ROOT).flatMap((page) =>
  blocksOf(relative(ROOT, page), readFileSync(page, 'utf8')),
);

describe('fenced blocks of README.md and docs/', () => {
  it('finds the blocks', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it('each has exactly one tag: file=PATH, run=TEST, fragment or output', () => {
    const bad = all
      .filter((b) => b.tags.filter((t) => /^(file=|run=)|^(fragment|output)$/.test(t)).length !== 1)
      .map((b) => `${b.page}:${b.line} \`\`\`${b.lang} ${b.tags.join(' ')}`);
    expect(bad).toEqual([]);
  });

  it('a file= block is that file, verbatim', () => {
    for (const b of all) {
      const tag = b.tags.find((t) => t.startsWith('file='));
      if (!tag) continue;
      const path = join(ROOT, tag.slice('file='.length));
      expect(existsSync(path), `${b.page}:${b.line}: ${path}`).toBe(true);
      expect(b.body.trimEnd(), `${b.page}:${b.line}`).toBe(readFileSync(path, 'utf8').trimEnd());
    }
  });

  it('a run= block names a test that reads its page', () => {
    for (const b of all) {
      const tag = b.tags.find((t) => t.startsWith('run='));
      if (!tag) continue;
      const test = join(ROOT, tag.slice('run='.length));
      expect(existsSync(test), `${b.page}:${b.line}: ${test}`).toBe(true);
      const name = b.page.split('/').pop() as string;
      expect(readFileSync(test, 'utf8'), `${test} must read ${b.page}`).toContain(name);
    }
  });

  it('tells a tagged block from an untagged one (the parser itself)', () => {
    const parsed = blocksOf('x.md', 'a\n```ts fragment\nconst a = 1;\n```\n\n```sh\nls\n```\n');
    expect(parsed.map((b) => [b.lang, b.tags])).toEqual([
      ['ts', ['fragment']],
      ['sh', []],
    ]);
  });
});
