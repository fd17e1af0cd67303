import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcfileMissingError } from '../errors.js';
import { ignoredLineWarning, parseProcfile, readProcfile } from './procfile.js';

describe('parseProcfile', () => {
  it('reads name: command lines and ignores everything else', () => {
    const text =
      '# comment\r\nweb: node server.js --port $PORT \r\n\nnot a line\nworker:node jobs.js';
    expect(parseProcfile(text)).toEqual([
      { name: 'web', command: 'node server.js --port $PORT ', line: 2 },
      { name: 'worker', command: 'node jobs.js', line: 5 },
    ]);
  });

  it('keeps # inside a command for the shell', () => {
    expect(parseProcfile('web: node a.js # note')[0]!.command).toBe('node a.js # note');
  });

  it('treats U+00A0 after the colon as part of the command (Ruby \\s is ASCII)', () => {
    expect(parseProcfile('web:\u00a0node a.js')[0]!.command).toBe('\u00a0node a.js');
  });

  it('refuses a duplicate, naming both lines', () => {
    expect(() => parseProcfile('web: a\nweb: b\n', 'P')).toThrow(
      'P:2: process type "web" is already defined on line 1',
    );
  });

  it('refuses a file without entries', () => {
    expect(() => parseProcfile('# nothing\n', 'P')).toThrowError(
      expect.objectContaining({ code: 'DROVE_ERR_PROCFILE_EMPTY' }),
    );
  });

  it('refuses UTF-16 and invalid UTF-8, naming the line', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('web: a', 'utf16le')]);
    expect(() => parseProcfile(utf16, 'P')).toThrowError(
      expect.objectContaining({ code: 'DROVE_ERR_PROCFILE_ENCODING' }),
    );
    expect(() =>
      parseProcfile(Buffer.from([0x77, 0x3a, 0x20, 0x61, 0x0a, 0xc3, 0x28]), 'P'),
    ).toThrow('P:2: not valid UTF-8');
  });

  it('reports a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drove-pf-'));
    expect(() => readProcfile(join(dir, 'Procfile'))).toThrow(ProcfileMissingError);
    writeFileSync(join(dir, 'Procfile'), 'web: x\n');
    expect(readProcfile(join(dir, 'Procfile'))).toHaveLength(1);
  });
});

describe('ignored lines', () => {
  it('reports lines that are neither entries, blanks nor comments, with a hint', () => {
    const ignored: { line: number; text: string }[] = [];
    parseProcfile('  # note\n\nweb node a.js\nweb2 : b\npython x.py\nweb: ok\n', 'P', (i) =>
      ignored.push(i),
    );
    expect(ignored.map((i) => ignoredLineWarning('P', i))).toEqual([
      'P:3: ignored, not a "name: command" line: "web node a.js" (did you mean "web: node a.js"?)',
      'P:4: ignored, not a "name: command" line: "web2 : b" (did you mean "web2: b"?)',
      'P:5: ignored, not a "name: command" line: "python x.py"',
    ]);
  });
});
