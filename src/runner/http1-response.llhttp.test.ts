/**
 * The balancer's response parser against llhttp, Node's own parser, on hostile instance
 * responses: whatever drove relays, a Node client reads the same way (same status, same body).
 * drove may be stricter (refuse what llhttp reads), never more lenient.
 */
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseParser } from './http1-response.js';

type Verdict = { ok: true; status: number; body: string } | { ok: false; why: string };

/**
 * What drove's parser makes of `wire`, fed in `pieces`, the connection closing after it. Bytes
 * after a complete response count as a refusal: the balancer relays that response but drops the
 * connection, and llhttp fails such a connection at once, so only exactly framed responses are
 * compared.
 */
function droveVerdict(wire: Buffer, pieces: number[]): Verdict {
  let status = 0;
  let body = '';
  let ended = false;
  let extraBytes = false;
  const parser = new ResponseParser({
    onHead: (head) => {
      status = head.status;
    },
    onBody: (chunk) => {
      body += chunk.toString('latin1');
    },
    onEnd: (extra) => {
      ended = true;
      extraBytes = extra;
    },
  });
  parser.start(false);
  try {
    let at = 0;
    for (const size of [...pieces, wire.length]) {
      if (ended || at >= wire.length) break;
      parser.execute(wire.subarray(at, at + size));
      at += size;
    }
    if (!ended) parser.finish();
  } catch (err) {
    return { ok: false, why: ended ? 'bytes after the response' : (err as Error).message };
  }
  if (extraBytes) return { ok: false, why: 'bytes after the response' };
  return ended ? { ok: true, status, body } : { ok: false, why: 'incomplete' };
}

/** One raw TCP server that answers every connection with the bytes queued for it, then closes. */
let server: Server;
let port = 0;
const queue: Buffer[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(queue.shift() ?? Buffer.alloc(0)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What Node's http client (llhttp, strict mode) makes of `wire`. */
function llhttpVerdict(wire: Buffer): Promise<Verdict> {
  queue.push(wire);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: Verdict) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    let complete: (() => Verdict) | undefined;
    const req = request({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      complete = () => {
        // Data llhttp delivered in the same read as the error is still buffered: take it.
        for (let more = res.read() as string | null; more !== null; more = res.read()) body += more;
        return res.complete
          ? { ok: true, status: res.statusCode ?? 0, body }
          : { ok: false, why: 'incomplete' };
      };
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () =>
        settle(
          res.complete
            ? { ok: true, status: res.statusCode ?? 0, body }
            : { ok: false, why: 'incomplete' },
        ),
      );
      res.on('aborted', () => settle({ ok: false, why: 'aborted' }));
      res.on('error', (e) => settle({ ok: false, why: e.message }));
    });
    // Bytes after a complete response fail the connection, not that response (drove, too,
    // relays it and drops the connection).
    req.on('error', (e: NodeJS.ErrnoException) => {
      const verdict = complete?.();
      settle(verdict?.ok ? verdict : { ok: false, why: e.code ?? e.message });
    });
    req.end();
  });
}

const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r');
const hostileValue = fc
  .array(fc.constantFrom('a', ' ', '\t', '\x00', '\x01', '\x7f', '\x80', '\xff', '"', ':', ','), {
    maxLength: 6,
  })
  .map((cs) => cs.join(''));

/** A field line, hostile or not; `len` is the real body length. */
const field = (len: number) =>
  fc.oneof(
    fc.constantFrom(
      `Content-Length: ${len}`,
      `Content-Length: ${len + 1}`,
      `Content-Length:${len}`,
      `Content-Length: ${len}, ${len}`,
      `Content-Length: +${len}`,
      `Content-Length : ${len}`,
      ` Content-Length: ${len}`,
      'Transfer-Encoding: chunked',
      'Transfer-Encoding: gzip, chunked',
      'Transfer-Encoding: chunked, gzip',
      'Transfer-Encoding: chunked, chunked',
      'Transfer-Encoding: ',
      'Transfer-Encoding: chunked;q=1',
      'Connection: close',
      'Connection: keep-alive',
      ' folded',
      '\tfolded',
      'X A: b',
      ': empty-name',
      'X-B : v',
      'Trailer: X-T',
    ),
    hostileValue.map((v) => `X-V: ${v}`),
  );

