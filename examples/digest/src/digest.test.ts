import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { digestFile, isCsv } from './digest.js';
import { HyperLogLog } from './hll.js';

const dir = mkdtempSync(join(tmpdir(), 'digest-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('digestFile()', () => {
  it('computes size, SHA-256 and line count in one pass, with or without a final newline', async () => {
    const text = 'one\ntwo\nthree';
    const result = await digestFile(file('a.txt', text), { csv: false });
    expect(result).toEqual({
      size: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      lines: 3,
    });
    expect((await digestFile(file('b.txt', `${text}\n`), { csv: false })).lines).toBe(3);
    expect((await digestFile(file('empty.txt', ''), { csv: false })).lines).toBe(0);
  });

  it('handles files larger than one read chunk and reports progress up to the total', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x\n');
    const seen: number[] = [];
    const result = await digestFile(file('big.bin', big), {
      csv: false,
      onProgress: (bytes, total) => {
        expect(total).toBe(big.length);
        seen.push(bytes);
      },
    });
    expect(result.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(result.lines).toBe(Math.ceil(big.length / 2));
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(big.length);
  });

  it('gives per-column CSV statistics: count, empty, numeric min/max/mean, distinct estimate', async () => {
    const csv =
      'city,population,code\r\nParis,2100000,FR\r\nLyon,,FR\r\n"Saint-Étienne, Loire",172000,FR\r\nBern,134000,CH\r\n';
    const result = await digestFile(file('cities.csv', csv), { csv: true });
    expect(result.csv?.rows).toBe(4);
    const [city, population, code] = result.csv!.columns;
    expect(city).toMatchObject({ name: 'city', count: 4, empty: 0, distinctEstimate: 4 });
    expect(city!.numeric).toBeUndefined();
    expect(population).toMatchObject({ name: 'population', count: 4, empty: 1 });
    expect(population!.numeric).toEqual({
      min: 134000,
      max: 2100000,
      mean: (2100000 + 172000 + 134000) / 3,
    });
    expect(code).toMatchObject({ distinctEstimate: 2 });
  });

  it('recognises CSV files by name', () => {
    expect(isCsv('data.CSV')).toBe(true);
    expect(isCsv('data.csv.gz')).toBe(false);
  });
});

describe('HyperLogLog', () => {
  it('estimates 100 000 distinct values within 5%', () => {
    const hll = new HyperLogLog();
    for (let i = 0; i < 100_000; i++) hll.add(`value-${i}`);
    for (let i = 0; i < 50_000; i++) hll.add(`value-${i}`); // repeats change nothing
    expect(Math.abs(hll.estimate() - 100_000) / 100_000).toBeLessThan(0.05);
  });

  it('is exact for small sets', () => {
    const hll = new HyperLogLog();
    for (const v of ['a', 'b', 'c', 'a']) hll.add(v);
    expect(hll.estimate()).toBe(3);
  });
});
