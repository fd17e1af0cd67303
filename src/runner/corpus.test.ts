// Every real-world Procfile and .env file in ../shared/corpus, read as expected.json says, or
// refused with the typed error our documented rules choose (docs/runner.md, "Procfile rules").
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcfileDuplicateError, ProcfileEmptyError, ProcfileEncodingError } from '../errors.js';
import { parseEnv } from './env.js';
import { parseProcfile } from './procfile.js';

const corpus = new URL('../../../shared/corpus/', import.meta.url);
if (!existsSync(new URL('expected.json', corpus))) {
  throw new Error(`test corpus missing: ${corpus.pathname}expected.json (see ../shared/corpus)`);
}
interface Entry {
  line: number;
  name: string;
  command: string;
}
interface ProcfileCase {
  file: string;
  entries: Entry[];
  duplicate_names: string[];
  empty: boolean;
  utf8_valid: boolean;
  ignored_lines: { line: number; text: string }[];
}
interface EnvCase {
  file: string;
  pairs: { key: string; expected: string; status: string }[];
  result_object_dotenv_16_6_1: Record<string, string>;
}
const expected = JSON.parse(readFileSync(new URL('expected.json', corpus), 'utf8')) as {
  procfiles: ProcfileCase[];
  envfiles: EnvCase[];
};

function firstDuplicate(entries: Entry[]): { entry: Entry; first: Entry } | undefined {
  const seen = new Map<string, Entry>();
  for (const entry of entries) {
    const first = seen.get(entry.name);
    if (first) return { entry, first };
    seen.set(entry.name, entry);
  }
  return undefined;
}

describe('Procfile corpus', () => {
  it('has all 60 files', () => expect(expected.procfiles).toHaveLength(60));

  for (const c of expected.procfiles) {
    it(c.file, () => {
      const bytes = readFileSync(new URL(c.file, corpus));
      const read = () => parseProcfile(bytes, c.file);
      if (!c.utf8_valid) {
        expect(read).toThrow(ProcfileEncodingError);
        expect(read).toThrow(/UTF-16/);
        return;
      }
      if (c.duplicate_names.length > 0) {
        const dup = firstDuplicate(c.entries)!;
        expect(read).toThrow(ProcfileDuplicateError);
        expect(read).toThrow(
          `${c.file}:${dup.entry.line}: process type "${dup.entry.name}" is already defined on line ${dup.first.line}`,
        );
        return;
      }
      if (c.empty) {
        expect(read).toThrow(ProcfileEmptyError);
        return;
      }
      const ignored: { line: number; text: string }[] = [];
      expect(parseProcfile(bytes, c.file, (i) => ignored.push(i))).toEqual(
        c.entries.map((e) => ({ name: e.name, command: e.command, line: e.line })),
      );
      // The lines drove warns about are exactly those foreman and honcho silently drop.
      expect(ignored).toEqual(c.ignored_lines);
    });
  }
});

describe('.env corpus', () => {
  it('has all 28 files', () => expect(expected.envfiles).toHaveLength(28));

  for (const c of expected.envfiles) {
    it(c.file, () => {
      const parsed = parseEnv(readFileSync(new URL(c.file, corpus)));
      expect(parsed).toEqual(c.result_object_dotenv_16_6_1);
      const last = new Map(c.pairs.map((p) => [p.key, p]));
      for (const pair of last.values()) {
        if (pair.status !== 'ambiguous') expect(parsed[pair.key]).toBe(pair.expected);
      }
    });
  }
});
