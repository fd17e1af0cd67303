/**
 * The balancer's findings from a protocol review and a fuzzing run, each on real sockets: a
 * response framed with both Transfer-Encoding and Content-Length is refused (never relayed with a
 * length that desyncs the client), Host is one well-formed host, client-set address headers do
 * not reach the app, CONNECT is answered, and the balancer's own answers are JSON.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer as createNetServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Balancer, createBalancer } from '../../src/runner/balancer.js';
import { mayRetryElsewhere } from '../../src/runner/retry.js';
import { UpstreamPool } from '../../src/runner/upstream.js';
import { startBackend } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function balancer(): Promise<Balancer & { port: number }> {
  const lb = createBalancer({ port: 0 });
  await lb.listen();
  cleanups.push(() => lb.close(1_000));
  return Object.assign(lb, { port: lb.address().port });
}

/** Send raw bytes to `port`; everything the server wrote until it closed (or `ms` passed). */
function raw(port: number, bytes: string, ms = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(bytes, 'latin1');
  });
}

/** An "instance" that answers every request with these exact bytes. */
async function rawInstance(response: string): Promise<{ port: number }> {
  const server: Server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => socket.write(response, 'latin1'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port };
}

function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}

function jsonBodyOf(reply: string): { error: { code: string; message: string } } {
  return JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
}

describe('balancer hardening', () => {
  it('refuses an instance response with both Transfer-Encoding and Content-Length (502, no desync)', async () => {
    const lb = await balancer();
    const instance = await rawInstance(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n' +
        '5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n',
    );
    lb.add({ id: 'web.1', host: '127.0.0.1', port: instance.port });
    const reply = await raw(lb.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    expect(statusOf(reply)).toBe(502);
    expect(reply).toMatch(/content-type: application\/json/i);
    expect(jsonBodyOf(reply).error.code).toBe('DROVE_ERR_BAD_GATEWAY');
    expect(reply).not.toContain('01234');
  });

  it.each([
    ['two Host headers', 'Host: a.test\r\nHost: b.test\r\n'],
    ['two equal Host headers', 'Host: a.test\r\nHost: a.test\r\n'],
    ['a Host with spaces', 'Host: a b c\r\n'],
    ['an empty Host', 'Host: \r\n'],
    ['a Host with userinfo', 'Host: x@evil.example\r\n'],
    ['a Host with a path', 'Host: evil/../x\r\n'],
    ['no Host in HTTP/1.1', ''],
  ])('answers 400 JSON to %s, and the instance sees nothing', async (_name, hostLines) => {
    const lb = await balancer();
    const web = await startBackend('web.1');
    cleanups.push(() => web.close());
    lb.add({ id: 'web.1', host: '127.0.0.1', port: web.port });
    const reply = await raw(lb.port, `GET / HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`);
    expect(statusOf(reply)).toBe(400);
    expect(reply).toMatch(/content-type: application\/json/i);
    expect(jsonBodyOf(reply).error.code).toBe('DROVE_ERR_BAD_REQUEST');
    expect(web.seen).toHaveLength(0);
  });

  it('does not forward client-set X-Real-IP, X-Client-IP, True-Client-IP, CF-Connecting-IP', async () => {
    const lb = await balancer();
    const web = await startBackend('web.1');
    cleanups.push(() => web.close());
    lb.add({ id: 'web.1', host: '127.0.0.1', port: web.port });
    const reply = await raw(
      lb.port,
      'GET / HTTP/1.1\r\nHost: a.test\r\nX-Real-IP: 10.0.0.1\r\nX-Client-IP: 10.0.0.2\r\n' +
        'True-Client-IP: 10.0.0.3\r\nCF-Connecting-IP: 10.0.0.4\r\nConnection: close\r\n\r\n',
    );
    expect(statusOf(reply)).toBe(200);
    const seen = web.seen[0]?.headers ?? {};
    expect(seen['x-forwarded-host']).toBe('a.test');
    for (const name of ['x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip'])
      expect(seen[name]).toBeUndefined();
  });

  it('answers CONNECT with 405 JSON instead of closing the connection unanswered', async () => {
    const lb = await balancer();
    const reply = await raw(lb.port, 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n');
    expect(statusOf(reply)).toBe(405);
    expect(reply).toMatch(/allow: /i);
    expect(jsonBodyOf(reply).error.code).toBe('DROVE_ERR_METHOD_NOT_ALLOWED');
  });

  it('answers 503 as JSON with Retry-After when no instance is ready', async () => {
    const lb = await balancer();
    const reply = await raw(lb.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    expect(statusOf(reply)).toBe(503);
    expect(reply).toMatch(/retry-after: 1/i);
    expect(jsonBodyOf(reply).error.code).toBe('DROVE_ERR_NO_INSTANCE');
  });
});

describe('connect-phase failures', () => {
  it('a reset before the connection was established is a connect failure, retried for any method', async () => {
    // A listener that never accepts: the kernel completes handshakes into its queue, and killing
    // it resets them. The event loop is held while that happens, so the reset is what libuv
    // finds when it completes the connect: nothing of the request left the balancer.
    const listener = spawn(
      'python3',
      [
        '-c',
        'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(8)\n' +
          'print(s.getsockname()[1],flush=True)\ntime.sleep(60)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => void listener.kill('SIGKILL'));
    const port = await new Promise<number>((resolve) =>
      listener.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const pool = new UpstreamPool({
      host: '127.0.0.1',
      port,
      keepAliveMs: 1_000,
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
    });
    cleanups.push(() => pool.close());
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => {
      pool.dispatch(
        { path: '/', method: 'POST', headers: ['host', 'a.test'], body: null },
        {
          onConnect: () => {},
          onHeaders: () => true,
          onData: () => true,
          onComplete: () => {},
          onError: (error) => resolve(error as NodeJS.ErrnoException),
        },
      );
    });
    // net.connect() issues its connect on the next tick: kill the listener and hold the event
    // loop right after that, before libuv polls for the connect's completion.
    await new Promise<void>((resolve) =>
      process.nextTick(() => {
        holdUntilGone(listener.pid as number);
        resolve();
      }),
    );
    const error = await failed;
    expect(error.code).toBe('CONNECT_RESET');
    expect(mayRetryElsewhere({ method: 'POST', hasBody: true, code: error.code ?? '' })).toBe(true);
  });
});

/** SIGKILL `pid` and block this thread until it is gone and the kernel has reset its queue. */
function holdUntilGone(pid: number): void {
  process.kill(pid, 'SIGKILL');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0); // still there (or a zombie not yet reaped)
    } catch {
      break;
    }
    const state = readStat(pid);
    if (state === 'Z' || state === undefined) break;
    Atomics.wait(cell, 0, 0, 20);
  }
  Atomics.wait(cell, 0, 0, 100);
}

function readStat(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}
