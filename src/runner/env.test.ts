import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvFileError } from '../errors.js';
import { loadEnv, splitList } from './env.js';

describe('loadEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drove-env-'));
  writeFileSync(join(dir, '.env'), 'A=file1\nB=file1\nC=file1\n');
  writeFileSync(join(dir, '.env.local'), 'B=file2\nC=file2\n');

  it('later files win, the real environment wins over files', () => {
    const { env } = loadEnv(['.env', '.env.local'], { C: 'real' }, dir);
    expect({ A: env.A, B: env.B, C: env.C }).toEqual({ A: 'file1', B: 'file2', C: 'real' });
  });

  it('reads .env by default when it exists', () => {
    expect(loadEnv(undefined, {}, dir).env.A).toBe('file1');
    expect(loadEnv(undefined, {}, tmpdir()).files).toEqual([]);
  });

  it('a file named explicitly must exist', () => {
    expect(() => loadEnv(['.env.missing'], {}, dir)).toThrow(EnvFileError);
  });

  it('splits -e a,b and repeated flags', () => {
    expect(splitList(['a,b', 'c'])).toEqual(['a', 'b', 'c']);
  });
});
