/**
 * The control socket: how `drove ps`, `drove restart`, `drove scale` and `ready()` reach a
 * running formation. A Unix socket at `.drove/control.sock` (mode 0600, directory 0700), or under
 * the system temp directory when that path is longer than the 107-byte limit. One JSON request per
 * connection, one JSON answer (the contract is in protocol.ts).
 * @module
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ControlUnreachableError, DroveError, InvalidOptionError } from '../errors.js';
import { type ControlRequest, type ControlResponse, encodeMessage } from './protocol.js';

export type { ControlRequest, ControlResponse } from './protocol.js';

/** Longest usable `sun_path` on Linux (108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Where the control socket of the formation started in `cwd` lives.
 *
 * @example
 * ```ts
 * controlSocketPath('/srv/app'); // '/srv/app/.drove/control.sock'
 * ```
 */
export function controlSocketPath(cwd = process.cwd()): string {
  const dir = resolve(cwd);
  const preferred = join(dir, '.drove', 'control.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return join(tmpdir(), `drove-${process.getuid?.() ?? 0}-${hash}.sock`);
}

/**
 * Serve the control socket. Refuses to start when another formation answers on the same path;
 * removes a stale socket file left by a killed runner.
 */
export async function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<unknown>,
): Promise<Server> {
  if (existsSync(path)) {
    if (await answers(path)) {
      throw new InvalidOptionError({
        option: 'start',
        reason: `a formation is already running here (control socket ${path})`,
      });
    }
    unlinkSync(path);
  }
  if (path.endsWith('/.drove/control.sock'))
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const server = createServer((socket) => {
    let buffer = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      socket.removeAllListeners('data');
      let request: ControlRequest;
      try {
        request = JSON.parse(buffer.slice(0, nl)) as ControlRequest;
      } catch {
        socket.end(encodeMessage(failure(new Error('bad request'))));
        return;
      }
      handle(request).then(
        (result) => socket.end(encodeMessage({ ok: true, result })),
        (err: unknown) => socket.end(encodeMessage(failure(err))),
      );
    });
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(path, () => ok());
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
  server.on('close', () => {
    try {
      unlinkSync(path);
    } catch {}
  });
  return server;
}

function failure(err: unknown): ControlResponse {
  if (err instanceof DroveError)
    return { ok: false, error: { code: err.code, message: err.message } };
  return { ok: false, error: { code: 'ERROR', message: (err as Error).message ?? String(err) } };
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Send one request to the formation's control socket and return its result. A refused request
 * is thrown as a `DroveError` with the runner's code.
 *
 * @example
 * ```ts
 * const rows = await callControl(controlSocketPath(), { cmd: 'ps' });
 * ```
 */
export function callControl(path: string, request: ControlRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffer = '';
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ControlUnreachableError({ socket: path, reason: err.code ?? err.message })),
    );
    socket.on('connect', () => socket.write(encodeMessage(request)));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
    });
    socket.on('end', () => {
      let response: ControlResponse;
      try {
        response = JSON.parse(buffer) as ControlResponse;
      } catch {
        reject(new ControlUnreachableError({ socket: path, reason: 'no answer' }));
        return;
      }
      if (response.ok) resolve(response.result);
      else
        reject(
          new DroveError(response.error.code, response.error.message.replace(/^\[drove\] /, '')),
        );
    });
  });
}
