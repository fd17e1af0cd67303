import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FormationLog } from './log.js';

function sink(isTTY = false) {
  const lines: string[] = [];
  return { out: { isTTY, write: (s: string) => lines.push(s) }, lines };
}
const now = () => new Date(2024, 0, 1, 9, 5, 7);

describe('FormationLog', () => {
  it('prefixes HH:MM:SS and a padded name, no colour off a TTY', async () => {
    const { out, lines } = sink();
    const log = new FormationLog({ out, now });
    log.reserve('worker.1');
    log.system('hello');
    const stream = new PassThrough();
    const done = log.attach('web.1', stream, 'stdout');
    stream.write('one\ntw');
    stream.write('o\r\nthree');
    stream.end();
    await done;
    expect(lines).toEqual([
      '09:05:07 system   | hello\n',
      '09:05:07 web.1    | one\n',
      '09:05:07 web.1    | two\n',
      '09:05:07 web.1    | three\n',
    ]);
  });

  it('colours names on a TTY, rotating per process', () => {
    const { out, lines } = sink(true);
    const log = new FormationLog({ out, now });
    log.line('web.1', 'a');
    log.line('web.2', 'b');
    expect(lines[0]).toContain('\x1b[36m');
    expect(lines[1]).toContain('\x1b[33m');
  });

  it('writes one JSON object per line with --json', () => {
    const { out, lines } = sink(true);
    new FormationLog({ out, now, json: true }).line('web.1', 'a "quoted" line');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: now().toISOString(),
      name: 'web.1',
      stream: 'stdout',
      line: 'a "quoted" line',
    });
  });

  it('does not split multi-byte characters across chunks', async () => {
    const { out, lines } = sink();
    const log = new FormationLog({ out, now });
    const stream = new PassThrough();
    const done = log.attach('w', stream, 'stdout');
    const bytes = Buffer.from('é\n');
    stream.write(bytes.subarray(0, 1));
    stream.end(bytes.subarray(1));
    await done;
    expect(lines[0]).toMatch(/\| é\n$/);
  });
});
