/**
 * WebSocket (HTTP `Upgrade`) pass-through for the balancer.
 *
 * An upgraded connection is balanced per connection (a WebSocket cannot move between instances),
 * over a fresh node:http connection to the instance: the instance's `101` response is relayed to
 * the client verbatim and the two sockets are then piped together. A non-101 answer (a refused
 * handshake) is relayed as an ordinary response and the client connection closed.
 * @module
 */

import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import { backResponseHeaders } from './balancer-headers.js';

/** How an upgrade attempt ended, for the balancer's retry and bookkeeping. */
export type UpgradeOutcome =
  /** The instance could not be reached: nothing was sent, another instance may be tried. */
  | { kind: 'connect-failed'; error: Error }
  /** A response (101 or not) was relayed; `closed` fires when both sockets are done. */
  | { kind: 'relayed'; closed: Promise<void> }
  /** The exchange failed after it started; the client socket was destroyed. */
  | { kind: 'failed'; error: Error };

/** Where to send the upgrade request. */
export interface UpgradeTarget {
  host: string;
  port: number;
}

/**
 * Send the client's upgrade request to one instance and, on a `101`, join the sockets.
 *
 * @example
 * ```ts
 * server.on('upgrade', async (req, socket, head) => {
 *   const outcome = await proxyUpgrade(req, socket, head, { host: '127.0.0.1', port: 5001 }, headers);
 * });
 * ```
 */
export function proxyUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: UpgradeTarget,
  headers: string[],
): Promise<UpgradeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: UpgradeOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
      setHost: false,
    });
    let connected = false;
    upstream.on('socket', (s) => s.once('connect', () => (connected = true)));
    upstream.on('error', (error) => {
      if (!connected) return settle({ kind: 'connect-failed', error });
      client.destroy();
      settle({ kind: 'failed', error });
    });
    upstream.on('response', (res) => {
      // The instance refused the handshake: relay its answer, delimited by closing the connection.
      client.write(
        statusBlock(res, [...backResponseHeaders(res.rawHeaders).headers, 'connection', 'close']),
      );
      res.pipe(client);
      settle({ kind: 'relayed', closed: closedPromise(client) });
    });
    upstream.on('upgrade', (res, backend, backendHead) => {
      client.write(statusBlock(res, res.rawHeaders));
      if (backendHead.length > 0) client.write(backendHead);
      if (head.length > 0) backend.write(head);
      backend.setNoDelay(true);
      backend.setTimeout(0);
      client.on('error', () => backend.destroy());
      backend.on('error', () => client.destroy());
      client.on('close', () => backend.destroy());
      backend.on('close', () => client.destroy());
      backend.pipe(client);
      client.pipe(backend);
      settle({ kind: 'relayed', closed: closedPromise(client) });
    });
    client.on('error', () => upstream.destroy());
    upstream.end();
  });
}

function statusBlock(res: IncomingMessage, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}

function closedPromise(socket: Duplex): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
