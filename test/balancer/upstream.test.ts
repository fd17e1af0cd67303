/**
 * The balancer's own connections to instances (src/runner/upstream.ts) against real node:http
 * instances that frame their responses every way HTTP/1.1 allows: chunked streams, large bodies
 * under back-pressure, bodies without a response, slow heads, closed keep-alive connections.
 */
import { createHash } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBalancer } from '../../src/runner/balancer.js';
import { type UpstreamHandler, UpstreamPool } from '../../src/runner/upstream.js';
import { send, until } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A balancer in front of one instance that runs `handle`. */
async function through(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  options: { headersTimeoutMs?: number; instance?: (s: Server) => void } = {},
) {
  const server = createServer(handle);
  options.instance?.(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const lb = createBalancer({ port: 0, headersTimeoutMs: options.headersTimeoutMs });
  await lb.listen();
  cleanups.push(() => lb.close(1_000));
  lb.add({ id: 'web.1', host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  return { port: lb.address().port, server, lb };
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('balancer → instance connections', () => {
  it('streams a chunked response piece by piece', async () => {
    // The instance writes its second part only once the client holds the first: a balancer that
    // gathered the body before relaying it would never let that happen.
    let clientHasFirst: () => void = () => {};
    const firstArrived = new Promise<void>((resolve) => {
      clientHasFirst = resolve;
    });
    const { port } = await through((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      firstArrived.then(() => res.end('second\n'));
    });
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('first\n')) clientHasFirst();
        });
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe('first\nsecond\n');
  });

  it('relays a large body intact to a slow reader, and the connection is reused after', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const sockets = new Set<unknown>();
    const { port } = await through((req, res) => {
      sockets.add(req.socket);
      if (req.url === '/big') res.end(big);
      else res.end('small');
    });
    const received = await new Promise<Buffer>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/big' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          // A slow reader: the balancer must hold back, not buffer the instance's 8 MiB.
          res.pause();
          setTimeout(() => res.resume(), 1);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
        .on('error', reject)
        .end();
    });
    expect(sha(received)).toBe(sha(big));
    expect((await send(port, { path: '/small' })).body).toBe('small');
    expect(sockets.size).toBe(1);
  });

  it('sends a chunked request body on, and knows HEAD, 204 and 304 have no body', async () => {
    const { port } = await through((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '1234' }).end();
      } else if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => res.end(sha(Buffer.concat(chunks))));
      }
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      // No Content-Length: node:http sends the body chunked.
      req.write('first,');
      setTimeout(() => req.end('second'), 20);
    });
    expect(body).toBe(sha('first,second'));
    const head = await send(port, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('1234');
    expect((await send(port, { path: '/204' })).status).toBe(204);
    const notModified = await send(port, { path: '/304' });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe('"x"');
    // The connection survived all of them.
    expect((await send(port, { method: 'POST', body: 'x' })).body).toBe(sha('x'));
  });

  it('an instance that answers before reading the upload: the client gets the answer, then a new connection', async () => {
    const { port } = await through((req, res) => {
      if (req.url === '/upload') {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('too large');
        return;
      }
      res.end('next');
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const upload = await new Promise<{ status: number; body: string }>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/upload', agent },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      // The balancer closes the connection after the early answer: the rest of the upload fails.
      req.on('error', () => {});
      // 4 MiB in 64 KiB pieces, more than the sockets buffer, with no Content-Length.
      const piece = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(upload).toEqual({ status: 413, body: 'too large' });
    const next = await send(port, { agent });
    expect(next.body).toBe('next');
    expect(next.reused).toBe(false);
  });

  it('answers 504 when the instance sends no head in time', async () => {
    const { port } = await through(
      (req, res) => {
        if (req.url === '/slow') setTimeout(() => res.end('late'), 1_500);
        else res.end('ok');
      },
      { headersTimeoutMs: 300 },
    );
    // The instance would answer 200 after 1.5 s; the balancer's 300 ms head timeout answers first.
    const reply = await send(port, { path: '/slow' });
    expect(reply.status).toBe(504);
    expect((await send(port)).body).toBe('ok');
  });

  it('gets past kept-alive connections the instance closes, whenever it closes them', async () => {
    let closes = 0;
    const { port } = await through((req, res) => {
      req.socket.once('close', () => closes++);
      // An instance that closes each connection a moment after answering on it (as one with a
      // short keep-alive timeout does): the balancer may find it dead or reuse it as it dies.
      res.on('finish', () => setTimeout(() => req.socket.destroy(), Number(req.url?.slice(1))));
      res.end('fresh');
    });
    for (let i = 0; i < 30; i++) {
      const reply = await send(port, { path: `/${i % 6}` });
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('fresh');
      await new Promise((r) => setTimeout(r, i % 4));
    }
    expect(closes).toBeGreaterThan(10);
  });

  it('drops the instance connection when the client goes away mid-response', async () => {
    let instanceSocketClosed = false;
    const { port } = await through((req, res) => {
      req.socket.on('close', () => {
        instanceSocketClosed = true;
      });
      res.writeHead(200);
      res.write('begin');
      // Never ends on its own.
    });
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no data')), 5_000);
    });
    await until(() => instanceSocketClosed);
  });

  it('a kept-alive connection whose last exchange ended paused reads the next response', async () => {
    const server = createServer((req, res) =>
      res.end(req.url === '/first' ? 'x'.repeat(100) : 'ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const pool = new UpstreamPool({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      keepAliveMs: 4_000,
      headersTimeoutMs: 2_000,
      bodyTimeoutMs: 2_000,
      connectTimeoutMs: 2_000,
    });
    cleanups.push(() => pool.close());
    const exchange = (path: string, pauseAlways: boolean) =>
      new Promise<{ status: number; bytes: number }>((resolve, reject) => {
        let status = 0;
        let bytes = 0;
        const handler: UpstreamHandler = {
          onConnect() {},
          onHeaders(code) {
            status = code;
            return true;
          },
          // A client that never catches up: every piece asks for a pause, nobody resumes.
          onData(chunk) {
            bytes += chunk.length;
            return !pauseAlways;
          },
          onComplete: () => resolve({ status, bytes }),
          onError: reject,
        };
        pool.dispatch({ method: 'GET', path, headers: [], body: null }, handler);
      });
    // The whole first response arrives in one read: its only piece asks for a pause, and the
    // response ends right there, with the socket paused.
    expect(await exchange('/first', true)).toEqual({ status: 200, bytes: 100 });
    expect(await exchange('/small', false)).toEqual({ status: 200, bytes: 2 });
  });
});