const chunkLine = (size: number) =>
  fc.constantFrom(
    size.toString(16),
    size.toString(16),
    ` ${size.toString(16)}`,
    `${size.toString(16)} `,
    `${size.toString(16)};a=b`,
    `${size.toString(16)} ;a=b`,
    `${size.toString(16)};a="b c"`,
    `${size.toString(16)};a="b`,
    `0${size.toString(16)}`,
    `+${size.toString(16)}`,
    `0x${size.toString(16)}`,
    `${size.toString(16)}g`,
  );

const trailer = fc.constantFrom(
  '',
  'X-T: 1\r\n',
  'bad trailer\r\n',
  ' folded\r\n',
  'X-T: a\x01\r\n',
);

const response = fc
  .record({
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'http/1.1'),
    status: fc.constantFrom('200', '200', '201', '204', '304', '099', '999', '20', '404'),
    reason: fc.constantFrom(' OK', '', ' ', ' O\x01K', ' \x80x', ' A\tB'),
    informational: fc.boolean(),
    body: fc.string({ unit: fc.constantFrom('a', 'b', '\r', '\n', '0'), maxLength: 12 }),
    chunkedBody: fc.boolean(),
    seed: fc.nat(),
  })
  .chain((r) =>
    fc.record({
      r: fc.constant(r),
      fields: fc.array(fc.tuple(field(r.body.length), eol), { maxLength: 5 }),
      headEnd: eol,
      chunk: chunkLine(r.body.length),
      chunkEol: eol,
      trailer,
      pieces: fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 12 }),
    }),
  )
  .map(({ r, fields, headEnd, chunk, chunkEol, trailer, pieces }) => {
    let wire = r.informational ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    wire += `${r.version} ${r.status}${r.reason}\r\n`;
    for (const [line, end] of fields) wire += line + end;
    wire += headEnd;
    if (r.chunkedBody) {
      wire +=
        r.body.length > 0
          ? `${chunk}${chunkEol}${r.body}\r\n0\r\n${trailer}\r\n`
          : `0\r\n${trailer}\r\n`;
    } else wire += r.body;
    return { wire: Buffer.from(wire, 'latin1'), pieces };
  });

describe('ResponseParser against llhttp', () => {
  it('relays only what a Node client reads the same way (drove never more lenient)', async () => {
    let relayed = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(response, async ({ wire, pieces }) => {
        const ours = droveVerdict(wire, pieces);
        const theirs = await llhttpVerdict(wire);
        if (ours.ok) {
          expect(theirs, JSON.stringify(wire.toString('latin1'))).toEqual(ours);
          relayed++;
        } else refused++;
      }),
      { numRuns: 400 },
    );
    // The generator reaches both outcomes, or the property above proves little.
    expect(relayed).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it.each([
    [
      'TE and CL together',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n',
    ],
    [
      'two equal Content-Length lines',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    ],
    [
      'a chunk size after a space',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n',
    ],
    [
      'a chunk size before a space',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n',
    ],
    ['bare LF line ends', 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 5\r\n\r\nhello'],
    ['a control byte in a value', 'HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 2\r\n\r\nhi'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nX: a\x7fb\r\nContent-Length: 2\r\n\r\nhi'],
    [
      'a malformed trailer',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nbad trailer\r\n\r\n',
    ],
    [
      'a head larger than Node accepts',
      `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}\r\nContent-Length: 0\r\n\r\n`,
    ],
  ])('refuses %s, as llhttp does', async (_name, text) => {
    const wire = Buffer.from(text, 'latin1');
    expect((await llhttpVerdict(wire)).ok).toBe(false);
    expect(droveVerdict(wire, []).ok).toBe(false);
  });
});
