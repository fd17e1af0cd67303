/**
 * Golden files: every target for every case, byte for byte. After a deliberate change,
 * regenerate with `UPDATE_GOLDEN=1 npx vitest run test/export/golden.test.ts` and review the diff.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TARGETS } from '../../src/export/index.js';
import { CASES, corpus, fixtures, here, listFiles, read, render } from './cases.js';

const golden = join(here, 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const cli = join(here, '../../dist/cli/main.js');

describe.each(CASES)('golden: $name', (c) => {
  it.each([...TARGETS])('%s matches test/export/golden', (target) => {
    const files = render(c, target);
    const dir = join(golden, c.name, target);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const file of files) {
        mkdirSync(dirname(join(dir, file.path)), { recursive: true });
        writeFileSync(join(dir, file.path), file.text);
      }
    }
    expect(listFiles(dir)).toEqual(files.map((f) => f.path).sort());
    for (const file of files) expect(file.text, file.path).toBe(read(join(dir, file.path)));
  });

  it('renders the same bytes twice', () => {
    for (const target of TARGETS) expect(render(c, target)).toEqual(render(c, target));
  });
});

describe('drove export (the command)', () => {
  it('writes exactly the golden files, plus its marker, and replaces its own output', () => {
    // A copy of the fixture, so that the output goes to deploy/TARGET as by default.
    const work = mkdtempSync(join(tmpdir(), 'drove-export-'));
    copyFileSync(join(fixtures, 'saleor', '.env'), join(work, '.env'));
    try {
      for (const target of TARGETS) {
        const out = join(work, 'deploy', target);
        const args = [cli, 'export', target, '-f', corpus('017-saleor-saleor-Procfile.txt')];
        args.push('--app', 'saleor', '-m', 'web=2', '-t', '20');
        args.push('--image', 'registry.example.com/saleor:3.20');
        // Twice: the second run replaces the first one's folder (it has the marker).
        for (let i = 0; i < 2; i++) {
          execFileSync(process.execPath, args, { cwd: work, stdio: 'pipe' });
        }
        const expected = listFiles(join(golden, 'saleor', target));
        expect(listFiles(out)).toEqual([...expected, '.drove-export'].sort());
        for (const path of expected) {
          expect(read(join(out, path)), path).toBe(read(join(golden, 'saleor', target, path)));
        }
      }
      expect(statSync(join(work, 'deploy', 'kubernetes', 'apply.sh')).mode & 0o777).toBe(0o755);
      expect(listFiles(work).filter((p) => p.includes('.new-') || p.includes('.old-'))).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
