/**
 * When an instance may get traffic.
 *
 * - `port` (default): something accepts TCP connections on its port.
 * - `http`: `GET http://127.0.0.1:PORT<path>` answers 2xx or 3xx.
 * - `explicit`: the app called `ready()` from `drovejs/process` (over the control socket).
 * @module
 */
import { request } from 'node:http';
import { connect, createServer } from 'node:net';

/** How readiness is decided. */
export type Readiness = { kind: 'port' } | { kind: 'http'; path: string } | { kind: 'explicit' };

/**
 * Parse `--ready port|explicit|/healthz`.
 *
 * @example
 * ```ts
 * parseReadiness('/healthz'); // { kind: 'http', path: '/healthz' }
 * ```
 */
export function parseReadiness(value: string | undefined): Readiness {
  if (value === undefined || value === 'port') return { kind: 'port' };
  if (value === 'explicit') return { kind: 'explicit' };
  if (value.startsWith('/')) return { kind: 'http', path: value };
  throw new Error(
    `--ready must be "port", "explicit" or an HTTP path like /healthz, not ${JSON.stringify(value)}`,
  );
}

/** One probe: true when the instance on `port` looks ready. */
export function probe(readiness: Readiness, host: string, port: number): Promise<boolean> {
  if (readiness.kind === 'http') return probeHttp(host, port, readiness.path);
  return probeTcp(host, port);
}

function probeTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function probeHttp(host: string, port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: 2000, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/**
 * Poll until `probe` succeeds or `cancelled()` says to give up. Resolves true when ready.
 */
export async function waitReady(
  readiness: Readiness,
  host: string,
  port: number,
  cancelled: () => boolean,
  intervalMs = 50,
): Promise<boolean> {
  while (!cancelled()) {
    if (await probe(readiness, host, port)) return !cancelled();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

/**
 * True when nothing listens on `port`: binds it on all interfaces for a moment.
 *
 * @example
 * ```ts
 * if (!(await portIsFree(5001))) throw new PortInUseError({ port: 5001, host: '0.0.0.0', owner: 'web.1' });
 * ```
 */
export function portIsFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
