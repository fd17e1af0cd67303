import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ResponseHead, ResponseParser } from './http1-response.js';

interface Parsed {
  heads: ResponseHead[];
  body: string;
  ends: boolean[];
}

/** Feed `wire` in the given pieces; what the parser reported. */
function parse(wire: string, pieces: number[] = [], head = false, close = false): Parsed {
  const out: Parsed = { heads: [], body: '', ends: [] };
  const parser = new ResponseParser({
    onHead: (h) => out.heads.push(h),
    onBody: (chunk) => {
      out.body += chunk.toString('latin1');
    },
    onEnd: (extra) => out.ends.push(extra),
  });
  parser.start(head);
  const bytes = Buffer.from(wire, 'latin1');
  let at = 0;
  for (const size of pieces) {
    if (at >= bytes.length || out.ends.length > 0) break;
    parser.execute(bytes.subarray(at, at + size));
    at += size;
  }
  if (at < bytes.length && out.ends.length === 0) parser.execute(bytes.subarray(at));
  if (close) parser.finish();
  return out;
}

const chunked =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n' +
  '5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';

describe('ResponseParser', () => {
  it('reads a Content-Length response, headers in wire order', () => {
    const out = parse('HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello');
    expect(out.heads).toEqual([
      {
        status: 201,
        statusText: 'Created',
        headers: ['Content-Length', '5', 'X-A', '1', 'X-A', '2'],
        keepAlive: true,
      },
    ]);
    expect(out.body).toBe('hello');
    expect(out.ends).toEqual([false]);
  });

  it('decodes chunked bodies, extensions and trailers included', () => {
    const out = parse(chunked);
    expect(out.body).toBe('hello, world');
    expect(out.ends).toEqual([false]);
    expect(out.heads[0]?.headers).toContain('Set-Cookie');
  });

  it('gives the same events however the bytes are split', () => {
    const wires = [
      chunked,
      'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: y\r\n\r\n',
    ];
    for (const wire of wires) {
      const whole = parse(wire);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 60 }), (pieces) => {
          expect(parse(wire, pieces)).toEqual(whole);
        }),
        { numRuns: 300 },
      );
    }
  });

  it('knows the responses without a body: HEAD, 204, 304', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', [], true).ends).toEqual([false]);
    expect(parse('HTTP/1.1 204 No Content\r\n\r\n').ends).toEqual([false]);
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n').ends).toEqual([false]);
  });

  it('skips informational responses', () => {
    const out = parse(
      'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    );
    expect(out.heads.map((h) => h.status)).toEqual([200]);
    expect(out.ends).toEqual([false]);
  });

  it('reads a body without framing until the connection ends, and does not reuse it', () => {
    const out = parse('HTTP/1.1 200 OK\r\n\r\nsome bytes', [], false, true);
    expect(out.body).toBe('some bytes');
    expect(out.heads[0]?.keepAlive).toBe(false);
    expect(out.ends).toEqual([false]);
  });

  it('honours Connection: close and HTTP/1.0', () => {
    expect(
      parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').heads[0]
        ?.keepAlive,
    ).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').heads[0]?.keepAlive).toBe(false);
    expect(
      parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').heads[0]
        ?.keepAlive,
    ).toBe(true);
  });

  it('reads the keep-alive timeout the instance announces', () => {
    const wire = 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n';
    expect(parse(wire).heads[0]?.keepAliveMs).toBe(5_000);
  });

  it('reports bytes after the response', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA').ends).toEqual([true]);
  });

  it('refuses malformed responses with BAD_RESPONSE', () => {
    const bad = [
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
      `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`,
    ];
    for (const wire of bad) {
      expect(() => parse(wire), wire.slice(0, 40)).toThrow(
        expect.objectContaining({ code: 'BAD_RESPONSE' }),
      );
    }
  });
});
