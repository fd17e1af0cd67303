/**
 * An HTTP server written by hand on raw sockets, to produce exactly the framings and failures a
 * real server on the internet may send: close-delimited HTTP/1.0 bodies, hand-written chunked
 * bodies, bodies cut off before their Content-Length or last chunk, compressed bodies, bodies that
 * trickle in, and answers that are not HTTP at all.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

/** Deterministic content of `size` bytes (not compressible to nothing, unlike zeros). */
export function content(size: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 7 + (i >> 8)) % 251;
  return buf;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Write `body` in a few pieces, a turn of the event loop apart, so reads see several chunks. */
async function trickle(socket: Socket, body: Buffer, pieces = 4): Promise<void> {
  const step = Math.max(1, Math.ceil(body.length / pieces));
  for (let i = 0; i < body.length && !socket.destroyed; i += step) {
    socket.write(body.subarray(i, i + step));
    await tick();
  }
}

function head(status: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${status}\r\n${lines.join('')}\r\n`;
}

async function answer(socket: Socket, path: string, query: URLSearchParams): Promise<void> {
  const size = Number(query.get('size') ?? 100_000);
  const body = content(size);
  switch (path) {
    case '/close': // HTTP/1.0, no Content-Length: the body ends when the connection closes.
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Type': 'text/plain' }));
      await trickle(socket, body);
      return void socket.end();
    case '/close-fast': // all at once and close: the server is done long before the reader
      socket.write(head('HTTP/1.0 200 OK', {}));
      return void socket.end(body);
    case '/length10': // HTTP/1.0 with a Content-Length, then close (what python's http.server does)
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Length': size }));
      await trickle(socket, body);
      return void socket.end();
    case '/chunked': {
      socket.write(head('HTTP/1.1 200 OK', { 'Transfer-Encoding': 'chunked' }));
      for (let i = 0; i < size && !socket.destroyed; i += 10_000) {
        const piece = body.subarray(i, i + 10_000);
        socket.write(`${piece.length.toString(16)}\r\n`);
        socket.write(piece);
        socket.write('\r\n');
        await tick();
      }
      socket.write('0\r\n\r\n');
      return void socket.end();
    }
    case '/slow': // a few bytes at a time, each a little later
      socket.write(head('HTTP/1.0 200 OK', {}));
      for (let i = 0; i < size && !socket.destroyed; i += 1000) {
        socket.write(body.subarray(i, i + 1000));
        await new Promise((r) => setTimeout(r, 5));
      }
      return void socket.end();
    case '/truncated-length':
      socket.write(head('HTTP/1.1 200 OK', { 'Content-Length': size }));
      await trickle(socket, body.subarray(0, size >> 1));
      return void socket.end();
    case '/truncated-chunked':
      socket.write(head('HTTP/1.1 200 OK', { 'Transfer-Encoding': 'chunked' }));
      socket.write(`${(1000).toString(16)}\r\n`);
      socket.write(body.subarray(0, 1000));
      socket.write('\r\n');
      await tick();
      return void socket.end(); // never the final 0-size chunk
    case '/reset':
      socket.write(head('HTTP/1.1 200 OK', { 'Content-Length': size }));
      await trickle(socket, body.subarray(0, 1000));
      return void socket.resetAndDestroy();
    case '/gzip':
    case '/deflate':
    case '/br':
    case '/gzip-close': {
      const encoded =
        path === '/deflate'
          ? deflateSync(body)
          : path === '/br'
            ? brotliCompressSync(body)
            : gzipSync(body);
      const coding = path === '/gzip-close' ? 'gzip' : path.slice(1);
      socket.write(
        head(
          path === '/gzip-close' ? 'HTTP/1.0 200 OK' : 'HTTP/1.1 200 OK',
          path === '/gzip-close'
            ? { 'Content-Encoding': coding }
            : { 'Content-Encoding': coding, 'Content-Length': encoded.length },
        ),
      );
      await trickle(socket, encoded);
      return void socket.end();
    }
    case '/truncated-gzip': {
      // The HTTP framing is complete (close-delimited); the gzip stream inside it is cut off.
      const encoded = gzipSync(body);
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Encoding': 'gzip' }));
      await trickle(socket, encoded.subarray(0, encoded.length >> 1));
      return void socket.end();
    }
    case '/corrupt-gzip-big': {
      // A valid start, then garbage that keeps coming: the decoder fails while bytes still flow.
      const encoded = gzipSync(body);
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Encoding': 'gzip' }));
      await trickle(socket, Buffer.concat([encoded.subarray(0, 20), Buffer.alloc(size, 0xff)]), 50);
      return void socket.end();
    }
    case '/corrupt-gzip':
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Encoding': 'gzip' }));
      socket.write('this is not gzip at all');
      return void socket.end();
    case '/bomb': {
      // Small on the wire, large once decoded: maxBytes must count the decoded bytes.
      const encoded = gzipSync(Buffer.alloc(size));
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Encoding': 'gzip' }));
      socket.write(encoded);
      return void socket.end();
    }
    case '/zstd':
      socket.write(head('HTTP/1.0 200 OK', { 'Content-Encoding': 'zstd' }));
      socket.write(body);
      return void socket.end();
    case '/silent': // accepts the request and never answers
      return;
    case '/garbage':
      socket.write('SSH-2.0-OpenSSH_9.2\r\n\r\n');
      return void socket.end();
    case '/headers-cut':
      socket.write('HTTP/1.1 200 OK\r\nContent-Len');
      return void socket.end();
    default:
      socket.write(head('HTTP/1.0 404 Not Found', {}));
      return void socket.end('no');
  }
}

/** Start the server on a free loopback port. `seen` gets each request's path and headers. */
export async function startRawServer(
  seen: Array<{ path: string; headers: string }> = [],
): Promise<{ base: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // the client may hang up first; that is the test's business
    let request = '';
    socket.on('data', function onData(chunk) {
      request += chunk.toString('latin1');
      const end = request.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [line = '', ...rest] = request.slice(0, end).split('\r\n');
      const target = new URL(line.split(' ')[1] ?? '/', 'http://x');
      seen.push({ path: target.pathname, headers: rest.join('\n').toLowerCase() });
      answer(socket, target.pathname, target.searchParams).catch(() => socket.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
