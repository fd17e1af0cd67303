/** Real backend servers and a keep-alive client for the balancer suites (loopback, free ports). */

import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { type Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';

/** A node:http instance that answers with its name and records what it saw. */
export interface Backend {
  name: string;
  port: number;
  server: Server;
  /** Requests it received, in order. */
  seen: { url: string; headers: IncomingHttpHeaders; body: string }[];
  /** Requests parked by `/hold` until `release()`. */
  held: ServerResponse[];
  release(): void;
  close(): Promise<void>;
}

/**
 * Start a backend. `GET /hold` parks the request until `release()`; everything else answers
 * `{ name, url, headers, body }` as JSON.
 */
export async function startBackend(name: string): Promise<Backend> {
  const backend: Backend = {
    name,
    port: 0,
    server: createServer(),
    seen: [],
    held: [],
    release() {
      for (const res of backend.held.splice(0)) res.end(JSON.stringify({ name, held: true }));
    },
    close() {
      backend.server.closeAllConnections();
      return new Promise((resolve) => backend.server.close(() => resolve()));
    },
  };
  backend.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      backend.seen.push({ url: req.url ?? '', headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/hold') backend.held.push(res);
      else res.end(JSON.stringify({ name, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}

/** A loopback port that nothing listens on (bound, then released). */
export async function refusingPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** What a request through the balancer got back. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether the client's keep-alive socket was reused for this request. */
  reused: boolean;
}

/** Send one request with node:http (so the test controls the connection). */
export function send(
  port: number,
  opts: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: opts.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            reused: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The backend name in a JSON reply. */
export function nameOf(reply: Reply): string {
  return (JSON.parse(reply.body) as { name: string }).name;
}

/** Poll `check` until it is true or `ms` passed (generous: other suites share the 2 cores). */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
