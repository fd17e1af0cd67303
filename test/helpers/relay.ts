import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay in front of a real server, for outage tests that never touch the machine's
 * shared servers:
 * - `pass`: bytes flow both ways;
 * - `refuse`: the listening socket is closed, so connects fail with ECONNREFUSED;
 * - `blackhole`: connections are accepted and held, and nothing is ever answered.
 * Switching mode breaks every open connection, as a server crash or a network cut would.
 *
 * `freeze()` is a hung server instead (a SIGSTOP, a long GC pause): connections stay open and
 * bytes are held, in one direction or both; `thaw()` delivers everything held, in order,
 * including what a client sent before it gave up and closed (the server then reads it, as a
 * resumed server reads its socket buffers).
 */
export interface Relay {
  host: string;
  port: number;
  mode(next: 'pass' | 'refuse' | 'blackhole'): Promise<void>;
  /** Hold bytes: `requests` (client → server), `replies` (server → client) or `both`. */
  freeze(direction?: 'requests' | 'replies' | 'both'): void;
  /** Deliver what was held and let bytes flow again. */
  thaw(): void;
  /** Connections accepted so far (to wait for a client's reconnect). */
  readonly accepted: number;
  /** Chunks received from clients so far, held or not (to wait for a client's next request). */
  readonly requestChunks: number;
  /** Connections (client or server side) still open. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  let current: 'pass' | 'refuse' | 'blackhole' = 'pass';
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let accepted = 0;
  let requestChunks = 0;
  const frozen = { requests: false, replies: false };
  // Deliveries held while frozen, in arrival order.
  let held: { requests: boolean; deliver: () => void }[] = [];

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  /** Deliver now, or hold while this direction is frozen (and anything is held before it). */
  const deliver = (requests: boolean, action: () => void) => {
    const isFrozen = requests ? frozen.requests : frozen.replies;
    if (isFrozen || held.some((h) => h.requests === requests))
      held.push({ requests, deliver: action });
    else action();
  };

  const forward = (from: Socket, to: Socket, requests: boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (requests) requestChunks++;
      deliver(requests, () => {
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.on('end', () => deliver(requests, () => to.end()));
    // A side that vanishes: the other side ends after what is held for it, like a socket buffer.
    from.on('close', () =>
      deliver(requests, () => {
        if (requests) to.end();
        else to.destroy();
      }),
    );
  };

  const onConnection = (client: Socket) => {
    accepted++;
    track(client);
    if (current === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = createConnection(target);
    track(upstream);
    forward(client, upstream, true);
    forward(upstream, client, false);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        const address = next.address();
        if (address && typeof address === 'object') port = address.port;
        server = next;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const old = server;
      server = undefined;
      if (!old) return resolve();
      old.close(() => resolve());
    });

  const breakAll = () => {
    held = [];
    frozen.requests = false;
    frozen.replies = false;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  await listen();
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    get requestChunks() {
      return requestChunks;
    },
    get open() {
      return sockets.size;
    },
    async mode(next) {
      breakAll();
      current = next;
      if (next === 'refuse') await stopListening();
      else if (!server) await listen();
    },
    freeze(direction = 'both') {
      if (direction !== 'replies') frozen.requests = true;
      if (direction !== 'requests') frozen.replies = true;
    },
    thaw() {
      frozen.requests = false;
      frozen.replies = false;
      const pending = held;
      held = [];
      for (const h of pending) h.deliver();
    },
    async close() {
      breakAll();
      await stopListening();
    },
  };
}
