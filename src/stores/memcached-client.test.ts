import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemcachedError, MetaConnection, pickServer } from './memcached-client.js';

/** A scripted loopback server: `reply` gets each complete command line and answers it. */
async function fakeServer(reply: (line: string, socket: Socket) => void): Promise<{
  server: Server;
  port: number;
  sockets: Set<Socket>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        reply(line, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, port, sockets };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function connection(port: number, timeoutMs = 1000, maxPending?: number): MetaConnection {
  const conn = new MetaConnection({ host: '127.0.0.1', port, timeoutMs, maxPending });
  cleanups.push(() => conn.close());
  return conn;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MetaConnection', () => {
  it('matches pipelined replies in order, even when every byte arrives on its own', async () => {
    // A binary value holding CRLF and the bytes of a reply line must not confuse the parser.
    const value = Buffer.concat([Buffer.from('HD c1\r\n'), Buffer.from([0, 255, 13, 10])]);
    let dribbling = Promise.resolve();
    const { server, port, sockets } = await fakeServer((line, socket) => {
      const reply =
        line === 'mg a v c'
          ? Buffer.concat([Buffer.from(`VA ${value.length} c42\r\n`), value, Buffer.from('\r\n')])
          : Buffer.from(line === 'mg b' ? 'EN\r\n' : 'HD t7 f3\r\n');
      // Dribble the replies out a byte at a time, in order.
      dribbling = dribbling.then(async () => {
        for (const byte of reply) {
          socket.write(Buffer.from([byte]));
          await sleep(0);
        }
      });
    });
    cleanups.push(() => closeServer(server, sockets));
    const conn = connection(port);
    const [a, b, c] = await Promise.all([
      conn.meta('mg a v c'),
      conn.meta('mg b'),
      conn.meta('mg c t f'),
    ]);
    expect(a.status).toBe('VA');
    expect(a.value!.equals(value)).toBe(true);
    expect(a.flags).toEqual({ c: '42' });
    expect(b).toEqual({ status: 'EN', flags: {}, value: undefined });
    expect(c.flags).toEqual({ t: '7', f: '3' });
  });

  it('sends data blocks with their length, and reads multi-line replies up to END', async () => {
    const seen: string[] = [];
    const { server, port, sockets } = await fakeServer((line, socket) => {
      seen.push(line);
      if (line.startsWith('ms')) socket.write('HD c9\r\n');
      if (line === 'stats settings')
        socket.write('STAT maxconns 4\r\nSTAT item_size_max 2048\r\nEND\r\n');
    });
    cleanups.push(() => closeServer(server, sockets));
    const conn = connection(port);
    expect((await conn.meta('ms k 3 T5', Buffer.from('abc'))).flags.c).toBe('9');
    expect(await conn.itemSizeMax()).toBe(2048);
    expect(seen).toEqual(['ms k 3 T5', 'abc', 'stats settings']);
  });

  it('a SERVER_ERROR fails only its request; a CLIENT_ERROR resets the connection', async () => {
    const { server, port, sockets } = await fakeServer((line, socket) => {
      if (line === 'mg big') socket.write('SERVER_ERROR object too large for cache\r\n');
      else if (line === 'mg bad') socket.write('CLIENT_ERROR bad command line format\r\n');
      else socket.write('HD\r\n');
    });
    cleanups.push(() => closeServer(server, sockets));
    const conn = connection(port);
    const [big, ok] = await Promise.allSettled([conn.meta('mg big'), conn.meta('mg ok')]);
    expect((big as PromiseRejectedResult).reason).toBeInstanceOf(MemcachedError);
    expect(((big as PromiseRejectedResult).reason as MemcachedError).kind).toBe('SERVER_ERROR');
    expect(ok.status).toBe('fulfilled');
    const bad = await conn.meta('mg bad').catch((e: MemcachedError) => e);
    expect((bad as MemcachedError).kind).toBe('CLIENT_ERROR');
    // The connection was reset and comes back by itself.
    const deadline = Date.now() + 5000;
    for (;;) {
      const reply = await conn.meta('mg again').catch(() => undefined);
      if (reply) break;
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(20);
    }
  });

  it('fails at once while the server is down, and reconnects by itself when it is back', async () => {
    let { server, port, sockets } = await fakeServer((_line, socket) => socket.write('HD\r\n'));
    const conn = connection(port);
    expect((await conn.meta('mn')).status).toBe('HD');
    await closeServer(server, sockets);
    await conn.meta('mn').catch(() => undefined); // may race with the close
    await sleep(50);
    const err = await conn.meta('mn').catch((e: MemcachedError) => e);
    expect((err as MemcachedError).kind).toBe('down');
    ({ server, sockets } = await new Promise<{ server: Server; sockets: Set<Socket> }>(
      (resolve) => {
        const again = new Set<Socket>();
        const s = createServer((socket) => {
          again.add(socket);
          socket.on('data', () => socket.write('HD\r\n'));
        });
        s.listen(port, '127.0.0.1', () => resolve({ server: s, sockets: again }));
      },
    ));
    cleanups.push(() => closeServer(server, sockets));
    const deadline = Date.now() + 5000;
    while (conn.state !== 'up') {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(20);
    }
    expect((await conn.meta('mn')).status).toBe('HD');
  });

  it('a server that never answers gets its connection reset after timeoutMs', async () => {
    const { server, port, sockets } = await fakeServer(() => {});
    cleanups.push(() => closeServer(server, sockets));
    const conn = connection(port, 200);
    const started = Date.now();
    const err = await conn.meta('mg k').catch((e: MemcachedError) => e);
    expect((err as MemcachedError).kind).toBe('down');
    expect((err as MemcachedError).message).toMatch(/no reply within 200 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses requests beyond maxPending instead of queueing them', async () => {
    const { server, port, sockets } = await fakeServer(() => {});
    cleanups.push(() => closeServer(server, sockets));
    const conn = connection(port, 1000, 2);
    await conn.connect();
    const first = [conn.meta('a'), conn.meta('b')].map((p) => p.catch((e: MemcachedError) => e));
    const third = await conn.meta('c').catch((e: MemcachedError) => e);
    expect((third as MemcachedError).kind).toBe('overload');
    await conn.close();
    for (const err of await Promise.all(first)) expect((err as MemcachedError).kind).toBe('closed');
  });
});

describe('pickServer', () => {
  const servers = (ports: number[]) => ports.map((p) => ({ id: `10.0.0.1:${p}` }));
  const keys = Array.from({ length: 3000 }, (_, i) => `drove:session-${i}`);

  it('spreads keys evenly and does not depend on the order of the servers', () => {
    const three = servers([1, 2, 3]);
    const counts = new Map<string, number>();
    for (const key of keys) {
      const chosen = pickServer(key, three);
      expect(pickServer(key, [...three].reverse()).id).toBe(chosen.id);
      counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
    }
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  it('adding a server moves only the keys that now belong to it (about 1/n)', () => {
    const before = servers([1, 2, 3]);
    const after = servers([1, 2, 3, 4]);
    let moved = 0;
    for (const key of keys) {
      const next = pickServer(key, after).id;
      if (next !== pickServer(key, before).id) {
        moved++;
        expect(next).toBe('10.0.0.1:4');
      }
    }
    expect(moved).toBeGreaterThan(keys.length * 0.15);
    expect(moved).toBeLessThan(keys.length * 0.35);
  });
});
