/**
 * The work itself: one streaming pass over a file computing its size, SHA-256 and line count,
 * and for CSV files per-column statistics. Memory stays flat whatever the file's size.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { HyperLogLog } from './hll.js';

export interface ColumnStats {
  name: string;
  count: number;
  empty: number;
  /** Present when every non-empty value of the column is a number. */
  numeric?: { min: number; max: number; mean: number };
  distinctEstimate: number;
}

export interface DigestResult {
  size: number;
  sha256: string;
  lines: number;
  csv?: { rows: number; columns: ColumnStats[] };
}

const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

function countLines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** Whether a file should get CSV statistics, from its name. */
export function isCsv(name: string): boolean {
  return /\.csv$/i.test(name);
}

export async function digestFile(
  path: string,
  options: {
    csv: boolean;
    onProgress?: (bytes: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<DigestResult> {
  const total = (await stat(path)).size;
  const hash = createHash('sha256');
  let size = 0;
  let lines = 0;
  let lastByte = NEWLINE;
  const columns = options.csv ? new CsvColumns() : undefined;
  const csvParser = columns
    ? parse({ bom: true, relax_column_count: true, skip_empty_lines: true })
    : undefined;
  const csvDone = csvParser
    ? pipeline(
        csvParser,
        new Writable({
          objectMode: true,
          write(record: string[], _enc, cb) {
            columns!.add(record);
            cb();
          },
        }),
      )
    : undefined;

  await pipeline(
    createReadStream(path, { highWaterMark: CHUNK, signal: options.signal }),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        lines += countLines(chunk);
        lastByte = chunk[chunk.length - 1] ?? lastByte;
        options.onProgress?.(size, total);
        if (csvParser && !csvParser.write(chunk)) csvParser.once('drain', () => cb());
        else cb();
      },
      final(cb) {
        csvParser?.end();
        cb();
      },
    }),
  );
  await csvDone;
  // A last line without a final newline is still a line.
  if (size > 0 && lastByte !== NEWLINE) lines++;
  const result: DigestResult = { size, sha256: hash.digest('hex'), lines };
  if (columns) result.csv = columns.summary();
  return result;
}

class CsvColumns {
  private header: string[] | undefined;
  private rows = 0;
  private readonly stats: {
    count: number;
    empty: number;
    numeric: boolean;
    min: number;
    max: number;
    sum: number;
    numbers: number;
    hll: HyperLogLog;
  }[] = [];

  add(record: string[]): void {
    if (!this.header) {
      this.header = record.map((name, i) => name.trim() || `column ${i + 1}`);
      return;
    }
    this.rows++;
    for (let i = 0; i < record.length; i++) {
      let column = this.stats[i];
      if (!column) {
        column = {
          count: 0,
          empty: 0,
          numeric: true,
          min: Number.POSITIVE_INFINITY,
          max: Number.NEGATIVE_INFINITY,
          sum: 0,
          numbers: 0,
          hll: new HyperLogLog(),
        };
        this.stats[i] = column;
      }
      const raw = record[i]!.trim();
      column.count++;
      if (raw === '') {
        column.empty++;
        continue;
      }
      column.hll.add(raw);
      const value = Number(raw);
      if (column.numeric && Number.isFinite(value)) {
        column.numbers++;
        column.sum += value;
        if (value < column.min) column.min = value;
        if (value > column.max) column.max = value;
      } else {
        column.numeric = false;
      }
    }
  }

  summary(): { rows: number; columns: ColumnStats[] } {
    const header = this.header ?? [];
    const width = Math.max(header.length, this.stats.length);
    const columns: ColumnStats[] = [];
    for (let i = 0; i < width; i++) {
      const s = this.stats[i];
      const stats: ColumnStats = {
        name: header[i] ?? `column ${i + 1}`,
        count: s?.count ?? 0,
        empty: s?.empty ?? 0,
        distinctEstimate: s?.hll.estimate() ?? 0,
      };
      if (s?.numeric && s.numbers > 0) {
        stats.numeric = { min: s.min, max: s.max, mean: s.sum / s.numbers };
      }
      columns.push(stats);
    }
    return { rows: this.rows, columns };
  }
}
