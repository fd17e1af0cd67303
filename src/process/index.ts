/**
 * `drovejs/process`: the app side of a well-behaved process.
 *
 * - `ready()` tells `drove start --ready explicit` that this instance may get traffic (a no-op
 *   when not run by drove, so the same code runs under Kubernetes or systemd).
 * - `onShutdown(fn)` registers clean-up (close pools, stop claiming jobs), run on SIGTERM/SIGINT.
 * - `gracefulShutdown(server)` makes SIGTERM stop accepting connections, let in-flight requests
 *   finish (idle keep-alive connections are closed, busy ones get `Connection: close`), run the
 *   hooks and exit — what rolling restarts and `kubectl rollout` rely on.
 * @module
 */
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { encodeMessage, INSTANCE_ENV } from '../runner/protocol.js';

type Hook = () => unknown;
const hooks: Hook[] = [];
let installed = false;
let shuttingDown: Promise<void> | undefined;
let servers: { server: Server; timeoutMs: number }[] = [];

/**
 * Tell the runner this instance is ready for traffic. Resolves once the runner acknowledged it,
 * or at once when the process was not started by `drove start`.
 *
 * @example
 * ```ts
 * server.listen(Number(process.env.PORT), () => void ready());
 * ```
 */
export function ready(): Promise<void> {
  const path = process.env[INSTANCE_ENV.controlSocket];
  const instance = process.env[INSTANCE_ENV.instance];
  const token = process.env[INSTANCE_ENV.readyToken];
  if (!path || !instance || !token) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('error', () => resolve());
    socket.once('connect', () => socket.write(encodeMessage({ cmd: 'ready', instance, token })));
    socket.on('data', () => {});
    socket.once('close', () => resolve());
  });
}

/**
 * Run `fn` when the process is asked to stop (after the HTTP servers stopped). Hooks run in
 * reverse order of registration. Returns a function that unregisters the hook.
 *
 * @example
 * ```ts
 * onShutdown(() => pool.end());
 * ```
 */
export function onShutdown(fn: Hook): () => void {
  install();
  hooks.push(fn);
  return () => {
    const i = hooks.indexOf(fn);
    if (i !== -1) hooks.splice(i, 1);
  };
}

/** Options of {@link gracefulShutdown}. */
export interface GracefulOptions {
  /** Longest wait for in-flight requests before open connections are cut. Default 10 000 ms. */
  timeoutMs?: number;
}

/**
 * On SIGTERM or SIGINT: stop accepting, finish in-flight requests, run the hooks, exit 0.
 *
 * @example
 * ```ts
 * const server = http.createServer(app).listen(Number(process.env.PORT));
 * gracefulShutdown(server, { timeoutMs: 10_000 });
 * ```
 */
export function gracefulShutdown(server: Server, options: GracefulOptions = {}): void {
  install();
  servers.push({ server, timeoutMs: options.timeoutMs ?? 10_000 });
  // Responses written while stopping tell keep-alive clients not to reuse the connection.
  server.on('request', (_req, res) => {
    if (shuttingDown && !res.headersSent) res.setHeader('Connection', 'close');
  });
}

/**
 * Start the same shutdown a signal would (e.g. from a fatal error handler). Resolves when the
 * servers closed and the hooks ran; the process then exits with `code`.
 */
export function shutdown(code = 0): Promise<void> {
  shuttingDown ??= (async () => {
    await Promise.all(servers.map(({ server, timeoutMs }) => closeServer(server, timeoutMs)));
    servers = [];
    for (const hook of [...hooks].reverse()) {
      try {
        await hook();
      } catch (err) {
        process.stderr.write(`shutdown hook failed: ${(err as Error).stack ?? err}\n`);
      }
    }
    process.exit(code);
  })();
  return shuttingDown;
}

function install(): void {
  if (installed) return;
  installed = true;
  // A repeated SIGTERM (a supervisor re-signalling the group) must not cut the shutdown short;
  // a second Ctrl-C does, as people expect.
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => {
    if (shuttingDown) process.exit(130);
    void shutdown(0);
  });
}

function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
